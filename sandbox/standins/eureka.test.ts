import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eurekaApiSuite, eurekaLeaseSuite } from './eureka-suite.js';
import { start, type RunningEureka } from './eureka.js';

const LEASE_SECONDS = 1;
let eureka: RunningEureka;

beforeAll(async () => {
  eureka = await start({ port: 0, host: '127.0.0.1', leaseSeconds: LEASE_SECONDS });
});

afterAll(async () => {
  await eureka.close();
});

eurekaApiSuite(() => eureka.url);
eurekaLeaseSuite(() => eureka.url, LEASE_SECONDS);

describe('Eureka stand-in specifics', () => {
  const register = (app: string, instance: Record<string, unknown>, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${eureka.url}/eureka/v2/apps/${app}`, { method: 'POST', headers, body: JSON.stringify({ instance }) });

  const minimal = (app: string, extra: Record<string, unknown> = {}) => ({ hostName: app, app, ipAddr: '10.0.0.1', ...extra });

  it('answers JSON when the Accept header is absent, and marks its answers as a stand-in', async () => {
    const response = await fetch(`${eureka.url}/eureka/v2/apps`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('x-mesh-local-standin')).toBe('eureka');
  });

  it('refuses a body sent as XML with 415', async () => {
    const response = await fetch(`${eureka.url}/eureka/v2/apps/XML`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<instance/>' });
    expect(response.status).toBe(415);
  });

  it('refuses an instance whose app differs from the path', async () => {
    expect((await register('ONE', minimal('two'))).status).toBe(400);
  });

  it('fills Eureka defaults: id from hostName, status UP, ports 7001/7002, the empty-map metadata class', async () => {
    expect((await register('DEFAULTS', minimal('defaults'))).status).toBe(204);
    const response = await fetch(`${eureka.url}/eureka/v2/apps/DEFAULTS/defaults`, { headers: { accept: 'application/json' } });
    expect(await response.json()).toMatchObject({
      instance: {
        instanceId: 'defaults',
        app: 'DEFAULTS',
        status: 'UP',
        port: { $: 7001, '@enabled': 'true' },
        securePort: { $: 7002, '@enabled': 'false' },
        metadata: { '@class': 'java.util.Collections$EmptyMap' },
        dataCenterInfo: { name: 'MyOwn' },
        leaseInfo: { durationInSecs: LEASE_SECONDS },
      },
    });
  });

  it('keeps metadata values as strings and echoes fields it does not interpret', async () => {
    await register('ECHO', minimal('echo', { metadata: { weight: 3, enabled: true }, vipAddress: 'echo', homePageUrl: 'http://echo/' }));
    const body = (await (await fetch(`${eureka.url}/eureka/v2/apps/ECHO/echo`)).json()) as { instance: Record<string, unknown> };
    expect(body.instance.metadata).toEqual({ weight: '3', enabled: 'true' });
    expect(body.instance).toMatchObject({ vipAddress: 'echo', homePageUrl: 'http://echo/' });
  });

  it('computes apps__hashcode from instance statuses', async () => {
    const fresh = await start({ port: 0, host: '127.0.0.1' });
    try {
      const post = (app: string, status: string, id: string) =>
        fetch(`${fresh.url}/eureka/v2/apps/${app}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instance: { instanceId: id, hostName: app.toLowerCase(), app, ipAddr: '10.0.0.2', status } }),
        });
      const empty = (await (await fetch(`${fresh.url}/eureka/v2/apps`)).json()) as { applications: Record<string, unknown> };
      expect(empty.applications).toEqual({ versions__delta: '1', apps__hashcode: '', application: [] });
      await post('A', 'UP', 'a1');
      await post('A', 'UP', 'a2');
      await post('B', 'DOWN', 'b1');
      const body = (await (await fetch(`${fresh.url}/eureka/v2/apps`)).json()) as { applications: { apps__hashcode: string; application: Array<{ name: string }> } };
      expect(body.applications.apps__hashcode).toBe('DOWN_1_UP_2_');
      expect(body.applications.application.map((app) => app.name)).toEqual(['A', 'B']);
    } finally {
      await fresh.close();
    }
  });

  it('uses the lease an instance states in leaseInfo.durationInSecs over the default', async () => {
    let now = 1_000_000;
    const clocked = await start({ port: 0, host: '127.0.0.1', leaseSeconds: 90, now: () => now });
    try {
      const post = (id: string, leaseInfo?: Record<string, number>) =>
        fetch(`${clocked.url}/eureka/v2/apps/CLOCK`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instance: { instanceId: id, hostName: 'clock', app: 'CLOCK', ipAddr: '10.0.0.3', leaseInfo } }),
        });
      await post('short', { durationInSecs: 10 });
      await post('default');
      const ids = async () => {
        const response = await fetch(`${clocked.url}/eureka/v2/apps/CLOCK`);
        if (response.status === 404) return [];
        return ((await response.json()) as { application: { instance: Array<{ instanceId: string }> } }).application.instance.map((instance) => instance.instanceId);
      };
      now += 9_000;
      expect(await ids()).toEqual(['short', 'default']);
      now += 2_000; // 11 s: the 10 s lease ran out
      expect(await ids()).toEqual(['default']);
      now += 80_000; // 91 s: so did the 90 s default
      expect(await ids()).toEqual([]);
    } finally {
      await clocked.close();
    }
  });
});
