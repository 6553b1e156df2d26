import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { RunningServer } from '../../sandbox/common/server.js';
import { bookinfoApiSuite, starsFromHtml, type BookinfoUrls } from './api-suite.js';
import { forwardHeaders, parseCookies } from './common.js';
import * as details from './details.js';
import * as productpage from './productpage.js';
import * as ratings from './ratings.js';
import * as reviews from './reviews.js';

let logSpy: MockInstance<typeof console.log>;
const started: RunningServer[] = [];

async function track<T extends RunningServer>(server: Promise<T>): Promise<T> {
  const running = await server;
  started.push(running);
  return running;
}

interface Captured {
  path: string;
  headers: IncomingHttpHeaders;
}

interface Capture extends RunningServer {
  requests: Captured[];
}

/** A fake downstream that records every request and answers with `reply` (which may never answer). */
async function capture(reply: (request: IncomingMessage, response: ServerResponse, count: number) => void): Promise<Capture> {
  const requests: Captured[] = [];
  const server = createServer((request, response) => {
    requests.push({ path: request.url ?? '', headers: request.headers });
    reply(request, response, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const running: Capture = {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
  started.push(running);
  return running;
}

function replyJson(response: ServerResponse, status: number, body: unknown, delayMs = 0): void {
  const send = () => {
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  if (delayMs > 0) setTimeout(send, delayMs);
  else send();
}

/** A base URL nothing listens on. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function fetchText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, text: await response.text() };
}

const DETAILS_JSON = details.bookDetails(0);
const REVIEWS_JSON = {
  id: '0',
  reviews: [
    { reviewer: 'Reviewer1', text: reviews.REVIEW_TEXTS.Reviewer1 },
    { reviewer: 'Reviewer2', text: reviews.REVIEW_TEXTS.Reviewer2 },
  ],
};

const TRACING = {
  'x-request-id': 'req-123',
  'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
  'x-b3-spanid': 'e457b5a2e4d86bd1',
  'x-b3-parentspanid': '05e3ac9a4f6e3b90',
  'x-b3-sampled': '1',
  'x-b3-flags': '0',
  'x-ot-span-context': 'span-context-value',
};

const stack = {} as BookinfoUrls;

beforeAll(async () => {
  logSpy = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const ratingsServer = await track(ratings.start({ port: 0, env: {} }));
  const detailsServer = await track(details.start({ port: 0, env: {} }));
  const v1 = await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v1', ENABLE_RATINGS: 'false' } }));
  const v2 = await track(
    reviews.start({ port: 0, env: { SERVICE_VERSION: 'v2', ENABLE_RATINGS: 'true', RATINGS_URL: ratingsServer.url } }),
  );
  const v3 = await track(
    reviews.start({
      port: 0,
      env: { SERVICE_VERSION: 'v3', ENABLE_RATINGS: 'true', STAR_COLOR: 'red', RATINGS_URL: ratingsServer.url },
    }),
  );
  const page = await track(
    productpage.start({
      port: 0,
      env: { DETAILS_URL: detailsServer.url, REVIEWS_URL: v2.url, RATINGS_URL: ratingsServer.url },
    }),
  );
  Object.assign(stack, {
    productpage: page.url,
    details: detailsServer.url,
    ratings: ratingsServer.url,
    reviewsV1: v1.url,
    reviewsV2: v2.url,
    reviewsV3: v3.url,
  });
});

afterAll(async () => {
  await Promise.all(started.map((server) => server.close()));
  logSpy.mockRestore();
});

bookinfoApiSuite(() => stack);

describe('in-process wiring', () => {
  it('productpage wired to reviews v2 shows black stars', async () => {
    const { text } = await fetchText(`${stack.productpage}/productpage`);
    expect(starsFromHtml(text)).toEqual([
      { reviewer: 'Reviewer1', color: 'black', full: 5, empty: 0 },
      { reviewer: 'Reviewer2', color: 'black', full: 4, empty: 1 },
    ]);
    expect(text).toContain(
      '<font color="black">' + '<span class="glyphicon glyphicon-star"></span>'.repeat(4) +
        '<span class="glyphicon glyphicon-star-empty"></span></font>',
    );
  });

  it('renders any star count, no stars for 0, and the rating error text', async () => {
    const fake = await capture((request, response) =>
      request.url?.startsWith('/details/')
        ? replyJson(response, 200, DETAILS_JSON)
        : replyJson(response, 200, {
            id: '0',
            reviews: [
              { reviewer: 'A', text: 'one', rating: { stars: 1, color: 'blue' } },
              { reviewer: 'B', text: 'zero', rating: { stars: 0, color: 'blue' } },
              { reviewer: 'C', text: 'none', rating: { error: 'Ratings service is currently unavailable' } },
            ],
          }),
    );
    const page = await track(productpage.start({ port: 0, env: { DETAILS_URL: fake.url, REVIEWS_URL: fake.url } }));
    const { text } = await fetchText(`${page.url}/productpage`);
    expect(starsFromHtml(text)).toEqual([
      { reviewer: 'A', color: 'blue', full: 1, empty: 4 },
      { reviewer: 'B', color: null, full: 0, empty: 0 },
      { reviewer: 'C', color: null, full: 0, empty: 0 },
    ]);
    expect(text).toContain('<p><i>Ratings service is currently unavailable</i></p>');
  });

  it('escapes the user name taken from the cookie', async () => {
    const { text } = await fetchText(`${stack.productpage}/productpage`, { cookie: 'user=%3Cscript%3Ex' });
    expect(text).toContain('signed in as <b>&lt;script&gt;x</b>');
    expect(text).not.toContain('<script>');
  });

  it('logs one line per request with method, path, status and duration', async () => {
    logSpy.mockClear();
    await fetchText(`${stack.details}/details/abc`);
    await vi.waitFor(() =>
      expect(logSpy.mock.calls.map((call) => String(call[0]))).toContainEqual(
        expect.stringMatching(/^details GET \/details\/abc 400 \d+\.\dms$/),
      ),
    );
  });
});

describe('helpers', () => {
  it('parseCookies keeps raw values and the first occurrence', () => {
    expect(parseCookies('a=1; user=jason; user=other; b=x=y')).toEqual({ a: '1', user: 'jason', b: 'x=y' });
    expect(parseCookies(undefined)).toEqual({});
  });

  it('forwardHeaders keeps only the user cookie and tracing headers', () => {
    const request = { headers: { cookie: 'theme=dark; user=jason', 'x-b3-sampled': '1', 'x-custom': 'no' } };
    expect(forwardHeaders(request as unknown as IncomingMessage)).toEqual({ cookie: 'user=jason', 'x-b3-sampled': '1' });
    expect(forwardHeaders({ headers: { cookie: 'user=' } } as unknown as IncomingMessage)).toEqual({});
  });

  it('reviewsConfig: versions, colours and the colour-dependent ratings timeout', () => {
    expect(reviews.reviewsConfig({ SERVICE_VERSION: 'v1', ENABLE_RATINGS: 'false' })).toEqual({
      version: 'v1',
      ratingsEnabled: false,
      starColor: 'black',
      ratingsUrl: 'http://ratings:9080',
      ratingsTimeoutMs: 10_000,
    });
    expect(reviews.reviewsConfig({ SERVICE_VERSION: 'v2', ENABLE_RATINGS: 'true' })).toMatchObject({
      ratingsEnabled: true,
      starColor: 'black',
      ratingsTimeoutMs: 10_000,
    });
    expect(reviews.reviewsConfig({ SERVICE_VERSION: 'v3', ENABLE_RATINGS: 'true', STAR_COLOR: 'red' })).toMatchObject({
      ratingsEnabled: true,
      starColor: 'red',
      ratingsTimeoutMs: 2_500,
    });
    expect(reviews.reviewsConfig({ SERVICE_VERSION: 'v3' })).toMatchObject({ ratingsEnabled: true, starColor: 'red' });
    expect(reviews.reviewsConfig({ SERVICE_VERSION: 'v2', ENABLE_RATINGS: 'TRUE', RATINGS_URL: 'http://r:1/' })).toMatchObject({
      ratingsEnabled: true,
      ratingsUrl: 'http://r:1',
    });
  });
});

describe('header forwarding', () => {
  function fakeDetailsAndReviews(): Promise<Capture> {
    return capture((request, response) => {
      if (request.url?.startsWith('/details/')) replyJson(response, 200, DETAILS_JSON);
      else if (request.url?.startsWith('/reviews/')) replyJson(response, 200, REVIEWS_JSON);
      else replyJson(response, 200, { id: 0, ratings: { Reviewer1: 1, Reviewer2: 2 } });
    });
  }

  it('productpage forwards the user cookie and tracing headers to details and reviews', async () => {
    const fake = await fakeDetailsAndReviews();
    const page = await track(
      productpage.start({ port: 0, env: { DETAILS_URL: fake.url, REVIEWS_URL: fake.url, RATINGS_URL: fake.url } }),
    );
    const { status, text } = await fetchText(`${page.url}/productpage?u=test`, {
      cookie: 'theme=dark; user=jason; other=1',
      'x-custom': 'not forwarded',
      ...TRACING,
    });
    expect(status).toBe(200);
    expect(text).toContain('Book Details');
    expect(fake.requests.map((request) => request.path).sort()).toEqual(['/details/0', '/reviews/0']);
    for (const request of fake.requests) {
      expect(request.headers.cookie).toBe('user=jason');
      for (const [name, value] of Object.entries(TRACING)) expect(request.headers[name]).toBe(value);
      expect(request.headers['x-custom']).toBeUndefined();
    }

    fake.requests.length = 0;
    const api = await fetchText(`${page.url}/api/v1/products/3/ratings`, { cookie: 'user=jason', ...TRACING });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.text)).toEqual({ id: 0, ratings: { Reviewer1: 1, Reviewer2: 2 } });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.path).toBe('/ratings/3');
    expect(fake.requests[0]?.headers.cookie).toBe('user=jason');
    expect(fake.requests[0]?.headers['x-b3-traceid']).toBe(TRACING['x-b3-traceid']);
  });

  it('productpage makes up one x-request-id per request when none came in, and sends no cookie without a user', async () => {
    const fake = await fakeDetailsAndReviews();
    const page = await track(productpage.start({ port: 0, env: { DETAILS_URL: fake.url, REVIEWS_URL: fake.url } }));
    await fetchText(`${page.url}/productpage`, { cookie: 'theme=dark' });
    await fetchText(`${page.url}/productpage`);
    expect(fake.requests).toHaveLength(4);
    const ids = fake.requests.map((request) => request.headers['x-request-id']);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(ids[0]).not.toBe(ids[2]);
    for (const request of fake.requests) {
      expect(request.headers.cookie).toBeUndefined();
      expect(request.headers['x-b3-traceid']).toBeUndefined();
    }
  });

  it('reviews v2 forwards the user cookie and tracing headers to ratings and uses its numbers', async () => {
    const fake = await capture((_request, response) => replyJson(response, 200, { id: 5, ratings: { Reviewer1: 1, Reviewer2: 3 } }));
    const v2 = await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v2', ENABLE_RATINGS: 'true', RATINGS_URL: fake.url } }));
    const { status, text } = await fetchText(`${v2.url}/reviews/5`, { cookie: 'user=jason; a=b', 'x-custom': 'no', ...TRACING });
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({
      id: '5',
      reviews: [
        { reviewer: 'Reviewer1', text: reviews.REVIEW_TEXTS.Reviewer1, rating: { stars: 1, color: 'black' } },
        { reviewer: 'Reviewer2', text: reviews.REVIEW_TEXTS.Reviewer2, rating: { stars: 3, color: 'black' } },
      ],
    });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.path).toBe('/ratings/5');
    expect(fake.requests[0]?.headers.cookie).toBe('user=jason');
    for (const [name, value] of Object.entries(TRACING)) expect(fake.requests[0]?.headers[name]).toBe(value);
    expect(fake.requests[0]?.headers['x-custom']).toBeUndefined();
  });

  it('reviews v1 never calls ratings', async () => {
    const fake = await capture((_request, response) => replyJson(response, 200, { id: 0, ratings: {} }));
    const v1 = await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v1', ENABLE_RATINGS: 'false', RATINGS_URL: fake.url } }));
    expect(JSON.parse((await fetchText(`${v1.url}/reviews/0`)).text)).toEqual(REVIEWS_JSON);
    expect(fake.requests).toHaveLength(0);
  });
});

const UNAVAILABLE = { error: 'Ratings service is currently unavailable' };

describe('reviews when ratings misbehaves', () => {
  it.concurrent('a 3 s ratings delay: red (2.5 s timeout) gives up, black (10 s timeout) waits', async ({ expect }) => {
    const slow = await capture((request, response) =>
      replyJson(response, 200, { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } }, 3_000),
    );
    const red = await track(
      reviews.start({ port: 0, env: { SERVICE_VERSION: 'v3', ENABLE_RATINGS: 'true', STAR_COLOR: 'red', RATINGS_URL: slow.url } }),
    );
    const black = await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v2', ENABLE_RATINGS: 'true', RATINGS_URL: slow.url } }));
    const timed = async (url: string) => {
      const begin = performance.now();
      const answer = await fetchText(`${url}/reviews/0`);
      return { ...answer, ms: performance.now() - begin };
    };
    const [redAnswer, blackAnswer] = await Promise.all([timed(red.url), timed(black.url)]);

    expect(redAnswer.status).toBe(200);
    expect(JSON.parse(redAnswer.text).reviews.map((review: { rating: unknown }) => review.rating)).toEqual([UNAVAILABLE, UNAVAILABLE]);
    expect(redAnswer.ms).toBeGreaterThanOrEqual(2_450);
    expect(redAnswer.ms).toBeLessThan(2_950);

    expect(blackAnswer.status).toBe(200);
    expect(JSON.parse(blackAnswer.text).reviews.map((review: { rating: unknown }) => review.rating)).toEqual([
      { stars: 5, color: 'black' },
      { stars: 4, color: 'black' },
    ]);
    expect(blackAnswer.ms).toBeGreaterThanOrEqual(2_990);
  });

  it.concurrent('ratings down or failing: every review carries the error rating', async ({ expect }) => {
    const down = await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v2', RATINGS_URL: await deadUrl() } }));
    const failing = await capture((_request, response) => replyJson(response, 500, { error: 'could not connect to ratings database' }));
    const broken = await track(reviews.start({ port: 0, env: { SERVICE_VERSION: 'v3', RATINGS_URL: failing.url } }));
    for (const url of [down.url, broken.url]) {
      const { status, text } = await fetchText(`${url}/reviews/0`);
      expect(status).toBe(200);
      expect(JSON.parse(text)).toEqual({
        id: '0',
        reviews: [
          { reviewer: 'Reviewer1', text: reviews.REVIEW_TEXTS.Reviewer1, rating: UNAVAILABLE },
          { reviewer: 'Reviewer2', text: reviews.REVIEW_TEXTS.Reviewer2, rating: UNAVAILABLE },
        ],
      });
    }
    expect(failing.requests).toHaveLength(1);

    const page = await track(productpage.start({ port: 0, env: { DETAILS_URL: stack.details, REVIEWS_URL: down.url } }));
    const html = (await fetchText(`${page.url}/productpage`)).text;
    expect(html).toContain('Book Reviews');
    expect(html.split('<p><i>Ratings service is currently unavailable</i></p>')).toHaveLength(3);
    expect(html).not.toContain('<font');
  });
});

describe('productpage when its upstreams misbehave', () => {
  it.concurrent('a hanging reviews is tried twice with a 3 s timeout each, then the page says sorry', async ({ expect }) => {
    const hanging = await capture(() => undefined);
    const page = await track(productpage.start({ port: 0, env: { DETAILS_URL: stack.details, REVIEWS_URL: hanging.url } }));
    const begin = performance.now();
    const { status, text } = await fetchText(`${page.url}/productpage`);
    const ms = performance.now() - begin;
    expect(status).toBe(200);
    expect(hanging.requests.map((request) => request.path)).toEqual(['/reviews/0', '/reviews/0']);
    expect(ms).toBeGreaterThanOrEqual(5_950);
    expect(ms).toBeLessThan(7_500);
    expect(text).toContain('Error fetching product reviews!');
    expect(text).toContain('Sorry, product reviews are currently unavailable for this book.');
    expect(text).not.toContain('Book Reviews');
    expect(text).toContain('Book Details');
    expect(text).not.toContain('Error fetching product details!');
  });

  it.concurrent('a reviews failure is retried once: 503 then 200 shows the reviews', async ({ expect }) => {
    const flaky = await capture((_request, response, count) =>
      count === 1 ? replyJson(response, 503, { error: 'busy' }) : replyJson(response, 200, REVIEWS_JSON),
    );
    const page = await track(productpage.start({ port: 0, env: { DETAILS_URL: stack.details, REVIEWS_URL: flaky.url } }));
    const { text } = await fetchText(`${page.url}/productpage`);
    expect(flaky.requests).toHaveLength(2);
    expect(text).toContain('Book Reviews');
    expect(text).not.toContain('Error fetching');
  });

  it.concurrent('reviews failing twice: the page says sorry and the API passes the status on', async ({ expect }) => {
    const failing = await capture((_request, response) => {
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.end('upstream connect error or disconnect/reset before headers');
    });
    const page = await track(productpage.start({ port: 0, env: { DETAILS_URL: stack.details, REVIEWS_URL: failing.url } }));
    const { text } = await fetchText(`${page.url}/productpage`);
    expect(failing.requests).toHaveLength(2);
    expect(text).toContain('Error fetching product reviews!');
    expect(text).toContain('Sorry, product reviews are currently unavailable for this book.');
    const api = await fetchText(`${page.url}/api/v1/products/0/reviews`);
    expect(failing.requests).toHaveLength(4);
    expect(api.status).toBe(503);
    expect(JSON.parse(api.text)).toEqual({ error: 'Sorry, product reviews are currently unavailable for this book.' });
  });

  it.concurrent('details down: the page shows the details error texts and still the reviews', async ({ expect }) => {
    const dead = await deadUrl();
    const page = await track(
      productpage.start({ port: 0, env: { DETAILS_URL: dead, REVIEWS_URL: stack.reviewsV3, RATINGS_URL: dead } }),
    );
    const { status, text } = await fetchText(`${page.url}/productpage`);
    expect(status).toBe(200);
    expect(text).toContain('Error fetching product details!');
    expect(text).toContain('Sorry, product details are currently unavailable for this book.');
    expect(text).not.toContain('Book Details');
    expect(text).toContain('Book Reviews');
    expect(text).toContain('<font color="red">');

    const api = await fetchText(`${page.url}/api/v1/products/0`);
    expect(api.status).toBe(500);
    expect(JSON.parse(api.text)).toEqual({ error: 'Sorry, product details are currently unavailable for this book.' });
    const ratingsApi = await fetchText(`${page.url}/api/v1/products/0/ratings`);
    expect(ratingsApi.status).toBe(500);
    expect(JSON.parse(ratingsApi.text)).toEqual({ error: 'Sorry, product ratings are currently unavailable for this book.' });
  });

  it.concurrent('details and reviews both down: both error texts, status still 200', async ({ expect }) => {
    const dead = await deadUrl();
    const page = await track(productpage.start({ port: 0, env: { DETAILS_URL: dead, REVIEWS_URL: dead } }));
    const { status, text } = await fetchText(`${page.url}/productpage`);
    expect(status).toBe(200);
    expect(text).toContain('Error fetching product details!');
    expect(text).toContain('Error fetching product reviews!');
    expect(text).toContain('Sorry, product details are currently unavailable for this book.');
    expect(text).toContain('Sorry, product reviews are currently unavailable for this book.');
  });
});
