import { describe, expect, it } from 'vitest';
import { renderMesh } from '../compose/render.js';
import { findIstioVersion } from '../model/istio-versions.js';
import { buildModel, resolveSettings } from '../model/settings.js';
import type { ProgressEvent } from '../output/events.js';
import type { ContainerInfo } from '../runtime/containers.js';
import { containerFailure, publishedPorts, waitForMesh, type HttpGet } from './readiness.js';

/** The 0.6.0 Consul stack: pilot has no healthcheck (its image is FROM scratch), Consul has one. */
function plan() {
  const { settings } = resolveSettings({ env: {}, flags: { istioVersion: '0.6.0', registry: 'consul' } });
  const model = buildModel(settings);
  const version = findIstioVersion('0.6.0')!;
  return { project: 'p', model, version, document: renderMesh(model).document, services: ['istio-pilot', 'consul'], gatewayCheck: false, starting: Promise.resolve() };
}

function container(service: string, component: string, health: ContainerInfo['health'], containerPort: number): ContainerInfo {
  return {
    id: service,
    service,
    project: 'p',
    role: service === 'consul' ? 'registry' : 'control-plane',
    component,
    sidecarFor: undefined,
    image: 'x',
    state: 'running',
    health,
    exitCode: undefined,
    restartCount: 0,
    createdAt: new Date(0),
    startedAt: new Date(0),
    ports: [{ containerPort, hostIp: '127.0.0.1', hostPort: containerPort + 40000 }],
    networkMode: 'p_mesh',
    addresses: ['10.0.0.2'],
  };
}

describe('waitForMesh', () => {
  it('says "running", not "healthy", for a service without a healthcheck whose mesh check is pending', async () => {
    const containers = [
      container('istio-pilot', 'pilot', 'none', 15003),
      container('consul', 'consul', 'healthy', 8500),
      container('istio-apiserver', 'apiserver', 'healthy', 8080),
    ];
    let pilotUp = false;
    const httpGet: HttpGet = async (url) => {
      if (url.includes(':48500/')) return { status: 200, body: '"10.0.0.2:8300"' };
      if (url.includes('/customresourcedefinitions/')) return pilotUp ? { status: 200, body: '{}' } : { status: 404, body: '' };
      if (url.includes(':55003/v1/registration')) return { status: 200, body: '[]' };
      throw new Error(`unexpected ${url}`);
    };
    const events: ProgressEvent[] = [];
    let polls = 0;
    await waitForMesh(
      plan(),
      {
        engine: {
          projectContainers: async () => {
            if (++polls === 3) pilotUp = true;
            return containers;
          },
          containerLogs: async () => '',
        },
        httpGet,
        emit: (event) => events.push(event),
        now: () => 0,
        pollIntervalMs: 1,
      },
      AbortSignal.timeout(5000),
    );
    const states = events.flatMap((event) => (event.type === 'state' ? [`${event.service}: ${event.state}${event.detail ? ` (${event.detail})` : ''}`] : []));
    expect(states).toEqual(['istio-pilot: running (pilot\'s CRDs: HTTP 404)', 'consul: ready', 'istio-pilot: ready']);
  });
});

describe('waitForMesh: a container stopped before this run', () => {
  it('waits for Compose to start a killed pilot again instead of failing on its old exit', async () => {
    const pilot = { ...container('istio-pilot', 'pilot', 'none', 15003), state: 'exited' as const, exitCode: 137, startedAt: new Date(500) };
    const containers = [pilot, container('consul', 'consul', 'healthy', 8500), container('istio-apiserver', 'apiserver', 'healthy', 8080)];
    let finishStart!: () => void;
    const starting = new Promise<void>((resolve) => (finishStart = resolve));
    const httpGet: HttpGet = async (url) => {
      if (url.includes(':48500/')) return { status: 200, body: '"10.0.0.2:8300"' };
      return { status: 200, body: '[]' };
    };
    const events: ProgressEvent[] = [];
    let polls = 0;
    await waitForMesh(
      { ...plan(), starting },
      {
        engine: {
          projectContainers: async () => {
            polls += 1;
            // Compose starts it again a few polls in, then returns.
            if (polls === 5) Object.assign(pilot, { state: 'running', exitCode: undefined, startedAt: new Date(2000) });
            if (polls === 6) finishStart();
            return containers;
          },
          containerLogs: async () => '',
        },
        httpGet,
        emit: (event) => events.push(event),
        now: () => 1000,
        pollIntervalMs: 1,
      },
      AbortSignal.timeout(5000),
    );
    const pilotStates = events.flatMap((event) => (event.type === 'state' && event.service === 'istio-pilot' ? [event.state] : []));
    expect(pilotStates).toEqual(['created', 'ready']);
  });

  it('fails on the same stopped container once Compose has finished without starting it', async () => {
    const pilot = { ...container('istio-pilot', 'pilot', 'none', 15003), state: 'exited' as const, exitCode: 137, startedAt: new Date(500) };
    const run = waitForMesh(
      plan(),
      {
        engine: { projectContainers: async () => [pilot, container('consul', 'consul', 'healthy', 8500)], containerLogs: async () => 'killed' },
        httpGet: async () => ({ status: 200, body: '"10.0.0.2:8300"' }),
        emit: () => undefined,
        now: () => 1000,
        pollIntervalMs: 1,
      },
      AbortSignal.timeout(5000),
    );
    await expect(run).rejects.toThrow(/istio-pilot exited with code 137/);
  });
});

describe('containerFailure', () => {
  it('counts only restarts since the run first saw the container', () => {
    const crashedYesterday = { ...container('reviews-v1', 'app', 'none', 9080), restartCount: 1 };
    expect(containerFailure(crashedYesterday, 'app', 1)).toBeUndefined();
    expect(containerFailure({ ...crashedYesterday, restartCount: 2 }, 'app', 1)).toBe('is restarting in a loop (2 restarts)');
    expect(containerFailure({ ...crashedYesterday, state: 'restarting' }, 'app', 1)).toMatch(/restarting in a loop/);
  });
});

describe('publishedPorts', () => {
  it("finds an app's published ports on its pod", () => {
    const app = { ...container('productpage-v1', 'app', 'none', 9080), ports: [] };
    const pod = { ...container('productpage-v1-pod', 'app', 'none', 9080), role: 'pod', sidecarFor: 'productpage-v1' };
    expect(publishedPorts('productpage-v1', [app, pod])).toEqual([{ containerPort: 9080, hostIp: '127.0.0.1', hostPort: 49080 }]);
    expect(publishedPorts('details-v1', [app, pod])).toEqual([]);
  });
});

describe("waitForMesh: an app instance is registered at its pod's address", () => {
  it("waits while the registry still lists the address of the pod it replaced", async () => {
    const { settings } = resolveSettings({ env: {}, flags: { istioVersion: '0.8.0', registry: 'consul', bookinfo: true } });
    const model = buildModel(settings);
    const app = { ...container('reviews-v1', 'reviews', 'none', 9080), role: 'app', ports: [], addresses: [], networkMode: 'container:pod' };
    const pod = { ...container('reviews-v1-pod', 'pause', 'none', 9080), id: 'pod', role: 'pod', sidecarFor: 'reviews-v1', addresses: ['10.0.0.9'] };
    let polls = 0;
    const events: ProgressEvent[] = [];
    await waitForMesh(
      { project: 'p', model, version: findIstioVersion('0.8.0')!, document: renderMesh(model).document, services: ['reviews-v1'], gatewayCheck: false, starting: Promise.resolve() },
      {
        engine: { projectContainers: async () => (polls++, [container('consul', 'consul', 'healthy', 8500), pod, app]), containerLogs: async () => '' },
        httpGet: async (url) => {
          if (!url.endsWith('/v1/catalog/service/reviews')) throw new Error(`unexpected ${url}`);
          const address = polls < 4 ? '10.0.0.5' : '10.0.0.9';
          return { status: 200, body: JSON.stringify([{ ServiceTags: ['version|v1'], ServiceAddress: address }]) };
        },
        emit: (event) => events.push(event),
        now: () => 0,
        pollIntervalMs: 1,
      },
      AbortSignal.timeout(5000),
    );
    expect(polls).toBeGreaterThanOrEqual(4);
    const states = events.flatMap((event) => (event.type === 'state' ? [`${event.state}${event.detail ? ` (${event.detail})` : ''}`] : []));
    expect(states).toEqual(['running (waiting for reviews v1 in consul)', 'registered (in consul)', 'ready']);
  });
});
