/**
 * Contract tests for the Consul HTTP API subset mesh-local relies on. They speak plain HTTP to a base
 * URL, so the same suite runs against the in-process stand-in (consul.test.ts) and against a
 * container (the stand-in image, or real Consul for the parts both share).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

interface Registration {
  ID: string;
  Name: string;
  Tags?: string[];
  Address?: string;
  Port?: number;
  Meta?: Record<string, string>;
  Check?: Record<string, unknown>;
}

export function consulApiSuite(baseUrl: () => string): void {
  // Unique names keep the tests independent of each other and of whatever else is registered.
  const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

  const put = (path: string, body?: unknown) =>
    fetch(`${baseUrl()}${path}`, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });

  const getJson = async (path: string) => {
    const response = await fetch(`${baseUrl()}${path}`);
    expect(response.status, `GET ${path}`).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    return { response, body: (await response.json()) as unknown };
  };

  const register = async (registration: Registration) => {
    const response = await put('/v1/agent/service/register', registration);
    expect(response.status, await response.text()).toBe(200);
  };

  const sample = (name: string, overrides: Partial<Registration> = {}): Registration => ({
    ID: `registrator-host:${name}-v1-1:9080`,
    Name: name,
    Tags: ['version|v1'],
    Address: '172.28.0.5',
    Port: 9080,
    Meta: { protocol: 'http', version: 'v1' },
    ...overrides,
  });

  describe('Consul HTTP API', () => {
    it('GET /v1/status/leader answers a non-empty "<ip>:8300" JSON string', async () => {
      const { body } = await getJson('/v1/status/leader');
      expect(typeof body).toBe('string');
      expect(body).toMatch(/^[0-9a-f.:]+:8300$/);
    });

    it('registers a service and lists it in /v1/catalog/services with its tags, next to "consul"', async () => {
      const name = unique('details');
      await register(sample(name));
      const { response, body } = await getJson('/v1/catalog/services');
      expect(body).toMatchObject({ consul: [], [name]: ['version|v1'] });
      expect(Number(response.headers.get('x-consul-index'))).toBeGreaterThan(0);
      expect(response.headers.get('x-consul-lastcontact')).toMatch(/^\d+$/);
      expect(response.headers.get('x-consul-knownleader')).toBe('true');
    });

    it('GET /v1/catalog/service/:name answers catalog entries with Consul field names', async () => {
      const name = unique('reviews');
      const registration = sample(name);
      await register(registration);
      const { body } = await getJson(`/v1/catalog/service/${name}`);
      expect(body).toEqual([
        expect.objectContaining({
          Node: expect.any(String),
          Address: expect.stringMatching(/\d+\.\d+\.\d+\.\d+/),
          Datacenter: 'dc1',
          NodeMeta: {},
          ServiceID: registration.ID,
          ServiceName: name,
          ServiceTags: ['version|v1'],
          ServiceAddress: '172.28.0.5',
          ServicePort: 9080,
          ServiceMeta: { protocol: 'http', version: 'v1' },
        }),
      ]);
    });

    it('keeps several instances of one service apart by ID, and filters by ?tag=', async () => {
      const name = unique('reviews');
      await register(sample(name, { ID: `h:${name}-v1-1:9080`, Tags: ['version|v1'], Address: '172.28.0.6' }));
      await register(sample(name, { ID: `h:${name}-v2-1:9080`, Tags: ['version|v2'], Address: '172.28.0.7' }));
      const all = (await getJson(`/v1/catalog/service/${name}`)).body as Array<Record<string, unknown>>;
      expect(all.map((entry) => entry.ServiceAddress).sort()).toEqual(['172.28.0.6', '172.28.0.7']);
      const v2 = (await getJson(`/v1/catalog/service/${name}?tag=${encodeURIComponent('version|v2')}`)).body as Array<Record<string, unknown>>;
      expect(v2.map((entry) => entry.ServiceID)).toEqual([`h:${name}-v2-1:9080`]);
      const { body: services } = await getJson('/v1/catalog/services');
      expect((services as Record<string, string[]>)[name]).toEqual(['version|v1', 'version|v2']);
    });

    it('registering the same ID again replaces the instance', async () => {
      const name = unique('ratings');
      await register(sample(name));
      await register(sample(name, { Address: '172.28.0.9', Port: 9081 }));
      const entries = (await getJson(`/v1/catalog/service/${name}`)).body as Array<Record<string, unknown>>;
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ ServiceAddress: '172.28.0.9', ServicePort: 9081 });
    });

    it('GET /v1/health/service/:name answers Node, Service and passing Checks; ?passing keeps them', async () => {
      const name = unique('productpage');
      const registration = sample(name, { Check: { TTL: '30s' } });
      await register(registration);
      for (const path of [`/v1/health/service/${name}`, `/v1/health/service/${name}?passing`, `/v1/health/service/${name}?passing=1`]) {
        const { body } = await getJson(path);
        const entries = body as Array<{ Node: Record<string, unknown>; Service: Record<string, unknown>; Checks: Array<Record<string, unknown>> }>;
        expect(entries).toHaveLength(1);
        const [entry] = entries;
        expect(entry?.Node).toMatchObject({ Node: expect.any(String), Address: expect.any(String), Datacenter: 'dc1' });
        expect(entry?.Service).toMatchObject({
          ID: registration.ID,
          Service: name,
          Tags: ['version|v1'],
          Address: '172.28.0.5',
          Port: 9080,
          Meta: { protocol: 'http', version: 'v1' },
        });
        expect(entry?.Checks.length).toBeGreaterThanOrEqual(1);
        for (const check of entry?.Checks ?? []) expect(check).toMatchObject({ Status: 'passing', CheckID: expect.any(String) });
        expect(entry?.Checks).toContainEqual(expect.objectContaining({ ServiceID: registration.ID, Status: 'passing' }));
      }
    });

    it('PUT /v1/agent/service/deregister/:id removes the instance everywhere', async () => {
      const name = unique('gone');
      const registration = sample(name);
      await register(registration);
      const response = await put(`/v1/agent/service/deregister/${encodeURIComponent(registration.ID)}`);
      expect(response.status).toBe(200);
      expect((await getJson(`/v1/catalog/service/${name}`)).body).toEqual([]);
      expect((await getJson(`/v1/health/service/${name}`)).body).toEqual([]);
      expect((await getJson('/v1/catalog/services')).body).not.toHaveProperty(name);
      expect((await getJson('/v1/agent/services')).body).not.toHaveProperty(registration.ID);
    });

    it('GET /v1/agent/services lists registrations by ID', async () => {
      const name = unique('agent');
      const registration = sample(name);
      await register(registration);
      const { body } = await getJson('/v1/agent/services');
      expect((body as Record<string, unknown>)[registration.ID]).toMatchObject({
        ID: registration.ID,
        Service: name,
        Tags: ['version|v1'],
        Address: '172.28.0.5',
        Port: 9080,
        Meta: { protocol: 'http', version: 'v1' },
      });
    });

    it('an unknown service has no catalog or health entries', async () => {
      expect((await getJson(`/v1/catalog/service/${unique('nothing')}`)).body).toEqual([]);
      expect((await getJson(`/v1/health/service/${unique('nothing')}`)).body).toEqual([]);
    });

    it('refuses a registration without a name (400) and one that is not JSON (400)', async () => {
      expect((await put('/v1/agent/service/register', { ID: 'x', Port: 1 })).status).toBe(400);
      const notJson = await fetch(`${baseUrl()}/v1/agent/service/register`, { method: 'PUT', body: '{' });
      expect(notJson.status).toBe(400);
    });

    it('answers 404 for unknown paths and 405 for a known path with another method', async () => {
      expect((await fetch(`${baseUrl()}/v1/no/such/endpoint`)).status).toBe(404);
      expect((await fetch(`${baseUrl()}/v1/agent/service/register`)).status).toBe(405);
    });
  });
}
