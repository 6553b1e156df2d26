import { describe, expect, it } from 'vitest';
import { PlainReporter } from './plain-reporter.js';
import { capture, start, state, T0 } from './test-support.js';

describe('PlainReporter', () => {
  it('prints one line per state change with the time since start, notices, and the summary', () => {
    const out = capture();
    const reporter = new PlainReporter(out.write, { now: () => 0 });
    reporter.emit(start(['istio-pilot', 'productpage']));
    reporter.emit(state('istio-pilot', 'pulled', 0));
    reporter.emit(state('istio-pilot', 'running', 2_340, 'container 3f2a'));
    reporter.emit({ type: 'notice', at: T0 + 2_500, message: 'using the sandbox image set' });
    reporter.emit(state('istio-pilot', 'healthy', 12_345, 'GET /ready 200'));
    reporter.emit(state('productpage', 'failed', 123_456, 'exit code 1'));
    reporter.emit({
      type: 'finish',
      at: T0 + 123_500,
      ok: false,
      elapsedMs: 123_500,
      message: 'productpage failed',
      summary: [
        { service: 'istio-pilot', state: 'healthy', endpoint: 'http://127.0.0.1:15010', readyAfterMs: 12_345 },
        { service: 'productpage', state: 'failed', endpoint: '' },
      ],
    });
    reporter.close();
    reporter.close();

    expect(out.text()).toBe(
      [
        '[  0.0s] istio-pilot: pulled',
        '[  2.3s] istio-pilot: running (container 3f2a)',
        'notice: using the sandbox image set',
        '[ 12.3s] istio-pilot: healthy (GET /ready 200)',
        '[123.5s] productpage: failed (exit code 1)',
        '',
        'SERVICE      ENDPOINT                READY AFTER',
        'istio-pilot  http://127.0.0.1:15010  12.3s',
        'productpage  -                       not ready (failed)',
        'failed after 123.5s: productpage failed',
        '',
      ].join('\n'),
    );
    expect(out.text()).not.toContain('\x1b');
  });

  it('skips repeats of the same state and the initial pending, and folds details to one line', () => {
    const out = capture();
    const reporter = new PlainReporter(out.write);
    reporter.emit(start(['consul']));
    reporter.emit(state('consul', 'pending', 100));
    reporter.emit(state('consul', 'pulled', 1_000, 'layer 1/3'));
    reporter.emit(state('consul', 'pulled', 1_500, 'layer 2/3'));
    reporter.emit(state('consul', 'running', 2_000, 'line one\n\x1b[31mline two\x1b[0m\r\n'));
    expect(out.text()).toBe('[  1.0s] consul: pulled (layer 1/3)\n[  2.0s] consul: running (line one line two)\n');
  });

  it('measures from the first event when no start event came', () => {
    const out = capture();
    const reporter = new PlainReporter(out.write);
    reporter.emit(state('envoy', 'created', 5_000));
    reporter.emit(state('envoy', 'running', 6_500));
    expect(out.text()).toBe('[  0.0s] envoy: created\n[  1.5s] envoy: running\n');
  });
});
