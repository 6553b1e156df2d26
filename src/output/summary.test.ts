import { describe, expect, it } from 'vitest';
import { formatSummary, type FinishEvent } from './summary.js';
import { T0 } from './test-support.js';

const finish = (overrides: Partial<FinishEvent> = {}): FinishEvent => ({
  type: 'finish',
  at: T0 + 42_100,
  ok: true,
  elapsedMs: 42_100,
  summary: [
    { service: 'istio-pilot', state: 'ready', endpoint: 'http://127.0.0.1:15010', readyAfterMs: 12_340 },
    { service: 'productpage', state: 'ready', endpoint: 'http://127.0.0.1:9081', readyAfterMs: 41_960 },
    { service: 'consul', state: 'ready', endpoint: '', readyAfterMs: 3_000 },
  ],
  ...overrides,
});

describe('formatSummary', () => {
  it('aligns SERVICE, ENDPOINT and READY AFTER and ends with the total time', () => {
    expect(formatSummary(finish(), { color: false })).toBe(
      [
        'SERVICE      ENDPOINT                READY AFTER',
        'istio-pilot  http://127.0.0.1:15010  12.3s',
        'productpage  http://127.0.0.1:9081   42.0s',
        'consul       -                       3.0s',
        'ready in 42.1s',
        '',
      ].join('\n'),
    );
  });

  it('names the state of services that never got ready and ends with the failure message', () => {
    const text = formatSummary(
      finish({
        ok: false,
        message: 'productpage did not get healthy within 120s',
        summary: [
          { service: 'istio-pilot', state: 'ready', endpoint: 'http://127.0.0.1:15010', readyAfterMs: 12_340 },
          { service: 'productpage', state: 'failed', endpoint: 'http://127.0.0.1:9081' },
        ],
      }),
      { color: false },
    );
    expect(text).toBe(
      [
        'SERVICE      ENDPOINT                READY AFTER',
        'istio-pilot  http://127.0.0.1:15010  12.3s',
        'productpage  http://127.0.0.1:9081   not ready (failed)',
        'failed after 42.1s: productpage did not get healthy within 120s',
        '',
      ].join('\n'),
    );
  });

  it('prints only the last line when there is nothing to summarise, and no message suffix without one', () => {
    expect(formatSummary(finish({ ok: false, summary: [], elapsedMs: 800 }), { color: false })).toBe('failed after 0.8s\n');
  });

  it('colors only the last line, green when ready and red when failed', () => {
    const ok = formatSummary(finish(), { color: true });
    expect(ok.endsWith('\x1b[32mready in 42.1s\x1b[39m\n')).toBe(true);
    expect(ok.split('\n').slice(0, -2).join('\n')).not.toContain('\x1b');
    const failed = formatSummary(finish({ ok: false, message: 'boom', summary: [] }), { color: true });
    expect(failed).toBe('\x1b[31mfailed after 42.1s: boom\x1b[39m\n');
  });
});
