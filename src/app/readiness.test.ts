import { describe, expect, it } from 'vitest';
import { renderMesh } from '../compose/render.js';
import { findIstioVersion } from '../model/istio-versions.js';
import { buildModel, resolveSettings } from '../model/settings.js';
import type { ProgressEvent } from '../output/events.js';
import type { ContainerInfo } from '../runtime/containers.js';
import { waitForMesh, type HttpGet } from './readiness.js';

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
