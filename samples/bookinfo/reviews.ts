/**
 * BookInfo reviews (upstream: Java JAX-RS on Liberty), one program for v1/v2/v3:
 *   SERVICE_VERSION  v1 | v2 | v3 (only used for defaults below)
 *   ENABLE_RATINGS   "true" to call ratings (default: true for v2/v3, false otherwise)
 *   STAR_COLOR       colour of the stars (default: red for v3, black otherwise)
 *   RATINGS_URL      ratings base URL (default http://ratings:9080)
 * The ratings timeout is 10 s when the colour is black and 2.5 s otherwise, as upstream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { envInt, Router, runMain, sendJson, sendText, type RunningServer } from '../../sandbox/common/server.js';
import { baseUrl, forwardHeaders, getJson, isMain, isObject, serve } from './common.js';

export interface StartOptions {
  port?: number;
  env?: NodeJS.ProcessEnv;
}

export const REVIEW_TEXTS = {
  Reviewer1: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
  Reviewer2: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
} as const;

export const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';

export interface ReviewsConfig {
  version: string;
  ratingsEnabled: boolean;
  starColor: string;
  ratingsUrl: string;
  ratingsTimeoutMs: number;
}

export function reviewsConfig(env: NodeJS.ProcessEnv): ReviewsConfig {
  const version = env.SERVICE_VERSION || 'v1';
  const ratingsEnabled =
    env.ENABLE_RATINGS === undefined || env.ENABLE_RATINGS === ''
      ? version === 'v2' || version === 'v3'
      : env.ENABLE_RATINGS.toLowerCase() === 'true';
  const starColor = env.STAR_COLOR || (version === 'v3' ? 'red' : 'black');
  return {
    version,
    ratingsEnabled,
    starColor,
    ratingsUrl: baseUrl(env.RATINGS_URL, 'http://ratings:9080'),
    ratingsTimeoutMs: starColor === 'black' ? 10_000 : 2_500,
  };
}

/** Stars per reviewer from a ratings answer; -1 when missing (so the review shows the error). */
async function fetchStars(config: ReviewsConfig, id: number, request: IncomingMessage): Promise<Record<string, number>> {
  const stars: Record<string, number> = { Reviewer1: -1, Reviewer2: -1 };
  const upstream = await getJson(`${config.ratingsUrl}/ratings/${id}`, forwardHeaders(request), config.ratingsTimeoutMs);
  if (upstream.status !== 200 || !isObject(upstream.json) || !isObject(upstream.json.ratings)) return stars;
  const ratings = upstream.json.ratings;
  for (const reviewer of Object.keys(stars)) {
    const value = ratings[reviewer];
    if (typeof value === 'number' && Number.isInteger(value)) stars[reviewer] = value;
  }
  return stars;
}

async function bookReviews(config: ReviewsConfig, request: IncomingMessage, response: ServerResponse, raw: string) {
  // JAX-RS `@PathParam int`: anything that is not a Java int does not match the resource (404).
  const id = /^[+-]?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(id) || id > 2 ** 31 - 1 || id < -(2 ** 31)) {
    sendJson(response, 404, { error: 'product id must be an integer' });
    return;
  }
  const stars = config.ratingsEnabled ? await fetchStars(config, id, request) : undefined;
  const reviews = (Object.keys(REVIEW_TEXTS) as (keyof typeof REVIEW_TEXTS)[]).map((reviewer) => {
    const review: Record<string, unknown> = { reviewer, text: REVIEW_TEXTS[reviewer] };
    if (stars) {
      const count = stars[reviewer] ?? -1;
      review.rating = count !== -1 ? { stars: count, color: config.starColor } : { error: RATINGS_UNAVAILABLE };
    }
    return review;
  });
  sendJson(response, 200, { id: String(id), reviews });
}

export function start(options: StartOptions = {}): Promise<RunningServer> {
  const config = reviewsConfig(options.env ?? {});
  const router = new Router()
    // Upstream's body has a space after the colon; kept byte for byte.
    .add('GET', '/health', (_request, response) =>
      sendText(response, 200, '{"status": "Reviews is healthy"}', 'application/json'),
    )
    .add('GET', '/reviews/:id', (request, response, params) => bookReviews(config, request, response, params.id ?? ''));
  return serve(`reviews-${config.version}`, router, options.port ?? 9080);
}

if (isMain(import.meta.url)) {
  runMain('reviews', () => start({ port: envInt(process.env, 'PORT', 9080), env: process.env }));
}
