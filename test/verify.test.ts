import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import * as details from '../samples/bookinfo/details.js';
import * as productpage from '../samples/bookinfo/productpage.js';
import * as ratings from '../samples/bookinfo/ratings.js';
import * as reviews from '../samples/bookinfo/reviews.js';
import type { RunningServer } from '../sandbox/common/server.js';
import { mismatchError, verify } from '../src/app/verify.js';
import { classifyProductPage, parseExpectation } from '../src/model/verify.js';
import { runCli, temporaryDirectory } from './support/cli.js';

/**
 * `verify` against the TypeScript BookInfo, in-process on port 0: the page markup our sample renders
 * is classified right, and a run through productpage sees what a tiny local router in front of the
 * reviews versions did (round robin v1/v3, and v2 for the `user=jason` cookie, as the
 * reviews-test-v2 rule does in the mesh).
 */

let logSpy: MockInstance<typeof console.log>;
const started: RunningServer[] = [];
async function track<T extends RunningServer>(server: Promise<T>): Promise<T> {
  const running = await server;
  started.push(running);
  return running;
}

interface Router extends RunningServer {
  /** The Cookie header of every reviews request productpage made. */
  cookies: (string | undefined)[];
}

/** Reviews requests go to v2 with `user=jason`, else to v1 and v3 in turn. */
async function reviewsRouter(urls: { v1: string; v2: string; v3: string }): Promise<Router> {
  const cookies: (string | undefined)[] = [];
  let turn = 0;
  const server = createServer(async (request: IncomingMessage, response) => {
    cookies.push(request.headers.cookie);
    const target = request.headers.cookie === 'user=jason' ? urls.v2 : turn++ % 2 === 0 ? urls.v1 : urls.v3;
    const headers: Record<string, string> = {};
    if (request.headers.cookie) headers.cookie = request.headers.cookie;
    const answer = await fetch(`${target}${request.url}`, { headers });
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    response.end(await answer.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return track(
    Promise.resolve({
      port,
      url: `http://127.0.0.1:${port}`,
      cookies,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    }),
  );
}

async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const stack = { details: '', ratings: '', v1: '', v2: '', v3: '' };

beforeAll(async () => {
  logSpy = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const ratingsServer = await track(ratings.start({ port: 0, env: {} }));
  stack.ratings = ratingsServer.url;
  stack.details = (await track(details.start({ port: 0, env: {} }))).url;
  stack.v1 = (await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v1' } }))).url;
  stack.v2 = (await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v2', RATINGS_URL: ratingsServer.url } }))).url;
  stack.v3 = (await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v3', RATINGS_URL: ratingsServer.url } }))).url;
});

afterAll(async () => {
  await Promise.all(started.map((server) => server.close()));
  logSpy.mockRestore();
});

const TEXTS = reviews.REVIEW_TEXTS;
function reviewsBody(rating?: (reviewer: string) => Record<string, unknown>) {
  return {
    id: '0',
    reviews: Object.entries(TEXTS).map(([reviewer, text]) => ({ reviewer, text, ...(rating ? { rating: rating(reviewer) } : {}) })),
  };
}

describe('classifyProductPage on the TypeScript sample (samples/bookinfo/productpage.ts)', () => {
  const detailsOk = { status: 200, body: details.bookDetails(0) };
  const render = (reviewsAnswer: { status: number; body: unknown }, detailsAnswer = detailsOk, user?: string) =>
    classifyProductPage(200, productpage.renderProductPage(user, detailsAnswer, reviewsAnswer));

  it('v1, v2, v3 from the stars reviews renders with its configured colour', () => {
    const stars = (color: string) => (reviewer: string) => ({ stars: reviewer === 'Reviewer1' ? 5 : 4, color });
    expect(render({ status: 200, body: reviewsBody() })).toBe('v1');
    expect(render({ status: 200, body: reviewsBody(stars(reviews.reviewsConfig({ SERVICE_VERSION: 'v2' }).starColor)) })).toBe('v2');
    expect(render({ status: 200, body: reviewsBody(stars(reviews.reviewsConfig({ SERVICE_VERSION: 'v3' }).starColor)) }, detailsOk, 'jason')).toBe('v3');
  });

  it('the error texts', () => {
    expect(render({ status: 500, body: { error: productpage.REVIEWS_UNAVAILABLE } })).toBe('reviews-error');
    expect(render({ status: 200, body: reviewsBody(() => ({ error: reviews.RATINGS_UNAVAILABLE })) })).toBe('ratings-error');
    expect(render({ status: 200, body: reviewsBody() }, { status: 503, body: { error: productpage.DETAILS_UNAVAILABLE } })).toBe('details-error');
  });
});

describe('verify through the TypeScript productpage', () => {
  it('sees the router’s round robin exactly, and v2 for jason, whose cookie reaches reviews', async () => {
    const router = await reviewsRouter(stack);
    const page = await track(productpage.start({ port: 0, env: { DETAILS_URL: stack.details, REVIEWS_URL: router.url } }));

    const everyone = await verify({ gatewayUrl: page.url, requests: 40, concurrency: 4, expect: parseExpectation('v1=50%,v3=50%'), tolerancePoints: 0 });
    expect(everyone.byClass.v1).toEqual({ count: 20, percent: 50 });
    expect(everyone.byClass.v3).toEqual({ count: 20, percent: 50 });
    expect(everyone.byClass.error).toEqual({ count: 0, percent: 0 });
    expect(everyone.expectation?.met).toBe(true);
    expect(router.cookies.filter((cookie) => cookie !== undefined)).toEqual([]);

    const jason = await verify({ gatewayUrl: page.url, requests: 10, user: 'jason', expect: parseExpectation('v2=100%') });
    expect(jason.byClass.v2).toEqual({ count: 10, percent: 100 });
    expect(jason.expectation?.met).toBe(true);
    expect(router.cookies.slice(40)).toEqual(Array(10).fill('user=jason'));

    const wrong = await verify({ gatewayUrl: page.url, requests: 20, expect: parseExpectation('v2=100%') });
    expect(mismatchError(wrong)?.message).toBe(
      'the traffic differs from --expect v2=100% (tolerance 10 points) over 20 requests:\n' +
        '  - v1: observed 50.0 %, expected 0 % ± 10\n  - v2: observed 0.0 %, expected 100 % ± 10\n  - v3: observed 50.0 %, expected 0 % ± 10',
    );
  });

  it('sees each error the page can show', async () => {
    const dead = await deadUrl();
    const v2WithoutRatings = await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v2', RATINGS_URL: dead } }));
    const cases = [
      { env: { DETAILS_URL: stack.details, REVIEWS_URL: dead }, expected: 'reviews-error' },
      { env: { DETAILS_URL: stack.details, REVIEWS_URL: v2WithoutRatings.url }, expected: 'ratings-error' },
      { env: { DETAILS_URL: dead, REVIEWS_URL: stack.v3 }, expected: 'details-error' },
    ];
    for (const { env, expected } of cases) {
      const page = await track(productpage.start({ port: 0, env }));
      const result = await verify({ gatewayUrl: page.url, requests: 4, expect: parseExpectation('error=100%') });
      expect(result.byClass[expected], expected).toEqual({ count: 4, percent: 100 });
      expect(result.byClass.error).toEqual({ count: 4, percent: 100 });
      expect(result.expectation?.met).toBe(true);
    }
  });
});

describe('mesh-local verify: usage errors exit 2 naming the flag, before any Docker call', () => {
  it.each([
    [['--requests', '0'], "option '--requests <n>' argument '0' is invalid. expected an integer from 1 to 100000"],
    [['--requests', '100001'], "argument '100001' is invalid. expected an integer from 1 to 100000"],
    [['--requests', '5x'], "argument '5x' is invalid"],
    [['--concurrency', '65'], "option '--concurrency <n>' argument '65' is invalid. expected an integer from 1 to 64"],
    [['--tolerance', '101'], "option '--tolerance <points>' argument '101' is invalid. expected a number from 0 to 100"],
    [['--request-timeout', '0'], "option '--request-timeout <duration>' argument '0' is invalid"],
    [['--expect', 'v4=50%'], "error [ML_USAGE]: --expect: unknown class 'v4' in 'v4=50%'"],
    [['--expect', 'v1=60%,v3=60%'], 'error [ML_USAGE]: --expect: the percentages of'],
  ])('verify %j', async (argv, message) => {
    const result = await runCli(['verify', ...argv], { cwd: await temporaryDirectory('verify') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('documents the classes, examples and exit codes in --help', async () => {
    const result = await runCli(['verify', '--help'], { cwd: await temporaryDirectory('verify') });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('mesh-local verify --requests 200 --expect v1=50%,v3=50%');
    expect(result.stdout).toContain('mesh-local verify --user jason --expect v2=100%');
    expect(result.stdout).toContain('Exit codes:');
  });
});
