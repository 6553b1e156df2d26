/**
 * The Envoy stand-in against real local servers: an in-process HTTP server playing pilot's v1
 * discovery API (fixtures typed by ../common/envoy-v1.ts), backends on 127.0.0.1 standing for
 * reviews v1/v2/v3, and this host's first non-loopback IPv4 address as "this namespace's own
 * address", so a connection to it is inbound and one to any 127/8 address outbound.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  serviceNode,
  type Cluster,
  type FaultFilterConfig,
  type HttpFilter,
  type HttpRoute,
  type HttpRouteConfig,
  type Listener,
  type SdsHost,
} from '../common/envoy-v1.js';
import { pumpStream, startEnvoyStandin, type RunningEnvoyStandin } from './envoy.js';

const OWN = (() => {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((candidate) => candidate !== undefined && candidate.family === 'IPv4' && !candidate.internal);
  if (!address) throw new Error('these tests need a non-loopback IPv4 address on this host (the inbound side)');
  return address.address;
})();
const SERVICE = 'reviews.service.consul';
const KEY = `${SERVICE}|http`;
const keyOf = (version?: string) => (version ? `${KEY}|version=${version}` : KEY);
const clusterOf = (version?: string) => `out.${keyOf(version)}`;
const JASON = '^(.*?;)?(user=jason)(;.*)?$';
const NODE = serviceNode('Consul', OWN);

// ---- real servers ---------------------------------------------------------------------------

interface Backend {
  port: number;
  server: Server;
  calls: number;
  lastHeaders?: IncomingHttpHeaders;
}

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function backend(answer: (backend: Backend, request: IncomingMessage, response: ServerResponse) => void): Promise<Backend> {
  const state = { calls: 0 } as Backend;
  const { server, port } = await serve((request, response) => {
    state.calls++;
    state.lastHeaders = request.headers;
    answer(state, request, response);
  });
  return Object.assign(state, { server, port });
}

const answerVersion = (version: string) => (_backend: Backend, request: IncomingMessage, response: ServerResponse) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ version, body }));
  });
};

interface PilotState {
  listeners: Listener[];
  clusters: Cluster[];
  routes: Record<string, HttpRouteConfig>;
  registrations: Record<string, SdsHost[]>;
  /** HTTP status to answer everything with instead (pilot failing). */
  failWith?: number;
}

async function startPilot(state: () => PilotState): Promise<{ server: Server; port: number; paths: string[] }> {
  const paths: string[] = [];
  const { server, port } = await serve((request, response) => {
    const path = decodeURIComponent(request.url ?? '/');
    paths.push(path);
    const current = state();
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (current.failWith) return send(current.failWith, { error: 'pilot is failing' });
    const suffix = `reviews-v1/${NODE}`;
    if (path === `/v1/listeners/${suffix}`) return send(200, { listeners: current.listeners });
    if (path === `/v1/clusters/${suffix}`) return send(200, { clusters: current.clusters });
    const route = /^\/v1\/routes\/([^/]+)\/(.+)$/.exec(path);
    if (route && route[2] === suffix && current.routes[route[1]!]) return send(200, current.routes[route[1]!]);
    const sds = /^\/v1\/registration\/(.+)$/.exec(path);
    if (sds) return send(200, { hosts: current.registrations[sds[1]!] ?? [] });
    send(404, { error: `no ${path}` });
  });
  return { server, port, paths };
}

// ---- fixtures (pilot 0.8's shapes) ----------------------------------------------------------

function outboundListener(port: number, faults: FaultFilterConfig[] = []): Listener {
  const filters: HttpFilter[] = [...faults.map((config): HttpFilter => ({ type: 'decoder', name: 'fault', config })), { type: 'decoder', name: 'router', config: {} }];
  return {
    address: `tcp://0.0.0.0:${port}`,
    name: `http_0.0.0.0_${port}`,
    bind_to_port: false,
    filters: [
      {
        type: 'read',
        name: 'http_connection_manager',
        config: { codec_type: 'auto', stat_prefix: 'http', generate_request_id: true, rds: { cluster: 'rds', route_config_name: String(port), refresh_delay_ms: 1000 }, filters, access_log: [] },
      },
    ],
  };
}

function inboundListener(ip: string, port: number): Listener {
  return {
    address: `tcp://${ip}:${port}`,
    name: `http_${ip}_${port}`,
    bind_to_port: false,
    filters: [
      {
        type: 'read',
        name: 'http_connection_manager',
        config: {
          codec_type: 'auto',
          stat_prefix: 'http',
          route_config: { validate_clusters: false, virtual_hosts: [{ name: `inbound|${port}`, domains: ['*'], routes: [{ prefix: '/', cluster: `in.${port}`, timeout_ms: 0 }] }] },
          filters: [{ type: 'decoder', name: 'router', config: {} }],
          access_log: [],
        },
      },
    ],
  };
}

const sdsCluster = (version?: string): Cluster => ({ name: clusterOf(version), service_name: keyOf(version), connect_timeout_ms: 1000, type: 'sds', lb_type: 'round_robin' });
const staticCluster = (name: string, port: number): Cluster => ({ name, connect_timeout_ms: 1000, type: 'static', lb_type: 'round_robin', hosts: [{ url: `tcp://127.0.0.1:${port}` }] });
const reviewsRoutes = (routes: HttpRoute[], domains = ['reviews:9080', 'reviews', `${SERVICE}:9080`, SERVICE]): HttpRouteConfig => ({
  validate_clusters: false,
  virtual_hosts: [{ name: `${SERVICE}|http`, domains, routes }],
});
const defaultRoute: HttpRoute = { prefix: '/', cluster: clusterOf(), timeout_ms: 0, decorator: { operation: 'default-route' } };
const jasonHeader = [{ name: 'cookie', value: JASON, regex: true }];

// ---- the client -------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** One request to the proxy at `address` with a Host header of our choice (fetch cannot set Host). */
function send(address: string, port: number, host: string, path = '/reviews/0', headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: address, port, path, method: body === undefined ? 'GET' : 'POST', headers: { host, ...headers }, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, ms: performance.now() - started }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const versionOf = (answer: Answer) => (JSON.parse(answer.body) as { version: string }).version;

async function eventually(check: () => Promise<void> | void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

// ---- the suite --------------------------------------------------------------------------------

describe('the Envoy stand-in applies pilot\'s v1 configuration', () => {
  const versions: Record<string, Backend> = {};
  let app: Backend;
  let slow: Backend;
  let flaky: Backend;
  let failing: Backend;
  let pilot: Awaited<ReturnType<typeof startPilot>>;
  let state: PilotState;
  let proxy: RunningEnvoyStandin;
  const lines: string[] = [];
  const out = (host = 'reviews:9080', path?: string, headers?: Record<string, string>, body?: string) => send('127.0.0.1', proxy.port, host, path, headers, body);
  const accessLines = () => lines.filter((line) => line.includes(' mesh-proxy '));
  const lineFor = (requestId: string) => accessLines().find((line) => line.includes(`request_id=${requestId} `));

  /** The default configuration: reviews v1, v2, v3 in SDS, the default route, this proxy's inbound 9080. */
  function baseState(routes: HttpRoute[] = [defaultRoute], faults: FaultFilterConfig[] = []): PilotState {
    const hosts = (['v1', 'v2', 'v3'] as const).map((version): SdsHost => ({ ip_address: '127.0.0.1', port: versions[version]!.port, tags: { version } }));
    return {
      listeners: [outboundListener(9080, faults), inboundListener(OWN, 9080)],
      clusters: [sdsCluster(), sdsCluster('v1'), sdsCluster('v2'), sdsCluster('v3'), staticCluster('in.9080', app.port)],
      routes: { '9080': reviewsRoutes(routes) },
      registrations: {
        [keyOf()]: hosts,
        [keyOf('v1')]: [hosts[0]!],
        [keyOf('v2')]: [hosts[1]!],
        [keyOf('v3')]: [hosts[2]!],
      },
    };
  }

  /** Serves `next` and waits for a discovery round that started after the change. */
  async function apply(next: PilotState): Promise<void> {
    state = next;
    await proxy.refresh();
    expect(await proxy.refresh()).toBe(true);
  }

  beforeAll(async () => {
    for (const version of ['v1', 'v2', 'v3']) versions[version] = await backend(answerVersion(version));
    app = await backend(answerVersion('app'));
    slow = await backend((_backend, _request, response) => setTimeout(() => response.end('slow'), 1500));
    flaky = await backend((self, _request, response) => {
      response.writeHead(self.calls % 2 === 1 ? 503 : 200);
      response.end(self.calls % 2 === 1 ? 'try again' : 'second time lucky');
    });
    failing = await backend((_backend, _request, response) => {
      response.writeHead(503);
      response.end('always down');
    });
    state = baseState();
    pilot = await startPilot(() => state);
    proxy = await startEnvoyStandin({
      discoveryAddress: `127.0.0.1:${pilot.port}`,
      serviceCluster: 'reviews-v1',
      node: NODE,
      listenPort: 0,
      adminPort: 0,
      ownAddresses: () => [OWN],
      log: (line) => lines.push(line),
      pollIntervalMs: 100,
    });
  });

  afterAll(async () => {
    await proxy?.close();
    for (const server of [pilot, app, slow, flaky, failing, ...Object.values(versions)]) server?.server.closeAllConnections(), server?.server.close();
  });

  beforeEach(async () => {
    await apply(baseState());
  });

  it('asks pilot for listeners, clusters, the rds route config and every sds service key, as its node', () => {
    expect(pilot.paths).toContain(`/v1/listeners/reviews-v1/${NODE}`);
    expect(pilot.paths).toContain(`/v1/clusters/reviews-v1/${NODE}`);
    expect(pilot.paths).toContain(`/v1/routes/9080/reviews-v1/${NODE}`);
    expect(pilot.paths).toContain(`/v1/registration/${keyOf('v2')}`);
    expect(proxy.snapshot().registrations[keyOf()]).toHaveLength(3);
  });

  it('without rules: round robin over all instances', async () => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const answer = await out();
      expect(answer.status).toBe(200);
      seen[versionOf(answer)] = (seen[versionOf(answer)] ?? 0) + 1;
    }
    expect(seen).toEqual({ v1: 10, v2: 10, v3: 10 });
  });

  it('forgets the round-robin position of a cluster pilot no longer lists', async () => {
    const withCluster = () => {
      const next = baseState([{ prefix: '/', cluster: 'out.rotating', timeout_ms: 0 }]);
      const hosts = (['v1', 'v2', 'v3'] as const).map((version) => ({ url: `tcp://127.0.0.1:${versions[version]!.port}` }));
      next.clusters.push({ name: 'out.rotating', connect_timeout_ms: 1000, type: 'static', lb_type: 'round_robin', hosts });
      return next;
    };
    await apply(withCluster());
    expect(versionOf(await out())).toBe('v1');
    await apply(baseState());
    await apply(withCluster());
    // A new cluster of that name starts over; a kept position would answer v2.
    expect(versionOf(await out())).toBe('v1');
  });

  it('weighted 50/50 within tolerance over 400 requests, no v2', async () => {
    const weighted: HttpRoute = { prefix: '/', weighted_clusters: { clusters: [{ name: clusterOf('v1'), weight: 50 }, { name: clusterOf('v3'), weight: 50 }] }, timeout_ms: 0, decorator: { operation: 'reviews-50-v3' } };
    await apply(baseState([weighted]));
    const seen: Record<string, number> = {};
    const answers = await Promise.all(Array.from({ length: 400 }, () => out()));
    for (const answer of answers) seen[versionOf(answer)] = (seen[versionOf(answer)] ?? 0) + 1;
    expect(seen.v2).toBeUndefined();
    // Binomial(400, 0.5): standard deviation 10; 50 is five of them.
    expect(seen.v1).toBeGreaterThanOrEqual(150);
    expect(seen.v3).toBeGreaterThanOrEqual(150);
    expect(seen.v1! + seen.v3!).toBe(400);
  });

  it('weighted 100/0 sends every request to the 100', async () => {
    const weighted: HttpRoute = { prefix: '/', weighted_clusters: { clusters: [{ name: clusterOf('v1'), weight: 100 }, { name: clusterOf('v3'), weight: 0 }] }, timeout_ms: 0 };
    await apply(baseState([weighted]));
    const answers = await Promise.all(Array.from({ length: 100 }, () => out()));
    expect(new Set(answers.map(versionOf))).toEqual(new Set(['v1']));
  });

  it('a cookie regex sends jason to v2 while everyone else follows the default', async () => {
    await apply(
      baseState([
        { prefix: '/', headers: jasonHeader, cluster: clusterOf('v2'), timeout_ms: 0, decorator: { operation: 'reviews-test-v2' } },
        { prefix: '/', cluster: clusterOf('v1'), timeout_ms: 0, decorator: { operation: 'reviews-default' } },
      ]),
    );
    for (let i = 0; i < 5; i++) {
      expect(versionOf(await out('reviews:9080', '/reviews/0', { cookie: 'user=jason; session=abc' }))).toBe('v2');
      expect(versionOf(await out('reviews:9080', '/reviews/0', { cookie: 'session=abc;user=jason' }))).toBe('v2');
      expect(versionOf(await out('reviews:9080', '/reviews/0', { cookie: 'user=jason' }))).toBe('v2');
      expect(versionOf(await out('reviews:9080', '/reviews/0', { cookie: 'user=jasonx' }))).toBe('v1');
      expect(versionOf(await out())).toBe('v1');
    }
    await out('reviews:9080', '/reviews/0', { cookie: 'user=jason', 'x-request-id': 'jason-1' });
    await eventually(() => expect(lineFor('jason-1')).toMatch(/ route=reviews-test-v2 upstream_cluster=out\.reviews\.service\.consul\|http\|version=v2 version=v2 flags=-$/));
  });

  it('the first matching route wins (precedence), and path conditions count', async () => {
    await apply(
      baseState([
        { path: '/reviews/exact', cluster: clusterOf('v2'), timeout_ms: 0 },
        { prefix: '/reviews', cluster: clusterOf('v3'), timeout_ms: 0 },
        { prefix: '/', cluster: clusterOf('v1'), timeout_ms: 0 },
      ]),
    );
    expect(versionOf(await out('reviews:9080', '/reviews/exact?x=1'))).toBe('v2');
    expect(versionOf(await out('reviews:9080', '/reviews/exactly'))).toBe('v3');
    expect(versionOf(await out('reviews:9080', '/reviews/0'))).toBe('v3');
    expect(versionOf(await out('reviews:9080', '/health'))).toBe('v1');
  });

  it('a 100 % delay holds matching requests for fixed_duration_ms (DI); others pass', async () => {
    await apply(baseState([{ prefix: '/', cluster: clusterOf('v1'), timeout_ms: 0 }], [{ delay: { type: 'fixed', fixed_delay_percent: 100, fixed_duration_ms: 300 }, headers: jasonHeader, upstream_cluster: clusterOf('v1') }]));
    const delayed = await out('reviews:9080', '/reviews/0', { cookie: 'user=jason', 'x-request-id': 'delayed-1' });
    expect(delayed.status).toBe(200);
    expect(delayed.ms).toBeGreaterThanOrEqual(300);
    const other = await out('reviews:9080', '/reviews/0', { 'x-request-id': 'not-delayed-1' });
    expect(other.status).toBe(200);
    await eventually(() => {
      expect(lineFor('delayed-1')).toMatch(/ flags=DI$/);
      expect(lineFor('not-delayed-1')).toMatch(/ flags=-$/);
    });
  });

  it('a 100 % abort answers http_status for matching headers only (FI), never reaching the upstream', async () => {
    await apply(baseState([{ prefix: '/', cluster: clusterOf('v1'), timeout_ms: 0 }], [{ abort: { abort_percent: 100, http_status: 500 }, headers: jasonHeader, upstream_cluster: clusterOf('v1') }]));
    const calls = versions.v1!.calls;
    const aborted = await out('reviews:9080', '/reviews/0', { cookie: 'user=jason', 'x-request-id': 'aborted-1' });
    expect(aborted).toMatchObject({ status: 500, body: 'fault filter abort' });
    expect(versions.v1!.calls).toBe(calls);
    expect((await out()).status).toBe(200);
    await eventually(() => expect(lineFor('aborted-1')).toMatch(/status=500 upstream=- .* flags=FI$/));
  });

  it('a fault for another upstream cluster does not apply', async () => {
    await apply(baseState([{ prefix: '/', cluster: clusterOf('v1'), timeout_ms: 0 }], [{ abort: { abort_percent: 100, http_status: 500 }, upstream_cluster: clusterOf('v3') }]));
    expect((await out()).status).toBe(200);
  });

  it('timeout_ms: 504 upstream request timeout (UT)', async () => {
    state = baseState([{ prefix: '/', cluster: 'out.slow', timeout_ms: 200 }]);
    state.clusters.push(staticCluster('out.slow', slow.port));
    await apply(state);
    const answer = await out('reviews:9080', '/reviews/0', { 'x-request-id': 'timeout-1' });
    expect(answer).toMatchObject({ status: 504, body: 'upstream request timeout' });
    await eventually(() => expect(lineFor('timeout-1')).toMatch(/status=504 upstream=127\.0\.0\.1:\d+ .* flags=UT$/));
  });

  it('retries a 503 and answers the 200 of the next try', async () => {
    state = baseState([{ prefix: '/', cluster: 'out.flaky', timeout_ms: 0, retry_policy: { retry_on: '5xx,connect-failure,refused-stream', num_retries: 3, per_try_timeout_ms: 1000 } }]);
    state.clusters.push(staticCluster('out.flaky', flaky.port));
    await apply(state);
    flaky.calls = 0;
    const answer = await out('reviews:9080', '/reviews/0', {}, 'the body, sent twice');
    expect(answer).toMatchObject({ status: 200, body: 'second time lucky' });
    expect(flaky.calls).toBe(2);
    expect(answer.headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
  });

  it('without a retry policy the 503 comes back as it is', async () => {
    state = baseState([{ prefix: '/', cluster: 'out.flaky', timeout_ms: 0 }]);
    state.clusters.push(staticCluster('out.flaky', flaky.port));
    await apply(state);
    flaky.calls = 0;
    expect(await out()).toMatchObject({ status: 503, body: 'try again' });
  });

  it('retries exhausted: the last 503 with URX, after num_retries + 1 tries', async () => {
    state = baseState([{ prefix: '/', cluster: 'out.failing', timeout_ms: 0, retry_policy: { retry_on: '5xx,connect-failure,refused-stream', num_retries: 2 } }]);
    state.clusters.push(staticCluster('out.failing', failing.port));
    await apply(state);
    failing.calls = 0;
    expect(await out('reviews:9080', '/reviews/0', { 'x-request-id': 'urx-1' })).toMatchObject({ status: 503, body: 'always down' });
    expect(failing.calls).toBe(3);
    await eventually(() => expect(lineFor('urx-1')).toMatch(/ flags=URX$/));
  });

  it('retries a refused connection on another host', async () => {
    const closed = await serve(() => undefined);
    const deadPort = closed.port;
    await new Promise((resolve) => closed.server.close(resolve));
    state = baseState([{ prefix: '/', cluster: clusterOf('v1'), timeout_ms: 0, retry_policy: { retry_on: '5xx,connect-failure,refused-stream', num_retries: 1 } }]);
    state.registrations[keyOf('v1')] = [{ ip_address: '127.0.0.1', port: deadPort, tags: { version: 'v1' } }, { ip_address: '127.0.0.1', port: versions.v1!.port, tags: { version: 'v1' } }];
    await apply(state);
    for (let i = 0; i < 4; i++) expect(versionOf(await out())).toBe('v1');
  });

  it('a chunked body on DELETE reaches the upstream whole, streamed or kept for retries', async () => {
    const chunkedDelete = () =>
      new Promise<string>((resolve, reject) => {
        const request = httpRequest(
          { host: '127.0.0.1', port: proxy.port, method: 'DELETE', path: '/reviews/0', headers: { host: 'reviews:9080', 'transfer-encoding': 'chunked' }, agent: false },
          (response) => {
            let text = '';
            response.on('data', (chunk) => (text += chunk));
            response.on('end', () => resolve(`${response.statusCode} ${(JSON.parse(text) as { body: string }).body}`));
          },
        );
        request.on('error', reject);
        request.write('first half, ');
        request.end('second half');
      });
    expect(await chunkedDelete()).toBe('200 first half, second half');
    await apply(baseState([{ ...defaultRoute, retry_policy: { retry_on: '5xx', num_retries: 1 } }]));
    expect(await chunkedDelete()).toBe('200 first half, second half');
  });

  /** A raw client that sends the headers of a 100-byte POST and `part` of its body, then stalls; `received` is what came back. */
  function stalledPost(requestId: string, part: string) {
    const socket = connect(proxy.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`POST /reviews/0 HTTP/1.1\r\nhost: reviews:9080\r\nx-request-id: ${requestId}\r\ncontent-length: 100\r\n\r\n${part}`);
    return { socket, closed, received: () => received };
  }

  it('with a retry policy, a client too slow with its body gets 408 at the route timeout, without reaching the upstream', async () => {
    await apply(baseState([{ prefix: '/', cluster: clusterOf('v1'), timeout_ms: 300, retry_policy: { retry_on: '5xx', num_retries: 2 } }]));
    const calls = versions.v1!.calls;
    const started = performance.now();
    const client = stalledPost('slow-body-1', 'ten bytes!');
    try {
      const outcome = await Promise.race([client.closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 3000))]);
      expect(outcome).toBe('closed');
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(client.received()).toMatch(/request timeout$/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      expect(versions.v1!.calls).toBe(calls);
      await eventually(() => expect(lineFor('slow-body-1')).toMatch(/status=408 upstream=- .* flags=-$/));
    } finally {
      client.socket.destroy();
    }
  });

  it('with a retry policy, a client gone while sending its body: no answer, DC, nothing upstream, no internal error', async () => {
    await apply(baseState([{ prefix: '/', cluster: clusterOf('v1'), timeout_ms: 0, retry_policy: { retry_on: '5xx', num_retries: 2 } }]));
    const calls = versions.v1!.calls;
    const before = lines.length;
    const client = stalledPost('gone-body-1', 'half');
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.socket.destroy();
    await eventually(() => expect(lineFor('gone-body-1')).toMatch(/status=0 upstream=- .* flags=DC$/));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines.slice(before).filter((line) => line.includes('internal error'))).toEqual([]);
    expect(versions.v1!.calls).toBe(calls);
  });

  it('no healthy upstream: 503 (UH)', async () => {
    state = baseState();
    state.registrations[keyOf()] = [];
    await apply(state);
    expect(await out('reviews:9080', '/reviews/0', { 'x-request-id': 'uh-1' })).toMatchObject({ status: 503, body: 'no healthy upstream' });
    await eventually(() => expect(lineFor('uh-1')).toMatch(/ flags=UH$/));
  });

  it('an unknown virtual host: 404 (NR)', async () => {
    expect((await out('nosuch:9080', '/', { 'x-request-id': 'nr-1' })).status).toBe(404);
    await eventually(() => expect(lineFor('nr-1')).toMatch(/status=404 .* route=- upstream_cluster=- version=- flags=NR$/));
  });

  it('a port without listener passes through to the Host (original destination; a stand-in choice, Envoy would close), logged as such', async () => {
    const answer = await out(`127.0.0.1:${versions.v3!.port}`, '/anything', { 'x-request-id': 'passthrough-1' });
    expect(versionOf(answer)).toBe('v3');
    // Only Envoy's router adds it, to routed requests.
    expect(answer.headers['x-envoy-upstream-service-time']).toBeUndefined();
    expect((await out()).headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
    await eventually(() => {
      expect(lineFor('passthrough-1')).toMatch(new RegExp(`direction=outbound .*upstream=127\\.0\\.0\\.1:${versions.v3!.port} .*upstream_cluster=original_dst`));
      const said = lines.find((line) => line.includes(`outbound to 127.0.0.1:${versions.v3!.port}: pilot has no listener for port ${versions.v3!.port}; passing through`));
      expect(said).toContain('a stand-in choice, unlike Envoy, which closes such connections');
    });
  });

  it('inbound: a connection to its own address goes to the app through the inbound listener', async () => {
    const answer = await send(OWN, proxy.port, 'reviews:9080', '/reviews/0', { 'x-request-id': 'inbound-1' });
    expect(versionOf(answer)).toBe('app');
    // Any loopback address is the app's own outbound traffic, not only 127.0.0.1.
    expect(versionOf(await send('127.0.0.2', proxy.port, 'reviews:9080'))).toMatch(/^v[123]$/);
    await eventually(() => expect(lineFor('inbound-1')).toMatch(new RegExp(`mesh-proxy cluster=reviews-v1 direction=inbound method=GET host=reviews:9080 path=/reviews/0 status=200 upstream=127\\.0\\.0\\.1:${app.port} request_id=inbound-1 duration=\\d+\\.\\d{3} route=inbound\\|9080 upstream_cluster=in\\.9080 version=- flags=-$`)));
  });

  it('inbound without an inbound listener: 503 naming the reason', async () => {
    state = baseState();
    state.listeners = state.listeners.filter((listener) => !listener.address.startsWith(`tcp://${OWN}`));
    await apply(state);
    const answer = await send(OWN, proxy.port, 'reviews:9080');
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('pilot lists no instance at this address');
  });

  it('adds x-request-id when missing and keeps a given one; keeps Host', async () => {
    await apply(baseState([{ prefix: '/', cluster: clusterOf('v2'), timeout_ms: 0 }]));
    await out();
    expect(versions.v2!.lastHeaders!['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(versions.v2!.lastHeaders!.host).toBe('reviews:9080');
    await out('reviews:9080', '/reviews/0', { 'x-request-id': 'given-1' });
    expect(versions.v2!.lastHeaders!['x-request-id']).toBe('given-1');
  });

  it('the access-log line keeps the old fields in order and adds route, upstream_cluster, version, flags', async () => {
    await out('reviews:9080', '/reviews/0?x=1', { 'x-request-id': 'format-1' });
    await eventually(() =>
      expect(lineFor('format-1')).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z mesh-proxy cluster=reviews-v1 direction=outbound method=GET host=reviews:9080 path=\/reviews\/0\?x=1 status=200 upstream=127\.0\.0\.1:\d+ request_id=format-1 duration=\d+\.\d{3} route=default-route upstream_cluster=out\.reviews\.service\.consul\|http version=v[123] flags=-$/,
      ),
    );
  });

  it('picks up a changed configuration on the next poll', async () => {
    state = baseState([{ prefix: '/', cluster: clusterOf('v3'), timeout_ms: 0 }]);
    await eventually(async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => out()));
      expect(answers.map(versionOf)).toEqual(Array(6).fill('v3'));
    }, 3000);
  });

  it('keeps the last good configuration while pilot fails, logging the problem once', async () => {
    await apply(baseState([{ prefix: '/', cluster: clusterOf('v2'), timeout_ms: 0 }]));
    const before = lines.length;
    state = { ...state, failWith: 500 };
    const requestsBefore = pilot.paths.length;
    await eventually(() => expect(pilot.paths.length).toBeGreaterThanOrEqual(requestsBefore + 10), 5000);
    expect(versionOf(await out())).toBe('v2');
    const problems = lines.slice(before).filter((line) => line.includes('cannot fetch configuration from pilot'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('HTTP 500');
    await apply({ ...state, failWith: undefined });
    expect(lines.slice(before)).toContainEqual(expect.stringContaining('answers again'));
  });

  it('admin: /server_info, /config_dump with the configuration in use, /stats', async () => {
    const admin = (path: string) => fetch(`http://127.0.0.1:${proxy.adminPort}${path}`);
    const info = await admin('/server_info');
    expect(info.status).toBe(200);
    expect(await info.text()).toContain('not Envoy');
    expect(await (await admin('/')).text()).toContain('reviews-v1');
    const dump = (await (await admin('/config_dump')).json()) as { node: string; listeners: Listener[]; routes: Record<string, HttpRouteConfig>; registrations: Record<string, SdsHost[]> };
    expect(dump.node).toBe(NODE);
    expect(dump.listeners.map((listener) => listener.address)).toEqual(['tcp://0.0.0.0:9080', `tcp://${OWN}:9080`]);
    expect(Object.keys(dump.routes)).toEqual(['9080']);
    expect(dump.registrations[keyOf()]).toHaveLength(3);
    expect(await (await admin('/stats')).text()).toMatch(/discovery\.update_success: \d+/);
  });
});

describe('the Envoy stand-in before pilot answers', () => {
  it('passes outbound through, answers inbound 503, and its admin answers', async () => {
    const lines: string[] = [];
    const target = await backend(answerVersion('outside'));
    const proxy = await startEnvoyStandin({
      discoveryAddress: '127.0.0.1:1',
      serviceCluster: 'details-v1',
      node: serviceNode('Eureka', OWN),
      listenPort: 0,
      adminPort: 0,
      ownAddresses: () => [OWN],
      log: (line) => lines.push(line),
      pollIntervalMs: 50,
    });
    try {
      expect(versionOf(await send('127.0.0.1', proxy.port, `127.0.0.1:${target.port}`))).toBe('outside');
      expect((await send(OWN, proxy.port, 'details:9080')).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${proxy.adminPort}/server_info`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(lines.filter((line) => line.includes('cannot fetch configuration'))).toHaveLength(1);
    } finally {
      await proxy.close();
      target.server.close();
    }
  });
});

describe('the Envoy stand-in\'s poll loop', () => {
  it('survives a failure after a round was fetched (a throwing log): one line, no unhandled rejection, polling on', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const pilot = await startPilot(() => ({ listeners: [], clusters: [staticCluster('out.somewhere', 1)], routes: {}, registrations: {} }));
    const lines: string[] = [];
    let thrown = false;
    const proxy = await startEnvoyStandin({
      discoveryAddress: `127.0.0.1:${pilot.port}`,
      serviceCluster: 'reviews-v1',
      node: NODE,
      listenPort: 0,
      adminPort: 0,
      ownAddresses: () => [OWN],
      log: (line) => {
        // The first configuration line fails, as a broken stdout would.
        if (!thrown && line.includes('configuration from pilot')) {
          thrown = true;
          throw new Error('stdout is gone');
        }
        lines.push(line);
      },
      pollIntervalMs: 20,
    });
    try {
      await eventually(() => expect(proxy.rounds()).toBeGreaterThanOrEqual(3));
      await new Promise((resolve) => setImmediate(resolve));
      expect(thrown).toBe(true);
      expect(rejections).toEqual([]);
      expect(lines.filter((line) => line.includes('discovery round failed'))).toEqual([expect.stringContaining('polling on): stdout is gone')]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await proxy.close();
      pilot.server.closeAllConnections();
      pilot.server.close();
    }
  });
});

describe('pumpStream', () => {
  it('returns when the upstream request is destroyed while waiting for it to drain', async () => {
    // An upstream that takes the request and never reads its body, so writes stop draining.
    const { server, port } = await serve(() => undefined);
    try {
      const upstream = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false });
      upstream.on('error', () => undefined);
      let pulled = 0;
      async function* endless(): AsyncIterable<Buffer> {
        for (;;) {
          pulled++;
          yield Buffer.alloc(1024 * 1024, 'x');
        }
      }
      const pumped = pumpStream(endless(), upstream);
      await eventually(() => expect(upstream.writableNeedDrain).toBe(true));
      const pulledBefore = pulled;
      upstream.destroy();
      const outcome = await Promise.race([pumped.then(() => 'returned'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000))]);
      expect(outcome).toBe('returned');
      expect(pulled).toBe(pulledBefore);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
