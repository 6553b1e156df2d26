import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from './events.js';
import { capture, manualClock, start, state, T0 } from './test-support.js';
import { TtyReporter } from './tty-reporter.js';

const HIDE = '\x1b[?25l';
const SHOW = '\x1b[?25h';
const CLEAR = '\x1b[2K';
const up = (lines: number) => `\x1b[${lines}A`;
const HEADER = 'SERVICE      STATE       SINCE  DETAIL';
/** The header when every service name is at most 7 characters (the SERVICE column is then 7 wide). */
const SHORT_HEADER = 'SERVICE  STATE       SINCE  DETAIL';

/** The lines of a drawn table, each cleared first, as the reporter writes them. */
const table = (...lines: string[]) => lines.map((line) => CLEAR + line + '\n').join('');

function setup(options: { color?: boolean; columns?: number } = {}) {
  const out = capture();
  const clock = manualClock(0);
  const reporter = new TtyReporter(out.write, {
    color: options.color ?? false,
    now: clock.now,
    ...(options.columns !== undefined ? { columns: options.columns } : {}),
  });
  return { out, clock, reporter };
}

const finishOk: ProgressEvent = {
  type: 'finish',
  at: T0 + 42_100,
  ok: true,
  elapsedMs: 42_100,
  summary: [
    { service: 'istio-pilot', state: 'ready', endpoint: 'http://127.0.0.1:15010', readyAfterMs: 12_340 },
    { service: 'productpage', state: 'ready', endpoint: 'http://127.0.0.1:9081', readyAfterMs: 41_960 },
  ],
};

describe('TtyReporter', () => {
  it('draws the table on start with every service pending and hides the cursor', () => {
    const { out, reporter } = setup();
    reporter.emit(start(['istio-pilot', 'productpage']));
    expect(out.chunks).toEqual([
      HIDE + table(HEADER, 'istio-pilot  pending     -', 'productpage  pending     -'),
    ]);
  });

  it('redraws in place: moves up over the lines drawn last time and clears each one', () => {
    const { out, clock, reporter } = setup();
    reporter.emit(start(['istio-pilot', 'productpage']));
    clock.set(150);
    reporter.emit(state('istio-pilot', 'running', 2_340, 'container 3f2a'));
    expect(out.chunks[1]).toBe(
      up(3) + table(HEADER, 'istio-pilot  running     2.3s   container 3f2a', 'productpage  pending     -'),
    );
  });

  it('appends services that were not in the start event, and moves up by the previous count', () => {
    const { out, clock, reporter } = setup();
    reporter.emit(start(['istio-pilot']));
    clock.set(100);
    reporter.emit(state('ratings-v1', 'created', 1_000));
    clock.set(200);
    reporter.emit(state('ratings-v1', 'running', 1_500));
    expect(out.chunks.slice(1)).toEqual([
      up(2) + table(HEADER, 'istio-pilot  pending     -', 'ratings-v1   created     1.0s'),
      up(3) + table(HEADER, 'istio-pilot  pending     -', 'ratings-v1   running     1.5s'),
    ]);
  });

  it('throttles: emits within 100 ms of the last redraw draw nothing until one is due', () => {
    const { out, clock, reporter } = setup();
    reporter.emit(start(['consul']));
    clock.set(40);
    reporter.emit(state('consul', 'pulled', 40));
    clock.set(99);
    reporter.emit(state('consul', 'created', 99));
    expect(out.chunks).toHaveLength(1);
    clock.set(100);
    reporter.emit(state('consul', 'running', 100));
    expect(out.chunks).toHaveLength(2);
    expect(out.chunks[1]).toBe(up(2) + table(SHORT_HEADER, 'consul   running     0.1s'));
  });

  it('throttles, but finish always draws what is pending before the summary', () => {
    const { out, clock, reporter } = setup();
    reporter.emit(start(['istio-pilot', 'productpage']));
    clock.set(30);
    reporter.emit(state('istio-pilot', 'ready', 12_340));
    clock.set(60);
    reporter.emit(state('productpage', 'ready', 41_960, 'GET /productpage 200'));
    expect(out.chunks).toHaveLength(1);
    reporter.emit(finishOk);
    reporter.close();
    expect(out.chunks.slice(1)).toEqual([
      up(3) +
        table(HEADER, 'istio-pilot  ready       12.3s', 'productpage  ready       42.0s  GET /productpage 200'),
      [
        '',
        'SERVICE      ENDPOINT                READY AFTER',
        'istio-pilot  http://127.0.0.1:15010  12.3s',
        'productpage  http://127.0.0.1:9081   42.0s',
        'ready in 42.1s',
        '',
      ].join('\n'),
      SHOW,
    ]);
  });

  it('keeps SINCE when only the detail of a state changes', () => {
    const { out, clock, reporter } = setup();
    reporter.emit(start(['consul']));
    clock.set(100);
    reporter.emit(state('consul', 'pulled', 1_000, 'layer 1/3'));
    clock.set(200);
    reporter.emit(state('consul', 'pulled', 2_500, 'layer 2/3'));
    expect(out.chunks[2]).toBe(up(2) + table(SHORT_HEADER, 'consul   pulled      1.0s   layer 2/3'));
  });

  it('prints notices above the table and draws the table again below them', () => {
    const { out, clock, reporter } = setup();
    reporter.emit(start(['consul']));
    clock.set(10);
    reporter.emit({ type: 'notice', at: T0 + 10, message: 'falling back to the sandbox image set' });
    expect(out.chunks[1]).toBe(
      up(2) + '\x1b[0J' + 'notice: falling back to the sandbox image set\n' + table(SHORT_HEADER, 'consul   pending     -'),
    );
    // The notice scrolled away: the next redraw moves over the table only.
    clock.set(200);
    reporter.emit(state('consul', 'running', 3_000));
    expect(out.chunks[2]).toBe(up(2) + table(SHORT_HEADER, 'consul   running     3.0s'));
  });

  it('prints a notice that comes before any table as a plain line', () => {
    const { out, reporter } = setup();
    reporter.emit({ type: 'notice', at: T0, message: 'docker 20.10 is old' });
    expect(out.chunks).toEqual(['notice: docker 20.10 is old\n']);
  });

  it('colors states: green ready/healthy, red failed or a non-zero exit, yellow in progress, dim pending', () => {
    const { out, reporter } = setup({ color: true });
    reporter.emit(start(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']));
    reporter.emit(state('a', 'ready', 1_000));
    reporter.emit(state('b', 'healthy', 1_000));
    reporter.emit(state('c', 'failed', 1_000, 'no such image'));
    reporter.emit(state('d', 'exited', 1_000, 'exit code 137'));
    reporter.emit(state('e', 'running', 1_000));
    reporter.emit(state('f', 'registered', 1_000));
    reporter.emit(state('g', 'exited', 1_000, 'exited with 0'));
    reporter.emit(finishOk); // finish draws whatever the throttle held back
    const rows = out.chunks.at(-2)!.split('\n'); // the final redraw, just before the summary
    const row = (service: string) => rows.find((line) => line.startsWith(`${CLEAR}${service}  `))!.slice(CLEAR.length);
    expect(row('a')).toBe('a        \x1b[32mready     \x1b[39m  1.0s');
    expect(row('b')).toBe('b        \x1b[32mhealthy   \x1b[39m  1.0s');
    expect(row('c')).toBe('c        \x1b[31mfailed    \x1b[39m  1.0s   no such image');
    expect(row('d')).toBe('d        \x1b[31mexited    \x1b[39m  1.0s   exit code 137');
    expect(row('e')).toBe('e        \x1b[33mrunning   \x1b[39m  1.0s');
    expect(row('f')).toBe('f        \x1b[33mregistered\x1b[39m  1.0s');
    expect(row('g')).toBe('g        \x1b[32mexited    \x1b[39m  1.0s   exited with 0');
    expect(row('h')).toBe('h        \x1b[2mpending   \x1b[22m  -');
    expect(rows[0]).toBe(`${up(9)}${CLEAR}\x1b[1mSERVICE  STATE       SINCE  DETAIL\x1b[22m`);
    expect(out.text()).toContain('\x1b[32mready in 42.1s\x1b[39m');
  });

  it('without color writes no escape codes other than cursor movement and line clearing', () => {
    const { out, clock, reporter } = setup({ color: false });
    reporter.emit(start(['istio-pilot', 'productpage']));
    clock.set(200);
    reporter.emit({ type: 'notice', at: T0 + 200, message: 'hello' });
    clock.set(400);
    reporter.emit(state('istio-pilot', 'failed', 5_000, 'exit code 1'));
    reporter.emit({ ...finishOk, ok: false, message: 'istio-pilot failed' });
    reporter.close();
    const codes = out.text().match(/\x1b\[[0-9;?]*[A-Za-z]/g) ?? [];
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.filter((code) => !/^\x1b\[(\d+A|2K|0J|\?25[lh])$/.test(code))).toEqual([]);
    expect(out.text()).toContain('failed after 42.1s: istio-pilot failed\n');
  });

  it('cuts rows to the terminal width so each stays one line', () => {
    const { out, reporter } = setup({ columns: 40 });
    reporter.emit(start(['istio-pilot']));
    reporter.close();
    const wide = setup({ columns: 40 });
    wide.reporter.emit(start(['istio-pilot']));
    wide.clock.set(100);
    wide.reporter.emit(state('istio-pilot', 'running', 1_000, 'waiting for http://127.0.0.1:15014/ready (attempt 7)\nsecond line'));
    expect(wide.out.chunks[1]).toBe(
      up(2) + table('SERVICE      STATE       SINCE  DETAIL', 'istio-pilot  running     1.0s   waitin…'),
    );
    expect(out.chunks[0]).toBe(HIDE + table(HEADER, 'istio-pilot  pending     -'));
  });

  it('defaults to 100 columns', () => {
    const { out, reporter } = setup();
    reporter.emit(state('istio-pilot', 'running', 0, 'x'.repeat(300)));
    const row = out.chunks[0]!.split('\n')[1]!.slice(CLEAR.length);
    expect(row).toBe('istio-pilot  running     0.0s   ' + 'x'.repeat(66) + '…');
    expect(row).toHaveLength(99);
  });

  it('close draws what the throttle held back, shows the cursor once, and ignores later events', () => {
    const { out, clock, reporter } = setup();
    reporter.emit(start(['consul']));
    clock.set(50);
    reporter.emit(state('consul', 'running', 50));
    reporter.close();
    reporter.close();
    reporter.emit(state('consul', 'ready', 60));
    expect(out.chunks.slice(1)).toEqual([up(2) + table(SHORT_HEADER, 'consul   running     0.1s'), SHOW]);
  });

  it('does not move the cursor over the table after finish', () => {
    const { out, clock, reporter } = setup();
    reporter.emit(start(['consul']));
    reporter.emit({ type: 'finish', at: T0 + 1_000, ok: false, elapsedMs: 1_000, summary: [], message: 'interrupted' });
    clock.set(500);
    reporter.emit(state('consul', 'running', 1_200));
    reporter.emit({ type: 'notice', at: T0 + 1_300, message: 'removed the stack' });
    reporter.close();
    expect(out.chunks.slice(1)).toEqual(['\nfailed after 1.0s: interrupted\n', 'notice: removed the stack\n', SHOW]);
  });
});
