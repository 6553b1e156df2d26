/**
 * The computation behind the pilot STAND-IN's Envoy v1 REST discovery (mesh-local sandbox): from
 * the registry's service instances, the RouteRules and DestinationPolicies stored in the API server
 * and the asking sidecar's service node, the clusters (CDS), route configs (RDS) and listeners (LDS)
 * pilot-discovery 0.8.0 served its sidecars on the v1 path. Pure functions; pilot.ts fetches and
 * serves.
 *
 * Sources, istio/istio @0.8.0 (each fact below names its function):
 * - pilot/pkg/proxy/envoy/v1/config.go: buildSidecarListenersClusters, buildOutboundHTTPRoutes,
 *   buildDestinationHTTPRoutes, buildInboundListeners, buildHTTPListener, BuildRDSRoute
 * - pilot/pkg/proxy/envoy/v1/route.go: BuildHTTPRoute, BuildInboundRoute, BuildDefaultRoute,
 *   BuildInboundCluster, BuildOutboundCluster, BuildVirtualHost, sharedHost, TruncateClusterName
 * - pilot/pkg/proxy/envoy/v1/{header.go, fault.go, policy.go}: match, fault filters, cluster policy
 * - pilot/pkg/proxy/envoy/v1/resources.go: JSON field names and order, Normalize, CatchAll
 * - pilot/pkg/model/config.go: SortRouteRules, RouteRules, RouteRulesByDestination, MatchSource,
 *   Policy; service.go: ServiceKey, Labels.String, ParseProtocol; context.go: ParseServiceNode,
 *   DefaultMeshConfig
 *
 * What the stand-in does differently, on purpose (each also noted where it happens):
 * - HTTP ports only (HTTP, HTTP2, GRPC): TCP/HTTPS/Mongo/Redis listeners are not built.
 * - No `cors` HTTP filter on listeners (upstream puts one with an empty type before the router), no
 *   Mixer filters (the default mesh config has no Mixer servers), no auth, no egress rules.
 * - The registry's service address `0.0.0.0` (both adapters set it) is not added to the virtual
 *   host domains: every service would share `0.0.0.0:<port>` and Envoy refuses duplicate domains.
 *   Upstream's v1alpha3 builder skips it the same way (httproute.go@0.8.0, UnspecifiedIP).
 * - A `uri` regex match becomes the route's `regex` (upstream v1 put it in a header named `uri`,
 *   which no request carries, so such a rule never matched).
 * - CDS always lists every service port's all-instances cluster `out.<host>|<port>`, even when a
 *   catch-all rule leaves no route pointing at it, so a rule deletion never makes RDS name a
 *   cluster the sidecar has not been told about yet.
 * - Hostnames match exactly (no `*` wildcards in rule destinations).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { RuleValidationError } from '../../src/errors.js';
import {
  parseRuleDocuments,
  resolveHostname,
  type DestinationPolicySpec,
  type IstioService,
  type MatchCondition,
  type RouteRuleSpec,
  type RuleMetadata,
} from '../../src/model/route-rules.js';
import {
  INBOUND_CLUSTER_PREFIX,
  OUTBOUND_CLUSTER_PREFIX,
  RDS_NAME,
  REFRESH_DELAY_MS,
  VIRTUAL_LISTENER_NAME,
  parseServiceNode,
  type Cluster,
  type FaultFilterConfig,
  type Header,
  type HttpConnectionManagerConfig,
  type HttpFilter,
  type HttpRoute,
  type HttpRouteConfig,
  type Listener,
  type VirtualHost,
} from '../common/envoy-v1.js';

// ---- mesh defaults ---------------------------------------------------------------------------

/** model.DefaultMeshConfig (context.go@0.8.0): the mesh config pilot uses when given none. */
const MESH = {
  proxyListenPort: 15001,
  connectTimeoutMs: 1000,
  /** RdsRefreshDelay 1s; the same one second as the sidecar's polling. */
  rdsRefreshDelayMs: REFRESH_DELAY_MS,
  enableTracing: true,
  accessLogFile: '/dev/stdout',
} as const;

/** resources.go@0.8.0 `MaxClusterNameLength`. */
const MAX_CLUSTER_NAME_LENGTH = 189;
/** route.go@0.8.0 BuildHTTPRoute: "the safest retry policies as per envoy docs". */
const RETRY_ON = '5xx,connect-failure,refused-stream';
/** resources.go@0.8.0 `WildcardAddress`, `LocalhostAddress`. */
const WILDCARD_ADDRESS = '0.0.0.0';
const LOCALHOST_ADDRESS = '127.0.0.1';
/** route.go@0.8.0 BuildOutboundCluster / MakeHTTP2. */
const HTTP2_MAX_CONCURRENT_STREAMS = 1073741824;
/** config.go@0.8.0 BuildRDSRoute: the route config name that combines every port (RDSAll). */
export const RDS_ALL = 'http_proxy';

// ---- inputs ----------------------------------------------------------------------------------

/** model.Protocol names (service.go@0.8.0). */
export type Protocol = 'HTTP' | 'HTTP2' | 'GRPC' | 'HTTPS' | 'TCP' | 'UDP' | 'Mongo' | 'Redis';

/** model.ParseProtocol (service.go@0.8.0): case-insensitive; undefined for an unsupported name. */
export function parseProtocol(name: string): Protocol | undefined {
  const known: Record<string, Protocol> = {
    tcp: 'TCP', udp: 'UDP', grpc: 'GRPC', http: 'HTTP', http2: 'HTTP2', https: 'HTTPS', mongo: 'Mongo', redis: 'Redis',
  };
  return known[name.toLowerCase()];
}

const HTTP_PROTOCOLS: ReadonlySet<Protocol> = new Set(['HTTP', 'HTTP2', 'GRPC']);

/** One endpoint of a service, as pilot's Consul or Eureka adapter reports it. */
export interface ServiceInstance {
  /** The service hostname: `<name>.service.consul` (Consul) or the instance hostName (Eureka). */
  hostname: string;
  /** Consul: `http` (NodeMeta protocol, unset); Eureka: the port number. */
  portName: string;
  address: string;
  port: number;
  labels: Record<string, string>;
  /** The port's protocol; HTTP when not given. */
  protocol?: Protocol;
}

/** A stored RouteRule or DestinationPolicy, validated. */
export interface RouteRuleConfig {
  metadata: RuleMetadata;
  spec: RouteRuleSpec;
}
export interface DestinationPolicyConfig {
  metadata: RuleMetadata;
  spec: DestinationPolicySpec;
}

/** Everything the discovery answers are computed from. */
export interface MeshView {
  instances: readonly ServiceInstance[];
  routeRules: readonly RouteRuleConfig[];
  destinationPolicies: readonly DestinationPolicyConfig[];
}

export interface StoredConfigProblem {
  /** `<namespace>/<name>` */
  key: string;
  resourceVersion?: string;
  message: string;
}

/**
 * Reads the items of an API server list (`GET /apis/config.istio.io/v1alpha2/routerules` or
 * `/destinationpolicies`) with mesh-local's rule validation (src/model/route-rules.ts). An item that
 * does not validate is left out and reported in `problems`: the real pilot logs and ignores a
 * config its validation refuses (pilot/pkg/config/kube/crd/controller.go@0.8.0).
 */
export function readStoredConfigs(items: readonly unknown[]): {
  routeRules: RouteRuleConfig[];
  destinationPolicies: DestinationPolicyConfig[];
  problems: StoredConfigProblem[];
} {
  const routeRules: RouteRuleConfig[] = [];
  const destinationPolicies: DestinationPolicyConfig[] = [];
  const problems: StoredConfigProblem[] = [];
  for (const item of items) {
    const metadata = (typeof item === 'object' && item !== null ? (item as { metadata?: unknown }).metadata : undefined) as
      | { name?: unknown; namespace?: unknown; resourceVersion?: unknown }
      | undefined;
    const key = `${String(metadata?.namespace ?? '')}/${String(metadata?.name ?? '?')}`;
    const resourceVersion = typeof metadata?.resourceVersion === 'string' ? metadata.resourceVersion : undefined;
    try {
      for (const doc of parseRuleDocuments([item], key)) {
        const config = { metadata: doc.metadata, spec: doc.spec };
        if (doc.kind === 'RouteRule') routeRules.push(config as RouteRuleConfig);
        else destinationPolicies.push(config as DestinationPolicyConfig);
      }
    } catch (error) {
      const message = error instanceof RuleValidationError || error instanceof Error ? error.message : String(error);
      problems.push({ key, ...(resourceVersion ? { resourceVersion } : {}), message });
    }
  }
  return { routeRules, destinationPolicies, problems };
}

// ---- the service node ------------------------------------------------------------------------

export interface ProxyNode {
  type: 'sidecar';
  ip: string;
  id: string;
  domain: string;
}

/** The node cannot be served; upstream answers 404 then (discovery.go@0.8.0 parseDiscoveryRequest). */
export class ServiceNodeError extends Error {}

/**
 * model.ParseServiceNode (context.go@0.8.0): four `~`-separated parts, a known type, and for a
 * sidecar a valid IP. The stand-in serves sidecars only (no ingress or router nodes).
 */
export function proxyNode(node: string): ProxyNode {
  let parts: ReturnType<typeof parseServiceNode>;
  try {
    parts = parseServiceNode(node);
  } catch {
    throw new ServiceNodeError(`unexpected service node: missing parts in the service node "${node}"`);
  }
  if (!['sidecar', 'ingress', 'router'].includes(parts.type)) {
    throw new ServiceNodeError(`unexpected service node: invalid node type (valid types: ingress, sidecar, router) in the service node "${node}"`);
  }
  if (parts.type !== 'sidecar') {
    throw new ServiceNodeError(`the pilot stand-in serves sidecar nodes only, not ${parts.type} ("${node}")`);
  }
  if (isIP(parts.ip) === 0) throw new ServiceNodeError(`unexpected service node: invalid IP address "${parts.ip}" in the service node "${node}"`);
  return { type: 'sidecar', ip: parts.ip, id: parts.id, domain: parts.domain };
}

// ---- services, keys, names -------------------------------------------------------------------

interface MeshPort {
  name: string;
  port: number;
  protocol: Protocol;
}
interface MeshService {
  hostname: string;
  ports: MeshPort[];
}

function protocolOf(instance: ServiceInstance): Protocol {
  return instance.protocol ?? 'HTTP';
}

/**
 * Services from instances, sorted by hostname (buildSidecarListenersClusters sorts them). One port
 * per port number, the first seen (the adapters warn and keep one on a conflict); ports sorted by
 * number for a stable answer.
 */
function meshServices(instances: readonly ServiceInstance[]): MeshService[] {
  const byHost = new Map<string, Map<number, MeshPort>>();
  for (const instance of instances) {
    const ports = byHost.get(instance.hostname) ?? new Map<number, MeshPort>();
    if (!ports.has(instance.port)) ports.set(instance.port, { name: instance.portName, port: instance.port, protocol: protocolOf(instance) });
    byHost.set(instance.hostname, ports);
  }
  return [...byHost.keys()]
    .sort()
    .map((hostname) => ({ hostname, ports: [...byHost.get(hostname)!.values()].sort((a, b) => a.port - b.port) }));
}

/** The node's own instances: those at its IP (the Consul and Eureka GetProxyServiceInstances). */
function proxyInstances(instances: readonly ServiceInstance[], node: ProxyNode): ServiceInstance[] {
  return instances
    .filter((instance) => instance.address === node.ip)
    .sort((a, b) => a.port - b.port || a.hostname.localeCompare(b.hostname));
}

type Labels = Readonly<Record<string, string>>;

function hasLabels(labels: Labels | undefined): labels is Labels {
  return labels !== undefined && Object.keys(labels).length > 0;
}

/** Labels.String (service.go@0.8.0): `k=v` (or `k` for an empty value), sorted, comma-joined. */
export function labelsString(labels: Labels): string {
  return Object.entries(labels)
    .map(([key, value]) => (value.length > 0 ? `${key}=${value}` : key))
    .sort()
    .join(',');
}

/**
 * Service.Key / ServiceKey (service.go@0.8.0) for one port: `hostname|port name|labels`, the labels
 * part only when there are labels, the port part dropped when its name is empty and there are none.
 * An empty label map counts as none here (Go's nil/empty distinction is not kept).
 */
export function serviceKey(hostname: string, portName: string, labels?: Labels): string {
  if (!hasLabels(labels)) return portName === '' ? hostname : `${hostname}|${portName}`;
  return `${hostname}|${portName}|${labelsString(labels)}`;
}

/** TruncateClusterName (config.go@0.8.0): names over 189 characters end in their SHA-1 instead. */
export function truncateClusterName(name: string): string {
  if (name.length <= MAX_CLUSTER_NAME_LENGTH) return name;
  const digest = createHash('sha1').update(name).digest('hex');
  return name.slice(0, MAX_CLUSTER_NAME_LENGTH - digest.length) + digest;
}

/** Our Cluster plus what pilot keeps beside it (route.go Cluster's unexported fields). */
interface BuiltCluster {
  cluster: PilotCluster;
  /** Outbound in-mesh: destination policies apply. */
  outbound: boolean;
  hostname: string;
  labels?: Labels;
}

/** Upstream's cluster JSON carries `http2_settings` for HTTP2/GRPC ports (beyond envoy-v1.ts). */
export type PilotCluster = Cluster & { http2_settings?: { max_concurrent_streams: number } };

/** BuildOutboundCluster (route.go@0.8.0), in-mesh: type sds, named `out.<service key>`. */
function outboundCluster(hostname: string, port: MeshPort, labels?: Labels): BuiltCluster {
  const key = serviceKey(hostname, port.name, labels);
  const cluster: PilotCluster = {
    name: truncateClusterName(OUTBOUND_CLUSTER_PREFIX + key),
    service_name: key,
    // ApplyClusterPolicy sets every cluster's connect timeout to the mesh's.
    connect_timeout_ms: MESH.connectTimeoutMs,
    type: 'sds',
    lb_type: 'round_robin',
  };
  if (port.protocol === 'HTTP2' || port.protocol === 'GRPC') cluster.http2_settings = { max_concurrent_streams: HTTP2_MAX_CONCURRENT_STREAMS };
  return { cluster, outbound: true, hostname, ...(hasLabels(labels) ? { labels } : {}) };
}

/** BuildInboundCluster (route.go@0.8.0): `in.<port>`, static, to the app on 127.0.0.1. */
function inboundCluster(port: number, protocol: Protocol): BuiltCluster {
  const cluster: PilotCluster = {
    name: `${INBOUND_CLUSTER_PREFIX}${port}`,
    connect_timeout_ms: MESH.connectTimeoutMs,
    type: 'static',
    lb_type: 'round_robin',
    hosts: [{ url: `tcp://${LOCALHOST_ADDRESS}:${port}` }],
  };
  if (protocol === 'HTTP2' || protocol === 'GRPC') cluster.http2_settings = { max_concurrent_streams: HTTP2_MAX_CONCURRENT_STREAMS };
  return { cluster, outbound: false, hostname: '' };
}

// ---- rules: selection and order --------------------------------------------------------------

/** The hostname a reference resolves to; undefined when it can be no Consul or Eureka host. */
function hostOf(svc: IstioService, metadata: RuleMetadata): string | undefined {
  return resolveHostname(svc, metadata);
}

function subsetOf(selector: Labels | undefined, labels: Labels): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}

/** MatchSource (model/config.go@0.8.0): no source matches; else one of the node's instances must. */
function matchSource(metadata: RuleMetadata, source: IstioService | undefined, instances: readonly ServiceInstance[]): boolean {
  if (!source) return true;
  const host = hostOf(source, metadata);
  return instances.some((instance) => instance.hostname === host && subsetOf(source.labels, instance.labels));
}

/** Config.Key() without the type, which is the same for all configs sorted together. */
function configKey(metadata: RuleMetadata): string {
  return `${metadata.namespace ?? ''}/${metadata.name}`;
}

/** SortRouteRules (model/config.go@0.8.0): higher precedence first, then by key. */
export function sortRouteRules<T extends RouteRuleConfig>(rules: readonly T[]): T[] {
  return [...rules].sort((a, b) => {
    const pa = a.spec.precedence ?? 0;
    const pb = b.spec.precedence ?? 0;
    if (pa !== pb) return pb - pa;
    const ka = configKey(a.metadata);
    const kb = configKey(b.metadata);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** RouteRules (model/config.go@0.8.0): rules for this destination whose source matches the node. */
function rulesFor(view: MeshView, destination: string, instances: readonly ServiceInstance[]): RouteRuleConfig[] {
  return sortRouteRules(
    view.routeRules.filter(
      (rule) => hostOf(rule.spec.destination, rule.metadata) === destination && matchSource(rule.metadata, rule.spec.match?.source, instances),
    ),
  );
}

/** RouteRulesByDestination (model/config.go@0.8.0): rules for any of the node's own services. */
function rulesForInstances(view: MeshView, instances: readonly ServiceInstance[]): RouteRuleConfig[] {
  const hosts = new Set(instances.map((instance) => instance.hostname));
  return sortRouteRules(
    view.routeRules.filter((rule) => {
      const host = hostOf(rule.spec.destination, rule.metadata);
      return host !== undefined && hosts.has(host);
    }),
  );
}

// ---- routes ----------------------------------------------------------------------------------

/** Upstream's route JSON has these fields beyond envoy-v1.ts (resources.go@0.8.0 HTTPRoute). */
export type PilotHttpRoute = HttpRoute & {
  path_redirect?: string;
  host_redirect?: string;
  use_websocket?: boolean;
  shadow?: { cluster: string };
  cors?: {
    enabled?: boolean;
    allow_credentials?: boolean;
    allow_methods?: string;
    allow_headers?: string;
    expose_headers?: string;
    /** Go writes it as a JSON string (`json:"max_age,string"`). */
    max_age?: string;
    allow_origin?: string[];
  };
};

interface BuiltRoute {
  route: PilotHttpRoute;
  /** Every cluster the route may send to (route.Clusters). */
  clusters: BuiltCluster[];
  /** Fault filters for the listener, one per faulted upstream cluster (route.faults). */
  faults: HttpFilter[];
}

/** Go's regexp.QuoteMeta. */
function quoteMeta(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** Headers.Less (resources.go@0.8.0): by name, regex before exact for one name, then by value. */
function compareHeaders(a: Header, b: Header): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (Boolean(a.regex) !== Boolean(b.regex)) return a.regex ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

interface RouteMatch {
  path?: string;
  prefix?: string;
  regex?: string;
  headers?: Header[];
}

/**
 * buildHTTPRouteMatch + buildHeader (header.go@0.8.0). `uri`: exact -> path, prefix -> prefix,
 * regex -> the route's `regex` (upstream: a header named `uri`, see the file comment).
 * `authority`, `scheme`, `method` become Envoy's `:authority`, `:scheme`, `:method`. Header exact
 * -> value; prefix -> regex `^<quoted prefix>.*`; regex -> regex.
 */
export function routeMatch(match: MatchCondition | undefined): RouteMatch {
  let path = '';
  let prefix = '/';
  let regex = '';
  const headers: Header[] = [];
  for (const [name, value] of Object.entries(match?.request?.headers ?? {})) {
    if (name === 'uri') {
      if ('exact' in value) {
        path = value.exact;
        prefix = '';
      } else if ('prefix' in value) {
        path = '';
        prefix = value.prefix;
      } else {
        path = '';
        prefix = '';
        regex = value.regex;
      }
      continue;
    }
    const envoyName = name === 'authority' || name === 'scheme' || name === 'method' ? `:${name}` : name;
    if ('exact' in value) headers.push({ name: envoyName, value: value.exact });
    else if ('prefix' in value) headers.push({ name: envoyName, value: `^${quoteMeta(value.prefix)}.*`, regex: true });
    else headers.push({ name: envoyName, value: value.regex, regex: true });
  }
  headers.sort(compareHeaders);
  return {
    ...(path ? { path } : {}),
    ...(prefix ? { prefix } : {}),
    ...(regex ? { regex } : {}),
    ...(headers.length > 0 ? { headers } : {}),
  };
}

/** HTTPRoute.CatchAll (resources.go@0.8.0): no headers, no path, prefix `/`. */
function catchAll(route: HttpRoute): boolean {
  return (route.headers ?? []).length === 0 && !route.path && !route.regex && route.prefix === '/';
}

/** Writes a route's fields in upstream's JSON order (resources.go HTTPRoute), dropping empty ones. */
function orderedRoute(route: PilotHttpRoute): PilotHttpRoute {
  const order: Array<keyof PilotHttpRoute> = [
    'path', 'prefix', 'regex', 'prefix_rewrite', 'host_rewrite', 'path_redirect', 'host_redirect', 'cluster',
    'weighted_clusters', 'headers', 'timeout_ms', 'retry_policy', 'use_websocket', 'shadow', 'request_headers_to_add',
    'cors', 'decorator',
  ];
  const out: Record<string, unknown> = {};
  for (const key of order) {
    const value = route[key];
    if (key === 'timeout_ms') out[key] = value ?? 0; // not omitempty upstream
    else if (value !== undefined && value !== '' && value !== false) out[key] = value;
  }
  return out as unknown as PilotHttpRoute;
}

/** buildHTTPFaultFilter + buildAbortConfig + buildDelayConfig (fault.go@0.8.0). */
export function faultFilter(cluster: string, fault: RouteRuleSpec['httpFault'], headers: Header[] | undefined): HttpFilter | undefined {
  if (!fault) return undefined;
  // Percentages are truncated to integers (int(percent)); a zero percent or status means no fault.
  const abortPercent = Math.trunc(fault.abort?.percent ?? 0);
  const abort =
    fault.abort && fault.abort.httpStatus && fault.abort.percent
      ? { ...(abortPercent ? { abort_percent: abortPercent } : {}), http_status: fault.abort.httpStatus }
      : undefined;
  const delayPercent = Math.trunc(fault.delay?.percent ?? 0);
  const delay =
    fault.delay && fault.delay.percent
      ? {
          type: 'fixed' as const,
          ...(delayPercent ? { fixed_delay_percent: delayPercent } : {}),
          ...(fault.delay.fixedDelay.ms ? { fixed_duration_ms: fault.delay.fixedDelay.ms } : {}),
        }
      : undefined;
  if (!abort && !delay) return undefined;
  const config: FaultFilterConfig = {
    ...(abort ? { abort } : {}),
    ...(delay ? { delay } : {}),
    ...(headers && headers.length > 0 ? { headers } : {}),
    upstream_cluster: cluster,
  };
  return { type: 'decoder', name: 'fault', config };
}

/** BuildHTTPRoute (route.go@0.8.0) for an outbound route of `service` on `port`. */
function outboundRoute(rule: RouteRuleConfig, hostname: string, port: MeshPort): BuiltRoute {
  const { spec, metadata } = rule;
  const route: PilotHttpRoute = { ...routeMatch(spec.match), timeout_ms: 0 };
  const clusters: BuiltCluster[] = [];

  const timeoutMs = spec.httpReqTimeout?.simpleTimeout?.timeout.ms ?? 0;
  if (timeoutMs > 0) route.timeout_ms = timeoutMs;

  const retry = spec.httpReqRetries?.simpleRetry;
  if (retry && (retry.attempts ?? 0) > 0) {
    route.retry_policy = {
      retry_on: RETRY_ON,
      num_retries: retry.attempts!,
      ...(retry.perTryTimeout.ms > 0 ? { per_try_timeout_ms: retry.perTryTimeout.ms } : {}),
    };
  }

  if (spec.route && spec.route.length > 0) {
    const entries = spec.route.map((destinationWeight) => {
      // A route naming another destination resolves it; one that cannot resolve keeps the rule's.
      const target = destinationWeight.destination ? (hostOf(destinationWeight.destination, metadata) ?? '') : hostname;
      const built = outboundCluster(target, port, destinationWeight.labels);
      clusters.push(built);
      return { name: built.cluster.name, weight: destinationWeight.weight ?? 0 };
    });
    // One destination: a plain cluster instead of a one-entry weighted_clusters.
    if (entries.length === 1) route.cluster = entries[0]!.name;
    else route.weighted_clusters = { clusters: entries };
  } else {
    const built = outboundCluster(hostname, port);
    clusters.push(built);
    route.cluster = built.cluster.name;
  }

  if (spec.redirect) {
    if (spec.redirect.authority) route.host_redirect = spec.redirect.authority;
    if (spec.redirect.uri) route.path_redirect = spec.redirect.uri;
    delete route.cluster;
  }
  if (spec.rewrite) {
    if (spec.rewrite.authority) route.host_rewrite = spec.rewrite.authority;
    if (spec.rewrite.uri) route.prefix_rewrite = spec.rewrite.uri;
  }

  const faults: HttpFilter[] = [];
  if (spec.httpFault) {
    for (const built of clusters) {
      const filter = faultFilter(built.cluster.name, spec.httpFault, route.headers);
      if (filter) faults.push(filter);
    }
  }

  if (spec.mirror) {
    const mirror = outboundCluster(hostOf(spec.mirror, metadata) ?? '', port, spec.mirror.labels);
    clusters.push(mirror);
    route.shadow = { cluster: mirror.cluster.name };
  }

  // Go iterates the map in random order; sorted here for a stable answer.
  const appended = Object.entries(spec.appendHeaders ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (appended.length > 0) route.request_headers_to_add = appended.map(([key, value]) => ({ key, value }));

  if (spec.corsPolicy) {
    const cors = spec.corsPolicy;
    route.cors = {
      enabled: true,
      ...(cors.allowCredentials ? { allow_credentials: true } : {}),
      ...(cors.allowMethods?.length ? { allow_methods: cors.allowMethods.join(',') } : {}),
      ...(cors.allowHeaders?.length ? { allow_headers: cors.allowHeaders.join(',') } : {}),
      ...(cors.exposeHeaders?.length ? { expose_headers: cors.exposeHeaders.join(',') } : {}),
      ...(cors.maxAge && cors.maxAge.ms >= 1000 ? { max_age: String(Math.floor(cors.maxAge.ms / 1000)) } : {}),
      ...(cors.allowOrigin?.length ? { allow_origin: cors.allowOrigin } : {}),
    };
  }
  if (spec.websocketUpgrade) route.use_websocket = true;
  route.decorator = { operation: metadata.name };

  return { route: orderedRoute(route), clusters, faults };
}

/** BuildDefaultRoute (route.go@0.8.0): prefix `/` to all instances, operation `default-route`. */
function defaultRoute(cluster: BuiltCluster): BuiltRoute {
  return {
    route: orderedRoute({ prefix: '/', cluster: cluster.cluster.name, timeout_ms: 0, decorator: { operation: 'default-route' } }),
    clusters: [cluster],
    faults: [],
  };
}

/**
 * buildDestinationHTTPRoutes (config.go@0.8.0): the node's rules for the destination in order; a
 * catch-all rule ends the list (and no default route follows it); else the default route comes last.
 */
function destinationRoutes(view: MeshView, service: MeshService, port: MeshPort, instances: readonly ServiceInstance[]): BuiltRoute[] {
  const routes: BuiltRoute[] = [];
  for (const rule of rulesFor(view, service.hostname, instances)) {
    const built = outboundRoute(rule, service.hostname, port);
    routes.push(built);
    if (catchAll(built.route)) return routes;
  }
  routes.push(defaultRoute(outboundCluster(service.hostname, port)));
  return routes;
}

/** sharedHost (route.go@0.8.0): the longest common suffix of domain label lists. */
function sharedSuffix(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i <= a.length && i <= b.length; i++) {
    if (a[a.length - i] !== b[b.length - i]) break;
    out.unshift(a[a.length - i]!);
  }
  return out;
}

/**
 * The domains of a service's virtual host, BuildVirtualHost (route.go@0.8.0): the hostname without
 * the suffix it shares with the node's domain, then that name with each shared label added back;
 * each as `<name>:<port>` and `<name>`. Consul (node domain `service.consul`): `reviews:9080`,
 * `reviews`, `reviews.service:9080`, `reviews.service`, `reviews.service.consul:9080`,
 * `reviews.service.consul`. Eureka (node domain empty, hostname `reviews`): `reviews:9080`,
 * `reviews`. The service address (`0.0.0.0` from both adapters) is left out, see the file comment.
 */
export function virtualHostDomains(hostname: string, port: number, nodeDomain: string): string[] {
  const parts = hostname.split('.');
  const shared = sharedSuffix(nodeDomain.split('.'), parts);
  const hosts: string[] = [];
  let host = parts.slice(0, parts.length - shared.length).join('.');
  if (host.length > 0) hosts.push(host);
  for (const part of shared) {
    host = host.length > 0 ? `${host}.${part}` : part;
    hosts.push(host);
  }
  return hosts.flatMap((name) => [`${name}:${port}`, name]);
}

interface BuiltVirtualHost {
  host: VirtualHost;
  routes: BuiltRoute[];
}

/** buildOutboundHTTPRoutes (config.go@0.8.0): virtual hosts per port, sorted by name (Normalize). */
function outboundHttpRoutes(view: MeshView, node: ProxyNode): Map<number, BuiltVirtualHost[]> {
  const instances = proxyInstances(view.instances, node);
  const byPort = new Map<number, BuiltVirtualHost[]>();
  for (const service of meshServices(view.instances)) {
    for (const port of service.ports) {
      if (!HTTP_PROTOCOLS.has(port.protocol)) continue; // TCP and the rest: not built by the stand-in
      const routes = destinationRoutes(view, service, port, instances);
      const host: VirtualHost = {
        name: serviceKey(service.hostname, port.name),
        domains: virtualHostDomains(service.hostname, port.port, node.domain),
        routes: routes.map((built) => built.route),
      };
      byPort.set(port.port, [...(byPort.get(port.port) ?? []), { host, routes }]);
    }
  }
  for (const hosts of byPort.values()) hosts.sort((a, b) => (a.host.name < b.host.name ? -1 : a.host.name > b.host.name ? 1 : 0));
  return byPort;
}

// ---- RDS -------------------------------------------------------------------------------------

/** The route config name is neither a port nor `http_proxy`; upstream answers 503 then. */
export class RouteConfigNameError extends Error {}

/**
 * RDS, BuildRDSRoute (config.go@0.8.0) for a sidecar: the route config of outbound port
 * `routeConfigName` (`"9080"`), one virtual host per service with that port. A port no service has
 * gives an empty config. `http_proxy` combines all ports (HTTPRouteConfigs.Combine).
 */
export function routes(view: MeshView, routeConfigName: string, node: ProxyNode): HttpRouteConfig {
  const byPort = outboundHttpRoutes(view, node);
  if (routeConfigName === RDS_ALL) {
    const hosts: VirtualHost[] = [];
    for (const [port, built] of byPort) {
      for (const { host } of built) {
        const domains = host.domains.filter((domain) => port === 80 || domain.includes(':'));
        if (domains.length > 0) hosts.push({ ...host, domains });
      }
    }
    hosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { validate_clusters: true, virtual_hosts: hosts };
  }
  // strconv.Atoi
  if (!/^[+-]?\d+$/.test(routeConfigName)) {
    throw new RouteConfigNameError(`strconv.Atoi: parsing ${JSON.stringify(routeConfigName)}: invalid syntax`);
  }
  const port = Number(routeConfigName);
  return { validate_clusters: true, virtual_hosts: (byPort.get(port) ?? []).map(({ host }) => host) };
}

// ---- CDS -------------------------------------------------------------------------------------

/** Clusters.Normalize (resources.go@0.8.0): the first of each name, sorted by name. */
function normalizeClusters(clusters: readonly BuiltCluster[]): BuiltCluster[] {
  const seen = new Map<string, BuiltCluster>();
  for (const built of clusters) if (!seen.has(built.cluster.name)) seen.set(built.cluster.name, built);
  return [...seen.values()].sort((a, b) => (a.cluster.name < b.cluster.name ? -1 : a.cluster.name > b.cluster.name ? 1 : 0));
}

function labelsEqual(a: Labels | undefined, b: Labels | undefined): boolean {
  return subsetOf(a, b ?? {}) && subsetOf(b, a ?? {});
}

/**
 * Policy (model/config.go@0.8.0): the destination policy for a cluster: its source matches the
 * node, its destination resolves to the cluster's hostname, its destination labels EQUAL the
 * cluster's labels; of several, the smallest key.
 */
function policyFor(view: MeshView, hostname: string, labels: Labels | undefined, instances: readonly ServiceInstance[]): DestinationPolicyConfig | undefined {
  let found: DestinationPolicyConfig | undefined;
  for (const policy of view.destinationPolicies) {
    if (!matchSource(policy.metadata, policy.spec.source, instances)) continue;
    if (hostOf(policy.spec.destination, policy.metadata) !== hostname) continue;
    if (!labelsEqual(labels, policy.spec.destination.labels)) continue;
    if (!found || configKey(found.metadata) > configKey(policy.metadata)) found = policy;
  }
  return found;
}

/** Whole seconds of a duration are what upstream tests (`SleepWindow.Seconds > 0`). */
function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** ApplyClusterPolicy (policy.go@0.8.0), the destination-policy part, for an outbound cluster. */
function applyPolicy(cluster: PilotCluster, policy: DestinationPolicyConfig): PilotCluster {
  const out: PilotCluster = { ...cluster };
  const lb = policy.spec.loadBalancing?.name;
  if (lb === 'ROUND_ROBIN') out.lb_type = 'round_robin';
  else if (lb === 'LEAST_CONN') out.lb_type = 'least_request';
  else if (lb === 'RANDOM') out.lb_type = 'random';

  const cb = policy.spec.circuitBreaker?.simpleCb;
  if (cb) {
    if (cb.httpMaxRequestsPerConnection) out.max_requests_per_connection = cb.httpMaxRequestsPerConnection;
    const limits: NonNullable<Cluster['circuit_breakers']>['default'] = {};
    if ((cb.maxConnections ?? 0) > 0) limits.max_connections = cb.maxConnections;
    if ((cb.httpMaxPendingRequests ?? 0) > 0) limits.max_pending_requests = cb.httpMaxPendingRequests;
    if ((cb.httpMaxRequests ?? 0) > 0) limits.max_requests = cb.httpMaxRequests;
    if ((cb.httpMaxRetries ?? 0) > 0) limits.max_retries = cb.httpMaxRetries;
    out.circuit_breakers = { default: limits };
    const outlier: NonNullable<Cluster['outlier_detection']> = {};
    if ((cb.httpConsecutiveErrors ?? 0) > 0) outlier.consecutive_5xx = cb.httpConsecutiveErrors;
    if (wholeSeconds(cb.httpDetectionInterval.ms) > 0) outlier.interval_ms = cb.httpDetectionInterval.ms;
    if (wholeSeconds(cb.sleepWindow.ms) > 0) outlier.base_ejection_time_ms = cb.sleepWindow.ms;
    // Upstream defaults the ejection limit to 10 %.
    outlier.max_ejection_percent = (cb.httpMaxEjectionPercent ?? 0) > 0 ? cb.httpMaxEjectionPercent : 10;
    out.outlier_detection = outlier;
  }
  return orderedCluster(out);
}

/** Upstream's JSON order of a cluster (resources.go Cluster). */
function orderedCluster(cluster: PilotCluster): PilotCluster {
  const order: Array<keyof PilotCluster> = [
    'name', 'service_name', 'connect_timeout_ms', 'type', 'lb_type', 'max_requests_per_connection', 'hosts',
    'http2_settings', 'circuit_breakers', 'outlier_detection',
  ];
  const out: Record<string, unknown> = {};
  for (const key of order) if (cluster[key] !== undefined) out[key] = cluster[key];
  return out as unknown as PilotCluster;
}

/**
 * CDS, buildClusters (config.go@0.8.0) for a sidecar: `in.<port>` (static, 127.0.0.1) for each of
 * the node's own instances, and `out.<service key>` (sds) for every cluster an outbound route
 * names, plus every service port's all-instances cluster; destination policies applied
 * (ApplyClusterPolicy). Sorted by name.
 */
export function clusters(view: MeshView, node: ProxyNode): { clusters: PilotCluster[] } {
  const instances = proxyInstances(view.instances, node);
  const all: BuiltCluster[] = [];
  for (const instance of instances) {
    if (HTTP_PROTOCOLS.has(protocolOf(instance))) all.push(inboundCluster(instance.port, protocolOf(instance)));
  }
  for (const service of meshServices(view.instances)) {
    for (const port of service.ports) if (HTTP_PROTOCOLS.has(port.protocol)) all.push(outboundCluster(service.hostname, port));
  }
  for (const hosts of outboundHttpRoutes(view, node).values()) {
    for (const { routes: built } of hosts) for (const route of built) all.push(...route.clusters);
  }
  return {
    clusters: normalizeClusters(all).map((built) => {
      if (!built.outbound) return built.cluster;
      const policy = policyFor(view, built.hostname, built.labels, instances);
      return policy ? applyPolicy(built.cluster, policy) : built.cluster;
    }),
  };
}

// ---- LDS -------------------------------------------------------------------------------------

/** Upstream's connection manager JSON also carries `tracing` (beyond envoy-v1.ts). */
export type PilotHttpConnectionManagerConfig = HttpConnectionManagerConfig & { tracing?: { operation_name: 'egress' | 'ingress' } };

/**
 * buildHTTPListener (config.go@0.8.0): the fault filters of the route config, then the router;
 * codec auto, stat prefix `http`, request ids and tracing (EnableTracing), the access log; routes
 * inline or from RDS. (Upstream also puts an empty `cors` filter first; the stand-in does not.)
 */
function httpListener(options: {
  ip: string;
  port: number;
  faults: HttpFilter[];
  direction: 'egress' | 'ingress';
  rds?: string;
  routeConfig?: HttpRouteConfig;
}): Listener {
  const config: PilotHttpConnectionManagerConfig = {
    codec_type: 'auto',
    stat_prefix: 'http',
    ...(MESH.enableTracing ? { generate_request_id: true, tracing: { operation_name: options.direction } } : {}),
    ...(options.rds !== undefined
      ? { rds: { cluster: RDS_NAME, route_config_name: options.rds, refresh_delay_ms: MESH.rdsRefreshDelayMs } }
      : { route_config: options.routeConfig! }),
    filters: [...options.faults, { type: 'decoder', name: 'router', config: {} }],
    access_log: [{ path: MESH.accessLogFile }],
  };
  return {
    address: `tcp://${options.ip}:${options.port}`,
    name: `http_${options.ip}_${options.port}`,
    filters: [{ type: 'read', name: 'http_connection_manager', config }],
    // buildSidecarListenersClusters: only the virtual listener binds; the rest take redirected connections.
    bind_to_port: false,
  };
}

/** BuildInboundRoute (route.go@0.8.0): the rule's match, to the local app. */
function inboundRoute(rule: RouteRuleConfig, cluster: string): PilotHttpRoute {
  const route: PilotHttpRoute = { ...routeMatch(rule.spec.match), cluster, timeout_ms: 0 };
  if (rule.spec.websocketUpgrade) route.use_websocket = true;
  if (rule.spec.rewrite?.uri) {
    // "overwrite the computed prefix with the rewritten prefix, for this is what we expect from remote envoys"
    route.prefix = rule.spec.rewrite.uri;
    delete route.path;
    delete route.regex;
  }
  if (!rule.spec.websocketUpgrade) route.decorator = { operation: rule.metadata.name };
  return orderedRoute(route);
}

/**
 * LDS, buildSidecarListenersClusters (config.go@0.8.0) for a sidecar, sorted by address with the
 * first of each address kept (Listeners.normalize):
 * - `virtual`, `tcp://0.0.0.0:15001`: binds the port iptables redirects to, use_original_dst;
 * - `http_0.0.0.0_<port>` per outbound HTTP port: routes from RDS (`route_config_name` = the port),
 *   one `fault` filter per faulted upstream cluster of that port's routes, then `router`;
 * - `http_<node ip>_<port>` per own instance: inline routes, virtual host `inbound|<port>` on `*`,
 *   the rules for the node's services (their matches) then the default route, all to `in.<port>`.
 */
export function listeners(view: MeshView, node: ProxyNode): { listeners: Listener[] } {
  const instances = proxyInstances(view.instances, node);
  const out: Listener[] = [];
  for (const instance of instances) {
    const protocol = protocolOf(instance);
    if (!HTTP_PROTOCOLS.has(protocol)) continue;
    const cluster = inboundCluster(instance.port, protocol).cluster.name;
    const hostRoutes: PilotHttpRoute[] = [];
    // Only plain HTTP ports get the rules' routes (websocket support), as upstream.
    if (protocol === 'HTTP') for (const rule of rulesForInstances(view, instances)) hostRoutes.push(inboundRoute(rule, cluster));
    hostRoutes.push(orderedRoute({ prefix: '/', cluster, timeout_ms: 0, decorator: { operation: 'default-route' } }));
    const routeConfig: HttpRouteConfig = {
      validate_clusters: true,
      virtual_hosts: [{ name: `inbound|${instance.port}`, domains: ['*'], routes: hostRoutes }],
    };
    out.push(httpListener({ ip: instance.address, port: instance.port, faults: [], direction: 'ingress', routeConfig }));
  }
  for (const [port, hosts] of [...outboundHttpRoutes(view, node)].sort(([a], [b]) => a - b)) {
    const faults = hosts.flatMap(({ routes: built }) => built.flatMap((route) => route.faults));
    out.push(httpListener({ ip: WILDCARD_ADDRESS, port, faults, direction: 'egress', rds: String(port) }));
  }
  out.push({
    address: `tcp://${WILDCARD_ADDRESS}:${MESH.proxyListenPort}`,
    name: VIRTUAL_LISTENER_NAME,
    filters: [],
    bind_to_port: true,
    use_original_dst: true,
  });
  const byAddress = new Map<string, Listener>();
  for (const listener of out) if (!byAddress.has(listener.address)) byAddress.set(listener.address, listener);
  return { listeners: [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)) };
}
