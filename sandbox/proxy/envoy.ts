/**
 * STAND-IN for Envoy (mesh-local sandbox), written in TypeScript: NOT Envoy. It plays the sidecar
 * proxy of Istio 0.6-0.8 the way Envoy's v1 configuration drove it: it polls pilot's REST discovery
 * API (LDS, CDS, RDS, SDS; JSON in ../common/envoy-v1.ts) every refresh_delay_ms and applies what
 * the sandbox needs of it to HTTP/1.1 traffic: virtual hosts and routes with header (cookie)
 * matches in order, weighted clusters, the fault filter (fixed delays, aborts, percentages), route
 * timeouts and retries, round robin over SDS hosts.
 *
 * One deliberate difference from Envoy: a request to a port pilot has no listener for is passed
 * through to its original destination (the Host header), so apps in the sandbox still reach
 * services outside the mesh. Envoy under pilot 0.8 does not: the capture port's `virtual`
 * listener has `filters: []` (config.go buildListeners @0.8.0), so Envoy closes such connections.
 *
 * Why not a real proxy from Debian: nginx-light (the sandbox's proxy before) cannot take fixed
 * delays, a per-request weighted pick combined with header matches and fault percentages, or
 * per-route retries from a discovery API; and Envoy is not packaged in Debian.
 *
 * Connections: everything the init step's iptables REDIRECT captures arrives on `listenPort`
 * (15001). REDIRECT keeps no original port, so the direction comes from the local address: any
 * non-loopback local address -> inbound (REDIRECT rewrites the destination to the address of the
 * interface the connection came in on; to the app through pilot's inbound listener
 * `tcp://<ip>:<port>`); loopback -> outbound (redirected from the app's OUTPUT chain; the port
 * comes from the Host header, as Envoy's `tcp://0.0.0.0:<port>` listener would see it).
 *
 * Sources: Envoy v1 docs (route table, fault filter, router filter: retries, timeouts, response
 * flags, x-envoy-upstream-service-time; 15 s default route timeout), istio/istio 0.8.0
 * pilot/pkg/proxy/envoy/v1/{discovery,resources,route,fault,header}.go.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { REFRESH_DELAY_MS, type Cluster, type HttpConnectionManagerConfig, type HttpRoute, type HttpRouteConfig, type Listener, type SdsHost } from '../common/envoy-v1.js';
import {
  applicableFaults,
  clusterVersion,
  hostnameOf,
  httpManagerOf,
  parseTcpAddress,
  pickCluster,
  portOfHost,
  selectRoute,
  selectVirtualHost,
  type RequestFacts,
} from './envoy-routes.js';

/**
 * The route timeout used when a route's `timeout_ms` is 0 (or absent). Pilot 0.8.0 always writes
 * `timeout_ms` (resources.go `TimeoutMS int64 json:"timeout_ms"`, no omitempty) and writes 0 when
 * no rule sets httpReqTimeout (route.go BuildHTTPRoute sets it only for a timeout > 0). Whether
 * Envoy of that era read an explicit 0 as "no timeout" or as its default could not be confirmed
 * here; 15 s is Envoy v1's documented
 * default for an absent timeout_ms and the default Istio 0.8's docs state (routing/v1alpha1
 * route_rule.proto HTTPTimeout.SimpleTimeoutPolicy.timeout: "Default 15s"), so 0 gets 15 s.
 */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
/** Envoy's retry back-off base: fully jittered, 25 ms doubled per retry. */
const RETRY_BASE_MS = 25;
/** Request bodies up to this size are kept for retries (Envoy buffers for retries too); larger ones stream once. */
const RETRY_BUFFER_BYTES = 1024 * 1024;
/** The name the access log gives pass-through traffic (a stand-in addition, named after Envoy's cluster type `original_dst`). */
export const PASSTHROUGH_CLUSTER = 'original_dst';
/** Pass-through has no cluster to carry a connect_timeout_ms; pilot-agent's --connectTimeout default is 1 s, kept generous here for hosts outside. */
const PASSTHROUGH_CONNECT_TIMEOUT_MS = 5000;

export interface EnvoyStandinOptions {
  /** pilot's discovery address, `istio-pilot:15007`. */
  discoveryAddress: string;
  /** `--serviceCluster`, e.g. `reviews-v2`: the `{service-cluster}` of every discovery path and the log's `cluster=`. */
  serviceCluster: string;
  /** pilot-agent's service node, serviceNode(registry, ip). */
  node: string;
  /** Where every captured connection arrives (15001); 0 picks a free port (tests). */
  listenPort: number;
  /** Envoy's admin port (15000), on 127.0.0.1; 0 picks a free port. */
  adminPort: number;
  /**
   * This namespace's non-loopback IPv4 addresses, asked on every inbound connection (interfaces may
   * come and go): a connection on an address pilot has no inbound listener for uses theirs.
   */
  ownAddresses: () => string[];
  /** One line per call, without newline (stdout in the sidecar). */
  log: (line: string) => void;
  /** Envoy v1's refresh_delay_ms (1000). */
  pollIntervalMs?: number;
  /** Address the capture port binds (0.0.0.0). */
  listenHost?: string;
  /** [0, 1) source for weighted picks and fault percentages (Math.random). */
  random?: () => number;
}

/** One complete round of discovery answers, applied atomically. */
export interface DiscoverySnapshot {
  listeners: Listener[];
  clusters: Cluster[];
  /** RDS answers by route_config_name. */
  routes: Record<string, HttpRouteConfig>;
  /** SDS answers by service_name. */
  registrations: Record<string, SdsHost[]>;
}

export interface RunningEnvoyStandin {
  /** The capture port actually bound. */
  port: number;
  adminPort: number;
  /** The configuration in use (empty until pilot first answered a whole round). */
  snapshot(): DiscoverySnapshot;
  /** Complete discovery rounds applied so far. */
  rounds(): number;
  /** Runs one discovery round now; resolves true when it was applied, false when a fetch failed. */
  refresh(): Promise<boolean>;
  close(): Promise<void>;
}

interface InboundListener {
  listener: Listener;
  address: { ip: string; port: number };
}

interface SnapshotIndex {
  inbound: InboundListener[];
  outboundByPort: Map<number, Listener>;
  clusterByName: Map<string, Cluster>;
}

const EMPTY: DiscoverySnapshot = { listeners: [], clusters: [], routes: {}, registrations: {} };

/** What the access-log line of one request says. */
interface LogEntry {
  direction: 'inbound' | 'outbound';
  method: string;
  host: string;
  path: string;
  requestId: string;
  upstream: string;
  route: string;
  cluster: string;
  version: string;
  flags: Set<string>;
  startedAt: number;
}

/**
 * The access-log line of one request: today's key=value fields first (tests grep them), then the
 * route, upstream cluster, version and Envoy's response flags.
 */
export function accessLogLine(serviceCluster: string, entry: LogEntry, status: number, now: number, time: Date): string {
  const field = (value: string) => (value === '' ? '-' : value.replace(/\s/g, '%20'));
  const flags = entry.flags.size === 0 ? '-' : [...entry.flags].join(',');
  return (
    `${time.toISOString()} mesh-proxy cluster=${serviceCluster} direction=${entry.direction} method=${field(entry.method)} ` +
    `host=${field(entry.host)} path=${field(entry.path)} status=${status} upstream=${field(entry.upstream)} ` +
    `request_id=${field(entry.requestId)} duration=${((now - entry.startedAt) / 1000).toFixed(3)} ` +
    `route=${field(entry.route)} upstream_cluster=${field(entry.cluster)} version=${field(entry.version)} flags=${flags}`
  );
}

/** Strips `::ffff:` from IPv4-mapped addresses. */
function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

/** 127/8 and ::1: a connection the app made to the redirect on this host (outbound). */
function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'transfer-encoding']);

function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const result: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) result[name] = value;
  return result;
}

interface Target {
  host: string;
  port: number;
  version?: string;
}

/** The request body: kept whole (retries possible) or the one-shot stream. */
type Body = { kind: 'buffer'; data: Buffer } | { kind: 'stream'; stream: AsyncIterable<Buffer> };

type Outcome =
  | { kind: 'response'; response: IncomingMessage; request: ClientRequest; serviceTimeMs: number }
  | { kind: 'connect-failure'; error: Error }
  | { kind: 'reset'; error: Error }
  | { kind: 'timeout' };

class ConnectTimeoutError extends Error {}

/**
 * Starts the stand-in: the capture listener on `listenPort`, the admin server on
 * 127.0.0.1:`adminPort`, and the discovery poll (first round at once). Resolves when both servers
 * listen; pilot need not answer yet (inbound answers 503 and outbound passes through, a stand-in
 * choice, until it does).
 * Rejects when a port cannot be bound.
 */
export async function startEnvoyStandin(options: EnvoyStandinOptions): Promise<RunningEnvoyStandin> {
  const random = options.random ?? Math.random;
  const pollMs = options.pollIntervalMs ?? REFRESH_DELAY_MS;
  const agent = new Agent({ keepAlive: true, timeout: 4000 });
  const counters = new Map<string, number>();
  const stats = new Map<string, number>();
  const count = (name: string) => stats.set(name, (stats.get(name) ?? 0) + 1);
  let snapshot: DiscoverySnapshot = EMPTY;
  let snapshotJson = JSON.stringify(EMPTY);
  let rounds = 0;
  let lastProblem = '';
  const passThroughPorts = new Set<string>();
  const startedAt = Date.now();
  const say = (line: string) => options.log(`envoy stand-in: ${line}`);

  // ---- discovery ---------------------------------------------------------------------------

  const base = `http://${options.discoveryAddress}`;
  const segment = (value: string) => encodeURIComponent(value).replace(/%7C/gi, '|').replace(/%3D/gi, '=').replace(/%2C/gi, ',');
  const getJson = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) throw new Error(`GET ${path}: pilot answered HTTP ${response.status}`);
    return (await response.json()) as T;
  };

  /** One round: LDS, CDS, then RDS for every rds name and SDS for every sds cluster; all or nothing. */
  const round = async (): Promise<boolean> => {
    const suffix = `${segment(options.serviceCluster)}/${segment(options.node)}`;
    let next: DiscoverySnapshot;
    try {
      const [lds, cds] = await Promise.all([
        getJson<{ listeners?: Listener[] }>(`/v1/listeners/${suffix}`),
        getJson<{ clusters?: Cluster[] }>(`/v1/clusters/${suffix}`),
      ]);
      const listeners = lds.listeners ?? [];
      const clusters = cds.clusters ?? [];
      const routeNames = [...new Set(listeners.map((listener) => httpManagerOf(listener)?.rds?.route_config_name).filter((name): name is string => !!name))];
      const serviceNames = [...new Set(clusters.filter((cluster) => cluster.type === 'sds' && cluster.service_name).map((cluster) => cluster.service_name!))];
      const [routeAnswers, sdsAnswers] = await Promise.all([
        Promise.all(routeNames.map((name) => getJson<HttpRouteConfig>(`/v1/routes/${segment(name)}/${suffix}`))),
        Promise.all(serviceNames.map((name) => getJson<{ hosts?: SdsHost[] }>(`/v1/registration/${segment(name)}`))),
      ]);
      next = {
        listeners,
        clusters,
        routes: Object.fromEntries(routeNames.map((name, index) => [name, routeAnswers[index]!])),
        registrations: Object.fromEntries(serviceNames.map((name, index) => [name, sdsAnswers[index]!.hosts ?? []])),
      };
    } catch (error) {
      count('discovery.update_failure');
      const problem = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
      // One line per distinct problem, not one per poll; the last good configuration stays.
      if (problem !== lastProblem) say(`cannot fetch configuration from pilot at ${options.discoveryAddress} (keeping the last good one, retrying): ${problem}`);
      lastProblem = problem;
      return false;
    }
    if (lastProblem) say(`pilot at ${options.discoveryAddress} answers again`);
    lastProblem = '';
    count('discovery.update_success');
    rounds++;
    const json = JSON.stringify(next);
    if (json !== snapshotJson) {
      snapshot = next;
      snapshotJson = json;
      // Round-robin positions of clusters pilot no longer lists go, or the map grows with every
      // cluster ever seen (version clusters come and go with rules).
      const names = new Set(next.clusters.map((cluster) => cluster.name));
      for (const name of counters.keys()) if (!names.has(name)) counters.delete(name);
      say(describe(next));
    }
    return true;
  };

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let inFlight: Promise<boolean> | undefined;
  const refresh = (): Promise<boolean> => {
    inFlight ??= round().finally(() => (inFlight = undefined));
    return inFlight;
  };
  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => void poll(), pollMs);
  };
  /**
   * One round of the poll loop; never rejects. round() catches fetch failures itself; anything
   * else (a log sink that throws, a shape describe() cannot read) is said in one line and the loop
   * goes on, where an unhandled rejection would end the sidecar.
   */
  const poll = async (): Promise<void> => {
    try {
      await refresh();
    } catch (error) {
      try {
        say(`discovery round failed (keeping the configuration in use, polling on): ${error instanceof Error ? error.message : String(error)}`);
      } catch {
        // The log itself failed: nothing left to tell.
      }
    } finally {
      schedule();
    }
  };

  // ---- request handling --------------------------------------------------------------------

  /**
   * Lookups every request makes, built once per configuration snapshot (snapshots are replaced,
   * never changed): inbound listeners (address not 0.0.0.0) parsed and sorted by port, the
   * 0.0.0.0 listener of each port, clusters by name. The first of duplicates wins, as find() did.
   */
  const indexes = new WeakMap<DiscoverySnapshot, SnapshotIndex>();
  const indexOf = (config: DiscoverySnapshot): SnapshotIndex => {
    let index = indexes.get(config);
    if (!index) {
      const inbound: InboundListener[] = [];
      const outboundByPort = new Map<number, Listener>();
      for (const listener of config.listeners) {
        const address = parseTcpAddress(listener.address);
        if (address && address.ip !== '0.0.0.0') inbound.push({ listener, address });
        else if (address && listener.address === `tcp://0.0.0.0:${address.port}` && !outboundByPort.has(address.port)) outboundByPort.set(address.port, listener);
      }
      inbound.sort((a, b) => a.address.port - b.address.port);
      const clusterByName = new Map<string, Cluster>();
      for (const cluster of config.clusters) if (!clusterByName.has(cluster.name)) clusterByName.set(cluster.name, cluster);
      index = { inbound, outboundByPort, clusterByName };
      indexes.set(config, index);
    }
    return index;
  };

  const ownAddresses = () => options.ownAddresses().map(plainAddress);

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    count('http.downstream_rq_total');
    const local = plainAddress(request.socket.localAddress);
    const inbound = !isLoopback(local);
    const host = request.headers.host ?? '';
    let requestId = request.headers['x-request-id'];
    if (typeof requestId !== 'string' || requestId === '') {
      // generate_request_id: Envoy adds one when missing; BookInfo forwards it from here on.
      requestId = randomUUID();
      request.headers['x-request-id'] = requestId;
    }
    const entry: LogEntry = {
      direction: inbound ? 'inbound' : 'outbound',
      method: request.method ?? '',
      host,
      path: request.url ?? '/',
      requestId,
      upstream: '-',
      route: '-',
      cluster: '-',
      version: '-',
      flags: new Set(),
      startedAt: performance.now(),
    };
    response.once('close', () => {
      if (!response.writableFinished) entry.flags.add('DC');
      const status = response.headersSent ? response.statusCode : 0;
      count(`http.downstream_rq_${status ? `${Math.floor(status / 100)}xx` : 'reset'}`);
      options.log(accessLogLine(options.serviceCluster, entry, status, performance.now(), new Date()));
    });
    const config = snapshot;
    const work = inbound ? handleInbound(request, response, entry, local, config) : handleOutbound(request, response, entry, config);
    work.catch((error: unknown) => {
      say(`internal error for ${entry.method} ${host}${entry.path}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      if (!response.headersSent) sendLocal(response, 500, 'envoy stand-in internal error\n');
      else response.destroy();
    });
  };

  const handleInbound = async (request: IncomingMessage, response: ServerResponse, entry: LogEntry, local: string, config: DiscoverySnapshot): Promise<void> => {
    const inboundListeners = (ip: (candidate: string) => boolean) => indexOf(config).inbound.filter((item) => ip(item.address.ip));
    // Pilot writes inbound listeners for the node's address; a connection that came in on another
    // of this namespace's networks uses those too.
    let candidates = inboundListeners((ip) => ip === local);
    if (candidates.length === 0) {
      const own = ownAddresses();
      candidates = inboundListeners((ip) => own.includes(ip));
    }
    if (candidates.length === 0) {
      sendLocal(response, 503, `mesh-local envoy stand-in for ${options.serviceCluster}: pilot lists no instance at this address (${local}) yet\n`);
      return;
    }
    const hostPort = /:\d+$/.test(entry.host) ? portOfHost(entry.host) : undefined;
    const chosen = candidates.find((item) => item.address.port === hostPort) ?? candidates[0]!;
    await routeHttp(request, response, entry, chosen.listener, config);
  };

  const handleOutbound = async (request: IncomingMessage, response: ServerResponse, entry: LogEntry, config: DiscoverySnapshot): Promise<void> => {
    const port = portOfHost(entry.host);
    const listener = indexOf(config).outboundByPort.get(port);
    if (!listener || !httpManagerOf(listener)) {
      // Not a mesh port. Envoy under pilot 0.8 would close this connection (the virtual listener
      // has no filters); the stand-in deliberately forwards it to where the app was going instead,
      // so apps in the sandbox reach services outside the mesh.
      const key = `${hostnameOf(entry.host) || '-'}:${port}`;
      if (!passThroughPorts.has(key)) {
        passThroughPorts.add(key);
        if (passThroughPorts.size > 1000) passThroughPorts.clear();
        say(
          `outbound to ${key}: pilot has no listener for port ${port}; passing through to the original destination ` +
            `(a stand-in choice, unlike Envoy, which closes such connections: pilot's virtual listener has no filters)`,
        );
      }
      entry.cluster = PASSTHROUGH_CLUSTER;
      if (!entry.host) {
        sendLocal(response, 400, 'envoy stand-in: an outbound request without Host has no destination\n');
        return;
      }
      const target: Target = { host: hostnameOf(entry.host), port };
      await forward(request, response, entry, () => [target], PASSTHROUGH_CLUSTER, PASSTHROUGH_CONNECT_TIMEOUT_MS, undefined, undefined);
      return;
    }
    await routeHttp(request, response, entry, listener, config);
  };

  /** The HTTP connection manager: route table, fault filters, router. */
  const routeHttp = async (request: IncomingMessage, response: ServerResponse, entry: LogEntry, listener: Listener, config: DiscoverySnapshot): Promise<void> => {
    const manager = httpManagerOf(listener) as HttpConnectionManagerConfig;
    const routeConfig = manager.route_config ?? (manager.rds ? config.routes[manager.rds.route_config_name] : undefined);
    const facts: RequestFacts = { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers };
    const vhost = routeConfig ? selectVirtualHost(routeConfig, entry.host) : undefined;
    const route = vhost ? selectRoute(vhost, facts) : undefined;
    if (vhost) entry.route = vhost.name;
    if (route?.decorator?.operation) entry.route = route.decorator.operation;
    const clusterName = route ? pickCluster(route, random) : undefined;
    const cluster = clusterName ? indexOf(config).clusterByName.get(clusterName) : undefined;
    if (!route || !clusterName || !cluster) {
      if (clusterName) entry.cluster = clusterName;
      entry.flags.add('NR');
      sendLocal(response, 404, '');
      return;
    }
    entry.cluster = clusterName;

    for (const fault of applicableFaults(manager.filters, clusterName, facts)) {
      const delay = fault.delay;
      if (delay && (delay.fixed_duration_ms ?? 0) > 0 && random() * 100 < (delay.fixed_delay_percent ?? 0)) {
        entry.flags.add('DI');
        if (!(await sleepUnlessClosed(delay.fixed_duration_ms!, response))) return;
      }
      const abort = fault.abort;
      if (abort && abort.http_status && random() * 100 < (abort.abort_percent ?? 0)) {
        entry.flags.add('FI');
        sendLocal(response, abort.http_status, 'fault filter abort');
        return;
      }
    }

    const hosts = (): Target[] => hostsOf(cluster, config, entry);
    await forward(request, response, entry, hosts, cluster.name, cluster.connect_timeout_ms, route, clusterVersion(cluster.name));
  };

  const hostsOf = (cluster: Cluster, config: DiscoverySnapshot, entry: LogEntry): Target[] => {
    if (cluster.type === 'sds') {
      return (config.registrations[cluster.service_name ?? ''] ?? []).map((host) => ({ host: host.ip_address, port: host.port, version: host.tags?.version }));
    }
    if (cluster.type === 'original_dst') return entry.host ? [{ host: hostnameOf(entry.host), port: portOfHost(entry.host) }] : [];
    return (cluster.hosts ?? []).map((host) => parseTcpAddress(host.url)).filter((address) => address !== undefined).map((address) => ({ host: address.ip, port: address.port }));
  };

  /** Round robin over the cluster's hosts, per cluster. */
  const nextHost = (clusterKey: string, hosts: Target[]): Target | undefined => {
    if (hosts.length === 0) return undefined;
    const index = counters.get(clusterKey) ?? 0;
    counters.set(clusterKey, index + 1);
    return hosts[index % hosts.length];
  };

  /**
   * Envoy's router: picks a host, sends, retries per the route's retry_policy within the route
   * timeout (all attempts together), streams the answer back (with x-envoy-upstream-service-time
   * when routed).
   * `route` undefined: the stand-in's pass-through (not Envoy behaviour), no timeout, no retries.
   */
  const forward = async (
    request: IncomingMessage,
    response: ServerResponse,
    entry: LogEntry,
    hosts: () => Target[],
    clusterKey: string,
    connectTimeoutMs: number,
    route: HttpRoute | undefined,
    clusterVersionLabel: string | undefined,
  ): Promise<void> => {
    const policy = route?.retry_policy;
    const retryOn = new Set((policy?.retry_on ?? '').split(',').map((token) => token.trim()).filter(Boolean));
    const maxRetries = policy ? (policy.num_retries ?? 1) : 0;
    const perTryMs = policy?.per_try_timeout_ms ?? 0;
    // timeout_ms 0 (pilot's value when no rule sets one) -> 15 s; see DEFAULT_ROUTE_TIMEOUT_MS for why.
    const globalMs = route ? (route.timeout_ms > 0 ? route.timeout_ms : DEFAULT_ROUTE_TIMEOUT_MS) : 0;

    let current: { cancel(): void } | undefined;
    let globalExpired = false;
    let globalTimer: NodeJS.Timeout | undefined;
    let expireNow: (() => void) | undefined;
    const globalTimeout = new Promise<'global-timeout'>((resolve) => {
      expireNow = () => resolve('global-timeout');
      if (globalMs > 0)
        globalTimer = setTimeout(() => {
          globalExpired = true;
          resolve('global-timeout');
        }, globalMs);
    });
    let downstreamGone = false;
    response.once('close', () => {
      clearTimeout(globalTimer);
      if (response.writableFinished) return; // done: the upstream connection goes back to the pool
      downstreamGone = true;
      current?.cancel();
      expireNow?.();
    });

    // The body is read only after the route deadline and the close handling exist: with a retry
    // policy up to RETRY_BUFFER_BYTES are buffered first, and a slow or vanished client must not
    // hold that until Node's own request timeout. Envoy starts the route timeout only once the
    // whole request is in (router filter: from end-of-stream to the complete response) and leaves
    // slow request bodies to its connection manager, which answers 408 (request_timeout /
    // stream_idle_timeout). The stand-in counts the read into the route timeout instead, and past
    // it answers as that connection manager does: 408, not 504 UT, since no upstream was asked.
    // A client gone while its body is read gets no answer; the access log says DC (status 0).
    const read = await Promise.race([readBody(request, maxRetries > 0).catch(() => 'read-failed' as const), globalTimeout]);
    if (downstreamGone) return;
    if (read === 'global-timeout') {
      response.setHeader('connection', 'close');
      sendLocal(response, 408, 'request timeout');
      return;
    }
    if (read === 'read-failed') {
      clearTimeout(globalTimer);
      response.destroy();
      return;
    }
    const body = read;
    const headers = forwardableHeaders(request.headers);
    // Transfer-Encoding is hop-by-hop, so the framing is set here: without it Node sends a GET or
    // DELETE body unframed, and the upstream reads it as the next request.
    if (body.kind === 'buffer' && body.data.length > 0) headers['content-length'] = String(body.data.length);
    if (body.kind === 'stream' && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
    for (const added of route?.request_headers_to_add ?? []) headers[added.key.toLowerCase()] = added.value;
    if (route?.host_rewrite) headers.host = route.host_rewrite;
    let path = request.url ?? '/';
    if (route?.prefix_rewrite !== undefined && route.prefix && path.startsWith(route.prefix)) path = route.prefix_rewrite + path.slice(route.prefix.length);

    const retryable = (outcome: Outcome): boolean => {
      if (outcome.kind === 'response') {
        const status = outcome.response.statusCode ?? 0;
        if (retryOn.has('5xx') && status >= 500) return true;
        if (retryOn.has('gateway-error') && status >= 502 && status <= 504) return true;
        if (retryOn.has('retriable-4xx') && status === 409) return true;
        return false;
      }
      if (outcome.kind === 'connect-failure') return retryOn.has('5xx') || retryOn.has('connect-failure') || retryOn.has('gateway-error');
      return retryOn.has('5xx') || (outcome.kind === 'reset' && retryOn.has('reset'));
    };

    let outcome: Outcome | undefined;
    let attempts = 0;
    let staleRetried = false;
    for (;;) {
      const target = nextHost(clusterKey, hosts());
      if (!target) {
        entry.flags.add('UH');
        clearTimeout(globalTimer);
        sendLocal(response, 503, 'no healthy upstream');
        return;
      }
      entry.upstream = `${target.host}:${target.port}`;
      entry.version = target.version ?? clusterVersionLabel ?? '-';
      attempts++;
      const attempt = tryOnce(target, request.method ?? 'GET', path, headers, body, perTryMs, connectTimeoutMs);
      current = attempt;
      const result = await Promise.race([attempt.outcome, globalTimeout]);
      if (downstreamGone) {
        attempt.cancel();
        return;
      }
      if (result === 'global-timeout') {
        attempt.cancel();
        entry.flags.add('UT');
        sendLocal(response, 504, 'upstream request timeout');
        return;
      }
      outcome = result;
      // A kept-alive connection the upstream closed meanwhile: once more on a fresh one, as any client would.
      if (outcome.kind !== 'response' && outcome.kind !== 'timeout' && !staleRetried && body.kind === 'buffer' && attempt.reusedSocket()) {
        staleRetried = true;
        attempts--;
        continue;
      }
      const canRetry = body.kind === 'buffer' && attempts <= maxRetries && retryable(outcome);
      if (!canRetry) break;
      count('cluster.upstream_rq_retry');
      if (outcome.kind === 'response') outcome.response.resume();
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * RETRY_BASE_MS * 2 ** (attempts - 1))));
      if (globalExpired || downstreamGone) {
        if (!downstreamGone) {
          entry.flags.add('UT');
          sendLocal(response, 504, 'upstream request timeout');
        }
        return;
      }
    }

    if (maxRetries > 0 && attempts > maxRetries && retryable(outcome)) entry.flags.add('URX');
    if (outcome.kind !== 'response') {
      clearTimeout(globalTimer);
      if (outcome.kind === 'timeout') {
        entry.flags.add('UT');
        sendLocal(response, 504, 'upstream request timeout');
      } else {
        entry.flags.add(outcome.kind === 'connect-failure' ? 'UF' : 'UC');
        sendLocal(response, 503, 'upstream connect error or disconnect/reset before headers');
      }
      return;
    }

    const upstream = outcome.response;
    const responseHeaders = forwardableHeaders(upstream.headers);
    // Envoy's router adds it to routed requests only; pass-through has no router.
    if (route) responseHeaders['x-envoy-upstream-service-time'] = String(outcome.serviceTimeMs);
    response.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, responseHeaders);
    // The route timeout runs until the whole answer is in (Envoy's router); past the headers it can only reset.
    void globalTimeout.then(() => {
      if (globalExpired && !response.writableFinished) {
        entry.flags.add('UT');
        outcome.request.destroy();
        response.destroy();
      }
    });
    upstream.on('aborted', () => {
      entry.flags.add('UC');
      response.destroy();
    });
    upstream.on('error', () => response.destroy());
    upstream.on('end', () => clearTimeout(globalTimer));
    upstream.pipe(response);
  };

  /** One upstream attempt; its outcome once the answer's headers arrive, the connection fails, or the per-try timeout passes. */
  const tryOnce = (target: Target, method: string, path: string, headers: OutgoingHttpHeaders, body: Body, perTryMs: number, connectTimeoutMs: number) => {
    const sentAt = performance.now();
    const upstreamRequest = httpRequest({ host: target.host, port: target.port, method, path, headers, agent, setHost: false });
    let connected = false;
    let settle: (outcome: Outcome) => void = () => undefined;
    const outcome = new Promise<Outcome>((resolve) => {
      let done = false;
      let perTryTimer: NodeJS.Timeout | undefined;
      let connectTimer: NodeJS.Timeout | undefined;
      settle = (value) => {
        if (done) return;
        done = true;
        clearTimeout(perTryTimer);
        clearTimeout(connectTimer);
        resolve(value);
      };
      upstreamRequest.on('socket', (socket: Socket) => {
        if (!socket.connecting) {
          connected = true;
          return;
        }
        if (connectTimeoutMs > 0) connectTimer = setTimeout(() => upstreamRequest.destroy(new ConnectTimeoutError(`connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs);
        socket.once('connect', () => {
          connected = true;
          clearTimeout(connectTimer);
        });
      });
      upstreamRequest.on('response', (answer) => settle({ kind: 'response', response: answer, request: upstreamRequest, serviceTimeMs: Math.round(performance.now() - sentAt) }));
      upstreamRequest.on('error', (error) => settle({ kind: connected ? 'reset' : 'connect-failure', error }));
      if (perTryMs > 0)
        perTryTimer = setTimeout(() => {
          settle({ kind: 'timeout' });
          upstreamRequest.destroy();
        }, perTryMs);
    });
    if (body.kind === 'buffer') upstreamRequest.end(body.data);
    else void pumpStream(body.stream, upstreamRequest);
    return {
      outcome,
      cancel: () => {
        settle({ kind: 'timeout' });
        upstreamRequest.destroy();
      },
      reusedSocket: () => upstreamRequest.reusedSocket,
    };
  };

  // ---- admin -------------------------------------------------------------------------------

  const admin = (request: IncomingMessage, response: ServerResponse): void => {
    const path = (request.url ?? '/').split('?')[0];
    const description = `mesh-local envoy stand-in (TypeScript, not Envoy) for ${options.serviceCluster}, node ${options.node}, pilot ${options.discoveryAddress}`;
    if (request.method !== 'GET') return sendLocal(response, 405, 'GET only\n');
    if (path === '/server_info') return sendLocal(response, 200, `${description} live ${Math.floor((Date.now() - startedAt) / 1000)}s\n`);
    if (path === '/config_dump') {
      const body = JSON.stringify({ service_cluster: options.serviceCluster, node: options.node, rounds, ...snapshot }, null, 2);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
      return;
    }
    if (path === '/stats') {
      const lines = [...stats.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => `${name}: ${value}`);
      return sendLocal(response, 200, `${lines.join('\n')}\n`);
    }
    if (path === '/') return sendLocal(response, 200, `${description}\n  /server_info  liveness\n  /config_dump  the LDS, CDS, RDS and SDS answers in use (JSON)\n  /stats        counters\n`);
    sendLocal(response, 404, 'not found: /server_info, /config_dump, /stats\n');
  };

  // ---- servers -----------------------------------------------------------------------------

  const proxyServer = createServer(handle);
  proxyServer.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  const adminServer = createServer(admin);
  const listen = (server: Server, port: number, host: string) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listen(proxyServer, options.listenPort, options.listenHost ?? '0.0.0.0');
  let adminPort: number;
  try {
    adminPort = await listen(adminServer, options.adminPort, '127.0.0.1');
  } catch (error) {
    proxyServer.close();
    throw error;
  }
  say(`capturing on ${options.listenHost ?? '0.0.0.0'}:${port}, admin on 127.0.0.1:${adminPort}; polling pilot at ${options.discoveryAddress} every ${pollMs} ms as ${options.node}`);
  void poll();

  const closeServer = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    port,
    adminPort,
    snapshot: () => snapshot,
    rounds: () => rounds,
    refresh,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await Promise.all([closeServer(proxyServer), closeServer(adminServer)]);
      agent.destroy();
    },
  };
}

/** A short plain-text answer of the proxy itself (Envoy's local replies). */
function sendLocal(response: ServerResponse, status: number, text: string): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** Waits `ms`; false when the downstream went away meanwhile. */
function sleepUnlessClosed(ms: number, response: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    if (response.destroyed) return resolve(false);
    const timer = setTimeout(() => {
      response.off('close', onClose);
      resolve(true);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    response.once('close', onClose);
  });
}

/**
 * The request body: kept whole when retries may need it and it fits RETRY_BUFFER_BYTES, else
 * the stream (what was read so far first), sent once.
 */
async function readBody(request: IncomingMessage, forRetries: boolean): Promise<Body> {
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return { kind: 'buffer', data: Buffer.alloc(0) };
  if (!forRetries) return { kind: 'stream', stream: request };
  const iterator = request[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { kind: 'buffer', data: Buffer.concat(chunks) };
    chunks.push(next.value);
    size += next.value.length;
    if (size > RETRY_BUFFER_BYTES) break;
  }
  async function* rest(): AsyncIterable<Buffer> {
    yield* chunks;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { kind: 'stream', stream: rest() };
}

/**
 * Writes a body stream into an upstream request, honouring back-pressure; ends it. Stops when the
 * upstream request is destroyed (leaving the loop destroys the downstream request too).
 */
export async function pumpStream(stream: AsyncIterable<Buffer>, upstream: ClientRequest): Promise<void> {
  try {
    for await (const chunk of stream) {
      if (upstream.destroyed) return;
      // 'close' too: a request destroyed while full never drains.
      if (!upstream.write(chunk)) await firstOf(upstream, 'drain', 'close');
      if (upstream.destroyed) return;
    }
    upstream.end();
  } catch {
    upstream.destroy();
  }
}

/** The configuration in one line: each listener (inbound ones with their port) and the counts. */
function describe(snapshot: DiscoverySnapshot): string {
  const inbound = snapshot.listeners
    .map((listener) => parseTcpAddress(listener.address))
    .filter((address) => address && address.ip !== '0.0.0.0')
    .map((address) => `${address!.ip}:${address!.port}`);
  const outbound = snapshot.listeners
    .map((listener) => parseTcpAddress(listener.address))
    .filter((address) => address && address.ip === '0.0.0.0')
    .map((address) => address!.port);
  const hosts = Object.values(snapshot.registrations).reduce((sum, list) => sum + list.length, 0);
  return (
    `configuration from pilot: inbound ${inbound.length ? inbound.join(', ') : 'none (pilot lists no instance at this address)'}; ` +
    `outbound ports ${outbound.length ? outbound.join(', ') : 'none'}; ${snapshot.clusters.length} clusters, ` +
    `${Object.keys(snapshot.routes).length} route configs, ${hosts} SDS hosts`
  );
}

/** Resolves at the first of `events` on `emitter`. */
function firstOf(emitter: ClientRequest, ...events: string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of events) emitter.off(event, done);
      resolve();
    };
    for (const event of events) emitter.once(event, done);
  });
}
