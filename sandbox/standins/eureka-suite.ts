/**
 * Contract tests for the Eureka `/eureka/v2` REST subset mesh-local relies on. They speak plain HTTP
 * to a base URL (the server root, without /eureka/v2), so the same suite runs against the in-process
 * stand-in (eureka.test.ts) and against a container.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

type Json = Record<string, unknown>;

/** Small HTTP helpers both suites use. */
function eurekaClient(baseUrl: () => string) {
  const base = () => `${baseUrl()}/eureka/v2`;
  const json = { accept: 'application/json' };

  const uniqueApp = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

  const instanceBody = (app: string, id: string, overrides: Json = {}) => ({
    instance: {
      instanceId: id,
      hostName: app,
      app: app.toUpperCase(),
      ipAddr: '172.28.0.5',
      status: 'UP',
      port: { $: 9080, '@enabled': 'true' },
      vipAddress: app,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      metadata: { 'istio.protocol': 'http', version: 'v1' },
      ...overrides,
    },
  });

  const register = (app: string, body: unknown) =>
    fetch(`${base()}/apps/${app.toUpperCase()}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const getApps = async () => {
    const response = await fetch(`${base()}/apps`, { headers: json });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    return (await response.json()) as { applications: { versions__delta: string; apps__hashcode: string; application: Array<{ name: string; instance: Json[] }> } };
  };

  const getApp = async (app: string) => {
    const response = await fetch(`${base()}/apps/${app.toUpperCase()}`, { headers: json });
    return { status: response.status, body: response.status === 200 ? ((await response.json()) as { application: { name: string; instance: Json[] } }) : undefined };
  };

  const heartbeat = (app: string, id: string) => fetch(`${base()}/apps/${app.toUpperCase()}/${id}`, { method: 'PUT' });

  return { base, json, uniqueApp, instanceBody, register, getApps, getApp, heartbeat };
}

export function eurekaApiSuite(baseUrl: () => string): void {
  const { base, json, uniqueApp, instanceBody, register, getApps, getApp, heartbeat } = eurekaClient(baseUrl);

  describe('Eureka REST API (/eureka/v2)', () => {
    it('GET /apps answers the applications document (it is also the health check)', async () => {
      const { applications } = await getApps();
      expect(applications.versions__delta).toBe('1');
      expect(typeof applications.apps__hashcode).toBe('string');
      expect(Array.isArray(applications.application)).toBe(true);
    });

    it('POST /apps/:app registers an instance (204) that GET /apps lists under the upper-cased name', async () => {
      const app = uniqueApp('details');
      const id = `host-${app}-v1-1-9080`;
      const response = await register(app, instanceBody(app, id));
      expect(response.status).toBe(204);

      const { applications } = await getApps();
      const entry = applications.application.find((candidate) => candidate.name === app.toUpperCase());
      expect(entry, 'application listed').toBeDefined();
      expect(entry?.instance).toEqual([
        expect.objectContaining({
          instanceId: id,
          hostName: app,
          app: app.toUpperCase(),
          ipAddr: '172.28.0.5',
          status: 'UP',
          port: { $: 9080, '@enabled': 'true' },
          metadata: { 'istio.protocol': 'http', version: 'v1' },
        }),
      ]);
      expect(applications.apps__hashcode).toMatch(/UP_\d+_/);
    });

    it('lists one instance as a one-element list, and several instances of one app together', async () => {
      const app = uniqueApp('reviews');
      expect((await register(app, instanceBody(app, `${app}-1`, { ipAddr: '172.28.0.6' }))).status).toBe(204);
      const one = await getApp(app);
      expect(one.body?.application.instance).toHaveLength(1);
      expect((await register(app, instanceBody(app, `${app}-2`, { ipAddr: '172.28.0.7', metadata: { 'istio.protocol': 'http', version: 'v2' } }))).status).toBe(204);
      const two = await getApp(app);
      expect(two.body?.application.name).toBe(app.toUpperCase());
      expect(two.body?.application.instance.map((instance) => instance.ipAddr).sort()).toEqual(['172.28.0.6', '172.28.0.7']);
    });

    it('GET /apps/:app/:id answers the instance; GET /apps/:app finds the app whatever its case', async () => {
      const app = uniqueApp('ratings');
      await register(app, instanceBody(app, `${app}-1`));
      const response = await fetch(`${base()}/apps/${app.toUpperCase()}/${app}-1`, { headers: json });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ instance: { instanceId: `${app}-1`, hostName: app } });
      expect((await getApp(app.toLowerCase())).status).toBe(200);
    });

    it('accepts the port number as a string, as older Eureka clients send it, and answers a number', async () => {
      const app = uniqueApp('strport');
      const body = instanceBody(app, `${app}-1`, { port: { $: '9080', '@enabled': 'true' } });
      expect((await register(app, body)).status).toBe(204);
      expect((await getApp(app)).body?.application.instance[0]?.port).toEqual({ $: 9080, '@enabled': 'true' });
    });

    it('PUT /apps/:app/:id renews a known instance (200) and answers 404 for an unknown one', async () => {
      const app = uniqueApp('heartbeat');
      await register(app, instanceBody(app, `${app}-1`));
      expect((await heartbeat(app, `${app}-1`)).status).toBe(200);
      expect((await heartbeat(app, `${app}-unknown`)).status).toBe(404);
      expect((await heartbeat(uniqueApp('noapp'), 'x')).status).toBe(404);
    });

    it('DELETE /apps/:app/:id cancels the instance (200), after which the app is gone (404)', async () => {
      const app = uniqueApp('cancel');
      await register(app, instanceBody(app, `${app}-1`));
      const response = await fetch(`${base()}/apps/${app.toUpperCase()}/${app}-1`, { method: 'DELETE' });
      expect(response.status).toBe(200);
      expect((await getApp(app)).status).toBe(404);
      const { applications } = await getApps();
      expect(applications.application.map((entry) => entry.name)).not.toContain(app.toUpperCase());
      expect((await heartbeat(app, `${app}-1`)).status).toBe(404);
    });

    it('GET /apps/:app answers 404 for an unknown app', async () => {
      expect((await getApp(uniqueApp('unknown'))).status).toBe(404);
    });

    it('refuses a registration without a hostName or ipAddr (400)', async () => {
      const app = uniqueApp('bad');
      expect((await register(app, instanceBody(app, `${app}-1`, { hostName: undefined }))).status).toBe(400);
      expect((await register(app, instanceBody(app, `${app}-1`, { ipAddr: undefined }))).status).toBe(400);
      expect((await register(app, { notAnInstance: true })).status).toBe(400);
    });

    it('answers XML-only requests with 406 rather than JSON the client cannot read', async () => {
      const response = await fetch(`${base()}/apps`, { headers: { accept: 'application/xml' } });
      expect(response.status).toBe(406);
    });
  });
}

/**
 * Lease expiry, for a server started with a short LEASE_SECONDS (the containers use Eureka's 90 s,
 * too long to wait for, so only the in-process server runs this).
 */
export function eurekaLeaseSuite(baseUrl: () => string, leaseSeconds: number): void {
  const { uniqueApp, instanceBody, register, getApps, getApp, heartbeat } = eurekaClient(baseUrl);
  describe('Eureka stand-in leases', () => {
    it('drops an instance whose lease runs out, and keeps one that is renewed', async () => {
      const leaseMs = leaseSeconds * 1000;
      const app = uniqueApp('lease');
      await register(app, instanceBody(app, `${app}-renewed`));
      await register(app, instanceBody(app, `${app}-silent`));
      const deadline = Date.now() + leaseMs * 1.6;
      while (Date.now() < deadline) {
        expect((await heartbeat(app, `${app}-renewed`)).status).toBe(200);
        await sleep(leaseMs / 5);
      }
      const ids = (await getApp(app)).body?.application.instance.map((instance) => instance.instanceId);
      expect(ids).toEqual([`${app}-renewed`]);
      expect((await heartbeat(app, `${app}-silent`)).status).toBe(404);

      await sleep(leaseMs * 1.3);
      expect((await getApp(app)).status).toBe(404);
      const { applications } = await getApps();
      expect(applications.application.map((entry) => entry.name)).not.toContain(app.toUpperCase());
    });
  });
}
