import { findIstioVersion, ISTIO_SYSTEM_NAMESPACE, type IstioVersion } from '../model/istio-versions.js';
import type { ImageKey } from '../model/images.js';
import { instanceName, type AppService, type HostPortName, type MeshModel } from '../model/mesh.js';
import { InternalError } from '../errors.js';
import {
  LABELS,
  type ComposeDocument,
  type ComposeHealthcheck,
  type ComposeService,
  type ServiceRole,
} from './compose-spec.js';
import {
  APISERVER_PORT,
  APISERVER_SERVICE,
  CONFIG_INIT_DIR,
  CONFIG_INIT_MOUNT,
  ISTIO_CONFIG_DIR,
  ISTIO_CONFIG_MOUNT,
  KUBECONFIG_PATH,
  MESH_CONFIG_PATH,
  MIXER_SERVICE,
  PROMETHEUS_DIR,
  configInitFiles,
  kubeconfigFile,
  meshConfigFile,
  prometheusConfigFile,
  type RenderedFile,
} from './mesh-files.js';
import { etcdHealthcheck, httpBodyHealthcheck, httpHealthcheck } from './healthchecks.js';
import { DOCKER_API_VIEW_SERVICE, dockerApiViewFile } from './docker-api-view.js';
import { DOCKER_API_NETWORKS, registratorServices } from './registrator.js';
import { PILOT_SERVICE, podAppSettings, podServiceNames, podServices, RESTART_POLICY, ZIPKIN_ADDRESS } from './sidecar.js';

/** The one network every service joins; sidecars share their app's namespace instead. */
export const MESH_NETWORK = 'mesh';
export const CONFIG_INIT_SERVICE = 'istio-config-init';
export const CA_SERVICE = 'istio-ca';
export const ETCD_SERVICE = 'etcd';
export const REGISTRATOR_SERVICE = 'registrator';
const CONSUL_PORT = 8500;
const EUREKA_PORT = 8080;
/**
 * Registrator's `-resync` period. gliderlabs' bridge drops a registration the registry refused
 * and retries it only on a resync (bridge/bridge.go), and the Eureka fork's `Ping()` never waits
 * for Eureka: without it, an app that starts while Eureka's Tomcat is still booting is never
 * registered (all of a stack started by one `compose up`).
 */
export const REGISTRATOR_RESYNC_SECONDS = 5;

export interface RenderResult {
  document: ComposeDocument;
  /** Files the document mounts, relative to its directory; write them before starting it. */
  files: RenderedFile[];
}

/**
 * Pure: the same model always renders the same document and files. Both image sets get the same
 * document but for `image`: every entrypoint, command and healthcheck is upstream's.
 */
export function renderMesh(model: MeshModel): RenderResult {
  const version = findIstioVersion(model.istioVersion);
  if (!version) throw new InternalError(`model names unknown Istio version ${model.istioVersion}`);
  const ctx = new RenderContext(model, version);

  // Order matters only for the reader: Compose starts by depends_on.
  const registryServices = registry(ctx);
  const controlPlaneServices = controlPlane(ctx, registryServices[model.registry]!);
  const services: Record<string, ComposeService> = { ...controlPlaneServices, ...registryServices, ...addons(ctx) };
  for (const app of model.apps) Object.assign(services, appWithSidecar(ctx, app, controlPlaneServices[PILOT_SERVICE]!));

  const files: RenderedFile[] = [kubeconfigFile(), meshConfigFile(model, version), ...configInitFiles(version), dockerApiViewFile()];
  if (model.addons.includes('prometheus')) files.push(prometheusConfigFile(version));

  return {
    document: { services, networks: { [MESH_NETWORK]: {}, ...DOCKER_API_NETWORKS } },
    files,
  };
}

class RenderContext {
  constructor(
    readonly model: MeshModel,
    readonly version: IstioVersion,
  ) {}

  image(key: ImageKey): string {
    const reference = this.model.images[key];
    if (!reference) throw new InternalError(`no image resolved for ${key}`);
    return reference;
  }

  /** `127.0.0.1:9081:9080`: every published port binds to the model's host address; port 0 is
   * rendered as `127.0.0.1::9080`, any free port. */
  publish(name: HostPortName, containerPort: number): string {
    const hostPort = this.model.hostPorts[name] === 0 ? '' : this.model.hostPorts[name];
    return `${this.model.hostAddress}:${hostPort}:${containerPort}`;
  }

  labels(role: ServiceRole, component: string): Record<string, string> {
    return {
      [LABELS.role]: role,
      [LABELS.component]: component,
      [LABELS.istioVersion]: this.version.version,
    };
  }

  /** Infrastructure: joins the mesh network and is hidden from the registrator. */
  infra(role: ServiceRole, component: string, service: ComposeService, aliases: string[] = []): ComposeService {
    return {
      ...service,
      environment: { SERVICE_IGNORE: '1', ...service.environment },
      labels: this.labels(role, component),
      networks: { [MESH_NETWORK]: aliases.length > 0 ? { aliases } : null },
    };
  }

  get tracing(): boolean {
    return this.model.addons.includes('zipkin');
  }
}

/** Only what is set: Compose rejects `healthcheck: null`. */
function withHealthcheck(service: ComposeService, healthcheck: ComposeHealthcheck | undefined): ComposeService {
  return healthcheck ? { ...service, healthcheck } : service;
}

/** Wait for a dependency's health when it has a healthcheck, else only for its start. */
function readyCondition(dependency: ComposeService): 'service_healthy' | 'service_started' {
  return dependency.healthcheck ? 'service_healthy' : 'service_started';
}

function controlPlane(ctx: RenderContext, registryServer: ComposeService): Record<string, ComposeService> {
  const { version, model } = ctx;
  const istioConfigVolume = `./${ISTIO_CONFIG_DIR}:${ISTIO_CONFIG_MOUNT}:ro`;
  const registryUrl =
    model.registry === 'consul'
      ? ['--consulserverURL', `http://consul:${CONSUL_PORT}`]
      : ['--eurekaserverURL', `http://eureka:${EUREKA_PORT}`];
  const mixerListen =
    version.mixer.listenFlag === '--address'
      ? ['--address', `tcp://0.0.0.0:${version.mixer.grpcPort}`]
      : ['--port', String(version.mixer.grpcPort)];

  const etcd = ctx.infra(
    'control-plane',
    'etcd',
    withHealthcheck(
      {
        image: ctx.image('etcd'),
        command: [
          'etcd',
          '--name=etcd0',
          '--data-dir=/var/lib/etcd',
          '--advertise-client-urls=http://etcd:2379',
          '--listen-client-urls=http://0.0.0.0:2379',
        ],
        expose: ['2379'],
      },
      etcdHealthcheck(version, 'http://127.0.0.1:2379'),
    ),
  );
  // Upstream ran this privileged and on a fixed IP; neither is needed once the kubeconfig names
  // the service instead of an address.
  const apiserver = ctx.infra(
    'control-plane',
    'apiserver',
    withHealthcheck(
      {
        image: ctx.image('apiserver'),
        command: [
          'kube-apiserver',
          `--etcd-servers=http://${ETCD_SERVICE}:2379`,
          '--service-cluster-ip-range=10.99.0.0/16',
          `--insecure-port=${APISERVER_PORT}`,
          '--insecure-bind-address=0.0.0.0',
          '-v=2',
        ],
        ports: [ctx.publish('apiserver', APISERVER_PORT)],
        depends_on: { [ETCD_SERVICE]: { condition: readyCondition(etcd) } },
      },
      httpHealthcheck(version, 'apiserver', `http://127.0.0.1:${APISERVER_PORT}/healthz`),
    ),
  );
  return {
    [ETCD_SERVICE]: etcd,
    [APISERVER_SERVICE]: apiserver,
    [CONFIG_INIT_SERVICE]: ctx.infra('job', 'config-init', {
      image: ctx.image('config-init'),
      entrypoint: ['/bin/sh', `${CONFIG_INIT_MOUNT}/bootstrap.sh`],
      volumes: [`./${CONFIG_INIT_DIR}:${CONFIG_INIT_MOUNT}:ro`],
      restart: 'no',
      depends_on: { [APISERVER_SERVICE]: { condition: readyCondition(apiserver) } },
    }),
    // Pilot registers its CRDs at start and exits if the API server is not there yet (it never
    // retries, istio/istio#1383), so it waits for the API server's health, not just its start.
    [PILOT_SERVICE]: ctx.infra(
      'control-plane',
      'pilot',
      withHealthcheck(
        {
          image: ctx.image('pilot'),
          command: [
            'discovery',
            ...(version.pilot.hasVerbosityFlag ? ['-v', '2'] : []),
            '--port',
            String(version.pilot.discoveryPort),
            '--registries',
            model.registry === 'consul' ? 'Consul' : 'Eureka',
            ...registryUrl,
            '--kubeconfig',
            KUBECONFIG_PATH,
            '--meshConfig',
            MESH_CONFIG_PATH,
          ],
          expose: [
            String(version.pilot.discoveryPort),
            ...(version.pilot.grpcPort ? [String(version.pilot.grpcPort)] : []),
            String(version.pilot.monitoringPort),
          ],
          ports: [ctx.publish('pilot', version.pilot.discoveryPort)],
          volumes: [istioConfigVolume],
          depends_on: {
            [APISERVER_SERVICE]: { condition: readyCondition(apiserver) },
            [model.registry]: { condition: readyCondition(registryServer) },
          },
        },
        httpHealthcheck(version, 'pilot', `http://127.0.0.1:${version.pilot.discoveryPort}/v1/registration`),
      ),
      [PILOT_SERVICE],
    ),
    [MIXER_SERVICE]: ctx.infra(
      'control-plane',
      'mixer',
      withHealthcheck(
        {
          image: ctx.image('mixer'),
          // The image's entrypoint is `mixs server`; these replace its default arguments.
          command: [
            ...mixerListen,
            `--configStoreURL=k8s://${KUBECONFIG_PATH}`,
            `--configDefaultNamespace=${ISTIO_SYSTEM_NAMESPACE}`,
            ...(ctx.tracing ? [`${version.mixer.zipkinFlag}=http://${ZIPKIN_ADDRESS}/api/v1/spans`] : []),
          ],
          expose: [
            String(version.mixer.grpcPort),
            String(version.mixer.monitoringPort),
            String(version.mixer.prometheusPort),
          ],
          volumes: [istioConfigVolume],
          depends_on: { [CONFIG_INIT_SERVICE]: { condition: 'service_completed_successfully' } },
        },
        httpHealthcheck(version, 'mixer', `http://127.0.0.1:${version.mixer.monitoringPort}/version`),
      ),
      [MIXER_SERVICE],
    ),
    [CA_SERVICE]: ctx.infra(
      'control-plane',
      'ca',
      {
        image: ctx.image('ca'),
        // The image's entrypoint already passes --self-signed-ca.
        command: [
          `--grpc-port=${version.ca.grpcPort}`,
          `${version.ca.hostnameFlag}=${version.ca.hostnames.join(',')}`,
          `--kube-config=${KUBECONFIG_PATH}`,
          `${version.ca.storageNamespaceFlag}=${ISTIO_SYSTEM_NAMESPACE}`,
          ...version.ca.extraArgs,
        ],
        expose: [String(version.ca.grpcPort)],
        volumes: [istioConfigVolume],
        depends_on: { [CONFIG_INIT_SERVICE]: { condition: 'service_completed_successfully' } },
      },
      [...new Set([CA_SERVICE, ...version.ca.hostnames])],
    ),
  };
}

function registry(ctx: RenderContext): Record<string, ComposeService> {
  const { model, version } = ctx;
  // -cleanup: each sync also drops the registrations of containers that are gone, and (Consul)
  // entries under the registrator's fixed host name that no container stands for any more.
  const registrator = (server: ComposeService, args: string[]): Record<string, ComposeService> => {
    const { registrator, view } = registratorServices(ctx, { registry: model.registry, registryCondition: readyCondition(server), args });
    return { [REGISTRATOR_SERVICE]: registrator, [DOCKER_API_VIEW_SERVICE]: view };
  };

  if (model.registry === 'consul') {
    const consul = ctx.infra(
      'registry',
      'consul',
      withHealthcheck(
        {
          image: ctx.image('consul'),
          command: ['agent', '-server', '-bootstrap', '-client=0.0.0.0', '-ui'],
          ports: [ctx.publish('consul', CONSUL_PORT)],
        },
        // The leader is `"<address>:8300"` once elected, `""` before.
        httpBodyHealthcheck(version, 'consul', `http://127.0.0.1:${CONSUL_PORT}/v1/status/leader`, ':'),
      ),
      ['consul'],
    );
    return {
      consul,
      // -internal registers container IPs and exposed ports: pilot matches a sidecar to its
      // instances by IP, which is why the sidecar shares the app's network namespace.
      ...registrator(consul, [
        '-internal',
        '-retry-attempts=-1',
        `-resync=${REGISTRATOR_RESYNC_SECONDS}`,
        '-cleanup',
        `consul://consul:${CONSUL_PORT}`,
      ]),
    };
  }
  const eureka = ctx.infra(
    'registry',
    'eureka',
    withHealthcheck(
      {
        image: ctx.image('eureka'),
        expose: [String(EUREKA_PORT)],
        ports: [ctx.publish('eureka', EUREKA_PORT)],
      },
      httpHealthcheck(version, 'eureka', `http://127.0.0.1:${EUREKA_PORT}/eureka/v2/apps`),
    ),
    ['eureka'],
  );
  return {
    eureka,
    // The fork's -cleanup drops registrations of vanished containers it knows; its Eureka
    // adapter lists nothing (Services() is a TODO), so Eureka's lease removes what it does not.
    ...registrator(eureka, [
      '-internal',
      '-retry-attempts=-1',
      '-ttl-refresh=30',
      '-ttl=90',
      `-resync=${REGISTRATOR_RESYNC_SECONDS}`,
      '-cleanup',
      `eureka://eureka:${EUREKA_PORT}/eureka/v2`,
    ]),
  };
}

function addons(ctx: RenderContext): Record<string, ComposeService> {
  const { model } = ctx;
  const services: Record<string, ComposeService> = {};
  const afterPrometheus = { prometheus: { condition: 'service_started' as const } };
  if (model.addons.includes('prometheus')) {
    services.prometheus = ctx.infra(
      'addon',
      'prometheus',
      {
        image: ctx.image('prometheus'),
        command: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.retention=6h'],
        volumes: [`./${PROMETHEUS_DIR}:/etc/prometheus:ro`],
        ports: [ctx.publish('prometheus', 9090)],
      },
      ['prometheus'],
    );
  }
  if (model.addons.includes('grafana')) {
    services.grafana = ctx.infra(
      'addon',
      'grafana',
      { image: ctx.image('grafana'), ports: [ctx.publish('grafana', 3000)], depends_on: afterPrometheus },
      ['grafana'],
    );
  }
  if (model.addons.includes('zipkin')) {
    services.zipkin = ctx.infra(
      'addon',
      'zipkin',
      { image: ctx.image('zipkin'), ports: [ctx.publish('zipkin', 9411)] },
      ['zipkin'],
    );
  }
  if (model.addons.includes('servicegraph')) {
    services.servicegraph = ctx.infra(
      'addon',
      'servicegraph',
      {
        image: ctx.image('servicegraph'),
        command: ['--prometheusAddr=http://prometheus:9090'],
        ports: [ctx.publish('servicegraph', 8088)],
        depends_on: afterPrometheus,
      },
      ['servicegraph'],
    );
  }
  return services;
}

/**
 * An app instance in its pod: the pod owns the network (the mesh network with the app's short
 * name as alias, the gateway's published port) and carries the registrator's settings, so the
 * instance is registered under its mesh name with its version at the pod's address.
 */
function appWithSidecar(ctx: RenderContext, app: AppService, pilot: ComposeService): Record<string, ComposeService> {
  const name = instanceName(app);
  const registration: Record<string, string> = {
    // Registrator conventions, read by upstream's registrator images and by mesh-local's own.
    SERVICE_NAME: app.name,
    SERVICE_TAGS: `version|${app.version}`,
    SERVICE_PROTOCOL: 'http',
  };
  // Registrator appends `-<port>` to the name of a container exposing several ports (upstream's
  // reviews image also exposes 9443) unless the port names itself.
  for (const port of app.ports) registration[`SERVICE_${port}_NAME`] = app.name;
  for (const port of app.ignoredPorts ?? []) registration[`SERVICE_${port}_IGNORE`] = '1';
  const pod = podServices(
    {
      service: name,
      ports: app.ports,
      network: {
        environment: registration,
        expose: app.ports.map(String),
        // Callers use short names (`http://reviews:9080`); the alias is shared by every version, so
        // Docker's DNS answers for all of them and host port 53 is never needed for Consul DNS.
        // The instance's own name too, which Compose gave the app before it joined a pod.
        networks: { [MESH_NETWORK]: { aliases: [app.name, name] } },
        ...(app.gateway ? { ports: [ctx.publish('gateway', app.ports[0] ?? 9080)] } : {}),
      },
    },
    {
      version: ctx.version,
      registry: ctx.model.registry,
      images: { pause: ctx.image('pause'), proxyInit: ctx.image('proxy-init'), proxy: ctx.image('proxy') },
      tracing: ctx.tracing,
      pilotCondition: readyCondition(pilot),
    },
  );
  const join = podAppSettings(name, pod[podServiceNames(name).proxy]!);
  const service: ComposeService = {
    image: app.image,
    environment: { ...app.environment },
    labels: {
      ...ctx.labels('app', app.name),
      [LABELS.app]: app.name,
      [LABELS.appVersion]: app.version,
      ...join.labels,
    },
    network_mode: join.network_mode,
    restart: RESTART_POLICY,
    depends_on: join.depends_on,
  };
  return { ...pod, [name]: service };
}
