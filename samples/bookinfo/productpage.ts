/**
 * BookInfo productpage (upstream: Python Flask). Renders product 0 from details and reviews, offers a
 * sign-in that sets the `user` cookie Istio 0.x route rules match on, and a small JSON API.
 *   DETAILS_URL  default http://details:9080
 *   REVIEWS_URL  default http://reviews:9080
 *   RATINGS_URL  default http://ratings:9080 (only for /api/v1/products/<id>/ratings)
 * Every upstream call has a 3 s timeout; reviews is tried twice, as upstream does on purpose for the
 * fault-injection task.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { envInt, readBody, Router, runMain, sendJson, sendText, type RunningServer } from '../../sandbox/common/server.js';
import { baseUrl, forwardHeaders, getJson, isMain, isObject, parseCookies, serve, type Upstream } from './common.js';

export interface StartOptions {
  port?: number;
  env?: NodeJS.ProcessEnv;
}

export const UPSTREAM_TIMEOUT_MS = 3_000;
export const REVIEWS_TRIES = 2;

export const PRODUCT = {
  id: 0,
  title: 'The Comedy of Errors',
  descriptionHtml:
    '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
} as const;

export const DETAILS_UNAVAILABLE = 'Sorry, product details are currently unavailable for this book.';
export const REVIEWS_UNAVAILABLE = 'Sorry, product reviews are currently unavailable for this book.';
export const RATINGS_UNAVAILABLE = 'Sorry, product ratings are currently unavailable for this book.';

interface Urls {
  details: string;
  reviews: string;
  ratings: string;
}

/** Result of an upstream call as the page and the API use it. */
interface Fetched {
  status: number;
  body: unknown;
}

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Headers for downstream calls: the forwarded set, with an x-request-id made up when none came in. */
function downstreamHeaders(request: IncomingMessage): Record<string, string> {
  const headers = forwardHeaders(request);
  if (!headers['x-request-id']) headers['x-request-id'] = randomUUID();
  return headers;
}

/**
 * 200 with a JSON body passes through; any other status passes through with the upstream's JSON
 * body when it has one (else the "Sorry" text); no answer at all is a 500 with the "Sorry" text.
 */
function outcome(upstream: Upstream, sorry: string): Fetched {
  if (upstream.status === undefined) return { status: 500, body: { error: sorry } };
  if (upstream.status === 200 && upstream.json !== undefined) return { status: 200, body: upstream.json };
  if (upstream.status === 200) return { status: 500, body: { error: sorry } };
  return { status: upstream.status, body: isObject(upstream.json) ? upstream.json : { error: sorry } };
}

async function fetchDetails(urls: Urls, id: string, headers: Record<string, string>): Promise<Fetched> {
  const upstream = await getJson(`${urls.details}/details/${encodeURIComponent(id)}`, headers, UPSTREAM_TIMEOUT_MS);
  return outcome(upstream, DETAILS_UNAVAILABLE);
}

async function fetchReviews(urls: Urls, id: string, headers: Record<string, string>): Promise<Fetched> {
  let upstream: Upstream = {};
  for (let attempt = 0; attempt < REVIEWS_TRIES; attempt++) {
    upstream = await getJson(`${urls.reviews}/reviews/${encodeURIComponent(id)}`, headers, UPSTREAM_TIMEOUT_MS);
    if (upstream.status === 200 && upstream.json !== undefined) break;
  }
  return outcome(upstream, REVIEWS_UNAVAILABLE);
}

async function fetchRatings(urls: Urls, id: string, headers: Record<string, string>): Promise<Fetched> {
  const upstream = await getJson(`${urls.ratings}/ratings/${encodeURIComponent(id)}`, headers, UPSTREAM_TIMEOUT_MS);
  return outcome(upstream, RATINGS_UNAVAILABLE);
}

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #333; }
.navbar { background: #222; color: #fff; padding: 10px 20px; display: flex; align-items: center; justify-content: space-between; }
.navbar a { color: #9d9d9d; }
.navbar-brand { color: #fff !important; font-size: 18px; text-decoration: none; }
.container { max-width: 1100px; margin: 0 auto; padding: 0 15px; }
.row { display: flex; flex-wrap: wrap; gap: 30px; }
.col-md-6 { flex: 1 1 400px; }
.col-md-12 { flex: 1 1 100%; }
.text-center { text-align: center; }
.text-primary { color: #337ab7; }
blockquote { border-left: 5px solid #eee; margin: 0 0 20px; padding: 10px 20px; }
blockquote small { display: block; color: #777; }
.glyphicon-star::before { content: "\\2605"; }
.glyphicon-star-empty::before { content: "\\2606"; }
`;

function layout(body: string): string {
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simple Bookstore App</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function navbar(user: string | undefined, signIn = true): string {
  const right = !signIn
    ? ''
    : user
      ? `<p class="navbar-right">signed in as <b>${escapeHtml(user)}</b> ( <a href="/logout">sign out</a> )</p>`
      : `<form class="navbar-form" method="post" action="/login">
  <input type="text" name="username" placeholder="User Name" aria-label="User Name">
  <input type="password" name="passwd" placeholder="Password" aria-label="Password">
  <button type="submit">Sign in</button>
</form>`;
  return `<nav class="navbar navbar-inverse navbar-static-top">
<a class="navbar-brand" href="/productpage">BookInfo Sample</a>
${right}
</nav>`;
}

function renderDetails(details: Fetched): string {
  if (details.status !== 200 || !isObject(details.body)) {
    const error = isObject(details.body) && typeof details.body.error === 'string' ? details.body.error : DETAILS_UNAVAILABLE;
    return `<h4 class="text-center text-primary">Error fetching product details!</h4>
<p>${escapeHtml(error)}</p>`;
  }
  const d = details.body;
  const fields: [string, unknown][] = [
    ['Type', d.type],
    ['Pages', d.pages],
    ['Publisher', d.publisher],
    ['Language', d.language],
    ['ISBN-10', d['ISBN-10']],
    ['ISBN-13', d['ISBN-13']],
  ];
  return `<h4 class="text-center text-primary">Book Details</h4>
<dl>
${fields.map(([name, value]) => `<dt>${name}:</dt><dd>${escapeHtml(value ?? '')}</dd>`).join('\n')}
</dl>`;
}

function renderStars(rating: unknown): string {
  if (!isObject(rating)) return '';
  if (typeof rating.stars === 'number' && rating.stars > 0) {
    const full = Math.min(5, Math.floor(rating.stars));
    const color = typeof rating.color === 'string' ? rating.color : 'black';
    const spans = [
      ...Array.from({ length: full }, () => '<span class="glyphicon glyphicon-star"></span>'),
      ...Array.from({ length: 5 - full }, () => '<span class="glyphicon glyphicon-star-empty"></span>'),
    ];
    return `<font color="${escapeHtml(color)}">${spans.join('')}</font>`;
  }
  if (typeof rating.error === 'string') return `<p><i>${escapeHtml(rating.error)}</i></p>`;
  return '';
}

function renderReviews(reviews: Fetched): string {
  const list = isObject(reviews.body) && Array.isArray(reviews.body.reviews) ? reviews.body.reviews : undefined;
  if (reviews.status !== 200 || !list) {
    const error = isObject(reviews.body) && typeof reviews.body.error === 'string' ? reviews.body.error : REVIEWS_UNAVAILABLE;
    return `<h4 class="text-center text-primary">Error fetching product reviews!</h4>
<p>${escapeHtml(error)}</p>`;
  }
  const items = list.filter(isObject).map(
    (review) => `<blockquote>
<p>${escapeHtml(review.text ?? '')}</p>
<small>${escapeHtml(review.reviewer ?? '')}</small>
${renderStars(review.rating)}
</blockquote>`,
  );
  return `<h4 class="text-center text-primary">Book Reviews</h4>
${items.join('\n')}`;
}

export function renderProductPage(user: string | undefined, details: Fetched, reviews: Fetched): string {
  return layout(`${navbar(user)}
<div class="container">
<div class="row">
<div class="col-md-12">
<h3 class="text-center text-primary">${escapeHtml(PRODUCT.title)}</h3>
<p>Summary: ${PRODUCT.descriptionHtml}</p>
</div>
</div>
<div class="row">
<div class="col-md-6">
${renderDetails(details)}
</div>
<div class="col-md-6">
${renderReviews(reviews)}
</div>
</div>
</div>`);
}

function renderIndex(): string {
  return layout(`${navbar(undefined, false)}
<div class="container">
<h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
<ul class="services">
<li>productpage
  <ul>
  <li>details</li>
  <li>reviews
    <ul><li>ratings</li></ul>
  </li>
  </ul>
</li>
</ul>
<h4>Click on one of the links below to auto generate a request to the backend as a real user or a tester</h4>
<p><a href="/productpage?u=normal">Normal user</a></p>
<p><a href="/productpage?u=test">Test user</a></p>
</div>`);
}

function currentUser(request: IncomingMessage): string | undefined {
  const raw = parseCookies(request.headers.cookie).user;
  if (!raw) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function redirect(response: ServerResponse, location: string, cookie: string): void {
  response.writeHead(302, { location, 'set-cookie': cookie, 'content-type': 'text/plain; charset=utf-8', 'content-length': 0 });
  response.end();
}

/** Where login/logout send the browser back to: the Referer, else the product page. */
function returnTo(request: IncomingMessage): string {
  const referer = request.headers.referer;
  return referer && referer.length > 0 ? referer : '/productpage';
}

async function login(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const form = new URLSearchParams(await readBody(request, 64 * 1024));
  const user = (form.get('username') ?? '').trim();
  if (!user) {
    sendJson(response, 400, { error: 'username is required' });
    return;
  }
  redirect(response, returnTo(request), `user=${encodeURIComponent(user)}; Path=/`);
}

function sendFetched(response: ServerResponse, fetched: Fetched): void {
  sendJson(response, fetched.status, fetched.body);
}

export function start(options: StartOptions = {}): Promise<RunningServer> {
  const env = options.env ?? {};
  const urls: Urls = {
    details: baseUrl(env.DETAILS_URL, 'http://details:9080'),
    reviews: baseUrl(env.REVIEWS_URL, 'http://reviews:9080'),
    ratings: baseUrl(env.RATINGS_URL, 'http://ratings:9080'),
  };
  const index = (_request: IncomingMessage, response: ServerResponse) =>
    sendText(response, 200, renderIndex(), 'text/html; charset=utf-8');
  const router = new Router()
    .add('GET', '/', index)
    .add('GET', '/index.html', index)
    .add('GET', '/health', (_request, response) => sendText(response, 200, 'Product page is healthy'))
    .add('GET', '/productpage', async (request, response) => {
      const headers = downstreamHeaders(request);
      const [details, reviews] = await Promise.all([
        fetchDetails(urls, String(PRODUCT.id), headers),
        fetchReviews(urls, String(PRODUCT.id), headers),
      ]);
      sendText(response, 200, renderProductPage(currentUser(request), details, reviews), 'text/html; charset=utf-8');
    })
    .add('POST', '/login', login)
    .add('GET', '/logout', (request, response) =>
      redirect(response, returnTo(request), 'user=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'),
    )
    .add('GET', '/api/v1/products', (_request, response) => sendJson(response, 200, [PRODUCT]))
    .add('GET', '/api/v1/products/:id', async (request, response, params) =>
      sendFetched(response, await fetchDetails(urls, params.id ?? '', downstreamHeaders(request))),
    )
    .add('GET', '/api/v1/products/:id/reviews', async (request, response, params) =>
      sendFetched(response, await fetchReviews(urls, params.id ?? '', downstreamHeaders(request))),
    )
    .add('GET', '/api/v1/products/:id/ratings', async (request, response, params) =>
      sendFetched(response, await fetchRatings(urls, params.id ?? '', downstreamHeaders(request))),
    );
  return serve('productpage', router, options.port ?? 9080);
}

if (isMain(import.meta.url)) {
  runMain('productpage', () => start({ port: envInt(process.env, 'PORT', 9080), env: process.env }));
}
