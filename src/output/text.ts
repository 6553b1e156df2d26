import type { ServiceState } from './events.js';

/** How a piece of text is painted when color is on; `undefined` leaves it plain. */
export type Tone = 'ok' | 'error' | 'busy' | 'idle' | 'strong';

const TONES: Record<Tone, readonly [open: string, close: string]> = {
  ok: ['\x1b[32m', '\x1b[39m'],
  error: ['\x1b[31m', '\x1b[39m'],
  busy: ['\x1b[33m', '\x1b[39m'],
  idle: ['\x1b[2m', '\x1b[22m'],
  strong: ['\x1b[1m', '\x1b[22m'],
};

export function paint(text: string, tone: Tone | undefined, color: boolean): string {
  if (!color || tone === undefined || text === '') return text;
  const [open, close] = TONES[tone];
  return open + text + close;
}

/** `12345` → `12.3s`; negative spans (clock skew between emitters) show as `0.0s`. */
export function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

/**
 * Details often come from Docker output: strip escape sequences and fold control characters and
 * newlines, so one detail stays one line (the TTY table counts lines to redraw in place).
 */
export function oneLine(text: string): string {
  return text
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The tone of a state. `exited` is a normal end for a job, so it is red only when the detail names
 * a non-zero exit code (`exit code 1`, `exited with 137`, `Exited (2)`), green for code 0, and
 * plain when the detail says nothing about the code.
 */
export function stateTone(state: ServiceState, detail?: string): Tone | undefined {
  switch (state) {
    case 'ready':
    case 'healthy':
      return 'ok';
    case 'failed':
      return 'error';
    case 'pending':
      return 'idle';
    case 'exited': {
      const code = exitCodeIn(detail);
      if (code === undefined) return undefined;
      return code === 0 ? 'ok' : 'error';
    }
    default:
      return 'busy';
  }
}

function exitCodeIn(detail: string | undefined): number | undefined {
  const match = detail?.match(/\b(?:exit(?:ed)?(?:\s+with)?(?:\s+(?:code|status))?|code|status)\s*[:=(]?\s*(-?\d+)/i);
  return match ? Number(match[1]) : undefined;
}
