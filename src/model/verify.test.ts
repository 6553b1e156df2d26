import { describe, expect, it } from 'vitest';
import { exitCodeFor, UsageError } from '../errors.js';
import { classifyProductPage, compareWithExpectation, nearestRank, nearestRanks, parseExpectation } from './verify.js';

/**
 * A page as upstream's Jinja template renders it (samples/bookinfo/src/productpage/templates/
 * productpage.html @0.8.0): the same elements, indentation and comments around the stars, with our
 * own short text. `reviews` is what LibertyRestEndpoint.java @0.8.0 answers per reviewer.
 */
function upstreamPage(options: {
  details?: 'ok' | 'error';
  reviews: 'error' | { stars?: number; color?: string; ratingError?: string }[];
}): string {
  const details =
    options.details === 'error'
      ? `        <h4 class="text-center text-primary">Error fetching product details!</h4>
          <p>Sorry, product details are currently unavailable for this book.</p>`
      : `        <h4 class="text-center text-primary">Book Details</h4>
        <dl>
          <dt>Type:</dt>paperback
          <dt>Pages:</dt>200
        </dl>`;
  const review = (entry: { stars?: number; color?: string; ratingError?: string }, index: number) => {
    let rating = '';
    if (entry.stars !== undefined) {
      rating = `
                <font color="${entry.color}">
                  <!-- full stars: -->
                  ${'\n                    <span class="glyphicon glyphicon-star"></span>\n                  '.repeat(entry.stars)}
                  <!-- empty stars: -->
                  ${'\n                    <span class="glyphicon glyphicon-star-empty"></span>\n                  '.repeat(5 - entry.stars)}
                </font>`;
    } else if (entry.ratingError !== undefined) {
      rating = `
                <p><i>${entry.ratingError}</i></p>`;
    }
    return `
          <blockquote>
            <p>A short review, number ${index + 1}.</p>
            <small>Reviewer${index + 1}</small>
            ${rating}
          </blockquote>`;
  };
  const reviews =
    options.reviews === 'error'
      ? `        <h4 class="text-center text-primary">Error fetching product reviews!</h4>
          <p>Sorry, product reviews are currently unavailable for this book.</p>`
      : `        <h4 class="text-center text-primary">Book Reviews</h4>
        ${options.reviews.map(review).join('\n        ')}`;
  return `<!DOCTYPE html>
<html><head><title>Simple Bookstore App</title></head><body>
<nav class="navbar navbar-inverse navbar-static-top">
    <div class="container"><div class="navbar-header"><a class="navbar-brand" href="#">BookInfo Sample</a></div>
        <button type="button" class="btn btn-default navbar-btn navbar-right" data-toggle="modal" href="#login-modal">Sign in</button>
    </div>
</nav>
<div class="container-fluid">
  <div class="row">
    <div class="col-md-12">
      <h3 class="text-center text-primary">The Comedy of Errors</h3>
    </div>
  </div>
  <div class="row">
    <div class="col-md-6">
${details}
    </div>
    <div class="col-md-6">
${reviews}
    </div>
  </div>
</div>
</body></html>`;
}

const RATINGS_DOWN = 'Ratings service is currently unavailable';

describe('classifyProductPage on upstream markup (productpage.html @0.8.0)', () => {
  it('tells the reviews versions apart by their stars', () => {
    expect(classifyProductPage(200, upstreamPage({ reviews: [{}, {}] }))).toBe('v1');
    expect(classifyProductPage(200, upstreamPage({ reviews: [{ stars: 5, color: 'black' }, { stars: 4, color: 'black' }] }))).toBe('v2');
    expect(classifyProductPage(200, upstreamPage({ reviews: [{ stars: 5, color: 'red' }, { stars: 4, color: 'red' }] }))).toBe('v3');
  });

  it('names the error the page shows', () => {
    expect(classifyProductPage(200, upstreamPage({ reviews: 'error' }))).toBe('reviews-error');
    expect(classifyProductPage(200, upstreamPage({ reviews: [{ ratingError: RATINGS_DOWN }, { ratingError: RATINGS_DOWN }] }))).toBe('ratings-error');
    expect(classifyProductPage(200, upstreamPage({ details: 'error', reviews: [{}, {}] }))).toBe('details-error');
  });

  it('prefers reviews-error over details-error, and any error over a version', () => {
    expect(classifyProductPage(200, upstreamPage({ details: 'error', reviews: 'error' }))).toBe('reviews-error');
    expect(classifyProductPage(200, upstreamPage({ details: 'error', reviews: [{ stars: 5, color: 'red' }] }))).toBe('details-error');
    expect(classifyProductPage(200, upstreamPage({ details: 'error', reviews: [{ ratingError: RATINGS_DOWN }] }))).toBe('ratings-error');
  });

  it('classifies every other status by its number, whatever the body', () => {
    expect(classifyProductPage(500, upstreamPage({ reviews: [{}, {}] }))).toBe('http-500');
    expect(classifyProductPage(503, 'fault filter abort')).toBe('http-503');
    expect(classifyProductPage(302, '')).toBe('http-302');
  });

  it('calls a page it cannot read unrecognized', () => {
    expect(classifyProductPage(200, '<html>Hello! This is a simple bookstore application</html>')).toBe('unrecognized');
    expect(classifyProductPage(200, upstreamPage({ reviews: [] }))).toBe('unrecognized');
    expect(classifyProductPage(200, upstreamPage({ reviews: [{ stars: 5, color: 'blue' }] }))).toBe('unrecognized');
    expect(classifyProductPage(200, upstreamPage({ reviews: [{ stars: 5, color: 'black' }, { stars: 4, color: 'red' }] }))).toBe('unrecognized');
  });
});

describe('parseExpectation', () => {
  it('reads classes and percentages, with or without % and with decimals', () => {
    expect(parseExpectation('v1=50%,v3=50%').percent).toEqual({ v1: 50, v3: 50 });
    expect(parseExpectation(' v2 = 100 ').percent).toEqual({ v2: 100 });
    expect(parseExpectation('v1=33.3%,v2=33.3%,v3=33.4%').percent).toEqual({ v1: 33.3, v2: 33.3, v3: 33.4 });
    expect(parseExpectation('error=100%').percent).toEqual({ error: 100 });
    expect(parseExpectation('v1=90%,reviews-error=5%,http-503=5%').percent).toEqual({ v1: 90, 'reviews-error': 5, 'http-503': 5 });
    expect(parseExpectation('V1=100%').percent).toEqual({ v1: 100 });
    expect(parseExpectation('v1=33%,v2=33%,v3=33%').percent).toEqual({ v1: 33, v2: 33, v3: 33 });
  });

  it.each([
    ['v4=50%', "unknown class 'v4' in 'v4=50%'"],
    ['v1=50%,v3', "'v3' is not class=NN%"],
    ['v1=fifty', "'fifty' in 'v1=fifty' is not a percentage from 0 to 100"],
    ['v1=150%', "'150%' in 'v1=150%' is not a percentage"],
    ['v1=-5%', "'-5%' in 'v1=-5%' is not a percentage"],
    ['v1=60%,v3=60%', 'total 120, not 100'],
    ['v1=50%,v3=40%', 'total 90, not 100 (a class not named is expected at 0 %)'],
    ['v1=50%,v1=50%', "class 'v1' is named twice"],
    ['error=50%,reviews-error=50%', "name either 'error' or specific error classes (reviews-error), not both"],
    ['', 'empty spec'],
    ['http-99=5%', "unknown class 'http-99'"],
  ])('refuses %j with exit 2: %s', (spec, message) => {
    let thrown: unknown;
    try {
      parseExpectation(spec);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect(exitCodeFor(thrown)).toBe(2);
    expect((thrown as Error).message).toContain('--expect: ');
    expect((thrown as Error).message).toContain(message);
  });
});

describe('compareWithExpectation', () => {
  it('passes within the tolerance, both ways, and at its edge', () => {
    const expectation = parseExpectation('v1=50%,v3=50%');
    expect(compareWithExpectation({ v1: 41, v3: 59, error: 0 }, expectation, 10)).toEqual([]);
    expect(compareWithExpectation({ v1: 60, v3: 40 }, expectation, 10)).toEqual([]);
  });

  it('names every class that differs, unnamed classes expected at 0 %', () => {
    const expectation = parseExpectation('v1=50%,v3=50%');
    expect(compareWithExpectation({ v1: 38, v2: 12, v3: 45, 'reviews-error': 5, error: 5 }, expectation, 10)).toEqual([
      'v1: observed 38.0 %, expected 50 % ± 10',
      'v2: observed 12.0 %, expected 0 % ± 10',
    ]);
    expect(compareWithExpectation({ v1: 50, v3: 30, 'http-503': 20, error: 20 }, expectation, 10)).toEqual([
      'v3: observed 30.0 %, expected 50 % ± 10',
      'http-503: observed 20.0 %, expected 0 % ± 10',
    ]);
  });

  it('compares the error total when error is named, and specific error classes one by one otherwise', () => {
    const total = parseExpectation('error=100%');
    expect(compareWithExpectation({ 'reviews-error': 50, timeout: 50, error: 100 }, total, 0)).toEqual([]);
    expect(compareWithExpectation({ v1: 20, 'reviews-error': 80, error: 80 }, total, 10)).toEqual([
      'v1: observed 20.0 %, expected 0 % ± 10',
      'error: observed 80.0 %, expected 100 % ± 10',
    ]);
    const specific = parseExpectation('reviews-error=100%');
    expect(compareWithExpectation({ 'ratings-error': 100, error: 100 }, specific, 10)).toEqual([
      'reviews-error: observed 0.0 %, expected 100 % ± 10',
      'ratings-error: observed 100.0 %, expected 0 % ± 10',
    ]);
  });

  it('with tolerance 0 wants the exact share', () => {
    expect(compareWithExpectation({ v2: 100 }, parseExpectation('v2=100%'), 0)).toEqual([]);
    expect(compareWithExpectation({ v2: 99, 'no-response': 1 }, parseExpectation('v2=100%'), 0)).toHaveLength(2);
  });
});

describe('nearestRank', () => {
  it('is the smallest value with at least p % of the values at or below it', () => {
    const values = [15, 20, 35, 40, 50];
    expect(nearestRank(values, 30)).toBe(20);
    expect(nearestRank(values, 40)).toBe(20);
    expect(nearestRank(values, 50)).toBe(35);
    expect(nearestRank(values, 100)).toBe(50);
    expect(nearestRank(values, 0)).toBe(15);
    expect(nearestRank([3, 1, 2], 50)).toBe(2);
  });

  it('over 100 values 1..100 gives p itself; one value gives that value; none gives NaN', () => {
    const values = Array.from({ length: 100 }, (_, index) => 100 - index);
    expect([50, 90, 99].map((p) => nearestRank(values, p))).toEqual([50, 90, 99]);
    expect(nearestRank([7], 99)).toBe(7);
    expect(nearestRank([], 50)).toBeNaN();
  });
});

describe('nearestRanks', () => {
  it('gives nearestRank for each p in order, from one sort of a copy', () => {
    const values = [50, 15, 40, 20, 35];
    expect(nearestRanks(values, [50, 90, 99, 0, 100])).toEqual([35, 50, 50, 15, 50]);
    expect(nearestRanks(values, [30, 40])).toEqual([30, 40].map((p) => nearestRank(values, p)));
    expect(values).toEqual([50, 15, 40, 20, 35]);
    expect(nearestRanks([], [50, 0])).toEqual([Number.NaN, Number.NaN]);
  });
});
