/**
 * The pure part of the sandbox's Envoy stand-in: how Envoy v1 picks a virtual host, a route, a
 * cluster among weighted clusters and the fault filters that apply, from the RDS/LDS JSON pilot
 * serves (types in ../common/envoy-v1.ts). No I/O here; envoy.ts does the forwarding.
 *
 * Semantics from Envoy v1's route table documentation (virtual_host, route, headers,
 * weighted_clusters) and its fault filter (upstream_cluster, headers, percentages), as Istio 0.8's
 * pilot writes them (pilot/pkg/proxy/envoy/v1/route.go, header.go, fault.go @ 0.8.0).
 */
import type { FaultFilterConfig, Header, HttpConnectionManagerConfig, HttpFilter, HttpRoute, HttpRouteConfig, Listener, VirtualHost } from '../common/envoy-v1.js';

/** What a route match looks at: the method, the path without query, the headers (lower-case names). */
export interface RequestFacts {
  method: string;
  /** Path and query as received (`/reviews/0?x=1`). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

const compiled = new Map<string, RegExp | null>();

/** A pattern anchored to the whole value (Envoy matches header and path regexes whole); null when it does not compile. */
function wholeMatch(pattern: string): RegExp | null {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    try {
      regex = new RegExp(`^(?:${pattern})$`);
    } catch {
      regex = null;
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

/** The path without query string. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** A header's value as Envoy sees it; HTTP/2 pseudo-headers (pilot writes `:authority` etc.) map to HTTP/1.1's parts. */
export function headerValue(request: RequestFacts, name: string): string | undefined {
  const key = name.toLowerCase();
  if (key === ':authority') return asString(request.headers.host);
  if (key === ':method') return request.method;
  if (key === ':path') return request.url;
  if (key === ':scheme') return 'http';
  return asString(request.headers[key]);
}

function asString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Whether every header matches: no value -> present; `regex: true` -> the value matches the whole
 * pattern (ECMAScript, as Envoy's std::regex); else equality. An empty list matches.
 */
export function headersMatch(headers: Header[] | undefined, request: RequestFacts): boolean {
  for (const header of headers ?? []) {
    const value = headerValue(request, header.name);
    if (value === undefined) return false;
    if (header.value === undefined || header.value === '') continue;
    if (header.regex) {
      if (!wholeMatch(header.value)?.test(value)) return false;
    } else if (value !== header.value) return false;
  }
  return true;
}

/**
 * The virtual host for a Host value: an exact domain (case-insensitive) first, then the longest
 * `*.suffix` wildcard, then `*`; undefined when none (Envoy answers 404, flag NR).
 */
export function selectVirtualHost(config: HttpRouteConfig, authority: string | undefined): VirtualHost | undefined {
  const host = (authority ?? '').toLowerCase();
  let wildcard: { vhost: VirtualHost; length: number } | undefined;
  let fallback: VirtualHost | undefined;
  for (const vhost of config.virtual_hosts ?? []) {
    for (const domain of vhost.domains ?? []) {
      const lower = domain.toLowerCase();
      if (lower === host) return vhost;
      if (lower === '*') fallback ??= vhost;
      else if (lower.startsWith('*') && host.endsWith(lower.slice(1)) && host.length > lower.length - 1) {
        if (!wildcard || lower.length > wildcard.length) wildcard = { vhost, length: lower.length };
      }
    }
  }
  return wildcard?.vhost ?? fallback;
}

/** The first route whose path condition (path exact, prefix, or whole regex) and headers all match. */
export function selectRoute(vhost: VirtualHost, request: RequestFacts): HttpRoute | undefined {
  const path = pathOf(request.url);
  return (vhost.routes ?? []).find((route) => {
    if (route.path !== undefined && route.path !== '') {
      if (path !== route.path) return false;
    } else if (route.regex !== undefined && route.regex !== '') {
      if (!wholeMatch(route.regex)?.test(path)) return false;
    } else if (!path.startsWith(route.prefix ?? '/')) return false;
    return headersMatch(route.headers, request);
  });
}

/**
 * The route's cluster: `cluster`, else a pick among `weighted_clusters` in proportion to the weights
 * (`random` in [0, 1)); undefined when the route names none or every weight is 0.
 */
export function pickCluster(route: HttpRoute, random: () => number = Math.random): string | undefined {
  if (route.cluster) return route.cluster;
  const entries = (route.weighted_clusters?.clusters ?? []).filter((entry) => entry.weight > 0);
  const total = entries.reduce((sum, entry) => sum + entry.weight, 0);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const entry of entries) {
    point -= entry.weight;
    if (point < 0) return entry.name;
  }
  return entries[entries.length - 1]!.name;
}

/**
 * The fault filters of an HTTP connection manager that apply to a request bound for `cluster`,
 * in filter-chain order: name `fault`, `upstream_cluster` unset or equal, every header matching.
 */
export function applicableFaults(filters: HttpFilter[] | undefined, cluster: string, request: RequestFacts): FaultFilterConfig[] {
  return (filters ?? [])
    .filter((filter) => filter.name === 'fault')
    .map((filter) => filter.config as FaultFilterConfig)
    .filter((fault) => (!fault.upstream_cluster || fault.upstream_cluster === cluster) && headersMatch(fault.headers, request));
}

/** `tcp://10.0.0.5:9080` -> { ip, port }; undefined for anything else. */
export function parseTcpAddress(address: string): { ip: string; port: number } | undefined {
  const match = /^tcp:\/\/(.+):(\d+)$/.exec(address);
  return match ? { ip: match[1]!, port: Number(match[2]) } : undefined;
}

/** The port of a Host header value (`reviews:9080` -> 9080, `[::1]:80`, `example.com` -> 80). */
export function portOfHost(host: string | undefined): number {
  const match = /:(\d+)$/.exec(host ?? '');
  if (!match || (host!.includes(']') && !host!.includes(']:'))) return 80;
  return Number(match[1]);
}

/** The Host value without port (`reviews:9080` -> `reviews`). */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * The `version` label in an outbound cluster name, `out.<hostname>|<port name>|<k=v,k=v>`
 * (pilot/pkg/proxy/envoy/v1/route.go BuildOutboundCluster @ 0.8.0 keys clusters this way).
 */
export function clusterVersion(name: string): string | undefined {
  const labels = name.split('|')[2];
  for (const pair of labels?.split(',') ?? []) {
    const [key, value] = pair.split('=');
    if (key === 'version' && value) return value;
  }
  return undefined;
}

/** The HTTP connection manager of a listener, when it has one. */
export function httpManagerOf(listener: Listener): HttpConnectionManagerConfig | undefined {
  const filter = (listener.filters ?? []).find((candidate) => candidate.name === 'http_connection_manager');
  return filter?.config as HttpConnectionManagerConfig | undefined;
}
