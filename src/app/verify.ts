/**
 * `mesh-local verify`: sends requests to BookInfo's productpage through the project's gateway,
 * classifies each page (src/model/verify.ts) and summarizes what was seen, optionally against an
 * expectation (`--expect v1=50%,v3=50%`).
 */
import { deadline } from '../common/deadline.js';
import { InterruptedError, ServiceFailedError, UsageError, VerifyMismatchError } from '../errors.js';
import {
  classifyProductPage,
  compareWithExpectation,
  ERROR_AGGREGATE,
  isVersionClass,
  nearestRanks,
  round,
  VERSION_CLASSES,
  type ClassCount,
  type Expectation,
  type PageClass,
  type VerifyResult,
} from '../model/verify.js';

export { classifyProductPage, parseExpectation, type ClassCount, type Expectation, type PageClass, type VerifyResult } from '../model/verify.js';

/** Limits the CLI enforces too (exit 2 outside them). */
export const VERIFY_LIMITS = {
  requests: { min: 1, max: 100_000 },
  concurrency: { min: 1, max: 64 },
  tolerancePoints: { min: 0, max: 100 },
} as const;

export const VERIFY_DEFAULTS = {
  requests: 100,
  concurrency: 4,
  tolerancePoints: 10,
  /**
   * Per request. Generous on purpose: productpage tries reviews twice with 3 s each and details
   * with 3 s (productpage.py @0.8.0), so a page under the ratings-test-delay rule takes over 6 s.
   */
  timeoutMs: 30_000,
} as const;

export interface VerifyOptions {
  /** Base URL of the gateway, e.g. `http://127.0.0.1:9081` (no trailing slash needed). */
  gatewayUrl: string;
  /** 1..100000; default 100. */
  requests?: number;
  /** Sign in as this user first (POST /login), and send its `user` cookie with every request. */
  user?: string;
  /** Requests in flight at once, 1..64; default 4. */
  concurrency?: number;
  /** Deadline of each request (and of the login), ms; default 30 000. */
  timeoutMs?: number;
  expect?: Expectation;
  /** Allowed difference per class, percentage points 0..100; default 10. */
  tolerancePoints?: number;
}

export interface VerifyDeps {
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Monotonic clock in ms (performance.now); default performance.now. */
  now?: () => number;
  /** Called after every request: `done` of `total` answered (or failed). */
  onProgress?: (done: number, total: number) => void;
}

function checkRange(name: string, value: number, range: { min: number; max: number }, integer: boolean): void {
  if (!(value >= range.min && value <= range.max) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${name}: expected ${integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}, got ${value}`);
  }
}

/**
 * Signs in as `user` the way a browser does on upstream's page (productpage.html @0.8.0's login
 * form posts `username` and `passwd`; productpage.py @0.8.0's login() reads only `username`, sets
 * the `user` cookie and redirects to the Referer, which it needs). Returns the Cookie header value
 * (`user=<value>` as the server set it). Errors: ServiceFailedError (exit 1) when the login fails
 * or no `user` cookie comes back; the deadline's TimeoutError; the signal's abort.
 */
export async function login(gatewayUrl: string, user: string, fetchImpl: typeof fetch, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const base = gatewayUrl.replace(/\/+$/, '');
  const limit = deadline(timeoutMs, signal);
  let response: Response;
  try {
    response = await fetchImpl(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', referer: `${base}/productpage` },
      body: new URLSearchParams({ username: user, passwd: '' }).toString(),
      redirect: 'manual',
      signal: limit.signal,
    });
    await response.arrayBuffer();
  } catch (error) {
    if (signal?.aborted) throw new InterruptedError('verify interrupted while signing in', { cause: error });
    const reason = limit.signal.aborted ? `no answer within ${timeoutMs} ms` : describe(error);
    throw new ServiceFailedError(`signing in as ${user}: POST ${base}/login failed: ${reason}`, { cause: error });
  } finally {
    limit.clear();
  }
  if (response.status >= 400) {
    throw new ServiceFailedError(`signing in as ${user}: POST ${base}/login answered ${response.status}`);
  }
  const cookie = response.headers
    .getSetCookie()
    .map((header) => header.split(';')[0]!.trim())
    .find((pair) => pair.startsWith('user='));
  if (cookie === undefined || cookie === 'user=' || cookie === 'user=""') {
    throw new ServiceFailedError(`signing in as ${user}: POST ${base}/login answered ${response.status} without a user cookie`, {
      hint: 'the gateway must lead to BookInfo productpage, whose login sets the user cookie',
    });
  }
  return cookie;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/** One request's outcome. */
export interface Sample {
  pageClass: PageClass;
  latencyMs: number;
  failure?: string;
}

/**
 * Sends `requests` GET /productpage to the gateway, `concurrency` at a time, each under its own
 * deadline and `signal`, and summarizes them. With `user`, signs in first (see `login`).
 * Returns the result, with `expectation` filled in when one was given; it never throws for a
 * mismatch: `mismatchError(result)` makes the error the CLI exits 1 with.
 * Errors: UsageError for options out of range; login errors; InterruptedError (exit 130) when
 * `signal` aborts, naming how many requests were done.
 */
export async function verify(options: VerifyOptions, deps: VerifyDeps = {}, signal?: AbortSignal): Promise<VerifyResult> {
  const total = options.requests ?? VERIFY_DEFAULTS.requests;
  const concurrency = options.concurrency ?? VERIFY_DEFAULTS.concurrency;
  const timeoutMs = options.timeoutMs ?? VERIFY_DEFAULTS.timeoutMs;
  const tolerancePoints = options.tolerancePoints ?? VERIFY_DEFAULTS.tolerancePoints;
  checkRange('requests', total, VERIFY_LIMITS.requests, true);
  checkRange('concurrency', concurrency, VERIFY_LIMITS.concurrency, true);
  checkRange('tolerance', tolerancePoints, VERIFY_LIMITS.tolerancePoints, false);
  if (!(timeoutMs > 0)) throw new UsageError(`request timeout: expected a positive number of ms, got ${timeoutMs}`);
  if (options.user !== undefined && (options.user === '' || /[\x00-\x1f\x7f]/.test(options.user))) {
    throw new UsageError('--user: expected a non-empty name without control characters');
  }
  const fetchImpl = deps.fetch ?? globalThis.fetch;
  const now = deps.now ?? (() => performance.now());
  const gatewayUrl = options.gatewayUrl.replace(/\/+$/, '');
  const interrupted = (done: number, cause?: unknown) =>
    new InterruptedError(`verify interrupted after ${done} of ${total} requests`, cause === undefined ? {} : { cause });

  if (signal?.aborted) throw interrupted(0, signal.reason);
  const cookie = options.user === undefined ? undefined : await login(gatewayUrl, options.user, fetchImpl, timeoutMs, signal);
  const headers: Record<string, string> = cookie === undefined ? {} : { cookie };

  const samples: Sample[] = [];
  let started = 0;
  const one = async (): Promise<Sample> => {
    const limit = deadline(timeoutMs, signal);
    const begin = now();
    try {
      const response = await fetchImpl(`${gatewayUrl}/productpage`, { headers, redirect: 'manual', signal: limit.signal });
      const html = await response.text();
      return { pageClass: classifyProductPage(response.status, html), latencyMs: now() - begin };
    } catch (error) {
      if (signal?.aborted) throw error;
      const latencyMs = now() - begin;
      if (limit.signal.aborted) return { pageClass: 'timeout', latencyMs, failure: `no complete answer within ${timeoutMs} ms` };
      return { pageClass: 'no-response', latencyMs, failure: describe(error) };
    } finally {
      limit.clear();
    }
  };
  const worker = async () => {
    while (started < total) {
      if (signal?.aborted) throw interrupted(samples.length, signal.reason);
      started++;
      try {
        samples.push(await one());
      } catch (error) {
        throw interrupted(samples.length, error);
      }
      deps.onProgress?.(samples.length, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return summarize(samples, { gatewayUrl, user: options.user, expect: options.expect, tolerancePoints });
}

/** The result of a set of samples; exported for tests of the arithmetic. */
export function summarize(
  samples: readonly Sample[],
  context: { gatewayUrl: string; user?: string | undefined; expect?: Expectation | undefined; tolerancePoints: number },
): VerifyResult {
  const total = samples.length;
  const counts = new Map<string, number>([...VERSION_CLASSES, ERROR_AGGREGATE].map((name) => [name, 0]));
  const failures: Record<string, string> = {};
  for (const sample of samples) {
    counts.set(sample.pageClass, (counts.get(sample.pageClass) ?? 0) + 1);
    if (!isVersionClass(sample.pageClass)) counts.set(ERROR_AGGREGATE, counts.get(ERROR_AGGREGATE)! + 1);
    if (sample.failure !== undefined) failures[sample.pageClass] ??= sample.failure;
  }
  const exactPercent: Record<string, number> = {};
  const byClass: Record<string, ClassCount> = {};
  for (const [name, count] of counts) {
    exactPercent[name] = total === 0 ? 0 : (count * 100) / total;
    byClass[name] = { count, percent: round(exactPercent[name]!, 2) };
  }
  // One sort for all five; min and max as ranks 0 and 100, not Math.min(...latencies): 100 000
  // arguments come close to V8's limit.
  const [p50, p90, p99, min, max] = nearestRanks(
    samples.map((sample) => sample.latencyMs),
    [50, 90, 99, 0, 100],
  ).map((value) => round(value, 1));
  const result: VerifyResult = {
    gatewayUrl: context.gatewayUrl,
    ...(context.user !== undefined ? { user: context.user } : {}),
    requests: total,
    byClass,
    latencyMs: { p50: p50!, p90: p90!, p99: p99!, min: min!, max: max! },
  };
  if (Object.keys(failures).length > 0) result.failures = failures;
  if (context.expect) {
    const differences = compareWithExpectation(exactPercent, context.expect, context.tolerancePoints);
    result.expectation = { spec: context.expect.spec, tolerancePoints: context.tolerancePoints, met: differences.length === 0, differences };
  }
  return result;
}

/** The error `verify --expect` exits 1 with when the expectation was not met; undefined when it was (or there was none). */
export function mismatchError(result: VerifyResult): VerifyMismatchError | undefined {
  const expectation = result.expectation;
  if (!expectation || expectation.met) return undefined;
  return new VerifyMismatchError(
    `the traffic differs from --expect ${expectation.spec} (tolerance ${expectation.tolerancePoints} points) over ${result.requests} requests:\n${expectation.differences.map((line) => `  - ${line}`).join('\n')}`,
  );
}
