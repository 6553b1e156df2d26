import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ISTIO_VERSIONS } from '../../src/model/istio-versions.js';
import { Router, listen, sendJson, sendText, type RunningServer } from '../common/server.js';
import { serviceNode } from '../common/envoy-v1.js';
import { MemoryStore } from './apiserver-store.js';
import { start as startApiServer, type RunningApiServer } from './apiserver.js';
import { start as startConsul, type RunningConsul } from './consul.js';
import { pilotApiSuite, type PilotSuiteTarget } from './pilot-suite.js';
import { compileSandboxProgram } from '../../test/support/sandbox-program.js';
import { parseUpstreamCommandLine } from '../common/upstream-cli.js';
import {
  PILOT_DISCOVERY,
  Refreshing,
  consulLabels,
  crdObject,
  optionsFromCommandLine,
  parseCrdName,
  parseServiceKey,
  start,
  toRegistrations,
  type RunningPilot,
} from './pilot.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

// ---- fake registries: what registrator leaves in Consul and the Eureka fork in Eureka ------

interface FakeConsulEntry {
  ServiceName: string;
  ServiceAddress: string;
  Address: string;
  ServicePort: number;
  ServiceTags: string[] | null;
  NodeMeta: Record<string, string> | null;
}

const CONSUL_CATALOG: FakeConsulEntry[] = [
  { ServiceName: 'consul', ServiceAddress: '', Address: '172.28.0.5', ServicePort: 8300, ServiceTags: [], NodeMeta: null },
  // Tags without '|' (or with two) are ignored; the address falls back to the node's.
  { ServiceName: 'details', ServiceAddress: '', Address: '172.28.0.20', ServicePort: 9080, ServiceTags: ['version|v1', 'urlprefix-/details', 'a|b|c'], NodeMeta: null },
  { ServiceName: 'reviews', ServiceAddress: '172.28.0.31', Address: '172.28.0.2', ServicePort: 9080, ServiceTags: ['version|v1'], NodeMeta: {} },
  { ServiceName: 'reviews', ServiceAddress: '172.28.0.33', Address: '172.28.0.2', ServicePort: 9080, ServiceTags: ['version|v3', 'team|books'], NodeMeta: {} },
  { ServiceName: 'reviews', ServiceAddress: '172.28.0.32', Address: '172.28.0.2', ServicePort: 9080, ServiceTags: ['version|v2'], NodeMeta: {} },
];

async function startFakeConsul(): Promise<RunningServer> {
  const router = new Router();
  router.add('GET', '/v1/catalog/services', (_request, response) => {
    const services: Record<string, string[]> = {};
    for (const entry of CONSUL_CATALOG) services[entry.ServiceName] = [...(services[entry.ServiceName] ?? []), ...(entry.ServiceTags ?? [])];
    sendJson(response, 200, services);
  });
  router.add('GET', '/v1/catalog/service/:name', (_request, response, { name }) =>
    sendJson(response, 200, CONSUL_CATALOG.filter((entry) => entry.ServiceName === name)),
  );
  return listen(router.handle, 0, '127.0.0.1');
}

const eurekaInstance = (app: string, ip: string, status: string, metadata: Record<string, string>, port: number | string = '9080') => ({
  instanceId: `registrator-${app}-${ip}`,
  hostName: app.toLowerCase(),
  app: app.toUpperCase(),
  ipAddr: ip,
  status,
  port: { $: port, '@enabled': 'true' },
  securePort: { $: 443, '@enabled': 'false' },
  metadata: { '@class': 'java.util.Collections$EmptyMap', 'istio.protocol': 'http', ...metadata },
});

const EUREKA_APPS = {
  applications: {
    versions__delta: '1',
    apps__hashcode: 'UP_4_',
    application: [
      // One instance: Eureka's JSON gives the object, not a one-element list.
      { name: 'DETAILS', instance: eurekaInstance('details', '172.18.0.20', 'UP', { version: 'v1' }) },
      {
        name: 'REVIEWS',
        instance: [
          eurekaInstance('reviews', '172.18.0.31', 'UP', { version: 'v1' }, 9080),
          eurekaInstance('reviews', '172.18.0.32', 'UP', { version: 'v2' }),
          eurekaInstance('reviews', '172.18.0.33', 'DOWN', { version: 'v3' }),
        ],
      },
    ],
  },
};

async function startFakeEureka(): Promise<RunningServer> {
  const router = new Router();
  router.add('GET', '/eureka/v2/apps', (request, response) => {
    // Eureka answers XML unless asked for JSON.
    if (!String(request.headers.accept ?? '').includes('application/json')) {
      sendText(response, 200, '<applications/>', 'application/xml');
      return;
    }
    sendJson(response, 200, EUREKA_APPS);
  });
  return listen(router.handle, 0, '127.0.0.1');
}

// ---- unit tests -----------------------------------------------------------------------------

describe('pilot stand-in helpers', () => {
  it('reads CRD names into group, version and kind', () => {
    expect(parseCrdName('routerules.config.istio.io')).toEqual({
      name: 'routerules.config.istio.io',
      plural: 'routerules',
      group: 'config.istio.io',
      version: 'v1alpha2',
      kind: 'RouteRule',
    });
    expect(parseCrdName('virtualservices.networking.istio.io')).toMatchObject({ version: 'v1alpha3', kind: 'VirtualService' });
    expect(parseCrdName('policies.authentication.istio.io')).toMatchObject({ version: 'v1alpha1', kind: 'Policy' });
    expect(parseCrdName('widgets.example.com:v1')).toMatchObject({ group: 'example.com', version: 'v1', kind: 'Widget' });
    expect(() => parseCrdName('widgets.example.com')).toThrow(/no known API version for group 'example\.com'/);
    expect(() => parseCrdName('routerules')).toThrow(/<plural>\.<group>/);
  });

  it('knows a version and kind for every CRD of every Istio version mesh-local supports', () => {
    for (const version of ISTIO_VERSIONS) {
      for (const name of version.pilot.crds) {
        const spec = parseCrdName(name);
        expect(crdObject(spec)).toMatchObject({
          apiVersion: 'apiextensions.k8s.io/v1beta1',
          kind: 'CustomResourceDefinition',
          metadata: { name },
          spec: { scope: 'Namespaced', names: { plural: name.split('.')[0] } },
        });
      }
    }
  });

  it('takes labels from key|value tags only', () => {
    expect(consulLabels(['version|v1', 'plain', 'a|b|c', 'team|books'])).toEqual({ version: 'v1', team: 'books' });
    expect(consulLabels(null)).toEqual({});
  });

  it('parses service keys the way pilot writes them', () => {
    expect(parseServiceKey('reviews.service.consul|http|version=v1,team=a;version=v2')).toEqual({
      hostname: 'reviews.service.consul',
      ports: ['http'],
      labelSets: [{ version: 'v1', team: 'a' }, { version: 'v2' }],
    });
    expect(parseServiceKey('reviews')).toEqual({ hostname: 'reviews', ports: [], labelSets: [] });
  });

  it('groups instances by hostname and port name', () => {
    expect(
      toRegistrations([
        { hostname: 'b', portName: 'http', address: '10.0.0.2', port: 80, labels: {} },
        { hostname: 'a', portName: 'http', address: '10.0.0.9', port: 80, labels: { version: 'v2' } },
        { hostname: 'a', portName: 'http', address: '10.0.0.1', port: 80, labels: { version: 'v1' } },
      ]),
    ).toEqual([
      {
        'service-key': 'a|http',
        hosts: [
          { ip_address: '10.0.0.1', port: 80, tags: { version: 'v1' } },
          { ip_address: '10.0.0.9', port: 80, tags: { version: 'v2' } },
        ],
      },
      { 'service-key': 'b|http', hosts: [{ ip_address: '10.0.0.2', port: 80, tags: {} }] },
    ]);
  });

  it("reads upstream's command line with that version's flags, and the API server from the kubeconfig", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pilot-options-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      await writeFile(kubeconfig, KUBECONFIG('http://istio-apiserver:8080'));
      for (const version of ISTIO_VERSIONS) {
        const argv = ['discovery', '--port', String(version.pilot.discoveryPort), '--registries', 'Eureka', '--eurekaserverURL', 'http://eureka:8080', '--kubeconfig', kubeconfig];
        const commandLine = parseUpstreamCommandLine(PILOT_DISCOVERY, argv, { MESH_LOCAL_STANDS_IN: version.images.pilot });
        expect(await optionsFromCommandLine(commandLine)).toEqual({
          port: version.pilot.discoveryPort,
          kubeApi: 'http://istio-apiserver:8080',
          registry: 'eureka',
          eurekaUrl: 'http://eureka:8080',
          crds: version.pilot.crds,
          monitoringPort: 9093,
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses what the real pilot-discovery refuses: 0.8.0 has --port, not 1.0\'s --httpAddr', () => {
    const parse = (reference: string, argv: string[]) => () => parseUpstreamCommandLine(PILOT_DISCOVERY, argv, { MESH_LOCAL_STANDS_IN: reference });
    expect(parse('docker.io/istio/pilot:0.8.0', ['discovery', '--httpAddr', ':15007'])).toThrow('Error: unknown flag: --httpAddr');
    expect(parse('docker.io/istio/pilot:0.8.0', ['discovery', '--port', ':15007'])).toThrow(/invalid argument ":15007" for "--port" flag/);
    // 0.6.0 has no gRPC server yet.
    expect(parse('docker.io/istio/pilot:0.6.0', ['discovery', '--grpcAddr', ':15010'])).toThrow('Error: unknown flag: --grpcAddr');
    expect(parse('docker.io/istio/pilot:0.8.0', ['discovery', '--grpcAddr', ':15010'])).not.toThrow();
  });
});

const KUBECONFIG = (server: string) =>
  `apiVersion: "v1"\nkind: "Config"\nclusters:\n  - name: "istio"\n    cluster:\n      server: "${server}"\ncontexts:\n  - name: "istio"\n    context:\n      cluster: "istio"\ncurrent-context: "istio"\n`;

// ---- start-up failures ----------------------------------------------------------------------

describe('pilot stand-in without an API server', () => {
  it('start rejects with a clear message and leaves its port closed', async () => {
    const deadApi = await freePort();
    const port = await freePort();
    await expect(
      start({ port, host: '127.0.0.1', kubeApi: `http://127.0.0.1:${deadApi}`, registry: 'consul', crds: ['routerules.config.istio.io'] }),
    ).rejects.toThrow(/cannot reach the API server at http:\/\/127\.0\.0\.1:\d+ to register routerules\.config\.istio\.io/);
    await expect(fetch(`http://127.0.0.1:${port}/ready`)).rejects.toThrow();
  });

  it('start rejects when the API server refuses a CRD', async () => {
    const refusing = new Router().add('POST', '/*', (_request, response) => sendJson(response, 403, { reason: 'Forbidden' }));
    const api = await listen(refusing.handle, 0, '127.0.0.1');
    try {
      await expect(start({ port: 0, host: '127.0.0.1', kubeApi: api.url, registry: 'consul', crds: ['routerules.config.istio.io'] })).rejects.toThrow(
        /refused CRD routerules\.config\.istio\.io: HTTP 403/,
      );
    } finally {
      await api.close();
    }
  });

  it('start rejects a bad registry or an empty CRD list', async () => {
    await expect(start({ port: 0, kubeApi: 'http://127.0.0.1:1', registry: 'k8s' as never, crds: ['routerules.config.istio.io'] })).rejects.toThrow(
      /the registry must be consul or eureka/,
    );
    await expect(start({ port: 0, kubeApi: 'http://127.0.0.1:1', registry: 'consul', crds: [''] })).rejects.toThrow(/no CRDs to register/);
  });

  describe('as a program, run with the command line of upstream\'s Compose file', () => {
    let program: Awaited<ReturnType<typeof compileSandboxProgram>>;
    let dir: string;
    beforeAll(async () => {
      program = await compileSandboxProgram('sandbox/standins/pilot.ts');
      dir = await mkdtemp(join(tmpdir(), 'pilot-program-'));
    }, 120_000);
    afterAll(async () => {
      await program?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('exits non-zero with the reason when the API server is not reachable', async () => {
      const kubeconfig = join(dir, 'kubeconfig');
      await writeFile(kubeconfig, KUBECONFIG(`http://127.0.0.1:${await freePort()}`));
      const result = await program.run(
        ['discovery', '--port', '0', '--monitoringPort', '0', '--registries', 'Consul', '--consulserverURL', 'http://127.0.0.1:1', '--kubeconfig', kubeconfig],
        { standsInFor: 'docker.io/istio/pilot:0.8.0' },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/pilot-discovery stand-in: cannot start: cannot reach the API server at http:\/\/127\.0\.0\.1:\d+/);
    });

    it('exits as the real one does on a flag its version lacks (cobra: the message, exit 255)', async () => {
      const result = await program.run(['discovery', '--httpAddr', ':15007', '--registries', 'Consul'], { standsInFor: 'docker.io/istio/pilot:0.8.0' });
      expect(result.code).toBe(255);
      expect(result.stderr.trim()).toBe('Error: unknown flag: --httpAddr');
    });
  });
});

// ---- against a real in-process API server stand-in and fake registries ----------------------

for (const version of ISTIO_VERSIONS) {
  describe(`pilot stand-in for Istio ${version.version} with Consul`, () => {
    let api: RunningApiServer;
    let consul: RunningServer;
    let pilot: RunningPilot;
    beforeAll(async () => {
      api = await startApiServer({ port: 0, host: '127.0.0.1', store: new MemoryStore() });
      consul = await startFakeConsul();
      pilot = await start({
        port: 0,
        host: '127.0.0.1',
        kubeApi: api.url,
        registry: 'consul',
        consulUrl: consul.url,
        crds: version.pilot.crds,
        monitoringPort: 0,
      });
    });
    afterAll(async () => {
      await pilot?.close();
      await consul?.close();
      await api?.close();
    });

    pilotApiSuite(
      (): PilotSuiteTarget => ({
        url: pilot.url,
        kubeApi: api.url,
        crds: version.pilot.crds,
        expected: [
          { 'service-key': 'details.service.consul|http', hosts: [{ ip_address: '172.28.0.20', port: 9080, tags: { version: 'v1' } }] },
          {
            'service-key': 'reviews.service.consul|http',
            hosts: [
              { ip_address: '172.28.0.31', port: 9080, tags: { version: 'v1' } },
              { ip_address: '172.28.0.32', port: 9080, tags: { version: 'v2' } },
              { ip_address: '172.28.0.33', port: 9080, tags: { version: 'v3', team: 'books' } },
            ],
          },
        ],
      }),
    );

    it('lists exactly the catalog, consul itself included', async () => {
      const body = (await (await fetch(`${pilot.url}/v1/registration`)).json()) as Array<{ 'service-key': string }>;
      expect(body.map((entry) => entry['service-key'])).toEqual([
        'consul.service.consul|http',
        'details.service.consul|http',
        'reviews.service.consul|http',
      ]);
    });

    it('registers CRDs again without complaint when they exist (409 is fine)', async () => {
      const second = await start({ port: 0, host: '127.0.0.1', kubeApi: api.url, registry: 'consul', consulUrl: consul.url, crds: version.pilot.crds });
      expect((await fetch(`${second.url}/ready`)).status).toBe(200);
      await second.close();
    });

    it('makes the CRDs usable: a RouteRule can be stored once pilot is up', async () => {
      const answer = await fetch(`${api.url}/apis/config.istio.io/v1alpha2/namespaces/default/routerules`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'RouteRule',
          metadata: { name: 'reviews-default' },
          spec: { destination: { name: 'reviews' }, precedence: 1, route: [{ labels: { version: 'v1' } }] },
        }),
      });
      expect(answer.status).toBe(201);
    });

    it('serves /metrics on the monitoring port', async () => {
      const text = await (await fetch(`http://127.0.0.1:${pilot.monitoringPort}/metrics`)).text();
      expect(text).toMatch(/^# TYPE pilot_standin_registration_requests_total counter$/m);
      expect(text).toMatch(/^pilot_standin_registration_requests_total [1-9]\d*$/m);
    });
  });
}

describe('pilot stand-in with Eureka', () => {
  let api: RunningApiServer;
  let eureka: RunningServer;
  let pilot: RunningPilot;
  const crds = ISTIO_VERSIONS[0]!.pilot.crds;
  beforeAll(async () => {
    api = await startApiServer({ port: 0, host: '127.0.0.1', store: new MemoryStore() });
    eureka = await startFakeEureka();
    pilot = await start({ port: 0, host: '127.0.0.1', kubeApi: api.url, registry: 'eureka', eurekaUrl: eureka.url, crds });
  });
  afterAll(async () => {
    await pilot?.close();
    await eureka?.close();
    await api?.close();
  });

  pilotApiSuite(
    (): PilotSuiteTarget => ({
      url: pilot.url,
      kubeApi: api.url,
      crds,
      expected: [
        // Labels are the metadata without istio.protocol and @class; ports are named by number.
        { 'service-key': 'details|9080', hosts: [{ ip_address: '172.18.0.20', port: 9080, tags: { version: 'v1' } }] },
        {
          'service-key': 'reviews|9080',
          hosts: [
            { ip_address: '172.18.0.31', port: 9080, tags: { version: 'v1' } },
            { ip_address: '172.18.0.32', port: 9080, tags: { version: 'v2' } },
          ],
        },
      ],
    }),
  );

  it('lists only UP instances and only enabled ports', async () => {
    const body = (await (await fetch(`${pilot.url}/v1/registration`)).json()) as Array<{ 'service-key': string; hosts: unknown[] }>;
    expect(body.map((entry) => entry['service-key'])).toEqual(['details|9080', 'reviews|9080']);
    expect(body.flatMap((entry) => entry.hosts)).toHaveLength(3);
  });
});

describe('pilot stand-in with an unreachable registry', () => {
  it('answers /v1/registration with 503 and the reason', async () => {
    const api = await startApiServer({ port: 0, host: '127.0.0.1', store: new MemoryStore() });
    const deadConsul = await freePort();
    const pilot = await start({
      port: 0,
      host: '127.0.0.1',
      kubeApi: api.url,
      registry: 'consul',
      consulUrl: `http://127.0.0.1:${deadConsul}`,
      crds: ['routerules.config.istio.io'],
    });
    try {
      const response = await fetch(`${pilot.url}/v1/registration`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toMatch(/registry at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    } finally {
      await pilot.close();
      await api.close();
    }
  });
});

// ---- rule changes through the API server reach the discovery answers -------------------------

describe('pilot stand-in with the API server and Consul stand-ins: route rules', () => {
  let api: RunningApiServer;
  let consul: RunningConsul;
  let pilot: RunningPilot;
  const productpage = serviceNode('Consul', '10.1.0.10');
  const routesUrl = () => `${pilot.url}/v1/routes/9080/productpage/${encodeURIComponent(productpage)}`;
  const rulesUrl = () => `${api.url}/apis/config.istio.io/v1alpha2/namespaces/default/routerules`;

  const register = async (body: Record<string, unknown>) => {
    const response = await fetch(`${consul.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body) });
    expect(response.status).toBe(200);
  };
  const reviewsRoutes = async () => {
    const response = await fetch(routesUrl());
    expect(response.status).toBe(200);
    const config = (await response.json()) as { virtual_hosts: Array<{ name: string; domains: string[]; routes: any[] }> };
    return config.virtual_hosts.find((host) => host.name === 'reviews.service.consul|http')!.routes;
  };
  /** Polls every 50 ms until `check` holds; returns how long it took. Fails after `deadlineMs`. */
  const within = async (deadlineMs: number, check: () => Promise<boolean>): Promise<number> => {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > deadlineMs) throw new Error(`not within ${deadlineMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return Date.now() - started;
  };

  beforeAll(async () => {
    api = await startApiServer({ port: 0, host: '127.0.0.1', store: new MemoryStore() });
    consul = await startConsul({ port: 0, host: '127.0.0.1', nodeName: 'consul', address: '10.1.0.2' });
    await register({ ID: 'productpage-v1', Name: 'productpage', Address: '10.1.0.10', Port: 9080, Tags: ['version|v1'] });
    for (const [version, ip] of [['v1', '10.1.0.21'], ['v2', '10.1.0.22'], ['v3', '10.1.0.23']] as const) {
      await register({ ID: `reviews-${version}`, Name: 'reviews', Address: ip, Port: 9080, Tags: [`version|${version}`] });
    }
    pilot = await start({
      port: 0,
      host: '127.0.0.1',
      kubeApi: api.url,
      registry: 'consul',
      consulUrl: consul.url,
      crds: ISTIO_VERSIONS[0]!.pilot.crds,
    });
  });
  afterAll(async () => {
    await pilot?.close();
    await consul?.close();
    await api?.close();
  });

  it('routes reviews:9080 round robin over all instances while no rule exists', async () => {
    const response = await fetch(routesUrl());
    const config = (await response.json()) as { virtual_hosts: Array<{ name: string; domains: string[] }> };
    expect(config.virtual_hosts.find((host) => host.domains.includes('reviews:9080'))?.name).toBe('reviews.service.consul|http');
    expect(await reviewsRoutes()).toEqual([
      { prefix: '/', cluster: 'out.reviews.service.consul|http', timeout_ms: 0, decorator: { operation: 'default-route' } },
    ]);
    const sds = await fetch(`${pilot.url}/v1/registration/${encodeURIComponent('reviews.service.consul|http|version=v3')}`);
    expect(await sds.json()).toEqual({ hosts: [{ ip_address: '10.1.0.23', port: 9080, tags: { version: 'v3' } }] });
  });

  it('shows a RouteRule created through the API server within 1 s, a replaced one too, and drops it within 1 s of its deletion', async () => {
    const rule = (versions: string[]) => ({
      apiVersion: 'config.istio.io/v1alpha2',
      kind: 'RouteRule',
      metadata: { name: 'reviews-default' },
      spec: {
        destination: { service: 'reviews.service.consul' },
        precedence: 1,
        route: versions.map((version) => ({ labels: { version }, weight: 100 / versions.length })),
      },
    });
    const created = await fetch(rulesUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule(['v3'])) });
    expect(created.status).toBe(201);
    await within(1000, async () => (await reviewsRoutes())[0]?.cluster === 'out.reviews.service.consul|http|version=v3');
    expect(await reviewsRoutes()).toEqual([
      { prefix: '/', cluster: 'out.reviews.service.consul|http|version=v3', timeout_ms: 0, decorator: { operation: 'reviews-default' } },
    ]);
    const clusters = (await (await fetch(`${pilot.url}/v1/clusters/productpage/${encodeURIComponent(productpage)}`)).json()) as { clusters: Array<{ name: string }> };
    expect(clusters.clusters.map((cluster) => cluster.name)).toContain('out.reviews.service.consul|http|version=v3');

    const current = (await (await fetch(`${rulesUrl()}/reviews-default`)).json()) as { metadata: { resourceVersion: string } };
    const replacement = rule(['v1', 'v3']);
    const replaced = await fetch(`${rulesUrl()}/reviews-default`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...replacement, metadata: { ...replacement.metadata, resourceVersion: current.metadata.resourceVersion } }),
    });
    expect(replaced.status).toBe(200);
    await within(1000, async () => (await reviewsRoutes())[0]?.weighted_clusters !== undefined);
    expect((await reviewsRoutes())[0].weighted_clusters).toEqual({
      clusters: [
        { name: 'out.reviews.service.consul|http|version=v1', weight: 50 },
        { name: 'out.reviews.service.consul|http|version=v3', weight: 50 },
      ],
    });

    expect((await fetch(`${rulesUrl()}/reviews-default`, { method: 'DELETE' })).status).toBe(200);
    await within(1000, async () => (await reviewsRoutes())[0]?.decorator?.operation === 'default-route');
    expect(await reviewsRoutes()).toHaveLength(1);
  });

  it('adds a fault filter to the outbound listener for a fault rule, and ignores a stored rule that does not validate', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const post = (body: unknown) => fetch(rulesUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // The API server stand-in stores any spec, as kube-apiserver did for CRDs; pilot validates.
    expect(
      (
        await post({
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'RouteRule',
          metadata: { name: 'bad-weights' },
          spec: { destination: { service: 'reviews.service.consul' }, route: [{ labels: { version: 'v1' }, weight: 70 }] },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await post({
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'RouteRule',
          metadata: { name: 'reviews-abort' },
          spec: {
            destination: { service: 'reviews.service.consul' },
            route: [{ labels: { version: 'v2' } }],
            httpFault: { abort: { percent: 100, httpStatus: 500 } },
          },
        })
      ).status,
    ).toBe(201);
    const listenersUrl = `${pilot.url}/v1/listeners/productpage/${encodeURIComponent(productpage)}`;
    const faults = async () => {
      const body = (await (await fetch(listenersUrl)).json()) as { listeners: Array<{ address: string; filters: any[] }> };
      const outbound = body.listeners.find((listener) => listener.address === 'tcp://0.0.0.0:9080')!;
      return (outbound.filters[0].config.filters as Array<{ name: string; config: any }>).filter((filter) => filter.name === 'fault');
    };
    await within(1000, async () => (await faults()).length === 1);
    expect(await faults()).toEqual([
      { type: 'decoder', name: 'fault', config: { abort: { abort_percent: 100, http_status: 500 }, upstream_cluster: 'out.reviews.service.consul|http|version=v2' } },
    ]);
    expect((await reviewsRoutes()).map((route) => route.decorator.operation)).toEqual(['reviews-abort']);
    // Rules are re-read every 500 ms; the invalid one is logged once, not on every read.
    const started = Date.now();
    while (Date.now() - started < 1200) await reviewsRoutes();
    const ignored = errors.mock.calls.map((call) => String(call[0])).filter((line) => line.includes('ignoring default/bad-weights'));
    errors.mockRestore();
    expect(ignored).toHaveLength(1);
    for (const name of ['bad-weights', 'reviews-abort']) await fetch(`${rulesUrl()}/${name}`, { method: 'DELETE' });
  });

  it('answers 503 for a route config name that is not a port', async () => {
    const response = await fetch(`${pilot.url}/v1/routes/reviews/productpage/${encodeURIComponent(productpage)}`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toMatch(/^RDS strconv\.Atoi/);
  });
});

describe('Refreshing', () => {
  it('reuses a value younger than its maximum age, shares one load, and keeps the last value when a load fails', async () => {
    let loads = 0;
    let fail = false;
    const stale: unknown[] = [];
    const value = new Refreshing(
      async () => {
        loads++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (fail) throw new Error('down');
        return loads;
      },
      100,
      (error) => stale.push(error),
    );
    expect(await Promise.all([value.get(), value.get(), value.get()])).toEqual([1, 1, 1]);
    expect(await value.get()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 110));
    expect(await value.get()).toBe(2);
    fail = true;
    await new Promise((resolve) => setTimeout(resolve, 110));
    expect(await value.get()).toBe(2);
    expect(stale).toHaveLength(1);
  });

  it('throws when the first load fails', async () => {
    const value = new Refreshing(async () => {
      throw new Error('never up');
    }, 100);
    await expect(value.get()).rejects.toThrow('never up');
  });
});
