import { describe, expect, it } from 'vitest';
import type { VerifyResult } from '../model/verify.js';
import { formatVerifyReport, verifyProgress } from './verify-report.js';

const RESULT: VerifyResult = {
  gatewayUrl: 'http://127.0.0.1:9081',
  requests: 200,
  byClass: {
    v1: { count: 96, percent: 48 },
    v2: { count: 0, percent: 0 },
    v3: { count: 100, percent: 50 },
    error: { count: 4, percent: 2 },
    timeout: { count: 1, percent: 0.5 },
    'reviews-error': { count: 3, percent: 1.5 },
  },
  latencyMs: { p50: 12.3, p90: 20.1, p99: 35, min: 5.2, max: 3001.4 },
  failures: { timeout: 'no complete answer within 3000 ms' },
};

describe('formatVerifyReport', () => {
  it('prints the table, the latency line and the first failure per class', () => {
    expect(formatVerifyReport(RESULT)).toBe(
      [
        '200 requests to http://127.0.0.1:9081/productpage',
        '',
        'CLASS          COUNT  PERCENT',
        'v1                96   48.0 %  ##############',
        'v2                 0    0.0 %',
        'v3               100   50.0 %  ###############',
        'reviews-error      3    1.5 %',
        'timeout            1    0.5 %',
        'error (total)      4    2.0 %',
        '',
        'latency ms: p50 12.3  p90 20.1  p99 35.0  (min 5.2, max 3001.4)',
        'timeout: no complete answer within 3000 ms',
        '',
      ].join('\n'),
    );
  });

  it('names the user and the expectation with its differences', () => {
    const text = formatVerifyReport({
      ...RESULT,
      user: 'jason',
      failures: undefined,
      expectation: { spec: 'v2=100%', tolerancePoints: 10, met: false, differences: ['v1: observed 48.0 %, expected 0 % ± 10'] },
    });
    expect(text.split('\n')[0]).toBe('200 requests to http://127.0.0.1:9081/productpage as jason');
    expect(text).toContain('\nexpected v2=100% ± 10 points: NOT met\n  - v1: observed 48.0 %, expected 0 % ± 10\n');
    expect(formatVerifyReport({ ...RESULT, expectation: { spec: 'v1=50%,v3=50%', tolerancePoints: 10, met: true, differences: [] } })).toContain(
      '\nexpected v1=50%,v3=50% ± 10 points: met\n',
    );
  });
});

describe('verifyProgress', () => {
  it('on a terminal redraws one line at most every 100 ms, always the last, and clears it', () => {
    let written = '';
    let clock = 0;
    const progress = verifyProgress({ isTty: true, env: {}, write: (text) => (written += text), now: () => clock });
    progress.update(1, 3);
    clock = 50;
    progress.update(2, 3);
    clock = 60;
    progress.update(3, 3);
    progress.close();
    expect(written).toBe('\r\x1b[2Kverify: 1/3 requests\r\x1b[2Kverify: 3/3 requests\r\x1b[2K');
  });

  it('elsewhere prints a line per 10 % step for runs of 50 or more, none for short runs', () => {
    const lines: string[] = [];
    const progress = verifyProgress({ isTty: false, env: {}, write: (text) => lines.push(text) });
    for (let done = 1; done <= 200; done++) progress.update(done, 200);
    expect(lines).toEqual(Array.from({ length: 10 }, (_, step) => `verify: ${(step + 1) * 20}/200 requests (${(step + 1) * 10} %)\n`));
    const short: string[] = [];
    const quiet = verifyProgress({ isTty: true, env: { TERM: 'dumb' }, write: (text) => short.push(text) });
    for (let done = 1; done <= 49; done++) quiet.update(done, 49);
    quiet.close();
    expect(short).toEqual([]);
  });
});
