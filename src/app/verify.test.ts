import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeFor, InterruptedError, ServiceFailedError, UsageError, VerifyMismatchError } from '../errors.js';
import { parseExpectation } from '../model/verify.js';
import { login, mismatchError, summarize, verify } from './verify.js';

// Real HTTP servers on port 0 stand in for the gateway; the BookInfo services themselves are
// exercised in test/verify.test.ts (src/ may not import samples/).

interface Gateway {
  url: string;
  requests: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[];
  inFlight: { now: number; max: number };
  close: () => Promise<void>;
}

const servers: Gateway[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function gateway(handler: (request: IncomingMessage, response: ServerResponse, index: number, body: string) => void): Promise<Gateway> {
  const requests: Gateway['requests'] = [];
  const inFlight = { now: 0, max: 0 };
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body });
      inFlight.now++;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      response.on('close', () => inFlight.now--);
      handler(request, response, requests.length - 1, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const running: Gateway = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    inFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  servers.push(running);
  return running;
}

/** Upstream-shaped page bodies (productpage.html @0.8.0), just what classification reads. */
const PAGES = {
  v1: '<h4>Book Reviews</h4><blockquote><p>t</p><small>Reviewer1</small></blockquote>',
  v2: '<h4>Book Reviews</h4><blockquote><small>Reviewer1</small><font color="black"><span class="glyphicon glyphicon-star"></span></font></blockquote>',
  v3: '<h4>Book Reviews</h4><blockquote><small>Reviewer1</small><font color="red"><span class="glyphicon glyphicon-star"></span></font></blockquote>',
  reviewsError: '<h4>Error fetching product reviews!</h4><p>Sorry, product reviews are currently unavailable for this book.</p>',
};

function send(response: ServerResponse, status: number, body: string, delayMs = 0): void {
  setTimeout(() => {
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': 'text/html' });
    response.end(body);
  }, delayMs);
}

describe('verify against a real HTTP gateway', () => {
  it('counts each class, the error total, percentiles and progress, with at most `concurrency` in flight', async () => {
    // 10 requests: 5 v1, 3 v3, 1 reviews error, 1 HTTP 503.
    const plan = ['v1', 'v3', 'v1', 'v3', 'v1', 'v3', 'v1', 'reviewsError', 'v1', '503'] as const;
    const server = await gateway((_request, response, index) => {
      const kind = plan[index]!;
      send(response, kind === '503' ? 503 : 200, kind === '503' ? 'fault filter abort' : PAGES[kind], 20);
    });
    const progress: [number, number][] = [];
    const result = await verify({ gatewayUrl: `${server.url}/`, requests: 10, concurrency: 3 }, { onProgress: (done, total) => progress.push([done, total]) });
    expect(result.byClass).toEqual({
      v1: { count: 5, percent: 50 },
      v2: { count: 0, percent: 0 },
      v3: { count: 3, percent: 30 },
      error: { count: 2, percent: 20 },
      'reviews-error': { count: 1, percent: 10 },
      'http-503': { count: 1, percent: 10 },
    });
    expect(result.requests).toBe(10);
    expect(result.gatewayUrl).toBe(server.url);
    expect(result.user).toBeUndefined();
    expect(result.expectation).toBeUndefined();
    expect(server.requests.every((request) => request.method === 'GET' && request.path === '/productpage')).toBe(true);
    expect(server.inFlight.max).toBe(3);
    expect(progress).toEqual(Array.from({ length: 10 }, (_, index) => [index + 1, 10]));
    const { p50, p90, p99, min, max } = result.latencyMs;
    expect(min).toBeGreaterThanOrEqual(15);
    expect(min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= max).toBe(true);
  });

  it('uses the injected clock for latencies (nearest rank)', async () => {
    const server = await gateway((_request, response) => send(response, 200, PAGES.v2));
    let tick = 0;
    // With concurrency 1 each request reads the clock at its start and its end: latencies 10, 20, 30, 40 ms.
    const clock = [0, 10, 10, 30, 30, 60, 60, 100];
    const result = await verify({ gatewayUrl: server.url, requests: 4, concurrency: 1 }, { now: () => clock[tick++]! });
    expect(result.latencyMs).toEqual({ p50: 20, p90: 40, p99: 40, min: 10, max: 40 });
  });

  it('signs in like a browser and sends the user cookie with every request', async () => {
    const server = await gateway((request, response) => {
      if (request.method === 'POST' && request.url === '/login') {
        // productpage.py @0.8.0: set_cookie('user', username), redirect to the Referer.
        response.writeHead(302, { location: request.headers.referer ?? '/', 'set-cookie': 'user=jason; Path=/' });
        response.end();
        return;
      }
      send(response, 200, request.headers.cookie === 'user=jason' ? PAGES.v2 : PAGES.v1);
    });
    const result = await verify({ gatewayUrl: server.url, requests: 6, user: 'jason', expect: parseExpectation('v2=100%'), tolerancePoints: 0 });
    expect(result.user).toBe('jason');
    expect(result.byClass.v2).toEqual({ count: 6, percent: 100 });
    expect(result.expectation).toEqual({ spec: 'v2=100%', tolerancePoints: 0, met: true, differences: [] });
    expect(mismatchError(result)).toBeUndefined();
    const [signIn, ...pages] = server.requests;
    expect(signIn?.method).toBe('POST');
    expect(signIn?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(signIn?.headers.referer).toBe(`${server.url}/productpage`);
    expect(Object.fromEntries(new URLSearchParams(signIn?.body))).toEqual({ username: 'jason', passwd: '' });
    expect(pages.map((page) => page.headers.cookie)).toEqual(Array(6).fill('user=jason'));
  });

  it('fails clearly, before any page request, when the login sets no user cookie', async () => {
    const server = await gateway((_request, response) => send(response, 200, 'no cookie here'));
    const error = await verify({ gatewayUrl: server.url, requests: 3, user: 'jason' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceFailedError);
    expect(exitCodeFor(error)).toBe(1);
    expect((error as Error).message).toBe(`signing in as jason: POST ${server.url}/login answered 200 without a user cookie`);
    expect(server.requests).toHaveLength(1);
    const refused = await gateway((_request, response) => send(response, 405, 'Method Not Allowed'));
    await expect(login(refused.url, 'jason', fetch, 5000)).rejects.toThrow(`signing in as jason: POST ${refused.url}/login answered 405`);
  });

  it('counts answers slower than the request deadline as timeout, refused connections as no-response', async () => {
    const slow = await gateway((_request, response, index) => send(response, 200, PAGES.v1, index % 2 === 0 ? 5_000 : 0));
    const started = Date.now();
    const result = await verify({ gatewayUrl: slow.url, requests: 4, concurrency: 4, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.byClass.timeout).toEqual({ count: 2, percent: 50 });
    expect(result.byClass.v1).toEqual({ count: 2, percent: 50 });
    expect(result.failures).toEqual({ timeout: 'no complete answer within 300 ms' });

    const dead = await gateway(() => undefined);
    const deadUrl = dead.url;
    await dead.close();
    const refused = await verify({ gatewayUrl: deadUrl, requests: 2, expect: parseExpectation('error=100%') });
    expect(refused.byClass['no-response']).toEqual({ count: 2, percent: 100 });
    expect(refused.byClass.error).toEqual({ count: 2, percent: 100 });
    expect(refused.failures?.['no-response']).toContain('ECONNREFUSED');
    expect(refused.expectation?.met).toBe(true);
  });

  it('ends with InterruptedError (exit 130) soon after the signal aborts, naming the progress', async () => {
    const server = await gateway((_request, response, index) => send(response, 200, PAGES.v1, index < 2 ? 0 : 60_000));
    const controller = new AbortController();
    const started = Date.now();
    const run = verify({ gatewayUrl: server.url, requests: 50, concurrency: 1, timeoutMs: 60_000 }, {
      onProgress: (done) => {
        if (done === 2) setTimeout(() => controller.abort(), 100);
      },
    }, controller.signal);
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InterruptedError);
    expect(exitCodeFor(error)).toBe(130);
    expect((error as Error).message).toBe('verify interrupted after 2 of 50 requests');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.requests).toHaveLength(3);
    // Already aborted: nothing is sent.
    const before = server.requests.length;
    await expect(verify({ gatewayUrl: server.url, requests: 5, user: 'jason' }, {}, controller.signal)).rejects.toBeInstanceOf(InterruptedError);
    expect(server.requests).toHaveLength(before);
  });

  it('reports a mismatch naming every difference, as VerifyMismatchError (exit 1)', async () => {
    const server = await gateway((_request, response, index) => send(response, 200, index % 4 === 0 ? PAGES.v2 : PAGES.v1));
    const result = await verify({ gatewayUrl: server.url, requests: 8, concurrency: 1, expect: parseExpectation('v1=50%,v3=50%') });
    expect(result.expectation).toEqual({
      spec: 'v1=50%,v3=50%',
      tolerancePoints: 10,
      met: false,
      differences: ['v1: observed 75.0 %, expected 50 % ± 10', 'v2: observed 25.0 %, expected 0 % ± 10', 'v3: observed 0.0 %, expected 50 % ± 10'],
    });
    const error = mismatchError(result);
    expect(error).toBeInstanceOf(VerifyMismatchError);
    expect(exitCodeFor(error)).toBe(1);
    expect(error?.message).toBe(
      'the traffic differs from --expect v1=50%,v3=50% (tolerance 10 points) over 8 requests:\n' +
        '  - v1: observed 75.0 %, expected 50 % ± 10\n  - v2: observed 25.0 %, expected 0 % ± 10\n  - v3: observed 0.0 %, expected 50 % ± 10',
    );
  });

  it.each([
    [{ requests: 0 }, 'requests: expected an integer from 1 to 100000, got 0'],
    [{ requests: 1.5 }, 'requests: expected an integer from 1 to 100000, got 1.5'],
    [{ concurrency: 65 }, 'concurrency: expected an integer from 1 to 64, got 65'],
    [{ tolerancePoints: -1 }, 'tolerance: expected a number from 0 to 100, got -1'],
    [{ user: '' }, '--user: expected a non-empty name'],
  ])('refuses %j with a usage error', async (bad, message) => {
    const error = await verify({ gatewayUrl: 'http://127.0.0.1:9', ...bad }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(message);
  });
});

describe('summarize', () => {
  it('rounds percentages to 2 decimals and keeps the error classes apart', () => {
    const result = summarize(
      [
        { pageClass: 'v1', latencyMs: 1 },
        { pageClass: 'v1', latencyMs: 2 },
        { pageClass: 'ratings-error', latencyMs: 3 },
      ],
      { gatewayUrl: 'http://gw', tolerancePoints: 10 },
    );
    expect(result.byClass).toEqual({
      v1: { count: 2, percent: 66.67 },
      v2: { count: 0, percent: 0 },
      v3: { count: 0, percent: 0 },
      error: { count: 1, percent: 33.33 },
      'ratings-error': { count: 1, percent: 33.33 },
    });
    expect(result.latencyMs).toEqual({ p50: 2, p90: 3, p99: 3, min: 1, max: 3 });
  });

  it('takes the largest run the CLI allows', () => {
    const samples = Array.from({ length: 100_000 }, (_, index) => ({ pageClass: 'v1' as const, latencyMs: 100_000 - index }));
    const result = summarize(samples, { gatewayUrl: 'http://gw', tolerancePoints: 10 });
    expect(result.latencyMs).toEqual({ p50: 50_000, p90: 90_000, p99: 99_000, min: 1, max: 100_000 });
    expect(result.byClass.v1).toEqual({ count: 100_000, percent: 100 });
  });
});
