import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from './events.js';
import { JsonReporter } from './json-reporter.js';
import { capture, start, state, T0 } from './test-support.js';

describe('JsonReporter', () => {
  it('writes one JSON line per event that parses back to the event, and nothing else', () => {
    const out = capture();
    const reporter = new JsonReporter(out.write);
    const events: ProgressEvent[] = [
      start(['istio-pilot', 'productpage']),
      state('istio-pilot', 'running', 1200, 'container abc123'),
      { type: 'notice', at: T0 + 1500, message: 'falling back to the sandbox image set' },
      state('istio-pilot', 'ready', 4000),
      {
        type: 'finish',
        at: T0 + 5000,
        ok: true,
        elapsedMs: 5000,
        summary: [{ service: 'istio-pilot', state: 'ready', endpoint: 'http://127.0.0.1:15010', readyAfterMs: 4000 }],
      },
    ];
    for (const event of events) reporter.emit(event);
    reporter.close();
    reporter.close();

    expect(out.chunks).toHaveLength(events.length);
    expect(out.chunks.every((chunk) => chunk.endsWith('\n') && chunk.indexOf('\n') === chunk.length - 1)).toBe(true);
    expect(out.text().trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(events);
    expect(out.chunks[1]).toBe(
      '{"type":"state","at":1700000001200,"service":"istio-pilot","state":"running","detail":"container abc123"}\n',
    );
  });
});
