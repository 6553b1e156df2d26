/**
 * The pilot stand-in's v1 discovery computation: golden files per BookInfo scenario and registry,
 * and targeted checks of each upstream rule. `UPDATE_GOLDEN=1 npx vitest run
 * sandbox/standins/pilot-v1.test.ts` rewrites the golden files; without it they are compared.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readYamlDocuments } from '../../src/common/yaml-file.js';
import { serviceNode } from '../common/envoy-v1.js';
import {
  RouteConfigNameError,
  ServiceNodeError,
  clusters,
  listeners,
  proxyNode,
  readStoredConfigs,
  routeMatch,
  routes,
  serviceKey,
  sortRouteRules,
  truncateClusterName,
  virtualHostDomains,
  type MeshView,
  type ServiceInstance,
} from './pilot-v1.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const goldenDir = join(repoRoot, 'sandbox/standins/testdata/pilot-v1');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

// ---- BookInfo as each registry adapter reports it ----------------------------------------------

type Registry = 'consul' | 'eureka';

/** BookInfo's instances; addresses are what the containers would get on the project network. */
const BOOKINFO = [
  { name: 'productpage', version: 'v1', ip: '10' },
  { name: 'details', version: 'v1', ip: '11' },
  { name: 'ratings', version: 'v1', ip: '12' },
  { name: 'reviews', version: 'v1', ip: '13' },
  { name: 'reviews', version: 'v2', ip: '14' },
  { name: 'reviews', version: 'v3', ip: '15' },
] as const;

const SUBNET: Record<Registry, string> = { consul: '172.28.0', eureka: '172.18.0' };

/**
 * Consul (pilot.ts consulInstances): `<name>.service.consul`, port name `http`, plus Consul's own
 * `consul` service (node address, port 8300), which is in every Consul catalog. Eureka
 * (eurekaInstances, with what sandbox/registrator/eureka-backend.ts registers): hostName = the bare
 * name, port named by its number, istio.protocol http.
 */
function bookinfoInstances(registry: Registry): ServiceInstance[] {
  const subnet = SUBNET[registry];
  const apps = BOOKINFO.map(({ name, version, ip }) => ({
    hostname: registry === 'consul' ? `${name}.service.consul` : name,
    portName: registry === 'consul' ? 'http' : '9080',
    address: `${subnet}.${ip}`,
    port: 9080,
    labels: { version },
    protocol: 'HTTP' as const,
  }));
  if (registry === 'eureka') return apps;
  return [{ hostname: 'consul.service.consul', portName: 'http', address: `${subnet}.5`, port: 8300, labels: {}, protocol: 'HTTP' }, ...apps];
}

function nodeOf(registry: Registry, ip: string) {
  return proxyNode(serviceNode(registry === 'consul' ? 'Consul' : 'Eureka', `${SUBNET[registry]}.${ip}`));
}

/** A rule file's documents as the API server stores them after `istioctl create` (namespace default). */
async function storedItems(registry: Registry, scenario: string): Promise<unknown[]> {
  const documents = await readYamlDocuments(join(repoRoot, 'samples/bookinfo/rules', registry, `${scenario}.yaml`));
  return documents
    .filter((doc) => doc !== null && doc !== undefined)
    .map((doc, i) => {
      const object = doc as { metadata: Record<string, unknown> };
      return { ...object, metadata: { ...object.metadata, namespace: 'default', uid: `uid-${scenario}-${i}`, resourceVersion: String(100 + i) } };
    });
}

/**
 * Scenario = which rule files are applied, in order; a later rule with the same name replaces the
 * earlier one (what `istioctl replace` did). The jason rules and the reviews variants are applied on
 * top of all-v1, as upstream's request-routing and fault-injection tasks do.
 */
const SCENARIOS: Record<string, string[]> = {
  none: [],
  'all-v1': ['all-v1'],
  'reviews-v3': ['all-v1', 'reviews-v3'],
  'reviews-50-v3': ['all-v1', 'reviews-50-v3'],
  'reviews-v2-v3': ['all-v1', 'reviews-v2-v3'],
  'reviews-test-v2': ['all-v1', 'reviews-test-v2'],
  'ratings-test-delay': ['all-v1', 'reviews-test-v2', 'ratings-test-delay'],
  'ratings-test-abort': ['all-v1', 'reviews-test-v2', 'ratings-test-abort'],
};

async function scenarioView(registry: Registry, files: string[]): Promise<MeshView> {
  const byName = new Map<string, unknown>();
  for (const file of files) {
    for (const item of await storedItems(registry, file)) {
      const { kind, metadata } = item as { kind: string; metadata: { name: string } };
      byName.set(`${kind}/${metadata.name}`, item);
    }
  }
  const read = readStoredConfigs([...byName.values()]);
  expect(read.problems).toEqual([]);
  return { instances: bookinfoInstances(registry), routeRules: read.routeRules, destinationPolicies: read.destinationPolicies };
}

async function golden(relative: string, value: unknown): Promise<void> {
  const file = join(goldenDir, relative);
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (UPDATE) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
    return;
  }
  let expected: string;
  try {
    expected = await readFile(file, 'utf8');
  } catch {
    throw new Error(`golden file ${relative} is missing; run UPDATE_GOLDEN=1 npx vitest run sandbox/standins/pilot-v1.test.ts`);
  }
  expect(text, relative).toBe(expected);
}

describe('golden discovery answers per BookInfo scenario', () => {
  for (const registry of ['consul', 'eureka'] as const) {
    for (const [scenario, files] of Object.entries(SCENARIOS)) {
      it(`${registry} / ${scenario}: productpage (CDS, RDS 9080, LDS) and reviews-v2 (RDS 9080, LDS)`, async () => {
        const view = await scenarioView(registry, files);
        const productpage = nodeOf(registry, '10');
        const reviewsV2 = nodeOf(registry, '14');
        const dir = `${registry}/${scenario}`;
        await golden(`${dir}/productpage-cds.json`, clusters(view, productpage));
        await golden(`${dir}/productpage-rds-9080.json`, routes(view, '9080', productpage));
        await golden(`${dir}/productpage-lds.json`, listeners(view, productpage));
        await golden(`${dir}/reviews-v2-rds-9080.json`, routes(view, '9080', reviewsV2));
        await golden(`${dir}/reviews-v2-lds.json`, listeners(view, reviewsV2));
      });
    }
  }

  it('has no golden file that no scenario writes', async () => {
    const expected = new Set<string>();
    for (const registry of ['consul', 'eureka']) {
      for (const scenario of Object.keys(SCENARIOS)) {
        for (const file of ['productpage-cds.json', 'productpage-rds-9080.json', 'productpage-lds.json', 'reviews-v2-rds-9080.json', 'reviews-v2-lds.json']) {
          expected.add(`${registry}/${scenario}/${file}`);
        }
      }
    }
    const found: string[] = [];
    for (const registry of await readdir(goldenDir)) {
      for (const scenario of await readdir(join(goldenDir, registry))) {
        for (const file of await readdir(join(goldenDir, registry, scenario))) found.push(`${registry}/${scenario}/${file}`);
      }
    }
    expect(found.sort()).toEqual([...expected].sort());
  });
});

// ---- targeted checks -------------------------------------------------------------------------

const API_VERSION = 'config.istio.io/v1alpha2';

/** Stored configs through the same validation pilot.ts uses; fails the test on a problem. */
function stored(...objects: Array<{ kind: 'RouteRule' | 'DestinationPolicy'; name: string; spec: unknown; namespace?: string }>) {
  const read = readStoredConfigs(
    objects.map(({ kind, name, spec, namespace = 'default' }) => ({ apiVersion: API_VERSION, kind, metadata: { name, namespace }, spec })),
  );
  expect(read.problems).toEqual([]);
  return read;
}

function consulView(...objects: Parameters<typeof stored>): MeshView {
  const read = stored(...objects);
  return { instances: bookinfoInstances('consul'), routeRules: read.routeRules, destinationPolicies: read.destinationPolicies };
}

const PRODUCTPAGE = nodeOf('consul', '10');
const REVIEWS_V2 = nodeOf('consul', '14');
const REVIEWS = 'reviews.service.consul';
const JASON = { request: { headers: { cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } } } };

function vhost(view: MeshView, node = PRODUCTPAGE, name = `${REVIEWS}|http`) {
  const host = routes(view, '9080', node).virtual_hosts.find((candidate) => candidate.name === name);
  expect(host, name).toBeDefined();
  return host!;
}

function outboundFilters(view: MeshView, node = PRODUCTPAGE) {
  const listener = listeners(view, node).listeners.find((candidate) => candidate.address === 'tcp://0.0.0.0:9080');
  expect(listener).toBeDefined();
  return (listener!.filters[0]!.config as { filters: Array<{ name: string; config: any }> }).filters;
}

describe('virtual host domains', () => {
  it('Consul (node domain service.consul): the short name with and without the port, then the longer ones', () => {
    expect(virtualHostDomains(REVIEWS, 9080, 'service.consul')).toEqual([
      'reviews:9080', 'reviews', 'reviews.service:9080', 'reviews.service', 'reviews.service.consul:9080', 'reviews.service.consul',
    ]);
  });

  it('Eureka (empty node domain, bare hostName): the name with and without the port', () => {
    expect(virtualHostDomains('reviews', 9080, '')).toEqual(['reviews:9080', 'reviews']);
    expect(virtualHostDomains('reviews.example.org', 80, '')).toEqual(['reviews.example.org:80', 'reviews.example.org']);
  });

  for (const registry of ['consul', 'eureka'] as const) {
    it(`${registry}: Host reviews:9080 (what BookInfo's apps send) is the reviews virtual host, and no domain is in two`, () => {
      const view: MeshView = { instances: bookinfoInstances(registry), routeRules: [], destinationPolicies: [] };
      const config = routes(view, '9080', nodeOf(registry, '10'));
      const owners = config.virtual_hosts.filter((host) => host.domains.includes('reviews:9080')).map((host) => host.name);
      expect(owners).toEqual([registry === 'consul' ? `${REVIEWS}|http` : 'reviews|9080']);
      for (const name of ['ratings:9080', 'details:9080', 'productpage:9080']) {
        expect(config.virtual_hosts.filter((host) => host.domains.includes(name))).toHaveLength(1);
      }
      const all = config.virtual_hosts.flatMap((host) => host.domains);
      expect(new Set(all).size).toBe(all.length);
      expect(all).not.toContain('0.0.0.0:9080');
    });
  }
});

describe('route order and selection', () => {
  const byHeader = (value: string) => ({ request: { headers: { 'x-test': { exact: value } } } });

  it('orders rules by precedence (higher first), then by namespace/name', () => {
    const view = consulView(
      { kind: 'RouteRule', name: 'low', spec: { destination: { service: REVIEWS }, precedence: 1, match: byHeader('low') } },
      { kind: 'RouteRule', name: 'b-high', spec: { destination: { service: REVIEWS }, precedence: 3, match: byHeader('b') } },
      { kind: 'RouteRule', name: 'a-high', spec: { destination: { service: REVIEWS }, precedence: 3, match: byHeader('a') } },
      { kind: 'RouteRule', name: 'a-high', namespace: 'zeta', spec: { destination: { service: REVIEWS }, precedence: 3, match: byHeader('z') } },
      { kind: 'RouteRule', name: 'unset', spec: { destination: { service: REVIEWS }, match: byHeader('unset') } },
      { kind: 'RouteRule', name: 'negative', spec: { destination: { service: REVIEWS }, precedence: -2, match: byHeader('neg') } },
    );
    expect(vhost(view).routes.map((route) => route.decorator?.operation)).toEqual([
      'a-high', 'b-high', 'a-high', 'low', 'unset', 'negative', 'default-route',
    ]);
    expect(sortRouteRules(view.routeRules).map((rule) => `${rule.metadata.namespace}/${rule.metadata.name}`).slice(0, 3)).toEqual([
      'default/a-high', 'default/b-high', 'zeta/a-high',
    ]);
  });

  it('stops at a catch-all rule: later rules and the default route are left out', () => {
    const view = consulView(
      { kind: 'RouteRule', name: 'jason', spec: { destination: { service: REVIEWS }, precedence: 3, match: JASON, route: [{ labels: { version: 'v2' } }] } },
      { kind: 'RouteRule', name: 'everyone', spec: { destination: { service: REVIEWS }, precedence: 2, route: [{ labels: { version: 'v3' } }] } },
      { kind: 'RouteRule', name: 'never', spec: { destination: { service: REVIEWS }, precedence: 1, match: byHeader('x') } },
    );
    expect(vhost(view).routes.map((route) => [route.decorator?.operation, route.cluster])).toEqual([
      ['jason', `out.${REVIEWS}|http|version=v2`],
      ['everyone', `out.${REVIEWS}|http|version=v3`],
    ]);
  });

  it('applies a rule with match.source only for nodes of that source service (and labels)', () => {
    const view = consulView(
      {
        kind: 'RouteRule',
        name: 'from-productpage',
        spec: { destination: { service: 'ratings.service.consul' }, precedence: 1, match: { source: { service: 'productpage.service.consul' } }, route: [{ labels: { version: 'v1' } }] },
      },
      {
        kind: 'RouteRule',
        name: 'from-reviews-v2',
        spec: { destination: { service: 'ratings.service.consul' }, precedence: 2, match: { source: { service: REVIEWS, labels: { version: 'v2' } } }, route: [{ labels: { version: 'v1' } }] },
      },
    );
    const operations = (ip: string) => vhost(view, nodeOf('consul', ip), 'ratings.service.consul|http').routes.map((route) => route.decorator?.operation);
    expect(operations('10')).toEqual(['from-productpage']);
    expect(operations('14')).toEqual(['from-reviews-v2']);
    expect(operations('13')).toEqual(['default-route']); // reviews v1: the labels do not match
    expect(operations('99')).toEqual(['default-route']); // no instance at all
  });

  it('ignores rules whose destination is another service or resolves to no registry host', () => {
    const view = consulView(
      { kind: 'RouteRule', name: 'k8s-style', spec: { destination: { name: 'reviews' }, route: [{ labels: { version: 'v2' } }] } },
      { kind: 'RouteRule', name: 'ratings', spec: { destination: { service: 'ratings.service.consul' }, route: [{ labels: { version: 'v1' } }] } },
    );
    expect(vhost(view).routes.map((route) => route.decorator?.operation)).toEqual(['default-route']);
  });
});

describe('matches', () => {
  it('converts header matches as header.go does, sorted by name', () => {
    expect(
      routeMatch({
        request: {
          headers: {
            'x-version': { prefix: 'v1.2+' },
            cookie: { regex: 'user=(jason|ann)' },
            authority: { exact: 'reviews:9080' },
            method: { exact: 'GET' },
            'end-user': { exact: 'jason' },
          },
        },
      }),
    ).toEqual({
      prefix: '/',
      headers: [
        { name: ':authority', value: 'reviews:9080' },
        { name: ':method', value: 'GET' },
        { name: 'cookie', value: 'user=(jason|ann)', regex: true },
        { name: 'end-user', value: 'jason' },
        { name: 'x-version', value: '^v1\\.2\\+.*', regex: true },
      ],
    });
  });

  it('turns a uri match into the route path, prefix or regex', () => {
    expect(routeMatch({ request: { headers: { uri: { exact: '/reviews/0' } } } })).toEqual({ path: '/reviews/0' });
    expect(routeMatch({ request: { headers: { uri: { prefix: '/api/' } } } })).toEqual({ prefix: '/api/' });
    expect(routeMatch({ request: { headers: { uri: { regex: '/reviews/[0-9]+' } } } })).toEqual({ regex: '/reviews/[0-9]+' });
    expect(routeMatch(undefined)).toEqual({ prefix: '/' });
  });

  it('does not take a uri-only rule for a catch-all: the default route still follows', () => {
    const view = consulView({
      kind: 'RouteRule',
      name: 'api-v3',
      spec: { destination: { service: REVIEWS }, match: { request: { headers: { uri: { prefix: '/api/' } } } }, route: [{ labels: { version: 'v3' } }] },
    });
    expect(vhost(view).routes).toEqual([
      { prefix: '/api/', cluster: `out.${REVIEWS}|http|version=v3`, timeout_ms: 0, decorator: { operation: 'api-v3' } },
      { prefix: '/', cluster: `out.${REVIEWS}|http`, timeout_ms: 0, decorator: { operation: 'default-route' } },
    ]);
  });
});

describe('destinations, faults, timeouts and retries', () => {
  it('splits by weight over label subsets, and a single destination is a plain cluster', () => {
    const view = consulView(
      { kind: 'RouteRule', name: 'split', spec: { destination: { service: REVIEWS }, route: [{ labels: { version: 'v1' }, weight: 25 }, { labels: { version: 'v3' }, weight: 75 }] } },
      { kind: 'RouteRule', name: 'one', spec: { destination: { service: 'ratings.service.consul' }, route: [{ labels: { version: 'v1' } }] } },
    );
    const [split] = vhost(view).routes;
    expect(split).toEqual({
      prefix: '/',
      weighted_clusters: {
        clusters: [
          { name: `out.${REVIEWS}|http|version=v1`, weight: 25 },
          { name: `out.${REVIEWS}|http|version=v3`, weight: 75 },
        ],
      },
      timeout_ms: 0,
      decorator: { operation: 'split' },
    });
    expect(vhost(view, PRODUCTPAGE, 'ratings.service.consul|http').routes[0]).toMatchObject({ cluster: 'out.ratings.service.consul|http|version=v1' });
    expect(vhost(view, PRODUCTPAGE, 'ratings.service.consul|http').routes[0]).not.toHaveProperty('weighted_clusters');
    // Every cluster a route names is in CDS, with its SDS service key.
    const names = clusters(view, PRODUCTPAGE).clusters.map((cluster) => [cluster.name, cluster.service_name]);
    expect(names).toContainEqual([`out.${REVIEWS}|http|version=v1`, `${REVIEWS}|http|version=v1`]);
    expect(names).toContainEqual([`out.${REVIEWS}|http|version=v3`, `${REVIEWS}|http|version=v3`]);
    expect(names).toContainEqual([`out.${REVIEWS}|http`, `${REVIEWS}|http`]);
  });

  it('puts one fault filter per upstream cluster of a faulted route before the router, with the match headers', () => {
    const view = consulView({
      kind: 'RouteRule',
      name: 'faulty',
      spec: {
        destination: { service: REVIEWS },
        match: JASON,
        route: [{ labels: { version: 'v1' }, weight: 50 }, { labels: { version: 'v2' }, weight: 50 }],
        httpFault: { abort: { percent: 12.7, httpStatus: 503 }, delay: { percent: 100, fixedDelay: '1.5s' } },
      },
    });
    const headers = [{ name: 'cookie', value: '^(.*?;)?(user=jason)(;.*)?$', regex: true }];
    const fault = (version: string) => ({
      type: 'decoder',
      name: 'fault',
      config: {
        abort: { abort_percent: 12, http_status: 503 },
        delay: { type: 'fixed', fixed_delay_percent: 100, fixed_duration_ms: 1500 },
        headers,
        upstream_cluster: `out.${REVIEWS}|http|version=${version}`,
      },
    });
    expect(outboundFilters(view)).toEqual([fault('v1'), fault('v2'), { type: 'decoder', name: 'router', config: {} }]);
    // Faults live in the listener, not in the route.
    expect(JSON.stringify(routes(view, '9080', PRODUCTPAGE))).not.toMatch(/abort|delay|upstream_cluster/);
  });

  it('leaves out a fault whose percent is 0 (or unset), as fault.go does', () => {
    const view = consulView(
      { kind: 'RouteRule', name: 'zero', spec: { destination: { service: REVIEWS }, route: [{ labels: { version: 'v1' } }], httpFault: { abort: { percent: 0, httpStatus: 500 } } } },
      { kind: 'RouteRule', name: 'unset', spec: { destination: { service: 'ratings.service.consul' }, httpFault: { delay: { fixedDelay: '7s' } } } },
    );
    expect(outboundFilters(view).map((filter) => filter.name)).toEqual(['router']);
  });

  it('sets timeout_ms from httpReqTimeout and retry_policy from httpReqRetries (attempts > 0 only)', () => {
    const view = consulView(
      {
        kind: 'RouteRule',
        name: 'patient',
        spec: {
          destination: { service: REVIEWS },
          precedence: 2,
          match: JASON,
          httpReqTimeout: { simpleTimeout: { timeout: '2.5s' } },
          httpReqRetries: { simpleRetry: { attempts: 3, perTryTimeout: '500ms' } },
        },
      },
      {
        kind: 'RouteRule',
        name: 'no-retries',
        spec: { destination: { service: REVIEWS }, httpReqRetries: { simpleRetry: { attempts: 0, perTryTimeout: '1s' } } },
      },
    );
    const [patient, noRetries] = vhost(view).routes;
    expect(patient).toMatchObject({
      cluster: `out.${REVIEWS}|http`,
      timeout_ms: 2500,
      retry_policy: { retry_on: '5xx,connect-failure,refused-stream', num_retries: 3, per_try_timeout_ms: 500 },
    });
    expect(noRetries).toEqual({ prefix: '/', cluster: `out.${REVIEWS}|http`, timeout_ms: 0, decorator: { operation: 'no-retries' } });
  });

  it('writes redirect, rewrite, mirror, appended headers and websocket as upstream', () => {
    const view = consulView(
      { kind: 'RouteRule', name: 'moved', spec: { destination: { service: 'details.service.consul' }, precedence: 2, match: JASON, redirect: { uri: '/v2/details', authority: 'new-details' } } },
      {
        kind: 'RouteRule',
        name: 'rewritten',
        spec: {
          destination: { service: 'details.service.consul' },
          rewrite: { uri: '/v1/' },
          mirror: { service: REVIEWS, labels: { version: 'v3' } },
          appendHeaders: { 'x-b': '2', 'x-a': '1' },
          websocketUpgrade: true,
        },
      },
    );
    expect(vhost(view, PRODUCTPAGE, 'details.service.consul|http').routes).toEqual([
      {
        prefix: '/',
        path_redirect: '/v2/details',
        host_redirect: 'new-details',
        headers: [{ name: 'cookie', value: '^(.*?;)?(user=jason)(;.*)?$', regex: true }],
        timeout_ms: 0,
        decorator: { operation: 'moved' },
      },
      {
        prefix: '/',
        prefix_rewrite: '/v1/',
        cluster: 'out.details.service.consul|http',
        timeout_ms: 0,
        use_websocket: true,
        shadow: { cluster: `out.${REVIEWS}|http|version=v3` },
        request_headers_to_add: [{ key: 'x-a', value: '1' }, { key: 'x-b', value: '2' }],
        decorator: { operation: 'rewritten' },
      },
    ]);
    expect(clusters(view, PRODUCTPAGE).clusters.map((cluster) => cluster.name)).toContain(`out.${REVIEWS}|http|version=v3`);
  });
});

describe('destination policies', () => {
  const policy = {
    destination: { service: REVIEWS, labels: { version: 'v1' } },
    loadBalancing: { name: 'LEAST_CONN' },
    circuitBreaker: {
      simpleCb: {
        maxConnections: 100,
        httpMaxPendingRequests: 10,
        httpMaxRequests: 50,
        httpMaxRetries: 2,
        httpMaxRequestsPerConnection: 1,
        httpConsecutiveErrors: 3,
        sleepWindow: '15m',
        httpDetectionInterval: '500ms',
      },
    },
  };
  const split = { destination: { service: REVIEWS }, route: [{ labels: { version: 'v1' }, weight: 50 }, { labels: { version: 'v3' }, weight: 50 }] };

  it('sets lb_type, circuit breakers and outlier detection on the cluster with exactly those labels', () => {
    const view = consulView({ kind: 'RouteRule', name: 'split', spec: split }, { kind: 'DestinationPolicy', name: 'reviews-v1-cb', spec: policy });
    const byName = new Map(clusters(view, PRODUCTPAGE).clusters.map((cluster) => [cluster.name, cluster]));
    expect(byName.get(`out.${REVIEWS}|http|version=v1`)).toEqual({
      name: `out.${REVIEWS}|http|version=v1`,
      service_name: `${REVIEWS}|http|version=v1`,
      connect_timeout_ms: 1000,
      type: 'sds',
      lb_type: 'least_request',
      max_requests_per_connection: 1,
      circuit_breakers: { default: { max_connections: 100, max_pending_requests: 10, max_requests: 50, max_retries: 2 } },
      // The 500 ms interval has no whole second, which policy.go requires; the ejection limit defaults to 10 %.
      outlier_detection: { consecutive_5xx: 3, base_ejection_time_ms: 900000, max_ejection_percent: 10 },
    });
    expect(byName.get(`out.${REVIEWS}|http|version=v3`)).toMatchObject({ lb_type: 'round_robin' });
    expect(byName.get(`out.${REVIEWS}|http|version=v3`)).not.toHaveProperty('circuit_breakers');
    expect(byName.get(`out.${REVIEWS}|http`)).not.toHaveProperty('circuit_breakers');
  });

  it('applies a policy with a source only to that source\'s nodes', () => {
    const view = consulView(
      { kind: 'RouteRule', name: 'split', spec: split },
      { kind: 'DestinationPolicy', name: 'from-reviews', spec: { destination: { service: REVIEWS }, source: { service: REVIEWS }, loadBalancing: { name: 'RANDOM' } } },
    );
    const lb = (node: typeof PRODUCTPAGE) => clusters(view, node).clusters.find((cluster) => cluster.name === `out.${REVIEWS}|http`)?.lb_type;
    expect(lb(REVIEWS_V2)).toBe('random');
    expect(lb(PRODUCTPAGE)).toBe('round_robin');
  });
});

describe('the node itself', () => {
  it('gets an in.<port> cluster and an inbound listener on its own address only', () => {
    const view: MeshView = { instances: bookinfoInstances('consul'), routeRules: [], destinationPolicies: [] };
    expect(clusters(view, REVIEWS_V2).clusters.filter((cluster) => cluster.name.startsWith('in.'))).toEqual([
      { name: 'in.9080', connect_timeout_ms: 1000, type: 'static', lb_type: 'round_robin', hosts: [{ url: 'tcp://127.0.0.1:9080' }] },
    ]);
    expect(listeners(view, REVIEWS_V2).listeners.map((listener) => listener.address)).toEqual([
      'tcp://0.0.0.0:15001', 'tcp://0.0.0.0:8300', 'tcp://0.0.0.0:9080', 'tcp://172.28.0.14:9080',
    ]);
    // A node the registry does not know (a sidecar whose app is not registered yet) has outbound only.
    const stranger = nodeOf('consul', '200');
    expect(clusters(view, stranger).clusters.some((cluster) => cluster.name.startsWith('in.'))).toBe(false);
    expect(listeners(view, stranger).listeners.map((listener) => listener.address)).toEqual([
      'tcp://0.0.0.0:15001', 'tcp://0.0.0.0:8300', 'tcp://0.0.0.0:9080',
    ]);
  });

  it('leaves TCP ports out of listeners and clusters', () => {
    const instances: ServiceInstance[] = [
      ...bookinfoInstances('eureka'),
      { hostname: 'mongo', portName: '27017', address: '172.18.0.40', port: 27017, labels: {}, protocol: 'TCP' },
    ];
    const view: MeshView = { instances, routeRules: [], destinationPolicies: [] };
    expect(JSON.stringify(listeners(view, nodeOf('eureka', '10')))).not.toContain('27017');
    expect(JSON.stringify(clusters(view, nodeOf('eureka', '40')))).not.toContain('27017');
  });

  it('refuses a node that does not parse, is not a sidecar or has no IP', () => {
    expect(() => proxyNode('sidecar~10.0.0.1~x')).toThrow(ServiceNodeError);
    expect(() => proxyNode('gateway~10.0.0.1~x~')).toThrow(/invalid node type/);
    expect(() => proxyNode('ingress~10.0.0.1~x~')).toThrow(/sidecar nodes only/);
    expect(() => proxyNode('sidecar~reviews~x~')).toThrow(/invalid IP address "reviews"/);
    expect(proxyNode('sidecar~10.0.0.1~10.0.0.1.service.consul~service.consul')).toEqual({
      type: 'sidecar', ip: '10.0.0.1', id: '10.0.0.1.service.consul', domain: 'service.consul',
    });
  });
});

describe('route config names, keys and stored configs', () => {
  const view: MeshView = { instances: bookinfoInstances('consul'), routeRules: [], destinationPolicies: [] };

  it('answers an empty config for a port no service has, and refuses a name that is no port', () => {
    expect(routes(view, '7777', PRODUCTPAGE)).toEqual({ validate_clusters: true, virtual_hosts: [] });
    expect(() => routes(view, 'reviews', PRODUCTPAGE)).toThrow(RouteConfigNameError);
  });

  it('combines every port for http_proxy, keeping domains with a port', () => {
    const combined = routes(view, 'http_proxy', PRODUCTPAGE);
    expect(combined.virtual_hosts.map((host) => host.name)).toEqual([
      'consul.service.consul|http', 'details.service.consul|http', 'productpage.service.consul|http', 'ratings.service.consul|http', `${REVIEWS}|http`,
    ]);
    expect(combined.virtual_hosts.every((host) => host.domains.every((domain) => domain.includes(':')))).toBe(true);
  });

  it('writes service keys and cluster names as service.go and config.go do', () => {
    expect(serviceKey(REVIEWS, 'http')).toBe(`${REVIEWS}|http`);
    expect(serviceKey(REVIEWS, 'http', { version: 'v1', app: 'reviews', flag: '' })).toBe(`${REVIEWS}|http|app=reviews,flag,version=v1`);
    expect(serviceKey('reviews', '')).toBe('reviews');
    const long = `out.${'x'.repeat(200)}|http`;
    const truncated = truncateClusterName(long);
    expect(truncated).toHaveLength(189);
    expect(truncated).toMatch(/^out\.x+[0-9a-f]{40}$/);
    expect(truncateClusterName('out.short|http')).toBe('out.short|http');
  });

  it('skips a stored config its validation refuses, naming it, and keeps the rest', () => {
    const read = readStoredConfigs([
      { apiVersion: API_VERSION, kind: 'RouteRule', metadata: { name: 'bad-weights', namespace: 'default', resourceVersion: '7' }, spec: { destination: { service: REVIEWS }, route: [{ labels: { version: 'v1' }, weight: 60 }, { labels: { version: 'v2' }, weight: 60 }] } },
      { apiVersion: API_VERSION, kind: 'RouteRule', metadata: { name: 'good', namespace: 'default' }, spec: { destination: { service: REVIEWS }, route: [{ labels: { version: 'v2' } }] } },
      'not an object',
    ]);
    expect(read.routeRules.map((rule) => rule.metadata.name)).toEqual(['good']);
    expect(read.routeRules[0]!.spec.route).toEqual([{ labels: { version: 'v2' }, weight: 100 }]);
    expect(read.problems).toHaveLength(2);
    expect(read.problems[0]).toMatchObject({ key: 'default/bad-weights', resourceVersion: '7' });
    expect(read.problems[0]!.message).toMatch(/route weights total 120/);
  });
});
