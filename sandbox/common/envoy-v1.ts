/**
 * The JSON of Envoy's v1 REST discovery API as Istio 0.6-0.8 pilot served it and the sidecar's
 * Envoy polled it (the subset mesh-local's sandbox uses). The pilot stand-in produces these
 * documents; the sandbox sidecar (the Envoy stand-in) consumes them. Field names are upstream's.
 *
 * Source: istio/istio 0.8.0, pilot/pkg/proxy/envoy/v1/resources.go (types and json tags) and
 * discovery.go (paths and answers):
 *   GET /v1/registration                          -> Registration[]      (every service key)
 *   GET /v1/registration/{service-key}            -> { hosts: SdsHost[] } (SDS)
 *   GET /v1/clusters/{service-cluster}/{node}     -> { clusters: Cluster[] } (CDS)
 *   GET /v1/routes/{route-config}/{service-cluster}/{node} -> HttpRouteConfig (RDS; the route
 *                                                    config name is the outbound port, e.g. "9080")
 *   GET /v1/listeners/{service-cluster}/{node}    -> { listeners: Listener[] } (LDS)
 * {node} is pilot-agent's service node, `<type>~<ip>~<id>~<domain>`, see serviceNode().
 */

/** pilot/pkg/proxy/envoy/v1/route.go: cluster name prefixes. */
export const INBOUND_CLUSTER_PREFIX = 'in.';
export const OUTBOUND_CLUSTER_PREFIX = 'out.';
/** resources.go: the virtual listener on the capture port takes every redirected connection. */
export const VIRTUAL_LISTENER_NAME = 'virtual';
/** resources.go: the RDS/CDS/SDS/LDS discovery cluster names in Envoy's bootstrap. */
export const RDS_NAME = 'rds';
/** Envoy v1 polled every discovery service once a second (refresh_delay_ms in the bootstrap). */
export const REFRESH_DELAY_MS = 1000;

// ---- SDS ------------------------------------------------------------------------------------

export interface SdsHost {
  ip_address: string;
  port: number;
  /** pilot 0.8 writes `az` when known; the sandbox adds the instance's labels here too. */
  tags?: Record<string, string>;
}

export interface Registration {
  'service-key': string;
  hosts: SdsHost[];
}

// ---- CDS ------------------------------------------------------------------------------------

export interface ClusterHost {
  /** `tcp://127.0.0.1:9080` */
  url: string;
}

export interface Cluster {
  /** `in.9080`, or `out.<hostname>|<port name>|<labels>` (labels `k=v,k=v`, sorted by key). */
  name: string;
  /** For `type: sds`: the service key to ask SDS for, `<hostname>|<port name>|<labels>`. */
  service_name?: string;
  connect_timeout_ms: number;
  /** `sds` (outbound, in the mesh), `static` (inbound to the app), `strict_dns`, `original_dst`. */
  type: 'sds' | 'static' | 'strict_dns' | 'original_dst';
  lb_type: 'round_robin' | 'least_request' | 'ring_hash' | 'random' | 'original_dst_lb';
  hosts?: ClusterHost[];
  max_requests_per_connection?: number;
  circuit_breakers?: { default: { max_connections?: number; max_pending_requests?: number; max_requests?: number; max_retries?: number } };
  outlier_detection?: { consecutive_5xx?: number; interval_ms?: number; base_ejection_time_ms?: number; max_ejection_percent?: number };
}

// ---- RDS ------------------------------------------------------------------------------------

/** A header match; `regex: true` makes `value` an ECMAScript-compatible RE2 pattern matched whole. */
export interface Header {
  name: string;
  value: string;
  regex?: boolean;
}

export interface WeightedClusterEntry {
  name: string;
  weight: number;
}

export interface RetryPolicy {
  /** pilot writes `5xx,connect-failure,refused-stream`. */
  retry_on: string;
  num_retries?: number;
  per_try_timeout_ms?: number;
}

export interface HttpRoute {
  path?: string;
  prefix?: string;
  regex?: string;
  prefix_rewrite?: string;
  host_rewrite?: string;
  cluster?: string;
  weighted_clusters?: { clusters: WeightedClusterEntry[]; runtime_key_prefix?: string };
  headers?: Header[];
  /** 0: Envoy v1's default route timeout (15 s) applies. */
  timeout_ms: number;
  retry_policy?: RetryPolicy;
  /** pilot 0.8 sets `operation` to `<rule name>` (decorator from the config's name) or `default-route`. */
  decorator?: { operation: string };
  request_headers_to_add?: Array<{ key: string; value: string }>;
}

export interface VirtualHost {
  name: string;
  /** Host header values this virtual host answers (`reviews`, `reviews:9080`, ...). */
  domains: string[];
  routes: HttpRoute[];
}

export interface HttpRouteConfig {
  validate_clusters: boolean;
  virtual_hosts: VirtualHost[];
}

// ---- LDS ------------------------------------------------------------------------------------

/** The `fault` HTTP filter (resources.go FilterFaultConfig), one per faulted upstream cluster. */
export interface FaultFilterConfig {
  abort?: { abort_percent?: number; http_status?: number };
  delay?: { type?: 'fixed'; fixed_delay_percent?: number; fixed_duration_ms?: number };
  headers?: Header[];
  upstream_cluster?: string;
}

export interface HttpFilter {
  type: 'decoder' | 'encoder' | 'both';
  name: 'fault' | 'router' | 'mixer' | 'cors' | string;
  config: FaultFilterConfig | Record<string, unknown>;
}

export interface HttpConnectionManagerConfig {
  codec_type: 'auto' | 'http1' | 'http2';
  stat_prefix: string;
  generate_request_id?: boolean;
  use_remote_address?: boolean;
  /** Inline routes (inbound listeners). */
  route_config?: HttpRouteConfig;
  /** Routes from RDS (outbound listeners): route_config_name is the port. */
  rds?: { cluster: string; route_config_name: string; refresh_delay_ms: number };
  filters: HttpFilter[];
  access_log: Array<{ path: string; format?: string }>;
}

export interface NetworkFilter {
  type: 'read' | 'write' | 'both';
  name: 'http_connection_manager' | 'tcp_proxy' | string;
  config: HttpConnectionManagerConfig | Record<string, unknown>;
}

export interface Listener {
  /** `tcp://0.0.0.0:9080` (outbound, any destination address) or `tcp://<own ip>:9080` (inbound). */
  address: string;
  name?: string;
  filters: NetworkFilter[];
  bind_to_port: boolean;
  use_original_dst?: boolean;
}

// ---- the service node ------------------------------------------------------------------------

export type ServiceRegistryName = 'Consul' | 'Eureka' | 'Kubernetes';

/**
 * pilot-agent's service node for a sidecar (pilot/cmd/pilot-agent/main.go at 0.8.0): id and domain
 * default per registry (Consul: `<ip>.service.consul` and `service.consul`; Eureka: `<ip>` and ``);
 * model.Proxy.ServiceNode joins `type~ip~id~domain`.
 */
export function serviceNode(registry: ServiceRegistryName, ip: string): string {
  if (registry === 'Consul') return `sidecar~${ip}~${ip}.service.consul~service.consul`;
  return `sidecar~${ip}~${ip}~`;
}

/** The parts of a service node; throws on anything but four `~`-separated parts. */
export function parseServiceNode(node: string): { type: string; ip: string; id: string; domain: string } {
  const parts = node.split('~');
  if (parts.length !== 4) throw new Error(`a service node is type~ip~id~domain, got '${node}'`);
  const [type, ip, id, domain] = parts as [string, string, string, string];
  return { type, ip, id, domain };
}
