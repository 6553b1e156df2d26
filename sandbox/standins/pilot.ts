/**
 * STAND-IN for Istio's pilot-discovery (mesh-local sandbox). The real docker.io/istio/pilot images
 * cannot be pulled here. This program keeps the behaviours the stack's ordering and health checks
 * depend on, and serves the Envoy v1 REST discovery API the 0.6-0.8 sidecars polled:
 *
 *  - at start it registers its CustomResourceDefinitions with the API server, and, like the real
 *    pilot, EXITS NON-ZERO when the API server cannot be reached (no retry: Compose restarts it);
 *  - `GET /v1/registration` and `/v1/registration/:serviceKey` (SDS) list what the Consul or Eureka
 *    registry holds, converted the way pilot's 0.x registry adapters convert it;
 *  - `GET /v1/clusters/:cluster/:node` (CDS), `/v1/routes/:route/:cluster/:node` (RDS) and
 *    `/v1/listeners/:cluster/:node` (LDS) answer what pilot 0.8.0's v1 path computed for a sidecar
 *    from the registry's instances and the RouteRules and DestinationPolicies in the API server
 *    (all namespaces); the computation is in pilot-v1.ts. Instances and rules are read again when
 *    older than 500 ms, so a rule change shows in the next answer after that;
 *  - `GET /ready` answers 200 once the CRDs are registered.
 *
 * Not served: gRPC (Envoy v2 xDS), ingress and router nodes, TCP listeners.
 *
 * Command line: upstream's `pilot-discovery discovery ...`, parsed with the flag set of the pilot
 * version the image stands in for (an unknown flag is refused as the real binary refuses it);
 * see optionsFromCommandLine.
 */
import { pathToFileURL } from 'node:url';
import { ISTIO_VERSIONS } from '../../src/model/istio-versions.js';
import { kubeconfigServer } from '../common/kubeconfig.js';
import { HttpError, Router, listen, sendJson, sendText, type RunningServer, standinHandler } from '../common/server.js';
import { runUpstreamProgram, type UpstreamCommandLine } from '../common/upstream-cli.js';
import {
  RouteConfigNameError,
  ServiceNodeError,
  clusters,
  listeners,
  parseProtocol,
  proxyNode,
  readStoredConfigs,
  routes,
  type DestinationPolicyConfig,
  type MeshView,
  type ProxyNode,
  type RouteRuleConfig,
  type ServiceInstance,
} from './pilot-v1.js';

export type RegistryKind = 'consul' | 'eureka';

export interface PilotOptions {
  port: number;
  host?: string;
  kubeApi: string;
  registry: RegistryKind;
  consulUrl?: string;
  eurekaUrl?: string;
  /** CRD names, `<plural>.<group>` with an optional `:<version>`. */
  crds: string[];
  /** Serves /metrics and /version here when set (the real pilot's --monitoringPort). */
  monitoringPort?: number;
  /** Per-request timeout towards the API server and the registry. */
  timeoutMs?: number;
  /**
   * How old the registry's instances and the API server's rules may be when a discovery answer is
   * computed (default 500 ms): a rule change shows within this plus one fetch.
   */
  refreshMs?: number;
}

export interface RunningPilot extends RunningServer {
  monitoringPort?: number;
}

// ---- CRDs -----------------------------------------------------------------------------------

/** API versions pilot 0.x registered per group. */
const GROUP_VERSIONS: Record<string, string> = {
  'config.istio.io': 'v1alpha2',
  'networking.istio.io': 'v1alpha3',
  'authentication.istio.io': 'v1alpha1',
};

/** Kinds whose CamelCase is not derivable from the plural. */
const KINDS: Record<string, string> = {
  routerules: 'RouteRule',
  destinationpolicies: 'DestinationPolicy',
  egressrules: 'EgressRule',
  httpapispecs: 'HTTPAPISpec',
  httpapispecbindings: 'HTTPAPISpecBinding',
  quotaspecs: 'QuotaSpec',
  quotaspecbindings: 'QuotaSpecBinding',
  virtualservices: 'VirtualService',
  destinationrules: 'DestinationRule',
  serviceentries: 'ServiceEntry',
  gateways: 'Gateway',
  policies: 'Policy',
  v1alpha2routerules: 'V1alpha2RouteRule',
  externalservices: 'ExternalService',
  enduserauthenticationpolicyspecs: 'EndUserAuthenticationPolicySpec',
  enduserauthenticationpolicyspecbindings: 'EndUserAuthenticationPolicySpecBinding',
  serviceroles: 'ServiceRole',
  servicerolebindings: 'ServiceRoleBinding',
};

export interface CrdSpec {
  name: string;
  plural: string;
  group: string;
  version: string;
  kind: string;
}

/** Reads one PILOT_CRDS entry; throws with a clear message for one it cannot place. */
export function parseCrdName(entry: string): CrdSpec {
  const [name, explicitVersion] = entry.trim().split(':') as [string, string | undefined];
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+(\.[a-z0-9-]+)+)$/.exec(name);
  if (!match) throw new Error(`CRD name '${entry}' is not <plural>.<group> (like routerules.config.istio.io)`);
  const plural = match[1]!;
  const group = match[2]!;
  const version = explicitVersion || GROUP_VERSIONS[group];
  if (!version) {
    throw new Error(`no known API version for group '${group}' of CRD '${name}'; give it as '${name}:<version>'`);
  }
  const kind = KINDS[plural] ?? camelSingular(plural);
  return { name, plural, group, version, kind };
}

function camelSingular(plural: string): string {
  const singular = plural.endsWith('ies') ? `${plural.slice(0, -3)}y` : plural.endsWith('s') ? plural.slice(0, -1) : plural;
  return singular.charAt(0).toUpperCase() + singular.slice(1);
}

export function crdObject(spec: CrdSpec): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1beta1',
    kind: 'CustomResourceDefinition',
    metadata: { name: spec.name },
    spec: {
      group: spec.group,
      version: spec.version,
      scope: 'Namespaced',
      names: { plural: spec.plural, singular: spec.kind.toLowerCase(), kind: spec.kind },
    },
  };
}

/** Registers every CRD; 201 and 409 both count. Rejects at the first that cannot be registered. */
export async function registerCrds(kubeApi: string, specs: CrdSpec[], timeoutMs = 5000): Promise<void> {
  const url = `${kubeApi.replace(/\/$/, '')}/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions`;
  for (const spec of specs) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(crdObject(spec)),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new Error(
        `cannot reach the API server at ${kubeApi} to register ${spec.name}: ${describe(error)}. ` +
          'The real pilot-discovery exits here too and does not retry; start it again once the API server is up.',
      );
    }
    const text = await response.text();
    if (response.status !== 201 && response.status !== 409) {
      throw new Error(`the API server refused CRD ${spec.name}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
  }
}

// ---- registries -----------------------------------------------------------------------------

export type { ServiceInstance } from './pilot-v1.js';

async function getJson<T>(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new HttpError(503, `registry at ${new URL(url).origin} did not answer: ${describe(error)}`);
  }
  if (!response.ok) throw new HttpError(503, `registry answered ${url} with HTTP ${response.status}`);
  try {
    return (await response.json()) as T;
  } catch {
    throw new HttpError(503, `registry answered ${url} with something that is not JSON`);
  }
}

interface ConsulCatalogEntry {
  ServiceName: string;
  ServiceAddress?: string;
  Address?: string;
  ServicePort: number;
  ServiceTags?: string[] | null;
  NodeMeta?: Record<string, string> | null;
}

/** Labels from `key|value` tags; tags without exactly one `|` are ignored, as pilot's adapter does. */
export function consulLabels(tags: string[] | null | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const tag of tags ?? []) {
    const parts = tag.split('|');
    if (parts.length !== 2) continue;
    labels[parts[0]!] = parts[1]!;
  }
  return labels;
}

/**
 * Pilot's Consul adapter (0.2-0.8): every service from `/v1/catalog/services`, its instances from
 * `/v1/catalog/service/<name>`; the address is ServiceAddress, else the node's; the port name is
 * NodeMeta `protocol`, which registrator never sets, so `http`; the protocol is parsed from the
 * port name, TCP when it names none (consul/conversion.go@0.8.0 convertPort, convertProtocol).
 */
export async function consulInstances(consulUrl: string, timeoutMs: number): Promise<ServiceInstance[]> {
  const base = consulUrl.replace(/\/$/, '');
  const services = await getJson<Record<string, string[]>>(`${base}/v1/catalog/services`, timeoutMs);
  const out: ServiceInstance[] = [];
  for (const name of Object.keys(services).sort()) {
    const entries = await getJson<ConsulCatalogEntry[]>(`${base}/v1/catalog/service/${encodeURIComponent(name)}`, timeoutMs);
    for (const entry of entries) {
      const portName = entry.NodeMeta?.protocol || 'http';
      out.push({
        hostname: `${name}.service.consul`,
        portName,
        protocol: parseProtocol(portName) ?? 'TCP',
        address: entry.ServiceAddress || entry.Address || '',
        port: entry.ServicePort,
        labels: consulLabels(entry.ServiceTags),
      });
    }
  }
  return out;
}

interface EurekaPort {
  $?: number | string;
  '@enabled'?: boolean | string;
}

interface EurekaInstance {
  hostName?: string;
  app?: string;
  ipAddr?: string;
  status?: string;
  port?: EurekaPort;
  securePort?: EurekaPort;
  metadata?: Record<string, string>;
}

/** Eureka's JSON turns a one-element list into the element itself. */
function asList<T>(value: T | T[] | undefined | null): T[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Pilot's Eureka adapter (0.3-0.8): `GET <url>/eureka/v2/apps`; only instances with status UP;
 * hostname = instance hostName; ports `port` and `securePort` where enabled, each named by its
 * number; labels = metadata without `istio.protocol` and `@class`; address = ipAddr; the protocol
 * is metadata `istio.protocol`, TCP when missing or unknown (eureka/conversion.go@0.8.0).
 */
export async function eurekaInstances(eurekaUrl: string, timeoutMs: number): Promise<ServiceInstance[]> {
  const answer = await getJson<{ applications?: { application?: unknown } }>(
    `${eurekaUrl.replace(/\/$/, '')}/eureka/v2/apps`,
    timeoutMs,
  );
  const out: ServiceInstance[] = [];
  for (const application of asList(answer.applications?.application as { instance?: unknown } | undefined)) {
    for (const instance of asList(application.instance as EurekaInstance | EurekaInstance[] | undefined)) {
      if (instance.status !== 'UP' || !instance.hostName || !instance.ipAddr) continue;
      const labels: Record<string, string> = {};
      const protocol = parseProtocol(String(instance.metadata?.['istio.protocol'] ?? '')) ?? 'TCP';
      for (const [key, value] of Object.entries(instance.metadata ?? {})) {
        if (key === 'istio.protocol' || key === '@class') continue;
        labels[key] = String(value);
      }
      for (const port of [instance.port, instance.securePort]) {
        if (!port || String(port['@enabled']) !== 'true') continue;
        const number = Number(port.$);
        if (!Number.isInteger(number) || number <= 0) continue;
        out.push({ hostname: instance.hostName, portName: String(number), address: instance.ipAddr, port: number, labels, protocol });
      }
    }
  }
  return out;
}

// ---- pilot's v1 registration format ---------------------------------------------------------

export interface RegistrationHost {
  ip_address: string;
  port: number;
  tags: Record<string, string>;
}

export interface Registration {
  'service-key': string;
  hosts: RegistrationHost[];
}

/** One entry per service and port name, keyed `<hostname>|<port name>`, as pilot's `/v1/registration`. */
export function toRegistrations(instances: ServiceInstance[]): Registration[] {
  const byKey = new Map<string, RegistrationHost[]>();
  for (const instance of instances) {
    const key = `${instance.hostname}|${instance.portName}`;
    const hosts = byKey.get(key) ?? [];
    hosts.push({ ip_address: instance.address, port: instance.port, tags: { ...instance.labels } });
    byKey.set(key, hosts);
  }
  return [...byKey.keys()].sort().map((key) => ({
    'service-key': key,
    hosts: byKey.get(key)!.sort((a, b) => a.ip_address.localeCompare(b.ip_address) || a.port - b.port),
  }));
}

/**
 * A service key as pilot writes it: `hostname|port names|labels`, port names comma-separated,
 * label sets `;`-separated and each `k=v,k=v`. Missing parts match everything.
 */
export function parseServiceKey(key: string): { hostname: string; ports: string[]; labelSets: Array<Record<string, string>> } {
  const [hostname = '', ports = '', labels = ''] = key.split('|');
  return {
    hostname,
    ports: ports ? ports.split(',') : [],
    labelSets: labels
      ? labels.split(';').map((set) =>
          Object.fromEntries(
            set
              .split(',')
              .filter(Boolean)
              .map((pair) => {
                const index = pair.indexOf('=');
                return index === -1 ? [pair, ''] : [pair.slice(0, index), pair.slice(index + 1)];
              }),
          ),
        )
      : [],
  };
}

// ---- route rules and destination policies from the API server -------------------------------

/** Where pilot's CRD client lists a kind across all namespaces (kube-apiserver REST). */
function configListUrl(kubeApi: string, plural: 'routerules' | 'destinationpolicies'): string {
  return `${kubeApi.replace(/\/$/, '')}/apis/config.istio.io/v1alpha2/${plural}`;
}

async function listConfigItems(kubeApi: string, plural: 'routerules' | 'destinationpolicies', timeoutMs: number): Promise<unknown[]> {
  const url = configListUrl(kubeApi, plural);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new HttpError(503, `the API server at ${kubeApi} did not answer the list of ${plural}: ${describe(error)}`);
  }
  // The CRD is not registered (a version without it): nothing of that kind exists.
  if (response.status === 404) return [];
  if (!response.ok) throw new HttpError(503, `the API server answered the list of ${plural} with HTTP ${response.status}`);
  const body = (await response.json().catch(() => undefined)) as { items?: unknown } | undefined;
  if (!body || !Array.isArray(body.items)) throw new HttpError(503, `the API server's list of ${plural} has no items`);
  return body.items;
}

/**
 * A value fetched on demand and reused while younger than `maxAgeMs` (counted from the start of its
 * fetch, so a change made before a fetch started is in every answer given after it). Concurrent
 * readers share one fetch. A failed fetch keeps serving the last value, as pilot's caches keep
 * their last state; with no value yet it throws.
 */
export class Refreshing<T> {
  private value: { data: T; startedAt: number } | undefined;
  private pending: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly onStale: (error: unknown) => void = () => {},
  ) {}

  get(): Promise<T> {
    if (this.value && Date.now() - this.value.startedAt < this.maxAgeMs) return Promise.resolve(this.value.data);
    this.pending ??= this.refresh().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async refresh(): Promise<T> {
    const startedAt = Date.now();
    try {
      const data = await this.load();
      this.value = { data, startedAt };
      return data;
    } catch (error) {
      if (!this.value) throw error;
      this.onStale(error);
      return this.value.data;
    }
  }
}

// ---- server ---------------------------------------------------------------------------------

type DiscoveryKind = 'cds' | 'rds' | 'lds';

export async function start(options: PilotOptions): Promise<RunningPilot> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const refreshMs = options.refreshMs ?? 500;
  if (options.registry !== 'consul' && options.registry !== 'eureka') {
    throw new Error(`the registry must be consul or eureka, got '${String(options.registry)}'`);
  }
  const specs = options.crds.filter((entry) => entry.trim() !== '').map(parseCrdName);
  if (specs.length === 0) throw new Error('no CRDs to register');

  // Logs a repeated failure once, until it changes.
  const logOnce = (() => {
    const last = new Map<string, string>();
    return (topic: string, message: string) => {
      if (last.get(topic) === message) return;
      last.set(topic, message);
      console.error(`pilot-discovery stand-in: ${message}`);
    };
  })();

  const registry = new Refreshing<ServiceInstance[]>(
    () =>
      options.registry === 'consul'
        ? consulInstances(options.consulUrl ?? 'http://consul:8500', timeoutMs)
        : eurekaInstances(options.eurekaUrl ?? 'http://eureka:8080', timeoutMs),
    refreshMs,
    (error) => logOnce('registry', `serving the last instances read: ${describe(error)}`),
  );

  // Each invalid stored config is logged once per resourceVersion, as it is skipped; only the
  // configs still invalid are remembered, so the set does not grow with every edit.
  let reported = new Set<string>();
  const configs = new Refreshing<{ routeRules: RouteRuleConfig[]; destinationPolicies: DestinationPolicyConfig[] }>(
    async () => {
      const [rules, policies] = await Promise.all([
        listConfigItems(options.kubeApi, 'routerules', timeoutMs),
        listConfigItems(options.kubeApi, 'destinationpolicies', timeoutMs),
      ]);
      const read = readStoredConfigs([...rules, ...policies]);
      const current = new Set<string>();
      for (const problem of read.problems) {
        const key = `${problem.key}@${problem.resourceVersion ?? ''}:${problem.message}`;
        current.add(key);
        if (!reported.has(key)) console.error(`pilot-discovery stand-in: ignoring ${problem.key}: ${problem.message}`);
      }
      reported = current;
      return { routeRules: read.routeRules, destinationPolicies: read.destinationPolicies };
    },
    refreshMs,
    (error) => logOnce('config', `serving the last rules read: ${describe(error)}`),
  );

  const meshView = async (): Promise<MeshView> => {
    const [instances, config] = await Promise.all([registry.get(), configs.get()]);
    return { instances, ...config };
  };

  let ready = false;
  let registrationRequests = 0;
  const discoveryRequests: Record<DiscoveryKind, number> = { cds: 0, rds: 0, lds: 0 };
  const startedAt = Date.now();

  // discovery.go@0.8.0 parseDiscoveryRequest: a node that does not parse is a 404.
  const nodeFor = (kind: DiscoveryKind, raw: string): ProxyNode => {
    discoveryRequests[kind]++;
    try {
      return proxyNode(raw);
    } catch (error) {
      if (error instanceof ServiceNodeError) throw new HttpError(404, `${kind.toUpperCase()} ${error.message}`);
      throw error;
    }
  };

  const router = new Router();
  router.add('GET', '/ready', (_request, response) =>
    ready ? sendText(response, 200, 'ready') : sendText(response, 503, 'registering CRDs'),
  );
  router.add('GET', '/v1/registration', async (_request, response) => {
    registrationRequests++;
    sendJson(response, 200, toRegistrations(await registry.get()));
  });
  router.add('GET', '/v1/registration/:key', async (_request, response, params) => {
    registrationRequests++;
    const wanted = parseServiceKey(params.key!);
    const hosts = (await registry.get())
      .filter((instance) => instance.hostname === wanted.hostname)
      .filter((instance) => wanted.ports.length === 0 || wanted.ports.includes(instance.portName))
      .filter(
        (instance) =>
          wanted.labelSets.length === 0 ||
          wanted.labelSets.some((set) => Object.entries(set).every(([key, value]) => instance.labels[key] === value)),
      );
    sendJson(response, 200, { hosts: toRegistrations(hosts).flatMap((entry) => entry.hosts) });
  });
  // CDS, RDS, LDS: discovery.go@0.8.0 ListClusters, ListRoutes, ListListeners. The service cluster
  // path segment is not used for sidecars, as upstream.
  router.add('GET', '/v1/clusters/:cluster/:node', async (_request, response, params) => {
    const node = nodeFor('cds', params.node!);
    sendJson(response, 200, clusters(await meshView(), node));
  });
  router.add('GET', '/v1/routes/:route/:cluster/:node', async (_request, response, params) => {
    const node = nodeFor('rds', params.node!);
    const view = await meshView();
    try {
      sendJson(response, 200, routes(view, params.route!, node));
    } catch (error) {
      // Upstream answers any BuildRDSRoute error with 503.
      if (error instanceof RouteConfigNameError) throw new HttpError(503, `RDS ${error.message}`);
      throw error;
    }
  });
  router.add('GET', '/v1/listeners/:cluster/:node', async (_request, response, params) => {
    const node = nodeFor('lds', params.node!);
    sendJson(response, 200, listeners(await meshView(), node));
  });

  const handler = standinHandler('pilot-discovery', router);
  // Listen first so /ready can say "not yet" while the CRDs are being registered.
  const discovery = await listen(handler, options.port, options.host);
  try {
    await registerCrds(options.kubeApi, specs, timeoutMs);
  } catch (error) {
    await discovery.close();
    throw error;
  }
  ready = true;

  let monitoring: RunningServer | undefined;
  if (options.monitoringPort !== undefined) {
    const metricsRouter = new Router();
    metricsRouter.add('GET', '/metrics', (_request, response) =>
      sendText(
        response,
        200,
        [
          '# HELP pilot_standin_registration_requests_total Requests to /v1/registration the pilot stand-in answered.',
          '# TYPE pilot_standin_registration_requests_total counter',
          `pilot_standin_registration_requests_total ${registrationRequests}`,
          '# HELP pilot_standin_discovery_requests_total Requests to /v1/clusters (cds), /v1/routes (rds) and /v1/listeners (lds).',
          '# TYPE pilot_standin_discovery_requests_total counter',
          ...(Object.keys(discoveryRequests) as DiscoveryKind[]).map(
            (kind) => `pilot_standin_discovery_requests_total{type="${kind}"} ${discoveryRequests[kind]}`,
          ),
          '# HELP pilot_standin_uptime_seconds Seconds since the pilot stand-in started.',
          '# TYPE pilot_standin_uptime_seconds gauge',
          `pilot_standin_uptime_seconds ${((Date.now() - startedAt) / 1000).toFixed(3)}`,
          '',
        ].join('\n'),
        'text/plain; version=0.0.4; charset=utf-8',
      ),
    );
    metricsRouter.add('GET', '/version', (_request, response) => sendText(response, 200, 'mesh-local pilot-discovery stand-in\n'));
    try {
      monitoring = await listen(
        standinHandler('pilot-discovery', metricsRouter),
        options.monitoringPort,
        options.host,
      );
    } catch (error) {
      await discovery.close();
      throw error;
    }
  }

  return {
    ...discovery,
    monitoringPort: monitoring?.port,
    close: async () => {
      await Promise.all([discovery.close(), monitoring?.close()]);
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/** The path upstream's pilot image runs (its ENTRYPOINT). */
export const PILOT_DISCOVERY = '/usr/local/bin/pilot-discovery';

/**
 * Options from `pilot-discovery discovery ...` as upstream's Compose templates start it: the
 * discovery port (`--port`), the registry (`--registries Consul|Eureka` with its URL flag), the
 * API server from the `--kubeconfig` file, and the CRDs of the Istio version this image stands in
 * for (its reference names it).
 */
export async function optionsFromCommandLine(commandLine: UpstreamCommandLine): Promise<PilotOptions> {
  if (commandLine.subcommand !== 'discovery') {
    throw new Error(`the stand-in runs 'pilot-discovery discovery' only, not '${commandLine.subcommand || '(no subcommand)'}'`);
  }
  const registries = commandLine.list('registries');
  const registry = registries.length === 1 ? ({ Consul: 'consul', Eureka: 'eureka' } as const)[registries[0]!] : undefined;
  if (!registry) throw new Error(`--registries ${registries.join(',') || '(none)'}: the stand-in serves exactly one of Consul or Eureka`);
  const kubeconfig = commandLine.string('kubeconfig');
  if (!kubeconfig) throw new Error('--kubeconfig is required: outside Kubernetes it names the API server');
  const version = ISTIO_VERSIONS.find((entry) => entry.images.pilot === commandLine.reference);
  if (!version) throw new Error(`${commandLine.reference} is not the pilot of a version mesh-local knows`);
  const registryUrl = commandLine.string(registry === 'consul' ? 'consulserverURL' : 'eurekaserverURL');
  if (!registryUrl) throw new Error(`--registries ${registries[0]} needs --${registry === 'consul' ? 'consulserverURL' : 'eurekaserverURL'}`);
  const monitoringPort = commandLine.int('monitoringPort');
  return {
    port: commandLine.int('port')!,
    kubeApi: await kubeconfigServer(kubeconfig),
    registry,
    ...(registry === 'consul' ? { consulUrl: registryUrl } : { eurekaUrl: registryUrl }),
    crds: version.pilot.crds,
    ...(monitoringPort ? { monitoringPort } : {}),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // A start failure (API server unreachable) exits 1, as the real pilot exits non-zero.
  runUpstreamProgram('pilot-discovery stand-in', PILOT_DISCOVERY, async (commandLine) => start(await optionsFromCommandLine(commandLine)));
}
