import { describe, expect, it } from 'vitest';
import { toYaml } from '../common/yaml-file.js';
import { ISTIO_VERSIONS } from '../model/istio-versions.js';
import { REGISTRIES } from '../model/mesh.js';
import { buildModel, resolveSettings, type FlagValues } from '../model/settings.js';
import { LABELS } from './compose-spec.js';
import { renderMesh } from './render.js';

const render = (flags: FlagValues = {}) => renderMesh(buildModel(resolveSettings({ env: {}, flags }).settings));

describe('renderMesh snapshots', () => {
  for (const version of ISTIO_VERSIONS) {
    for (const registry of REGISTRIES) {
      for (const bookinfo of [false, true]) {
        it(`${registry} ${version.version}${bookinfo ? ' with BookInfo' : ''}`, () => {
          const { document, files } = render({ registry, istioVersion: version.version, bookinfo });
          expect(toYaml(document)).toMatchSnapshot();
          expect(Object.fromEntries(files.map((file) => [file.path, file.content]))).toMatchSnapshot();
        });
      }
    }
  }
});

// test/upstream-fidelity.test.ts compares every sandbox document with its upstream document.
describe('renderMesh with the sandbox image set', () => {
  it('uses only locally built mesh-local/* images, of the version where upstream has one per version', () => {
    for (const istioVersion of ['0.8.0', '0.6.0']) {
      const { services } = render({ istioVersion, bookinfo: true, imageSet: 'sandbox', addons: 'prometheus' }).document;
      for (const service of Object.values(services)) expect(service.image).toMatch(/^mesh-local\/[a-z0-9-]+:(\d+\.\d+\.\d+-)?sandbox$/);
      expect(services['istio-pilot']!.image).toBe(`mesh-local/pilot-standin:${istioVersion}-sandbox`);
      expect(services.etcd!.image).toBe('mesh-local/etcd:sandbox');
    }
  });

  it("runs upstream's command lines: the stand-ins read them as the real binaries do", () => {
    const { services } = render({ registry: 'eureka', bookinfo: true, imageSet: 'sandbox' }).document;
    expect(services['istio-pilot']!.command).toEqual([
      'discovery', '--port', '15007', '--registries', 'Eureka', '--eurekaserverURL', 'http://eureka:8080',
      '--kubeconfig', '/etc/istio/config/kubeconfig', '--meshConfig', '/etc/istio/config/mesh',
    ]);
    expect(services['istio-pilot']!.environment).toEqual({ SERVICE_IGNORE: '1' });
    expect(services.registrator!.command).toEqual(['-internal', '-retry-attempts=-1', '-ttl-refresh=30', '-ttl=90', '-resync=5', '-cleanup', 'eureka://eureka:8080/eureka/v2']);
    expect(services['details-v1-istio-proxy']!.entrypoint).toEqual(['/usr/local/bin/pilot-agent']);
  });

  it('leaves out the addons no reachable source ships, with a warning', () => {
    const { settings, warnings } = resolveSettings({ env: {}, flags: { imageSet: 'sandbox', addons: 'prometheus,grafana,zipkin' } });
    expect(settings.addons).toEqual(['prometheus']);
    expect(warnings[0]).toContain('the sandbox image set has no grafana, zipkin');
  });
});

describe('renderMesh', () => {
  it('is pure: the same model renders the same output', () => {
    const flags = { bookinfo: true, addons: 'prometheus,zipkin' };
    expect(render(flags)).toEqual(render(flags));
  });

  it('renders no privileged container, NET_ADMIN only on init steps, no other capability', () => {
    const { services } = render({ bookinfo: true, addons: 'prometheus,grafana,zipkin,servicegraph' }).document;
    for (const [name, service] of Object.entries(services)) {
      expect(service).not.toHaveProperty('privileged');
      const isInit = service.labels?.[LABELS.role] === 'sidecar-init';
      expect(service.cap_add ?? [], name).toEqual(isInit ? ['NET_ADMIN'] : []);
    }
  });

  it('binds every published port to 127.0.0.1 unless told otherwise', () => {
    const all = { bookinfo: true, addons: 'prometheus,grafana,zipkin,servicegraph' };
    const published = (flags: FlagValues) =>
      Object.values(render(flags).document.services).flatMap((service) => service.ports ?? []);
    expect(published(all)).toHaveLength(8);
    for (const port of published(all)) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    for (const port of published({ ...all, hostAddress: '0.0.0.0' })) expect(port).toMatch(/^0\.0\.0\.0:/);
  });

  it('publishes the gateway on 127.0.0.1:9081 on the productpage pod and honours --port', () => {
    expect(render({ bookinfo: true }).document.services['productpage-v1-pod']!.ports).toEqual(['127.0.0.1:9081:9080']);
    expect(render({ bookinfo: true, port: ['gateway=19081'] }).document.services['productpage-v1-pod']!.ports).toEqual([
      '127.0.0.1:19081:9080',
    ]);
  });

  it('renders port 0 as any free host port, still bound to the host address', () => {
    expect(render({ bookinfo: true, port: ['gateway=0'] }).document.services['productpage-v1-pod']!.ports).toEqual(['127.0.0.1::9080']);
  });

  it("mounts the Docker socket read-only, and only into the registrator's Docker API view", () => {
    const { services } = render({ bookinfo: true }).document;
    const withSocket = Object.entries(services).filter(([, service]) =>
      service.volumes?.some((volume) => volume.includes('docker.sock')),
    );
    expect(withSocket.map(([name, service]) => [name, service.volumes?.filter((volume) => volume.includes('docker.sock'))])).toEqual([
      ['registrator-docker-api', ['/var/run/docker.sock:/var/run/docker.sock:ro']],
    ]);
  });

  it('starts pilot only after the API server is healthy, and Mixer and the CA after config-init', () => {
    const { services } = render().document;
    expect(services['istio-pilot']!.depends_on).toEqual({
      'istio-apiserver': { condition: 'service_healthy' },
      consul: { condition: 'service_healthy' },
    });
    expect(services['istio-apiserver']!.depends_on).toEqual({ etcd: { condition: 'service_healthy' } });
    expect(services['istio-apiserver']!.healthcheck?.test.join(' ')).toContain('/healthz');
    for (const name of ['istio-mixer', 'istio-ca']) {
      expect(services[name]!.depends_on).toEqual({ 'istio-config-init': { condition: 'service_completed_successfully' } });
    }
  });

  it('puts each app in a pod: pod, then init, then proxy (after a healthy pilot), then the app', () => {
    const { services } = render({ bookinfo: true }).document;
    const pod = services['reviews-v2-pod']!;
    const proxy = services['reviews-v2-istio-proxy']!;
    const init = services['reviews-v2-istio-init']!;
    const app = services['reviews-v2']!;
    expect(pod.image).toBe('registry.k8s.io/pause:3.1');
    for (const member of [init, proxy, app]) expect(member.network_mode).toBe('service:reviews-v2-pod');
    expect(init.depends_on).toEqual({ 'reviews-v2-pod': { condition: 'service_started' } });
    expect(proxy.depends_on).toEqual({
      'reviews-v2-istio-init': { condition: 'service_completed_successfully' },
      'istio-pilot': { condition: 'service_healthy' },
    });
    expect(app.depends_on).toEqual({
      'reviews-v2-pod': { condition: 'service_started' },
      'reviews-v2-istio-init': { condition: 'service_completed_successfully' },
      'reviews-v2-istio-proxy': { condition: 'service_healthy' },
    });
    expect(proxy.user).toBe('1337');
    expect(init.restart).toBe('no');
    for (const member of [pod, proxy, app]) expect(member.restart).toBe('unless-stopped');
    // Only NET_ADMIN, and only for the init step.
    expect(init.cap_add).toEqual(['NET_ADMIN']);
    for (const member of [pod, proxy, app]) expect(member.cap_add).toBeUndefined();
  });

  it('gives the pod the network (aliases, published ports) and the registration; the app keeps its environment', () => {
    const { services } = render({ bookinfo: true, addons: 'zipkin' }).document;
    expect(services['reviews-v3-pod']!.environment).toEqual({
      SERVICE_NAME: 'reviews',
      SERVICE_9080_NAME: 'reviews',
      SERVICE_TAGS: 'version|v3',
      SERVICE_PROTOCOL: 'http',
      SERVICE_9443_IGNORE: '1',
    });
    expect(services['reviews-v3-pod']!.networks).toEqual({ mesh: { aliases: ['reviews', 'reviews-v3'] } });
    expect(services['reviews-v3-pod']!.expose).toEqual(['9080']);
    expect(services['reviews-v3']!.environment).toEqual({ SERVICE_VERSION: 'v3', STAR_COLOR: 'red', ENABLE_RATINGS: 'true' });
    expect(services['productpage-v1-pod']!.ports).toEqual(['127.0.0.1:9081:9080']);
    for (const key of ['networks', 'ports', 'expose'] as const) expect(services['productpage-v1']![key]).toBeUndefined();
  });

  it('keeps everything but the pods out of the registry', () => {
    const { services } = render({ bookinfo: true, addons: 'zipkin' }).document;
    for (const [name, service] of Object.entries(services)) {
      if (service.labels?.[LABELS.role] === 'pod') continue;
      const ignored = service.environment?.SERVICE_IGNORE ?? service.labels?.SERVICE_IGNORE;
      expect(ignored, name).toBe('1');
    }
  });

  it('renders Eureka with the registrator fork and Eureka flags on pilot and sidecars', () => {
    const { services } = render({ registry: 'eureka', bookinfo: true }).document;
    expect(services.consul).toBeUndefined();
    expect(services.eureka!.ports).toEqual(['127.0.0.1:8082:8080']);
    expect(services.registrator!.image).toBe('docker.io/ijsnellf/registrator:v7');
    expect(services.registrator!.command).toContain('eureka://eureka:8080/eureka/v2');
    expect(services['istio-pilot']!.command).toEqual(expect.arrayContaining(['Eureka', '--eurekaserverURL', 'http://eureka:8080']));
    expect(services['details-v1-istio-proxy']!.command).toEqual(expect.arrayContaining(['--serviceregistry', 'Eureka']));
  });

  it('adds addons on request, wiring tracing only when zipkin is there', () => {
    const bare = render({ bookinfo: true });
    expect(Object.keys(bare.document.services).filter((name) => ['prometheus', 'grafana', 'zipkin', 'servicegraph'].includes(name))).toEqual([]);
    expect(bare.document.services['details-v1-istio-proxy']!.command).not.toContain('--zipkinAddress');

    const full = render({ bookinfo: true, addons: 'servicegraph,zipkin,grafana' });
    expect(full.document.services.grafana!.depends_on).toEqual({ prometheus: { condition: 'service_started' } });
    expect(full.document.services['details-v1-istio-proxy']!.command).toEqual(expect.arrayContaining(['--zipkinAddress', 'zipkin:9411']));
    expect(full.files.map((file) => file.path)).toContain('mesh-files/prometheus/prometheus.yml');
    expect(full.document.services.prometheus!.volumes).toEqual(['./mesh-files/prometheus:/etc/prometheus:ro']);
  });

  it('writes the config-init job that creates the CA namespace and Mixer CRDs, idempotently', () => {
    const { files } = render();
    const script = files.find((file) => file.path === 'mesh-files/config-init/bootstrap.sh')!;
    expect(script.mode).toBe(0o755);
    expect(script.content).toContain('201|409)');
    expect(files.find((file) => file.path === 'mesh-files/config-init/namespace.yaml')!.content).toContain('name: "istio-system"');
    const rules = files.find((file) => file.path === 'mesh-files/config-init/crds/rules.config.istio.io.yaml')!;
    expect(rules.content).toContain('kind: "rule"');
  });
});
