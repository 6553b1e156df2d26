import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startConsul } from '../sandbox/standins/consul.js';
import { start as startEureka } from '../sandbox/standins/eureka.js';
import { EXTERNAL_LEASE_SECONDS, externalId, meshRegistry, RegistryRequestError, type ExternalInstance } from '../src/runtime/mesh-registry.js';

const hostsvc: ExternalInstance = { name: 'hostsvc', ip: '172.20.0.1', port: 8090, protocol: 'http', version: 'v2' };

describe('meshRegistry against the Consul stand-in', () => {
  let consul: Awaited<ReturnType<typeof startConsul>>;
  beforeAll(async () => {
    consul = await startConsul({ port: 0, host: '127.0.0.1', nodeName: 'consul', address: '10.0.0.2' });
  });
  afterAll(() => consul.close());

  it('registers the shape registrator writes, lists it as external, and deregisters it', async () => {
    const registry = meshRegistry('consul', consul.url);
    await registry.register(hostsvc);
    // What pilot reads: the catalog entry with its tags.
    const catalog = (await (await fetch(`${consul.url}/v1/catalog/service/hostsvc`)).json()) as Array<Record<string, unknown>>;
    expect(catalog).toHaveLength(1);
    expect(catalog[0]).toMatchObject({ ServiceID: 'mesh-local-register:hostsvc:172.20.0.1:8090', ServiceAddress: '172.20.0.1', ServicePort: 8090, ServiceTags: ['version|v2'] });
    const listed = await registry.instances();
    expect(listed).toContainEqual({ id: externalId('consul', hostsvc), name: 'hostsvc', ip: '172.20.0.1', port: 8090, labels: { version: 'v2' }, external: true });
    // A registrator-made entry is listed but not external.
    await fetch(`${consul.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ ID: 'registrator:p-reviews-v1-1:9080', Name: 'reviews', Address: '172.20.0.9', Port: 9080, Tags: ['version|v1'] }) });
    expect((await registry.instances()).find((entry) => entry.name === 'reviews')?.external).toBe(false);
    await registry.deregister(listed.find((entry) => entry.name === 'hostsvc')!);
    expect((await registry.instances()).map((entry) => entry.name)).not.toContain('hostsvc');
  });

  it('a registry that does not answer is a RegistryRequestError naming the request', async () => {
    const registry = meshRegistry('consul', 'http://127.0.0.1:1', 2000);
    await expect(registry.instances()).rejects.toThrow(RegistryRequestError);
    await expect(registry.instances()).rejects.toThrow(/GET \/v1\/agent\/services/);
  });
});

describe('meshRegistry against the Eureka stand-in', () => {
  let eureka: Awaited<ReturnType<typeof startEureka>>;
  let now = 1_000_000;
  beforeAll(async () => {
    eureka = await startEureka({ port: 0, host: '127.0.0.1', now: () => now });
  });
  afterAll(() => eureka.close());

  it('registers with istio.protocol and version metadata and a long lease, and deregisters', async () => {
    const registry = meshRegistry('eureka', eureka.url);
    await registry.register(hostsvc);
    const app = (await (await fetch(`${eureka.url}/eureka/v2/apps/HOSTSVC`, { headers: { accept: 'application/json' } })).json()) as {
      application: { instance: Array<Record<string, unknown>> };
    };
    const [instance] = app.application.instance;
    expect(instance).toMatchObject({ instanceId: 'mesh-local-register-hostsvc-172.20.0.1-8090', hostName: 'hostsvc', ipAddr: '172.20.0.1', status: 'UP' });
    expect(instance!.metadata).toMatchObject({ 'istio.protocol': 'http', version: 'v2' });
    // Past Eureka's default 90 s lease, nobody having renewed it, it is still there.
    now += 10 * 60_000;
    const listed = await registry.instances();
    expect(listed).toEqual([{ id: externalId('eureka', hostsvc), name: 'hostsvc', ip: '172.20.0.1', port: 8090, labels: { version: 'v2' }, external: true }]);
    now += EXTERNAL_LEASE_SECONDS * 1000;
    expect(await registry.instances()).toEqual([]);
    await registry.register(hostsvc);
    await registry.deregister(listed[0]!);
    expect(await registry.instances()).toEqual([]);
  });
});
