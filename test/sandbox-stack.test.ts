import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookinfoApiSuite, starsFromHtml } from '../samples/bookinfo/api-suite.js';
import { apiserverApiSuite } from '../sandbox/standins/apiserver-suite.js';
import { caApiSuite } from '../sandbox/standins/ca-suite.js';
import { mixerApiSuite, type MixerSuiteTarget } from '../sandbox/standins/mixer-suite.js';
import { consulApiSuite } from '../sandbox/standins/consul-suite.js';
import { eurekaApiSuite } from '../sandbox/standins/eureka-suite.js';
import { pilotApiSuite, type PilotSuiteTarget } from '../sandbox/standins/pilot-suite.js';
import { findIstioVersion } from '../src/model/istio-versions.js';
import { eventually, startSandboxStack, untilAnswers, type TestStack } from './support/stack.js';

const INSTANCES = ['productpage-v1', 'details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3'];

/**
 * The whole sandbox stack on the real Docker Engine, started by one Compose `up` of the rendered
 * file, so with upstream's command lines: Consul with Istio 0.6.0, Eureka with 0.8.0 (test/up.test.ts
 * runs the other two pairs through `mesh-local up`). Every suite of the BookInfo services and
 * stand-ins runs against the containers, reached through published ports (apps through their own
 * sidecar), plus registration and the sidecars' access logs.
 */
describe.each([
  ['consul', '0.6.0'],
  ['eureka', '0.8.0'],
] as const)('sandbox stack with %s, Istio %s', (registry, istioVersion) => {
  const VERSION = findIstioVersion(istioVersion)!;
  let stack: TestStack;
  const urls: Record<string, string> = {};
  const pilotTarget: PilotSuiteTarget = { url: '', kubeApi: '', crds: VERSION.pilot.crds, expected: [] };
  const mixerTarget: MixerSuiteTarget = { url: '', grpcUrl: '', prometheusUrl: '' };

  beforeAll(async () => {
    stack = await startSandboxStack({ registry, istioVersion, extra: ['--addons', 'prometheus'] });
    for (const instance of INSTANCES) urls[instance] = await stack.url(instance, 9080);
    urls.gateway = await stack.url('productpage-v1', 9080);
    urls.apiserver = await stack.url('istio-apiserver', 8080);
    urls.pilot = await stack.url('istio-pilot', VERSION.pilot.discoveryPort);
    urls.registry = registry === 'consul' ? await stack.url('consul', 8500) : await stack.url('eureka', 8080);
    urls.ca = await stack.url('istio-ca', VERSION.ca.grpcPort);
    urls.prometheus = await stack.url('prometheus', 9090);
    mixerTarget.url = await stack.url('istio-mixer', VERSION.mixer.monitoringPort);
    mixerTarget.grpcUrl = await stack.url('istio-mixer', VERSION.mixer.grpcPort);
    mixerTarget.prometheusUrl = await stack.url('istio-mixer', VERSION.mixer.prometheusPort);
    pilotTarget.url = urls.pilot;
    pilotTarget.kubeApi = urls.apiserver;
    const reviews = await Promise.all(['v1', 'v2', 'v3'].map(async (version) => ({ ip: await stack.ip(`reviews-${version}`), version })));
    pilotTarget.expected = [
      {
        'service-key': registry === 'consul' ? 'reviews.service.consul|http' : 'reviews|9080',
        // Pilot lists hosts ordered by address.
        hosts: reviews
          .map(({ ip, version }) => ({ ip_address: ip, port: 9080, tags: { version } }))
          .sort((a, b) => a.ip_address.localeCompare(b.ip_address)),
      },
    ];
    await waitForRegistrations(registry, urls.registry!);
    // Services without an in-container healthcheck (upstream's images have no tool for one) may
    // still be starting; apps answer through their sidecar once pilot lists them.
    await untilAnswers([
      `${mixerTarget.url}/health`,
      `${urls.ca}/health`,
      `${pilotTarget.url}/ready`,
      ...INSTANCES.map((instance) => `${urls[instance]}/health`),
      `${urls.gateway}/productpage`,
    ]);
  }, 600_000);

  afterAll(async () => {
    await stack?.down();
  }, 120_000);

  bookinfoApiSuite(() => ({
    productpage: urls['productpage-v1']!,
    details: urls['details-v1']!,
    ratings: urls['ratings-v1']!,
    reviewsV1: urls['reviews-v1']!,
    reviewsV2: urls['reviews-v2']!,
    reviewsV3: urls['reviews-v3']!,
  }));
  apiserverApiSuite(() => urls.apiserver!);
  pilotApiSuite(() => pilotTarget);
  mixerApiSuite(() => mixerTarget);
  caApiSuite(() => urls.ca!);
  if (registry === 'consul') consulApiSuite(() => urls.registry!);
  else eurekaApiSuite(() => urls.registry!);

  it('config-init created the CA namespace and Mixer CRDs; pilot registered its CRDs', async () => {
    expect((await fetch(`${urls.apiserver}/api/v1/namespaces/istio-system`)).status).toBe(200);
    for (const crd of ['rules.config.istio.io', ...VERSION.pilot.crds]) {
      expect((await fetch(`${urls.apiserver}/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions/${crd}`)).status, crd).toBe(200);
    }
  });

  it('Prometheus (real) scrapes Mixer and pilot with the rendered config', async () => {
    await eventually(async () => {
      const body = (await (await fetch(`${urls.prometheus}/api/v1/targets`)).json()) as any;
      const health = Object.fromEntries(body.data.activeTargets.map((target: any) => [target.labels.job, target.health]));
      expect(health).toEqual({ 'istio-mesh': 'up', mixer: 'up', pilot: 'up' });
    }, 30_000);
  });

  it('registers every app instance with its version, and no infrastructure', async () => {
    const instances = await registeredInstances(registry, urls.registry!);
    for (const instance of INSTANCES) {
      const [name, version] = [instance.replace(/-v\d$/, ''), instance.slice(-2)];
      expect(instances, instance).toContainEqual({ name, version, ip: await stack.ip(instance), port: 9080 });
    }
    // The registry API suites above register test services of their own; infrastructure must not be there.
    const infrastructure = Object.entries(stack.document.services)
      .filter(([, service]) => service.labels?.['dev.mesh-local.role'] !== 'app')
      .map(([name]) => name);
    const registered = new Set(instances.map((instance) => instance.name));
    expect(infrastructure.filter((name) => registered.has(name) || registered.has(name.replace(/^istio-/, '')))).toEqual([]);
    for (const image of ['etcd', 'pilot', 'mixer', 'proxy', 'registrator', 'prometheus']) expect(registered.has(image), image).toBe(false);
  });

  it('sends a request through both the caller\'s and the callee\'s sidecar', async () => {
    const requestId = `mesh-local-test-${randomUUID()}`;
    const response = await fetch(`${urls.gateway}/productpage`, { headers: { 'x-request-id': requestId } });
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain('Book Reviews');
    expect(html).not.toContain('Error fetching');
    const line = (log: string, direction: string, path: string) =>
      log.split('\n').find((entry) => entry.includes(`request_id=${requestId}`) && entry.includes(`direction=${direction}`) && entry.includes(`path=${path}`));
    await eventually(async () => {
      const productpage = await stack.logs('productpage-v1-istio-proxy');
      expect(line(productpage, 'inbound', '/productpage')).toMatch(/status=200 upstream=127\.0\.0\.1:9080/);
      expect(line(productpage, 'outbound', '/details/0')).toMatch(/host=details:9080 .*status=200/);
      expect(line(productpage, 'outbound', '/reviews/0')).toMatch(/host=reviews:9080 .*status=200/);
      expect(line(await stack.logs('details-v1-istio-proxy'), 'inbound', '/details/0')).toMatch(/status=200 upstream=127\.0\.0\.1:9080/);
    });
  });

  it('spreads 30 gateway requests over reviews v1, v2 and v3 (no stars, black, red)', async () => {
    const seen = new Set<string>();
    for (let attempt = 0; attempt < 30; attempt++) {
      const html = await (await fetch(`${urls.gateway}/productpage`)).text();
      // One entry per review; v1 renders no <font>, so its colour is null.
      seen.add(starsFromHtml(html)[0]?.color ?? 'none');
    }
    expect([...seen].sort()).toEqual(['black', 'none', 'red']);
  });

  it('drops an instance from the registry when its pod stops', async () => {
    // The pod is what is registered (it owns the address and the SERVICE_* settings).
    await stack.stop('reviews-v3-pod');
    await eventually(async () => {
      const versions = (await registeredInstances(registry, urls.registry!)).filter((entry) => entry.name === 'reviews').map((entry) => entry.version);
      expect(versions.sort()).toEqual(['v1', 'v2']);
    }, 30_000);
  });
});

interface Registered {
  name: string;
  version: string | undefined;
  ip: string;
  port: number;
}

/** Instances as the registry's own API reports them. */
async function registeredInstances(registry: 'consul' | 'eureka', url: string): Promise<Registered[]> {
  if (registry === 'consul') {
    const services = Object.keys((await (await fetch(`${url}/v1/catalog/services`)).json()) as object).filter((name) => name !== 'consul');
    const entries = await Promise.all(
      services.map(async (name) => (await (await fetch(`${url}/v1/catalog/service/${name}`)).json()) as any[]),
    );
    return entries.flat().map((entry) => ({
      name: entry.ServiceName,
      version: (entry.ServiceTags as string[]).find((tag) => tag.startsWith('version|'))?.slice('version|'.length),
      ip: entry.ServiceAddress,
      port: entry.ServicePort,
    }));
  }
  const body = (await (await fetch(`${url}/eureka/v2/apps`, { headers: { accept: 'application/json' } })).json()) as any;
  return (body.applications.application as any[]).flatMap((app) =>
    (app.instance as any[]).map((instance) => {
      expect(instance.metadata['istio.protocol']).toBe('http');
      return { name: instance.hostName, version: instance.metadata.version, ip: instance.ipAddr, port: Number(instance.port.$) };
    }),
  );
}

async function waitForRegistrations(registry: 'consul' | 'eureka', url: string): Promise<void> {
  await eventually(async () => {
    expect((await registeredInstances(registry, url)).length).toBeGreaterThanOrEqual(INSTANCES.length);
  }, 60_000);
}
