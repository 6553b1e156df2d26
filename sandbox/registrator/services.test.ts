import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { containerIp, imageBaseName, labelsFromTags, parseTags, planServices, serviceMetadata, type ContainerInspect, type ServicePlan } from './services.js';

function fixture(name: string): ContainerInspect {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as ContainerInspect;
}

/** A fixture with some fields replaced, for the cases Compose files rarely produce. */
function variant(name: string, change: (container: ContainerInspect) => void): ContainerInspect {
  const container = fixture(name);
  change(container);
  return container;
}

const HOST = 'a1b2c3d4e5f6';

function services(plan: ServicePlan) {
  if (!plan.register) throw new Error(`expected services, got skip: ${plan.reason}`);
  return plan.services;
}

describe('planServices on docker inspect fixtures', () => {
  it('details-v1: one service "details" at its mesh IP and exposed port, tagged version|v1', () => {
    const container = fixture('consul-details-v1');
    expect(services(planServices(container, { hostname: HOST }))).toEqual([
      {
        id: `${HOST}:consul-details-v1-1:9080`,
        name: 'details',
        ip: '172.28.0.5',
        port: 9080,
        tags: ['version|v1'],
        labels: { version: 'v1' },
        protocol: 'http',
        attrs: { protocol: 'http', version: 'v1' },
        containerId: container.Id,
        containerName: 'consul-details-v1-1',
      },
    ]);
  });

  it('reviews-v2: SERVICE_9443_IGNORE drops 9443 and SERVICE_9080_NAME keeps the name free of a -9080 suffix', () => {
    const plan = planServices(fixture('consul-reviews-v2'), { hostname: HOST });
    const [service, ...others] = services(plan);
    expect(others).toEqual([]);
    expect(service).toMatchObject({ name: 'reviews', port: 9080, ip: '172.28.0.8', tags: ['version|v2'], labels: { version: 'v2' } });
    expect(plan.register && plan.ignored).toEqual([{ port: '9443/tcp', reason: 'SERVICE_9443_IGNORE is set' }]);
  });

  it('reviews-v2 without SERVICE_9080_NAME gets registrator\'s group suffix, reviews-9080', () => {
    const container = variant('consul-reviews-v2', (c) => {
      c.Config.Env = (c.Config.Env ?? []).filter((entry) => !entry.startsWith('SERVICE_9080_NAME='));
    });
    expect(services(planServices(container, { hostname: HOST })).map((s) => s.name)).toEqual(['reviews-9080']);
  });

  it('zipkin: no SERVICE_ settings, two ports: image base name with a -<port> suffix each', () => {
    const plan = planServices(fixture('consul-zipkin'), { hostname: HOST });
    expect(services(plan).map((s) => [s.name, s.port, s.ip, s.id])).toEqual([
      ['zipkin-9410', 9410, '172.28.0.4', `${HOST}:consul-zipkin-1:9410`],
      ['zipkin-9411', 9411, '172.28.0.4', `${HOST}:consul-zipkin-1:9411`],
    ]);
    expect(services(plan)[0]).toMatchObject({ tags: [], labels: {}, protocol: 'http', attrs: {} });
  });

  it('etcd: SERVICE_IGNORE skips the whole container', () => {
    expect(planServices(fixture('consul-etcd'), { hostname: HOST })).toEqual({ register: false, reason: 'SERVICE_IGNORE is set' });
  });

  it('a sidecar sharing the app\'s network namespace is skipped, even without SERVICE_IGNORE and with ports', () => {
    const container = variant('consul-details-v1-istio-proxy', (c) => {
      c.Config.Env = [];
      c.Config.ExposedPorts = { '15000/tcp': {} };
    });
    const plan = planServices(container, { hostname: HOST });
    expect(plan.register).toBe(false);
    expect(!plan.register && plan.reason).toMatch(/^shares the network namespace of 6a72f14eceb7/);
  });

  it('the registrator itself exposes nothing and is skipped', () => {
    expect(planServices(fixture('consul-registrator'), { hostname: HOST })).toEqual({ register: false, reason: 'no exposed ports' });
  });

  it('eureka productpage-v1: the IP on the project default network, the exposed (not the published) port', () => {
    expect(services(planServices(fixture('eureka-productpage-v1'), { hostname: HOST }))).toEqual([
      expect.objectContaining({ name: 'productpage', ip: '172.18.0.7', port: 9080, labels: { version: 'v1' }, protocol: 'http' }),
    ]);
  });

  it('a stopped container is skipped', () => {
    const container = variant('consul-details-v1', (c) => {
      c.State = { Running: false, Status: 'exited' };
    });
    expect(planServices(container, { hostname: HOST })).toEqual({ register: false, reason: 'not running (exited)' });
  });

  it('a container with no IP of its own (host network) is skipped', () => {
    const container = variant('consul-details-v1', (c) => {
      c.HostConfig = { NetworkMode: 'host' };
      c.NetworkSettings = { IPAddress: '', Networks: { host: { IPAddress: '' } } };
    });
    expect(planServices(container, { hostname: HOST })).toEqual({ register: false, reason: 'has no IP address of its own (network mode host)' });
  });

  it('explicit mode registers only containers that name their service', () => {
    expect(planServices(fixture('consul-zipkin'), { hostname: HOST, explicit: true }).register).toBe(false);
    expect(planServices(fixture('consul-details-v1'), { hostname: HOST, explicit: true }).register).toBe(true);
  });

  it('adds forced tags after the container\'s own', () => {
    const [service] = services(planServices(fixture('consul-details-v1'), { hostname: HOST, forceTags: ['mesh-local'] }));
    expect(service?.tags).toEqual(['version|v1', 'mesh-local']);
  });

  it('SERVICE_ID replaces the generated ID; SERVICE_<port>_TAGS replaces SERVICE_TAGS for that port', () => {
    const container = variant('consul-details-v1', (c) => {
      c.Config.Env = [...(c.Config.Env ?? []), 'SERVICE_ID=details-custom', 'SERVICE_9080_TAGS=version|v9,canary'];
    });
    const [service] = services(planServices(container, { hostname: HOST }));
    expect(service).toMatchObject({ id: 'details-custom', tags: ['version|v9', 'canary'], labels: { version: 'v9' } });
  });

  it('env settings win over labels, and labels count when env is silent', () => {
    const container = variant('consul-details-v1', (c) => {
      c.Config.Labels = { ...c.Config.Labels, SERVICE_NAME: 'from-label', SERVICE_PROTOCOL: 'grpc' };
      c.Config.Env = (c.Config.Env ?? []).filter((entry) => !entry.startsWith('SERVICE_PROTOCOL='));
    });
    const [service] = services(planServices(container, { hostname: HOST }));
    expect(service).toMatchObject({ name: 'details', protocol: 'grpc' });
  });

  it('a UDP port is reported as ignored, not registered', () => {
    const container = variant('consul-details-v1', (c) => {
      c.Config.ExposedPorts = { '9080/tcp': {}, '53/udp': {} };
      c.Config.Env = [...(c.Config.Env ?? []), 'SERVICE_9080_NAME=details'];
    });
    const plan = planServices(container, { hostname: HOST });
    expect(services(plan).map((s) => s.port)).toEqual([9080]);
    expect(plan.register && plan.ignored).toEqual([{ port: '53/udp', reason: 'only TCP ports are registered' }]);
  });
});

describe('helpers', () => {
  it('imageBaseName strips registry, repository path, tag and digest', () => {
    expect(imageBaseName('docker.io/istio/examples-bookinfo-details-v1:1.5.0')).toBe('examples-bookinfo-details-v1');
    expect(imageBaseName('localhost:5000/team/app')).toBe('app');
    expect(imageBaseName('redis')).toBe('redis');
    expect(imageBaseName('quay.io/coreos/etcd@sha256:0123abcd')).toBe('etcd');
  });

  it('parseTags splits on unescaped commas', () => {
    expect(parseTags('version|v1')).toEqual(['version|v1']);
    expect(parseTags('version|v1, canary ,,')).toEqual(['version|v1', 'canary']);
    expect(parseTags('a\\,b,c')).toEqual(['a,b', 'c']);
    expect(parseTags('')).toEqual([]);
  });

  it('labelsFromTags reads key|value tags only', () => {
    expect(labelsFromTags(['version|v1', 'canary', '|x', 'env|prod|eu'])).toEqual({ version: 'v1', env: 'prod|eu' });
  });

  it('serviceMetadata lower-cases keys and keeps port settings to their port', () => {
    const container = variant('consul-reviews-v2', () => undefined);
    expect(serviceMetadata(container, 9443).values).toMatchObject({ name: 'reviews', ignore: '1' });
    expect(serviceMetadata(container, 9080).values).not.toHaveProperty('ignore');
    expect(serviceMetadata(container, undefined).values).toEqual({ name: 'reviews', tags: 'version|v2', protocol: 'http' });
  });

  it('containerIp prefers the network named by the network mode', () => {
    const container = variant('consul-details-v1', (c) => {
      c.NetworkSettings = {
        IPAddress: '172.17.0.9',
        Networks: { a_other: { IPAddress: '10.1.0.2' }, consul_istiomesh: { IPAddress: '172.28.0.5' } },
      };
    });
    expect(containerIp(container)).toBe('172.28.0.5');
    container.HostConfig = { NetworkMode: 'default' };
    expect(containerIp(container)).toBe('172.17.0.9');
    container.NetworkSettings = { IPAddress: '', Networks: { b: { IPAddress: '10.2.0.2' }, a: { IPAddress: '10.1.0.2' } } };
    expect(containerIp(container)).toBe('10.1.0.2');
  });
});
