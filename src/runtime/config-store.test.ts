/**
 * HttpConfigStore's failure handling against small real HTTP servers. Its behaviour against an API
 * server (create, replace with resourceVersion, 409, CRD check) is tested against the API server
 * stand-in in test/route.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigStoreError, ExitCode, exitCodeFor, isAbortError } from '../errors.js';
import { ConfigStoreStatusError, HttpConfigStore } from './config-store.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse, body: string) => void): Promise<string> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => handler(request, response, body));
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const ROUTE_RULES = '/apis/config.istio.io/v1alpha2/namespaces/default/routerules';

describe('HttpConfigStore', () => {
  it('sends the object as JSON to the namespaced custom-resource path and reads the stored one back', async () => {
    const seen: string[] = [];
    const url = await serve((request, response, body) => {
      seen.push(`${request.method} ${request.url} ${request.headers['content-type'] ?? '-'} ${body}`);
      const object = JSON.parse(body) as { metadata: Record<string, unknown> };
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...object, metadata: { ...object.metadata, namespace: 'default', resourceVersion: '7' } }));
    });
    const store = new HttpConfigStore(`${url}/`);
    const stored = await store.create({ apiVersion: 'config.istio.io/v1alpha2', kind: 'RouteRule', metadata: { name: 'r' }, spec: { precedence: 1 } }, 'default');
    expect(stored.metadata).toEqual({ name: 'r', namespace: 'default', resourceVersion: '7' });
    expect(seen).toEqual([
      `POST ${ROUTE_RULES} application/json {"apiVersion":"config.istio.io/v1alpha2","kind":"RouteRule","metadata":{"name":"r"},"spec":{"precedence":1}}`,
    ]);
  });

  it("turns an error status into ConfigStoreStatusError with the Status object's reason and message (exit 1)", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(409, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'AlreadyExists', message: 'routerules.config.istio.io "r" already exists', code: 409 }));
    });
    const error = await thrown(new HttpConfigStore(url).create({ apiVersion: 'config.istio.io/v1alpha2', kind: 'RouteRule', metadata: { name: 'r' }, spec: {} }, 'default'));
    expect(error).toBeInstanceOf(ConfigStoreStatusError);
    expect(error).toMatchObject({ status: 409, reason: 'AlreadyExists', code: 'ML_CONFIG_STORE' });
    expect((error as Error).message).toBe(`the API server at ${url} answered POST ${ROUTE_RULES} with 409 AlreadyExists: routerules.config.istio.io "r" already exists`);
    expect(exitCodeFor(error)).toBe(ExitCode.failure);
  });

  it('answers undefined for a 404 NotFound get, and fails on an answer that is not an object', async () => {
    const url = await serve((request, response) => {
      if (request.url!.endsWith('/missing')) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'not found', code: 404 }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>proxy</html>');
    });
    const store = new HttpConfigStore(url);
    expect(await store.get('RouteRule', 'default', 'missing')).toBeUndefined();
    expect((await thrown(store.get('RouteRule', 'default', 'other'))) as Error).toMatchObject({
      message: `the API server at ${url} answered GET ${ROUTE_RULES}/other with something that is not a JSON object`,
    });
  });

  it('gives up on a request after its timeout, with ConfigStoreError', async () => {
    const url = await serve(() => undefined); // never answers
    const started = Date.now();
    const error = await thrown(new HttpConfigStore(url, { timeoutMs: 200 }).list('DestinationPolicy', 'default'));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(ConfigStoreError);
    expect((error as Error).message).toBe(
      `the API server at ${url} did not answer GET /apis/config.istio.io/v1alpha2/namespaces/default/destinationpolicies within 200 ms`,
    );
  });

  it("stops at once when the caller's signal aborts, with the abort, not a store error", async () => {
    const url = await serve(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await thrown(new HttpConfigStore(url, { timeoutMs: 10_000 }).list('RouteRule', 'default', controller.signal));
    expect(error).not.toBeInstanceOf(ConfigStoreError);
    expect(isAbortError(error)).toBe(true);
  });

  it('says it cannot reach a closed port, and finds its URL lazily only once', async () => {
    const closed = await serve(() => undefined);
    for (const server of servers.splice(0)) await new Promise((done) => server.close(done));
    let lookups = 0;
    const store = new HttpConfigStore(async () => {
      lookups++;
      return closed;
    });
    expect(store.location).toBe('the API server');
    for (let i = 0; i < 2; i++) {
      const error = await thrown(store.checkRegistered(['RouteRule']));
      expect(error).toBeInstanceOf(ConfigStoreError);
      expect((error as Error).message).toMatch(new RegExp(`^cannot reach the API server at ${closed} \\(GET /apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions/routerules.config.istio.io\\): `));
    }
    expect(lookups).toBe(1);
    expect(store.location).toBe(closed);
  });
});
