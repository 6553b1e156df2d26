import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { deadline } from './deadline.js';

describe('deadline', () => {
  it('aborts with a TimeoutError after the time, even after a garbage collection', async () => {
    const parent = new AbortController();
    const { signal, clear } = deadline(50, parent.signal);
    // AbortSignal.any([parent, AbortSignal.timeout(50)]) loses its timer here on Node 20.
    setFlagsFromString('--expose-gc');
    await sleep(10);
    (runInNewContext('gc') as () => void)();
    await sleep(120);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    clear();
  });

  it("follows the parent's abort and its reason, also when the parent was aborted already", () => {
    const parent = new AbortController();
    const first = deadline(60_000, parent.signal);
    parent.abort(new DOMException('interrupted', 'AbortError'));
    expect((first.signal.reason as DOMException).name).toBe('AbortError');
    const second = deadline(60_000, parent.signal);
    expect(second.signal.aborted).toBe(true);
    first.clear();
    second.clear();
  });

  it('takes any number of listeners without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const { signal, clear } = deadline(60_000);
    for (let call = 0; call < 50; call++) signal.addEventListener('abort', () => undefined);
    clear();
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('does not abort once cleared', async () => {
    const { signal, clear } = deadline(20);
    clear();
    await sleep(60);
    expect(signal.aborted).toBe(false);
  });
});
