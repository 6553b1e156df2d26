/**
 * `mesh-local verify`'s pure parts: what a BookInfo product page shows (which reviews version, or
 * which error), the `--expect` language, and the statistics of a run. No I/O here.
 */
import { UsageError } from '../errors.js';

/** Reviews versions told apart by their star markup. */
export const VERSION_CLASSES = ['v1', 'v2', 'v3'] as const;
export type VersionClass = (typeof VERSION_CLASSES)[number];

/** Pages that show an error text of BookInfo, in the order `classifyProductPage` checks them. */
export const PAGE_ERROR_CLASSES = ['reviews-error', 'ratings-error', 'details-error'] as const;

/**
 * What one request to /productpage gave:
 *  - `v1` reviews without ratings; `v2` black stars; `v3` red stars;
 *  - `reviews-error`, `ratings-error`, `details-error`: the page (status 200) shows that error text;
 *  - `unrecognized`: status 200 but neither of the above (no reviews section, unknown star colour);
 *  - `http-<status>`: any status other than 200 (an abort fault, a gateway error);
 *  - `timeout`: no complete answer within the per-request deadline;
 *  - `no-response`: the connection failed (refused, reset).
 * Every class but v1, v2 and v3 is an error class; `error` is their sum.
 */
export type PageClass =
  | VersionClass
  | (typeof PAGE_ERROR_CLASSES)[number]
  | 'unrecognized'
  | 'timeout'
  | 'no-response'
  | `http-${number}`;

/** The aggregate of every error class, as `--expect error=100%` and `byClass.error` use it. */
export const ERROR_AGGREGATE = 'error';

export function isVersionClass(name: string): name is VersionClass {
  return (VERSION_CLASSES as readonly string[]).includes(name);
}

/** Classes a `--expect` spec may name besides `error`: the versions and every error class. */
function isExpectableClass(name: string): boolean {
  return (
    isVersionClass(name) ||
    (PAGE_ERROR_CLASSES as readonly string[]).includes(name) ||
    name === 'unrecognized' ||
    name === 'timeout' ||
    name === 'no-response' ||
    /^http-[1-5]\d\d$/.test(name)
  );
}

// The texts upstream's page shows, and ours copies (samples/bookinfo/productpage.ts, reviews.ts):
// productpage.html @0.8.0 puts "Error fetching product details!" / "Error fetching product reviews!"
// over the error of productpage.py @0.8.0 ("Sorry, product details|reviews are currently
// unavailable for this book."); a review whose ratings call failed carries LibertyRestEndpoint.java
// @0.8.0's "Ratings service is currently unavailable", shown in <p><i>...</i></p>.
const REVIEWS_ERROR = /Error fetching product reviews|Sorry, product reviews are currently unavailable/;
const RATINGS_ERROR = /Ratings service is currently unavailable|Sorry, product ratings are currently unavailable/;
const DETAILS_ERROR = /Error fetching product details|Sorry, product details are currently unavailable/;
/** The heading of a successful reviews section (productpage.html @0.8.0). */
const REVIEWS_HEADING = 'Book Reviews';

/**
 * Star colours per version, baked into upstream's reviews images (samples/bookinfo/src/build-services.sh
 * and reviews-wlpcfg/Dockerfile @0.8.0): v2 is built with enable_ratings=true and the default
 * STAR_COLOR black (also LibertyRestEndpoint.java's default), v3 with enable_ratings=true and
 * star_color=red; v1 has no ratings, so its reviews have no <font> at all.
 */
const VERSION_BY_STAR_COLOR: Record<string, VersionClass> = { black: 'v2', red: 'v3' };

/**
 * Classifies one answer of GET /productpage. Works on upstream's page (productpage.html @0.8.0:
 * each review a <blockquote>, full stars as <font color="{{ color }}"> around glyphicon spans) and
 * on the TypeScript sample's (samples/bookinfo/productpage.ts), which renders the same markup.
 *
 * Priority when a page shows several things: a status other than 200 first, then reviews-error,
 * ratings-error, details-error (a page with any error is that error, even if it also shows stars),
 * then the version from the star colour. Stars of different colours, an unknown colour or a page
 * without the reviews heading are `unrecognized`.
 */
export function classifyProductPage(status: number, html: string): PageClass {
  if (status !== 200) return `http-${status}`;
  if (REVIEWS_ERROR.test(html)) return 'reviews-error';
  if (RATINGS_ERROR.test(html)) return 'ratings-error';
  if (DETAILS_ERROR.test(html)) return 'details-error';
  const heading = html.indexOf(REVIEWS_HEADING);
  if (heading < 0) return 'unrecognized';
  const reviews = html.slice(heading);
  if (!/<blockquote\b/i.test(reviews)) return 'unrecognized';
  const colors = new Set([...reviews.matchAll(/<font\s+color\s*=\s*["']?([^"'\s>]*)/gi)].map((match) => (match[1] ?? '').toLowerCase()));
  if (colors.size === 0) return 'v1';
  if (colors.size > 1) return 'unrecognized';
  return VERSION_BY_STAR_COLOR[[...colors][0]!] ?? 'unrecognized';
}

/** `--expect`: expected percentage per class (`error` or specific error classes, never both). */
export interface Expectation {
  /** The spec as given, for messages. */
  spec: string;
  /** Class (or `error`) -> expected percentage, 0 to 100. */
  percent: Record<string, number>;
}

/**
 * Parses `v1=50%,v3=50%` or `error=100%`: comma-separated `class=NN%` (the `%` is optional,
 * decimals allowed). Classes: v1 v2 v3 error reviews-error ratings-error details-error, and also
 * unrecognized timeout no-response http-<status>. The percentages sum to at most 100.
 * Errors: UsageError (exit 2) naming the bad part: unknown class, bad number, a class named twice,
 * `error` together with a specific error class, a sum above 100.
 */
export function parseExpectation(spec: string): Expectation {
  const percent: Record<string, number> = {};
  const parts = spec.split(',').map((part) => part.trim());
  if (parts.every((part) => part === '')) throw new UsageError(`--expect: empty spec; give class=NN%, e.g. v1=50%,v3=50%`);
  for (const part of parts) {
    const match = /^([a-z0-9-]+)\s*=\s*(.*)$/i.exec(part);
    if (!match) throw new UsageError(`--expect: '${part}' is not class=NN% (in '${spec}')`);
    const name = match[1]!.toLowerCase();
    if (name !== ERROR_AGGREGATE && !isExpectableClass(name)) {
      throw new UsageError(
        `--expect: unknown class '${match[1]}' in '${part}'; classes: ${[...VERSION_CLASSES, ERROR_AGGREGATE, ...PAGE_ERROR_CLASSES, 'unrecognized', 'timeout', 'no-response', 'http-<status>'].join(', ')}`,
      );
    }
    const number = /^(\d+(?:\.\d+)?)\s*%?$/.exec(match[2]!.trim());
    const value = number ? Number(number[1]) : Number.NaN;
    if (!(value >= 0 && value <= 100)) throw new UsageError(`--expect: '${match[2]}' in '${part}' is not a percentage from 0 to 100`);
    if (name in percent) throw new UsageError(`--expect: class '${name}' is named twice in '${spec}'`);
    percent[name] = value;
  }
  const specific = Object.keys(percent).filter((name) => name !== ERROR_AGGREGATE && !isVersionClass(name));
  if (ERROR_AGGREGATE in percent && specific.length > 0) {
    throw new UsageError(`--expect: name either 'error' or specific error classes (${specific.join(', ')}), not both`);
  }
  const sum = Object.values(percent).reduce((total, value) => total + value, 0);
  // Every class not named is expected at 0 %, so the shares must cover all traffic; a point of
  // slack lets thirds be written as 33%,33%,33% (and keeps 33.3+33.3+33.4 clear of float error).
  if (Math.abs(sum - 100) > 1) {
    throw new UsageError(`--expect: the percentages of '${spec}' total ${round(sum, 2)}, not 100 (a class not named is expected at 0 %)`);
  }
  return { spec, percent };
}

/**
 * Compares observed percentages with an expectation. Checked: v1, v2 and v3 always; with `error`
 * named, the error aggregate; otherwise every error class named or observed. A class not named is
 * expected at 0 %. A difference is more than `tolerancePoints` percentage points either way.
 * Returns one line per difference, e.g. `v2: observed 12.0 %, expected 0 % ± 10`; empty when met.
 */
export function compareWithExpectation(observedPercent: Record<string, number>, expectation: Expectation, tolerancePoints: number): string[] {
  const checked = new Set<string>([...VERSION_CLASSES]);
  if (ERROR_AGGREGATE in expectation.percent) checked.add(ERROR_AGGREGATE);
  else {
    for (const name of [...Object.keys(expectation.percent), ...Object.keys(observedPercent)]) {
      if (name !== ERROR_AGGREGATE && !isVersionClass(name)) checked.add(name);
    }
  }
  const differences: string[] = [];
  for (const name of checked) {
    const observed = observedPercent[name] ?? 0;
    const expected = expectation.percent[name] ?? 0;
    // A hair of slack so that 60.0 observed against 50 ± 10 passes despite binary fractions.
    if (Math.abs(observed - expected) > tolerancePoints + 1e-9) {
      differences.push(`${name}: observed ${observed.toFixed(1)} %, expected ${round(expected, 2)} % ± ${round(tolerancePoints, 2)}`);
    }
  }
  return differences;
}

/**
 * The nearest-rank percentile of `values` (any order): the smallest value such that at least p % of
 * the values are at or below it, i.e. sorted[ceil(p / 100 * n) - 1]. `p` in [0, 100]; 0 gives the
 * smallest value. NaN when empty.
 */
export function nearestRank(values: readonly number[], p: number): number {
  return nearestRanks(values, [p])[0]!;
}

/**
 * nearestRank of `values` for each of `ps`, in that order, sorting `values` (a copy) once: what a
 * summary of many samples reads several percentiles from. NaN for each p when empty.
 */
export function nearestRanks(values: readonly number[], ps: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  return ps.map((p) => {
    if (sorted.length === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
    return sorted[Math.min(rank, sorted.length) - 1]!;
  });
}

export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** How often one class was seen. */
export interface ClassCount {
  count: number;
  /** Of all requests, 0..100, rounded to 2 decimals. */
  percent: number;
}

/** What `verify` saw (also its `--json` output). */
export interface VerifyResult {
  /** The gateway the requests went to, e.g. `http://127.0.0.1:9081`. */
  gatewayUrl: string;
  /** The signed-in user, when there was one. */
  user?: string;
  requests: number;
  /**
   * Per class: v1, v2, v3 and `error` (the sum of every error class) always, plus each error class
   * seen (reviews-error, ratings-error, details-error, unrecognized, timeout, no-response, http-<status>).
   */
  byClass: Record<string, ClassCount>;
  /** Latency of each request in ms (to the end of the body, or to the failure), nearest-rank percentiles. */
  latencyMs: { p50: number; p90: number; p99: number; min: number; max: number };
  /** The first failure message per class, for classes without a page (timeout, no-response). */
  failures?: Record<string, string>;
  /** With `--expect`: whether it was met, and one line per difference. */
  expectation?: { spec: string; tolerancePoints: number; met: boolean; differences: string[] };
}
