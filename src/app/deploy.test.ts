import { describe, expect, it } from 'vitest';
import { injectSidecars } from '../compose/inject.js';
import { findIstioVersion } from '../model/istio-versions.js';
import { UsageError } from '../errors.js';
import type { ContainerInfo } from '../runtime/containers.js';
import { appsProjectName, deployedFilePath, enabledServices, meshNames, publishedHostPorts, registerDeployed } from './deploy.js';

type Mapping = Record<string, any>;

function inject(document: Mapping) {
  return injectSidecars(document, 'app.yaml', {
    policy: 'enabled',
    sidecar: { version: findIstioVersion('0.8.0')!, registry: 'consul', images: { pause: 'pause:x', proxyInit: 'init:x', proxy: 'proxy:x' }, tracing: false },
    meshNetwork: 'demo_mesh',
  });
}

describe('registerDeployed', () => {
  const input = {
    services: {
      'hello-v2': { image: 'node:x', labels: { app: 'hello', version: 'v2' }, expose: ['8080'] },
      web: { image: 'org/web:1', ports: ['127.0.0.1::8081'] },
      named: { image: 'x', environment: ['SERVICE_NAME=billing', 'SERVICE_TAGS=version|v9'], expose: ['80'] },
      plain: { image: 'x', labels: { 'sidecar.istio.io/inject': 'false' } },
    },
  };

  it('registers each injected app as BookInfo does: name from SERVICE_NAME, else the app label, else the service; version label, else v1', () => {
    const injected = inject(input);
    const { document, registrations } = registerDeployed(injected.document, injected.injected, 'demo', 'app.yaml');
    expect(registrations).toEqual({
      'hello-v2': { name: 'hello', version: 'v2' },
      web: { name: 'web', version: 'v1' },
      named: { name: 'billing', version: 'v1' },
    });
    const services = document.services as Mapping;
    expect(services['hello-v2-pod'].labels).toMatchObject({ SERVICE_NAME: 'hello', SERVICE_TAGS: 'version|v2', SERVICE_PROTOCOL: 'http', SERVICE_8080_NAME: 'hello' });
    expect(services['web-pod'].labels).toMatchObject({ SERVICE_NAME: 'web', SERVICE_TAGS: 'version|v1', SERVICE_8081_NAME: 'web' });
    // The user's own settings stay theirs (inject copied them into the pod's environment).
    expect(services['named-pod'].environment).toEqual({ SERVICE_NAME: 'billing', SERVICE_TAGS: 'version|v9' });
    expect(services['named-pod'].labels.SERVICE_TAGS).toBeUndefined();
    // Callers dial the registry name; the mesh network is the pod's only one (one instance address).
    expect(services['hello-v2-pod'].networks).toEqual({ 'istio-mesh': { aliases: ['hello-v2', 'hello'] } });
    expect(services['hello-v2'].labels).toMatchObject({ 'dev.mesh-local.role': 'app', 'dev.mesh-local.deployed-into': 'demo' });
    expect(services.plain.labels).toMatchObject({ 'dev.mesh-local.role': 'app', 'sidecar.istio.io/inject': 'false' });
    expect(services['hello-v2-istio-proxy'].labels['dev.mesh-local.role']).toBe('sidecar-proxy');
    expect(registrations.plain).toBeUndefined();
  });

  it("moves a pod from the file's own networks to the mesh network with its aliases, and says so", () => {
    const injected = inject({
      services: { api: { image: 'x', expose: ['80'], networks: { backend: { aliases: ['api.internal'] }, front: null } } },
      networks: { backend: {}, front: {} },
    });
    const { document, notices } = registerDeployed(injected.document, injected.injected, 'demo', 'app.yaml');
    expect((document.services as Mapping)['api-pod'].networks).toEqual({ 'istio-mesh': { aliases: ['api.internal', 'api'] } });
    expect(notices).toEqual([expect.stringMatching(/^app\.yaml: services\.api is on the mesh network instead of backend, front \(its aliases move with it\)/)]);
  });

  it('refuses (exit 2) to take a pod off an external network, naming service and network', () => {
    const injected = inject({ services: { api: { image: 'x', expose: ['80'], networks: ['shared'] } }, networks: { shared: { external: true } } });
    let error: unknown;
    try {
      registerDeployed(injected.document, injected.injected, 'demo', 'app.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/^app\.yaml: services\.api\.networks\.shared: network shared is external/);
  });

  it('puts a service without a sidecar on the mesh network too, unregistered, and says so', () => {
    const injected = inject(input);
    const { document, notices } = registerDeployed(injected.document, injected.injected, 'demo', 'app.yaml');
    const plain = (document.services as Mapping).plain;
    expect(plain.networks).toEqual({ default: null, 'istio-mesh': null });
    expect(plain.labels.SERVICE_IGNORE).toBe('1');
    expect(notices).toEqual([expect.stringMatching(/^app\.yaml: services\.plain runs without a sidecar: it joins the mesh network .* but is not registered/)]);
    // Nothing injected, no mesh network in the file: the service stays where it was.
    const off = registerDeployed({ services: { plain: { image: 'x' } } }, [], 'demo', 'app.yaml');
    expect((off.document.services as Mapping).plain.networks).toBeUndefined();
    expect(off.notices[0]).toMatch(/stays on the file's own networks/);
  });
});

describe('names and ports', () => {
  it('names the apps project after the mesh project and the file, as Compose accepts', () => {
    expect(appsProjectName('demo', '/x/samples/hello/Docker Compose.yaml')).toMatch(/^demo-docker-compose-[0-9a-f]{8}$/);
    // One name per input path: two docker-compose.yaml in different folders are two projects.
    expect(appsProjectName('demo', '/a/docker-compose.yaml')).not.toBe(appsProjectName('demo', '/b/docker-compose.yaml'));
    expect(appsProjectName('demo', '/a/docker-compose.yaml')).toBe(appsProjectName('demo', '/a/docker-compose.yaml'));
    expect(deployedFilePath('/x/app.yaml')).toBe('/x/.mesh-local.app.yaml');
  });

  it('takes the mesh services and the registry names of its apps', () => {
    const container = (service: string, role: string) => ({ service, role }) as ContainerInfo;
    expect([...meshNames([container('istio-pilot', 'control-plane'), container('reviews-v2', 'app'), container('reviews-v2-pod', 'pod')])].sort()).toEqual(
      ['istio-pilot', 'reviews', 'reviews-v2', 'reviews-v2-pod'],
    );
  });

  it('finds fixed host ports in every syntax, and none for any-port bindings', () => {
    expect(
      publishedHostPorts({
        services: {
          a: { ports: ['8080:80', '127.0.0.1:9000-9001:90-91/udp', '127.0.0.1::80', '80', '${P:-1}:2', { target: 80, published: '7000', host_ip: '127.0.0.1' }] },
        },
      }),
    ).toEqual([
      { service: 'a', hostIp: '0.0.0.0', port: 8080 },
      { service: 'a', hostIp: '127.0.0.1', port: 9000 },
      { service: 'a', hostIp: '127.0.0.1', port: 9001 },
      { service: 'a', hostIp: '127.0.0.1', port: 7000 },
    ]);
  });

  it('starts the services Compose starts: no profile, or an active one', () => {
    const document = { services: { a: {}, b: { profiles: ['debug'] }, c: { profiles: ['x'] } } };
    expect(enabledServices(document, {})).toEqual(['a']);
    expect(enabledServices(document, { COMPOSE_PROFILES: 'debug' })).toEqual(['a', 'b']);
  });
});
