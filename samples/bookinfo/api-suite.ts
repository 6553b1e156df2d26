/**
 * BookInfo's black-box API suite. It only talks to the URLs it is given with plain fetch, so the same
 * tests run against the in-process services (bookinfo.test.ts) and against real containers. It never
 * assumes which reviews version productpage reaches: pages and API answers must match one of them.
 */
import { describe, expect, it } from 'vitest';

export interface BookinfoUrls {
  productpage: string;
  details: string;
  ratings: string;
  reviewsV1: string;
  reviewsV2: string;
  reviewsV3: string;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function get(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(20_000), ...init });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function json(answer: Answer): unknown {
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    throw new Error(`not JSON (status ${answer.status}): ${answer.text.slice(0, 200)}`);
  }
}

const DETAILS_0 = {
  id: 0,
  author: 'William Shakespeare',
  year: 1595,
  type: 'paperback',
  pages: 200,
  publisher: 'PublisherA',
  language: 'English',
  'ISBN-10': '1234567890',
  'ISBN-13': '123-1234567890',
};

const TEXT1 = 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!';
const TEXT2 = 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.';

function expectedReviews(id: string, color?: 'black' | 'red') {
  return {
    id,
    reviews: [
      { reviewer: 'Reviewer1', text: TEXT1, ...(color ? { rating: { stars: 5, color } } : {}) },
      { reviewer: 'Reviewer2', text: TEXT2, ...(color ? { rating: { stars: 4, color } } : {}) },
    ],
  };
}

const PRODUCTS = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

/** What the page shows per review: reviewer, star colour (null: no <font>), full and empty stars. */
interface StarSignature {
  reviewer: string;
  color: string | null;
  full: number;
  empty: number;
}

/** Reads the star markup of every review block on a product page. */
export function starsFromHtml(html: string): StarSignature[] {
  return html
    .split('<blockquote>')
    .slice(1)
    .map((chunk) => {
      const block = chunk.split('</blockquote>')[0] ?? '';
      const reviewer = /<small>([^<]*)<\/small>/.exec(block)?.[1] ?? '';
      const fonts = [...block.matchAll(/<font color="([^"]*)">/g)].map((match) => match[1] ?? '');
      if (fonts.length > 1) throw new Error(`more than one <font> in the review of ${reviewer}`);
      return {
        reviewer,
        color: fonts[0] ?? null,
        full: (block.match(/class="glyphicon glyphicon-star"/g) ?? []).length,
        empty: (block.match(/class="glyphicon glyphicon-star-empty"/g) ?? []).length,
      };
    });
}

/** The same signature computed from a reviews JSON answer. */
export function starsFromJson(body: unknown): StarSignature[] {
  const reviews = (body as { reviews: { reviewer: string; rating?: { stars?: number; color?: string } }[] }).reviews;
  return reviews.map((review) => {
    const stars = review.rating?.stars;
    return typeof stars === 'number' && stars > 0
      ? { reviewer: review.reviewer, color: review.rating?.color ?? null, full: stars, empty: 5 - stars }
      : { reviewer: review.reviewer, color: null, full: 0, empty: 0 };
  });
}

export function bookinfoApiSuite(urls: () => BookinfoUrls): void {
  const reviewsUrls = () => {
    const all = urls();
    return { v1: all.reviewsV1, v2: all.reviewsV2, v3: all.reviewsV3 };
  };

  describe('BookInfo API', () => {
    describe('health endpoints', () => {
      it('productpage answers plain text', async () => {
        const answer = await get(`${urls().productpage}/health`);
        expect(answer.status).toBe(200);
        expect(answer.text).toBe('Product page is healthy');
      });

      it('details and ratings answer JSON status objects', async () => {
        const details = await get(`${urls().details}/health`);
        expect(details.status).toBe(200);
        expect(details.headers.get('content-type')).toMatch(/^application\/json/);
        expect(json(details)).toEqual({ status: 'Details is healthy' });
        const ratings = await get(`${urls().ratings}/health`);
        expect(ratings.status).toBe(200);
        expect(json(ratings)).toEqual({ status: 'Ratings is healthy' });
      });

      it('every reviews version answers upstream\'s exact body', async () => {
        for (const url of Object.values(reviewsUrls())) {
          const answer = await get(`${url}/health`);
          expect(answer.status).toBe(200);
          expect(answer.text).toBe('{"status": "Reviews is healthy"}');
          expect(json(answer)).toEqual({ status: 'Reviews is healthy' });
        }
      });
    });

    describe('details', () => {
      it('GET /details/0 returns the fixed book record with a numeric id', async () => {
        const answer = await get(`${urls().details}/details/0`);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
        expect(json(answer)).toEqual(DETAILS_0);
      });

      it('echoes other ids as integers', async () => {
        const answer = await get(`${urls().details}/details/42`);
        expect(answer.status).toBe(200);
        expect(json(answer)).toEqual({ ...DETAILS_0, id: 42 });
      });

      it('refuses a non-numeric id with 400', async () => {
        const answer = await get(`${urls().details}/details/abc`);
        expect(answer.status).toBe(400);
        expect(json(answer)).toEqual({ error: 'please provide numeric product id' });
      });

      it('answers 404 for an unknown path', async () => {
        expect((await get(`${urls().details}/nothing-here`)).status).toBe(404);
      });
    });

    describe('ratings', () => {
      it('GET /ratings/0 returns the two fixed ratings', async () => {
        const answer = await get(`${urls().ratings}/ratings/0`);
        expect(answer.status).toBe(200);
        expect(json(answer)).toEqual({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
      });

      it('echoes other ids as integers', async () => {
        expect(json(await get(`${urls().ratings}/ratings/7`))).toEqual({ id: 7, ratings: { Reviewer1: 5, Reviewer2: 4 } });
      });

      it('refuses a NaN id with 400', async () => {
        const answer = await get(`${urls().ratings}/ratings/abc`);
        expect(answer.status).toBe(400);
        expect(json(answer)).toEqual({ error: 'please provide numeric product ID' });
      });
    });

    describe('reviews', () => {
      it('v1 has no rating at all', async () => {
        const answer = await get(`${reviewsUrls().v1}/reviews/0`);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
        const body = json(answer);
        expect(body).toEqual(expectedReviews('0'));
        expect(answer.text).not.toContain('rating');
      });

      it('v2 adds black stars from ratings', async () => {
        const answer = await get(`${reviewsUrls().v2}/reviews/0`);
        expect(answer.status).toBe(200);
        expect(json(answer)).toEqual(expectedReviews('0', 'black'));
      });

      it('v3 adds red stars from ratings', async () => {
        const answer = await get(`${reviewsUrls().v3}/reviews/0`);
        expect(answer.status).toBe(200);
        expect(json(answer)).toEqual(expectedReviews('0', 'red'));
      });

      it('returns the id as a string for any product', async () => {
        expect(json(await get(`${reviewsUrls().v1}/reviews/12`))).toEqual(expectedReviews('12'));
        expect(json(await get(`${reviewsUrls().v2}/reviews/12`))).toEqual(expectedReviews('12', 'black'));
        expect(json(await get(`${reviewsUrls().v3}/reviews/12`))).toEqual(expectedReviews('12', 'red'));
      });

      it('answers 404 for a non-integer id (JAX-RS int path parameter)', async () => {
        for (const url of Object.values(reviewsUrls())) {
          expect((await get(`${url}/reviews/abc`)).status).toBe(404);
        }
      });
    });

    describe('productpage HTML', () => {
      it('GET / and /index.html link to the normal and test user pages', async () => {
        for (const path of ['/', '/index.html']) {
          const answer = await get(`${urls().productpage}${path}`);
          expect(answer.status).toBe(200);
          expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
          expect(answer.text).toContain('<title>Simple Bookstore App</title>');
          expect(answer.text).toContain('href="/productpage?u=normal"');
          expect(answer.text).toContain('href="/productpage?u=test"');
        }
      });

      it('GET /productpage renders the book, its details and its reviews', async () => {
        const answer = await get(`${urls().productpage}/productpage?u=normal`);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
        const html = answer.text;
        expect(html).toContain('<title>Simple Bookstore App</title>');
        expect(html).toContain('BookInfo Sample');
        expect(html).toContain('The Comedy of Errors');
        expect(html).toContain('<b>William Shakespeare\'s</b> early plays');
        expect(html).toContain('Book Details');
        expect(html).toContain('Book Reviews');
        expect(html).not.toContain('Error fetching');
        expect(html).not.toContain('currently unavailable');
        for (const [name, value] of [
          ['Type', 'paperback'],
          ['Pages', '200'],
          ['Publisher', 'PublisherA'],
          ['Language', 'English'],
          ['ISBN-10', '1234567890'],
          ['ISBN-13', '123-1234567890'],
        ]) {
          expect(html).toContain(`<dt>${name}:</dt><dd>${value}</dd>`);
        }
        expect(html).toContain(`<p>${TEXT1}</p>`);
        expect(html).toContain(`<p>${TEXT2}</p>`);
        expect(starsFromHtml(html).map((review) => review.reviewer)).toEqual(['Reviewer1', 'Reviewer2']);
      });

      it('each reviews version maps to distinct stars: v1 none, v2 black, v3 red', async () => {
        const { v1, v2, v3 } = reviewsUrls();
        expect(starsFromJson(json(await get(`${v1}/reviews/0`)))).toEqual([
          { reviewer: 'Reviewer1', color: null, full: 0, empty: 0 },
          { reviewer: 'Reviewer2', color: null, full: 0, empty: 0 },
        ]);
        expect(starsFromJson(json(await get(`${v2}/reviews/0`)))).toEqual([
          { reviewer: 'Reviewer1', color: 'black', full: 5, empty: 0 },
          { reviewer: 'Reviewer2', color: 'black', full: 4, empty: 1 },
        ]);
        expect(starsFromJson(json(await get(`${v3}/reviews/0`)))).toEqual([
          { reviewer: 'Reviewer1', color: 'red', full: 5, empty: 0 },
          { reviewer: 'Reviewer2', color: 'red', full: 4, empty: 1 },
        ]);
      });

      it('the page shows exactly the stars of one reviews version', async () => {
        const { v1, v2, v3 } = reviewsUrls();
        const candidates = await Promise.all([v1, v2, v3].map(async (url) => starsFromJson(json(await get(`${url}/reviews/0`)))));
        for (let round = 0; round < 4; round++) {
          const html = (await get(`${urls().productpage}/productpage`)).text;
          const shown = starsFromHtml(html);
          expect(candidates).toContainEqual(shown);
          if (shown[0]?.color === null) {
            expect(html).not.toContain('<font');
            expect(html).not.toContain('class="glyphicon');
          } else {
            const color = shown[0]?.color ?? '';
            expect(html).toContain(`<font color="${color}">`);
            expect(html.split(`<font color="${color}">`).length - 1).toBe(2);
          }
        }
      });

      it('offers a sign-in form posting to /login when no user is signed in', async () => {
        const html = (await get(`${urls().productpage}/productpage`)).text;
        expect(html).toMatch(/<form[^>]*method="post"[^>]*action="\/login"/);
        expect(html).toContain('name="username"');
        expect(html).toContain('name="passwd"');
        expect(html).not.toContain('signed in as');
      });

      it('shows the signed-in user and a logout link when the user cookie is set', async () => {
        const html = (await get(`${urls().productpage}/productpage`, { headers: { cookie: 'user=jason' } })).text;
        expect(html).toContain('signed in as <b>jason</b>');
        expect(html).toContain('href="/logout"');
        expect(html).not.toContain('action="/login"');
        expect(html).toContain('Book Reviews');
      });

      it('POST /login sets the user cookie and redirects to the Referer', async () => {
        const referer = `${urls().productpage}/productpage?u=normal`;
        const answer = await get(`${urls().productpage}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', referer },
          body: 'username=jason&passwd=secret',
        });
        expect(answer.status).toBe(302);
        expect(answer.headers.get('location')).toBe(referer);
        const cookie = answer.headers.get('set-cookie') ?? '';
        expect(cookie).toMatch(/^user=jason;/);
        expect(cookie).toContain('Path=/');
        const page = await get(`${urls().productpage}/productpage`, { headers: { cookie: cookie.split(';')[0] ?? '' } });
        expect(page.text).toContain('signed in as <b>jason</b>');
      });

      it('POST /login without a Referer redirects to /productpage', async () => {
        const answer = await get(`${urls().productpage}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username: 'Test User', passwd: '' }).toString(),
        });
        expect(answer.status).toBe(302);
        expect(answer.headers.get('location')).toBe('/productpage');
        expect(answer.headers.get('set-cookie')).toMatch(/^user=Test%20User;/);
      });

      it('POST /login without a username is a 400 and sets no cookie', async () => {
        const answer = await get(`${urls().productpage}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'passwd=x',
        });
        expect(answer.status).toBe(400);
        expect(answer.headers.get('set-cookie')).toBeNull();
      });

      it('GET /logout clears the cookie and redirects', async () => {
        const referer = `${urls().productpage}/productpage`;
        const answer = await get(`${urls().productpage}/logout`, { headers: { cookie: 'user=jason', referer } });
        expect(answer.status).toBe(302);
        expect(answer.headers.get('location')).toBe(referer);
        const cookie = answer.headers.get('set-cookie') ?? '';
        expect(cookie).toMatch(/^user=;/);
        expect(cookie).toContain('Max-Age=0');
        expect(cookie).toContain('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
        const noReferer = await get(`${urls().productpage}/logout`);
        expect(noReferer.status).toBe(302);
        expect(noReferer.headers.get('location')).toBe('/productpage');
      });
    });

    describe('productpage JSON API', () => {
      it('GET /api/v1/products lists the one book', async () => {
        const answer = await get(`${urls().productpage}/api/v1/products`);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
        expect(json(answer)).toEqual(PRODUCTS);
      });

      it('GET /api/v1/products/0 returns the details', async () => {
        const answer = await get(`${urls().productpage}/api/v1/products/0`);
        expect(answer.status).toBe(200);
        expect(json(answer)).toEqual(DETAILS_0);
      });

      it('GET /api/v1/products/0/reviews returns one reviews version\'s answer', async () => {
        const answer = await get(`${urls().productpage}/api/v1/products/0/reviews`);
        expect(answer.status).toBe(200);
        expect([expectedReviews('0'), expectedReviews('0', 'black'), expectedReviews('0', 'red')]).toContainEqual(json(answer));
      });

      it('GET /api/v1/products/0/ratings returns the ratings', async () => {
        const answer = await get(`${urls().productpage}/api/v1/products/0/ratings`);
        expect(answer.status).toBe(200);
        expect(json(answer)).toEqual({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
      });

      it('passes upstream error statuses and bodies through', async () => {
        const details = await get(`${urls().productpage}/api/v1/products/abc`);
        expect(details.status).toBe(400);
        expect(json(details)).toEqual({ error: 'please provide numeric product id' });
        const ratings = await get(`${urls().productpage}/api/v1/products/abc/ratings`);
        expect(ratings.status).toBe(400);
        expect(json(ratings)).toEqual({ error: 'please provide numeric product ID' });
        const reviews = await get(`${urls().productpage}/api/v1/products/abc/reviews`);
        expect(reviews.status).toBe(404);
        expect(json(reviews)).toHaveProperty('error');
      });

      it('answers 404 for an unknown path', async () => {
        expect((await get(`${urls().productpage}/api/v2/products`)).status).toBe(404);
      });
    });
  });
}
