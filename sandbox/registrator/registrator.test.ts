/**
 * The registrator end to end, in process: a fake Docker API on a unix socket in a temp dir, the
 * Consul and Eureka stand-ins on port 0, and the registrator started through main.ts's `start`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { start as startConsul, type RunningConsul } from '../standins/consul.js';
import { start as startEureka, type RunningEureka } from '../standins/eureka.js';
import { FakeDocker } from './fake-docker.js';
import { start } from './main.js';
import type { RunningRegistrator } from './registrator.js';
import type { ContainerInspect } from './services.js';

const HOST = 'f00dfeed1234';

function fixture(name: string): ContainerInspect {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as ContainerInspect;
}

let tmp: string;
let docker: FakeDocker;
let consul: RunningConsul;
let eureka: RunningEureka;
let logs: string[];
let registrators: RunningRegistrator[];

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'registrator-test-'));
  docker = await FakeDocker.start(join(tmp, 'docker.sock'));
  consul = await startConsul({ port: 0, host: '127.0.0.1', address: '127.0.0.1' });
  eureka = await startEureka({ port: 0, host: '127.0.0.1' });
  logs = [];
  registrators = [];
});

afterEach(async () => {
  for (const registrator of registrators) await registrator.close();
  await docker.close();
  await consul.close();
  await eureka.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** The image each registry's registrator stands in for: its flag set and retry rules. */
const standsInFor = (argv: string[]) => ({
  MESH_LOCAL_STANDS_IN: argv.at(-1)!.startsWith('eureka:') ? 'docker.io/ijsnellf/registrator:v7' : 'docker.io/gliderlabs/registrator:master',
});

async function startRegistrator(argv: string[], env: Record<string, string> = {}): Promise<RunningRegistrator> {
  const registrator = await start({
    argv,
    env: { DOCKER_SOCKET: docker.socketPath, ...standsInFor(argv), ...env },
    hostname: HOST,
    log: (line) => logs.push(line),
  });
  registrators.push(registrator);
  return registrator;
}

const consulArgs = (...extra: string[]) => ['-internal', '-retry-attempts=-1', ...extra, `consul://127.0.0.1:${consul.port}`];
const eurekaArgs = (ttl = 90, port = eureka.port) => ['-internal', '-retry-attempts=-1', `-ttl-refresh=${Math.max(1, Math.floor(ttl / 2))}`, `-ttl=${ttl}`, `eureka://127.0.0.1:${port}/eureka/v2`];

async function catalog(name: string): Promise<Array<Record<string, unknown>>> {
  return (await (await fetch(`${consul.url}/v1/catalog/service/${name}`)).json()) as Array<Record<string, unknown>>;
}

async function catalogNames(): Promise<string[]> {
  return Object.keys((await (await fetch(`${consul.url}/v1/catalog/services`)).json()) as Record<string, unknown>).sort();
}

async function eurekaApp(app: string): Promise<Array<Record<string, unknown>> | undefined> {
  const response = await fetch(`${eureka.url}/eureka/v2/apps/${app}`, { headers: { accept: 'application/json' } });
  if (response.status === 404) return undefined;
  return ((await response.json()) as { application: { instance: Array<Record<string, unknown>> } }).application.instance;
}

const waitFor = <T>(check: () => Promise<T> | T, timeout = 5000) => vi.waitFor(check, { timeout, interval: 25 });

describe('registrator with Consul', () => {
  it('registers the running containers at start and skips ignored ones, sidecars and itself', async () => {
    for (const name of ['consul-zipkin', 'consul-etcd', 'consul-details-v1-istio-proxy', 'consul-registrator']) docker.put(fixture(name));
    await startRegistrator(consulArgs());
    expect(await catalogNames()).toEqual(['consul', 'zipkin-9410', 'zipkin-9411']);
    expect(await catalog('zipkin-9411')).toEqual([expect.objectContaining({ ServiceID: `${HOST}:consul-zipkin-1:9411`, ServiceAddress: '172.28.0.4', ServicePort: 9411 })]);
    expect(logs).toContainEqual(expect.stringMatching(/^skipped [0-9a-f]{12} consul-etcd-1: SERVICE_IGNORE is set$/));
    expect(logs).toContainEqual(expect.stringMatching(/^skipped [0-9a-f]{12} consul-details-v1-istio-proxy-1: shares the network namespace/));
    expect(logs.filter((line) => line.startsWith('registered '))).toHaveLength(2);
  });

  it('subscribes to container start, die, stop and destroy events', async () => {
    await startRegistrator(consulArgs());
    expect(docker.subscriptions.map((filters) => JSON.parse(filters) as unknown)).toEqual([{ type: ['container'], event: ['start', 'die', 'stop', 'destroy'] }]);
  });

  it('a start event registers the container with its version|v1 tag and meta; a die event deregisters it', async () => {
    await startRegistrator(consulArgs());
    const details = fixture('consul-details-v1');
    docker.startContainer(details);
    await waitFor(async () => expect(await catalog('details')).toHaveLength(1));
    expect((await catalog('details'))[0]).toMatchObject({
      ServiceID: `${HOST}:consul-details-v1-1:9080`,
      ServiceName: 'details',
      ServiceTags: ['version|v1'],
      ServiceAddress: '172.28.0.5',
      ServicePort: 9080,
      ServiceMeta: { protocol: 'http', version: 'v1' },
    });
    expect(logs).toContain(`registered ${HOST}:consul-details-v1-1:9080 as details at 172.28.0.5:9080 tags version|v1`);

    docker.stopContainer(details.Id, { stop: true });
    await waitFor(async () => expect(await catalog('details')).toEqual([]));
    expect(await catalogNames()).toEqual(['consul']);
    expect(logs).toContain(`deregistered ${HOST}:consul-details-v1-1:9080 (details)`);
    expect(logs.filter((line) => line.startsWith('deregistered '))).toHaveLength(1);
  });

  it('registers a restarted container again', async () => {
    await startRegistrator(consulArgs());
    const details = fixture('consul-details-v1');
    docker.startContainer(details);
    await waitFor(async () => expect(await catalog('details')).toHaveLength(1));
    docker.stopContainer(details.Id);
    await waitFor(async () => expect(await catalog('details')).toEqual([]));
    docker.startContainer({ ...details, State: { Running: true, Status: 'running' } });
    await waitFor(async () => expect(await catalog('details')).toHaveLength(1));
  });

  it('resync registers containers that appeared; with -cleanup it deregisters ones that vanished without an event', async () => {
    const details = fixture('consul-details-v1');
    docker.put(details);
    await startRegistrator(consulArgs('-cleanup'), { RESYNC_SECONDS: '0.2' });
    expect(await catalog('details')).toHaveLength(1);
    docker.delete(details.Id);
    docker.put(fixture('consul-reviews-v2'));
    await waitFor(async () => {
      expect(await catalog('details')).toEqual([]);
      expect((await catalog('reviews')).map((entry) => entry.ServiceID)).toEqual([`${HOST}:consul-reviews-v2-1:9080`]);
    });
    expect(logs).toContainEqual(expect.stringMatching(/^stale: removing the services of [0-9a-f]{12}, its container does not exist$/));
    expect(docker.listQueries).toContain(JSON.stringify({ status: ['created', 'restarting', 'running', 'paused'] }));
  });

  it('without -cleanup, as upstream, keeps what it registered for a container that vanished without an event', async () => {
    const details = fixture('consul-details-v1');
    docker.put(details);
    const registrator = await startRegistrator(consulArgs());
    docker.delete(details.Id);
    await registrator.resync();
    await registrator.resync();
    expect(await catalog('details')).toHaveLength(1);
    expect(docker.listQueries.every((filters) => filters === '')).toBe(true);
  });

  it('with -cleanup removes dangling registrations with its own host name (an earlier container\'s, after recreation), and leaves other hosts\' alone', async () => {
    const put = (body: unknown) => fetch(`${consul.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body) });
    await put({ ID: `${HOST}:consul-old-1:9080`, Name: 'old', Address: '172.28.0.99', Port: 9080 });
    await put({ ID: `otherhost:consul-old-1:9080`, Name: 'old', Address: '172.28.0.98', Port: 9080 });
    await put({ ID: 'hand-made', Name: 'old', Address: '172.28.0.97', Port: 9080 });
    docker.put(fixture('consul-details-v1'));
    await startRegistrator(consulArgs('-cleanup'));
    expect((await catalog('old')).map((entry) => entry.ServiceID).sort()).toEqual(['hand-made', 'otherhost:consul-old-1:9080']);
    expect(await catalog('details')).toHaveLength(1);
    expect(logs).toContain(`removed dangling ${HOST}:consul-old-1:9080 (old)`);
  });

  it('without -cleanup leaves registrations an earlier run left alone, as upstream', async () => {
    await fetch(`${consul.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ ID: `${HOST}:consul-old-1:9080`, Name: 'old', Address: '172.28.0.99', Port: 9080 }) });
    const registrator = await startRegistrator(consulArgs());
    await registrator.resync();
    expect(await catalog('old')).toHaveLength(1);
  });

  it('puts back registrations the registry lost, at the next resync', async () => {
    docker.put(fixture('consul-details-v1'));
    const registrator = await startRegistrator(consulArgs());
    await fetch(`${consul.url}/v1/agent/service/deregister/${encodeURIComponent(`${HOST}:consul-details-v1-1:9080`)}`, { method: 'PUT' });
    expect(await catalog('details')).toEqual([]);
    await registrator.resync();
    expect(await catalog('details')).toHaveLength(1);
  });

  it("ends with 'Docker event loop closed' when the event stream ends, as upstream's log.Fatal", async () => {
    const running = await startRegistrator(consulArgs());
    docker.endEventStreams();
    await expect(running.ended).rejects.toThrow(/^Docker event loop closed$/);
    expect(docker.subscriptions).toHaveLength(1); // no reconnection: upstream has none
    await running.close();
  });

  it('ends quietly when closed', async () => {
    const running = await startRegistrator(consulArgs());
    await running.close();
    await expect(running.ended).resolves.toBeUndefined();
  });

  it('skips a broken event line and reads an event split across chunks', async () => {
    await startRegistrator(consulArgs());
    const details = fixture('consul-details-v1');
    docker.put(details);
    docker.writeRaw('this is not json\n');
    const event = JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: details.Id, Attributes: { name: 'consul-details-v1-1' } } });
    docker.writeRaw(event.slice(0, 25));
    await sleep(30);
    docker.writeRaw(`${event.slice(25)}\n`);
    await waitFor(async () => expect(await catalog('details')).toHaveLength(1));
  });

  it('keeps running when listing fails during a resync', async () => {
    const registrator = await startRegistrator(consulArgs());
    docker.failListing = true;
    await registrator.resync();
    expect(logs).toContainEqual(expect.stringMatching(/^resync skipped, cannot list containers: listing containers: HTTP 500/));
    docker.failListing = false;
    docker.startContainer(fixture('consul-details-v1'));
    await waitFor(async () => expect(await catalog('details')).toHaveLength(1));
  });

  it('fails to start when the Docker socket is not there', async () => {
    await expect(
      start({ argv: consulArgs(), env: { DOCKER_SOCKET: join(tmp, 'missing.sock'), ...standsInFor(consulArgs()) }, hostname: HOST, log: () => undefined }),
    ).rejects.toThrow(/cannot subscribe to Docker events: .*missing\.sock/);
  });

  it('fails to start when the registry cannot be reached within -retry-attempts', async () => {
    const closed = await startConsul({ port: 0, host: '127.0.0.1' });
    await closed.close();
    await expect(
      start({
        argv: ['-retry-attempts=1', '-retry-interval=10', `consul://127.0.0.1:${closed.port}`],
        env: { DOCKER_SOCKET: docker.socketPath, ...standsInFor(consulArgs()) },
        hostname: HOST,
        log: (line) => logs.push(line),
      }),
    ).rejects.toThrow(/cannot reach consul at http:\/\/127\.0\.0\.1:\d+/);
    expect(logs.filter((line) => line.startsWith('waiting for consul'))).toHaveLength(1);
  });
});

describe('registrator with Eureka', () => {
  it('a start event registers an UP instance with version and istio.protocol metadata; heartbeats keep it; die cancels it', async () => {
    // -ttl=2 -ttl-refresh=1: a renewal every second keeps a lease of two.
    await startRegistrator(eurekaArgs(2));
    const details = fixture('consul-details-v1');
    docker.startContainer(details);
    await waitFor(async () => expect(await eurekaApp('DETAILS')).toHaveLength(1));
    const [instance] = (await eurekaApp('DETAILS')) ?? [];
    expect(instance).toMatchObject({
      instanceId: `${HOST}-consul-details-v1-1-9080`,
      hostName: 'details',
      app: 'DETAILS',
      ipAddr: '172.28.0.5',
      vipAddress: 'details',
      status: 'UP',
      port: { $: 9080, '@enabled': 'true' },
      metadata: { 'istio.protocol': 'http', version: 'v1' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { durationInSecs: 2 },
    });

    // The lease is 2 s: only heartbeats keep the instance past it.
    await sleep(2600);
    const [renewed] = (await eurekaApp('DETAILS')) ?? [];
    const lease = renewed?.leaseInfo as { registrationTimestamp: number; lastRenewalTimestamp: number } | undefined;
    expect(lease?.lastRenewalTimestamp).toBeGreaterThan(lease?.registrationTimestamp ?? Infinity);

    docker.stopContainer(details.Id);
    await waitFor(async () => expect(await eurekaApp('DETAILS')).toBeUndefined());
    expect(logs).toContain(`deregistered ${HOST}:consul-details-v1-1:9080 (details)`);
  });

  it('registers the running containers at start under upper-case app names', async () => {
    docker.put(fixture('eureka-productpage-v1'));
    docker.put(fixture('consul-reviews-v2'));
    await startRegistrator(eurekaArgs());
    expect((await eurekaApp('PRODUCTPAGE'))?.[0]).toMatchObject({ hostName: 'productpage', ipAddr: '172.18.0.7', metadata: { version: 'v1', 'istio.protocol': 'http' } });
    expect((await eurekaApp('REVIEWS'))?.[0]).toMatchObject({ hostName: 'reviews', port: { $: 9080, '@enabled': 'true' }, metadata: { version: 'v2' } });
  });

  it('re-registers nothing when a renewal gets 404, as the fork; the next resync puts the instance back', async () => {
    docker.put(fixture('consul-details-v1'));
    const registrator = await startRegistrator(eurekaArgs(4));
    expect(await eurekaApp('DETAILS')).toHaveLength(1);
    const cancel = await fetch(`${eureka.url}/eureka/v2/apps/DETAILS/${HOST}-consul-details-v1-1-9080`, { method: 'DELETE' });
    expect(cancel.status).toBe(200);
    await waitFor(() => expect(logs).toContainEqual(expect.stringMatching(/^heartbeat failed for .*consul-details-v1-1:9080: renewing .*404/)));
    expect(await eurekaApp('DETAILS')).toBeUndefined();
    await registrator.resync();
    expect(await eurekaApp('DETAILS')).toHaveLength(1);
  });

  describe('with Eureka coming up after the registrator (one `compose up` of the whole stack)', () => {
    /** A free port, closed: Eureka's Tomcat is not listening there yet. */
    const latePort = async () => {
      const probe = await startEureka({ port: 0, host: '127.0.0.1' });
      await probe.close();
      return probe.port;
    };

    it("starts at once (the fork's ping never waits) and drops the registrations Eureka refused", async () => {
      const port = await latePort();
      docker.put(fixture('consul-details-v1'));
      await startRegistrator(eurekaArgs(90, port));
      expect(logs).toContainEqual(expect.stringMatching(/^register failed for .*consul-details-v1-1:9080 \(not tried again: no -resync\)/));
      const late = await startEureka({ port, host: '127.0.0.1' });
      try {
        await sleep(300);
        expect(((await (await fetch(`${late.url}/eureka/v2/apps`, { headers: { accept: 'application/json' } })).json()) as any).applications.application).toEqual([]);
      } finally {
        await late.close();
      }
    });

    it('registers them at the first resync after Eureka is up (-resync)', async () => {
      const port = await latePort();
      docker.put(fixture('consul-details-v1'));
      await startRegistrator([...eurekaArgs(90, port).slice(0, -1), '-resync=1', eurekaArgs(90, port).at(-1)!]);
      expect(logs).toContainEqual(expect.stringMatching(/^register failed for .*\(tried again at the next resync, in 1 s\)/));
      const late = await startEureka({ port, host: '127.0.0.1' });
      try {
        await waitFor(async () => {
          const response = await fetch(`${late.url}/eureka/v2/apps/DETAILS`, { headers: { accept: 'application/json' } });
          expect(response.status).toBe(200);
        }, 5000);
      } finally {
        await late.close();
      }
    });
  });

  it("leaves instances an earlier run left, even with -cleanup: the fork's Eureka adapter lists nothing", async () => {
    const stale = { instanceId: `${HOST}-consul-old-1-9080`, hostName: 'old', app: 'OLD', ipAddr: '172.18.0.99', port: { $: 9080, '@enabled': 'true' } };
    await fetch(`${eureka.url}/eureka/v2/apps/OLD`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance: stale }) });
    const registrator = await startRegistrator([...eurekaArgs().slice(0, -1), '-cleanup', eurekaArgs().at(-1)!]);
    await registrator.resync();
    expect((await eurekaApp('OLD'))?.map((instance) => instance.instanceId)).toEqual([`${HOST}-consul-old-1-9080`]);
  });

  it('with -cleanup deregisters the instances of a container that vanished without an event', async () => {
    const details = fixture('consul-details-v1');
    docker.put(details);
    const registrator = await startRegistrator([...eurekaArgs().slice(0, -1), '-cleanup', eurekaArgs().at(-1)!]);
    expect(await eurekaApp('DETAILS')).toHaveLength(1);
    docker.delete(details.Id);
    await registrator.resync();
    expect(await eurekaApp('DETAILS')).toBeUndefined();
  });
});
