import { describe, expect, it } from 'vitest';
import { JsonReporter } from './json-reporter.js';
import { PlainReporter } from './plain-reporter.js';
import { selectReporter } from './select-reporter.js';
import { capture, start, state } from './test-support.js';
import { TtyReporter } from './tty-reporter.js';

/** Draws a table with a ready row and returns what was written. */
function drawReady(env: Record<string, string | undefined>, columns?: number): string {
  const out = capture();
  const reporter = selectReporter({ json: false, isTty: true, env, write: out.write, columns });
  reporter.emit(start(['istio-pilot']));
  reporter.close();
  const again = capture();
  const second = selectReporter({ json: false, isTty: true, env, write: again.write, columns });
  second.emit(state('istio-pilot', 'ready', 1_000, 'x'.repeat(200)));
  second.close();
  return again.text();
}

describe('selectReporter', () => {
  const write = () => {};

  it('prefers JSON whenever --json is given, even on a TTY', () => {
    expect(selectReporter({ json: true, isTty: true, env: { TERM: 'xterm-256color' }, write })).toBeInstanceOf(JsonReporter);
    expect(selectReporter({ json: true, isTty: false, env: {}, write })).toBeInstanceOf(JsonReporter);
  });

  it('uses the table on a TTY unless TERM=dumb, and plain lines off a TTY', () => {
    expect(selectReporter({ json: false, isTty: true, env: { TERM: 'xterm' }, write })).toBeInstanceOf(TtyReporter);
    expect(selectReporter({ json: false, isTty: true, env: {}, write })).toBeInstanceOf(TtyReporter);
    expect(selectReporter({ json: false, isTty: true, env: { TERM: 'dumb' }, write })).toBeInstanceOf(PlainReporter);
    expect(selectReporter({ json: false, isTty: false, env: { TERM: 'xterm' }, write })).toBeInstanceOf(PlainReporter);
  });

  it('colors the table unless NO_COLOR has a non-empty value', () => {
    expect(drawReady({ TERM: 'xterm' })).toContain('\x1b[32mready');
    expect(drawReady({ TERM: 'xterm', NO_COLOR: '' })).toContain('\x1b[32mready');
    expect(drawReady({ TERM: 'xterm', NO_COLOR: '1' })).not.toContain('\x1b[32m');
    expect(drawReady({ TERM: 'xterm', NO_COLOR: '1' })).toContain('ready');
  });

  it('passes the terminal width to the table', () => {
    const lines = drawReady({ NO_COLOR: '1' }, 50).split('\n').filter(Boolean);
    const row = lines.find((line) => line.includes('istio-pilot'))!.replace('\x1b[2K', '');
    expect(row).toHaveLength(49);
    expect(row.endsWith('…')).toBe(true);
  });
});
