import type { Reporter } from './events.js';
import { JsonReporter } from './json-reporter.js';
import { PlainReporter } from './plain-reporter.js';
import { TtyReporter } from './tty-reporter.js';

export interface ReporterChoice {
  json: boolean;
  isTty: boolean;
  env: Record<string, string | undefined>;
  write: (text: string) => void;
  /** Terminal width; the TTY reporter defaults to 100 when unknown. */
  columns?: number | undefined;
}

/**
 * Which reporter renders progress, one rule per line in precedence order: `--json` wins; a TTY gets
 * the live table unless `TERM=dumb` (no cursor movement there); anything else gets plain lines.
 * Color only on that table, and off when `NO_COLOR` is set to anything non-empty (no-color.org).
 */
export function selectReporter(choice: ReporterChoice): Reporter {
  if (choice.json) return new JsonReporter(choice.write);
  if (choice.isTty && choice.env.TERM !== 'dumb') {
    const color = !choice.env.NO_COLOR;
    return new TtyReporter(choice.write, { color, ...(choice.columns !== undefined ? { columns: choice.columns } : {}) });
  }
  return new PlainReporter(choice.write);
}
