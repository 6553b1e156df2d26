import { ERROR_AGGREGATE, VERSION_CLASSES, type VerifyResult } from '../model/verify.js';

/** Width of a 100 % bar, in characters. */
const BAR_WIDTH = 30;

/**
 * `verify`'s human report: what was asked, a CLASS / COUNT / PERCENT table with a bar per class
 * (v1, v2, v3 always, then each error class seen, then the `error` total), the latency line and,
 * with `--expect`, whether it was met. Plain text, no color; one trailing newline.
 */
export function formatVerifyReport(result: VerifyResult): string {
  const as = result.user === undefined ? '' : ` as ${result.user}`;
  const lines = [`${result.requests} requests to ${result.gatewayUrl}/productpage${as}`, ''];
  const errorClasses = Object.keys(result.byClass)
    .filter((name) => name !== ERROR_AGGREGATE && !(VERSION_CLASSES as readonly string[]).includes(name))
    .sort();
  const names = [...VERSION_CLASSES, ...errorClasses, ERROR_AGGREGATE];
  const rows = names.map((name) => {
    const entry = result.byClass[name] ?? { count: 0, percent: 0 };
    const bar = name === ERROR_AGGREGATE ? '' : '#'.repeat(Math.round((entry.percent / 100) * BAR_WIDTH));
    return [name === ERROR_AGGREGATE ? 'error (total)' : name, String(entry.count), `${entry.percent.toFixed(1)} %`, bar];
  });
  const header = ['CLASS', 'COUNT', 'PERCENT', ''];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  for (const row of [header, ...rows]) {
    // Numbers right-aligned, names left-aligned.
    lines.push(row.map((cell, column) => (column === 1 || column === 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd());
  }
  const latency = result.latencyMs;
  const ms = (value: number) => value.toFixed(1);
  lines.push('', `latency ms: p50 ${ms(latency.p50)}  p90 ${ms(latency.p90)}  p99 ${ms(latency.p99)}  (min ${ms(latency.min)}, max ${ms(latency.max)})`);
  for (const [name, message] of Object.entries(result.failures ?? {})) lines.push(`${name}: ${message}`);
  const expectation = result.expectation;
  if (expectation) {
    lines.push(`expected ${expectation.spec} ± ${expectation.tolerancePoints} points: ${expectation.met ? 'met' : 'NOT met'}`);
    for (const difference of expectation.differences) lines.push(`  - ${difference}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface VerifyProgress {
  update: (done: number, total: number) => void;
  /** Clears the live line; call once when the run ends, however it ends. */
  close: () => void;
}

/**
 * Progress of a run on stderr. On a terminal (not `TERM=dumb`): one live line, `verify: 120/200
 * requests`, redrawn at most every 100 ms and cleared at the end. Otherwise a plain line at every
 * 10 % step, only for runs of 50 requests or more (a short run needs none).
 */
export function verifyProgress(options: { isTty: boolean; env: Record<string, string | undefined>; write: (text: string) => void; now?: () => number }): VerifyProgress {
  const now = options.now ?? (() => Date.now());
  if (options.isTty && options.env.TERM !== 'dumb') {
    let shown = false;
    let last = -Infinity;
    return {
      update: (done, total) => {
        if (done < total && now() - last < 100) return;
        last = now();
        shown = true;
        options.write(`\r\x1b[2Kverify: ${done}/${total} requests`);
      },
      close: () => {
        if (shown) options.write('\r\x1b[2K');
        shown = false;
      },
    };
  }
  let lastStep = 0;
  return {
    update: (done, total) => {
      if (total < 50) return;
      const step = Math.floor((done * 10) / total);
      if (step <= lastStep) return;
      lastStep = step;
      options.write(`verify: ${done}/${total} requests (${step * 10} %)\n`);
    },
    close: () => undefined,
  };
}
