/**
 * The registry as Pilot sees it, read from Pilot's v1 discovery API, so that the same code serves
 * Consul and Eureka (Pilot has already turned either into hostnames and instance labels):
 *
 *   GET /v1/registration                   -> [{ 'service-key': 'reviews.service.consul|http', hosts: [{ ip_address, port, tags? }] }]
 *   GET /v1/registration/<host>|<ports>|<k=v,...> -> { hosts: [...] }: the instances with those labels
 *
 * Sources (istio/istio 0.8.0): pilot/pkg/proxy/envoy/v1/discovery.go `ListAllEndpoints` and
 * `ListEndpoints`, pilot/pkg/model/service.go `ServiceKey` / `ParseServiceKey`. Upstream's list
 * sets a host's `tags` only to its availability zone, never to its labels; so a label selector a
 * rule uses is asked about with a keyed query, which filters instances by labels (the query
 * Envoy's SDS made for each version cluster). mesh-local's pilot stand-in answers both the same way.
 */
import { deadline } from '../common/deadline.js';
import { ServiceFailedError, isAbortError } from '../errors.js';
import type { RegistryServices } from '../model/route-rules.js';

export const DEFAULT_PILOT_TIMEOUT_MS = 10_000;

/** A label selector a rule uses on a service (`reviews.service.consul`, `{version: 'v2'}`). */
export interface LabelQuery {
  hostname: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * Hostname -> one label map per instance (endpoint `ip_address:port`), for `checkAgainstRegistry`.
 * An instance's map is the tags the list gave it plus the labels of every selector in `queries`
 * (the selectors the rules use) that pilot's keyed query returned it for.
 */
export type RegistryView = (queries: readonly LabelQuery[], signal?: AbortSignal) => Promise<RegistryServices>;

interface ListedService {
  hostname: string;
  portNames: string[];
  /** Label maps by endpoint (`ip_address:port`), in the order pilot listed them. */
  hosts: Map<string, Record<string, string>>;
}

/**
 * The registry behind Pilot's discovery port at `pilot` (a base URL, or a function that finds it on
 * first use). Errors: ServiceFailedError (exit 1) when Pilot does not answer, answers an error, or
 * answers something else than the v1 JSON, each request after `timeoutMs`.
 */
export function pilotRegistry(pilot: string | (() => Promise<string>), options: { timeoutMs?: number } = {}): RegistryView {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PILOT_TIMEOUT_MS;
  return async (queries, signal) => {
    const base = (typeof pilot === 'string' ? pilot : await pilot()).replace(/\/+$/, '');
    const get = (path: string) => getJson(base, path, timeoutMs, signal);
    const listed = parseRegistrations(await get('/v1/registration'), base);
    const seen = new Set<string>();
    for (const query of queries) {
      const service = listed.get(query.hostname);
      const selector = Object.entries(query.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => `${key}=${value}`)
        .join(',');
      if (!service || selector === '') continue;
      const key = `${query.hostname}|${service.portNames.join(',')}|${selector}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const answer = await get(`/v1/registration/${encodeURIComponent(key)}`);
      const hosts = isRecord(answer) && Array.isArray(answer.hosts) ? answer.hosts : undefined;
      if (!hosts) throw new ServiceFailedError(`pilot at ${base} answered /v1/registration/${key} without a hosts list`);
      for (const host of hosts) addHost(service.hosts, host, query.labels);
    }
    return new Map([...listed.values()].map((service) => [service.hostname, [...service.hosts.values()]]));
  };
}

/** `/v1/registration`'s answer by hostname (the part of the service key before the first `|`). */
function parseRegistrations(answer: unknown, base: string): Map<string, ListedService> {
  if (!Array.isArray(answer)) throw new ServiceFailedError(`pilot at ${base} answered /v1/registration with something that is not a list`);
  const out = new Map<string, ListedService>();
  for (const entry of answer) {
    const key = isRecord(entry) ? entry['service-key'] : undefined;
    if (typeof key !== 'string' || key === '') {
      throw new ServiceFailedError(`pilot at ${base} answered /v1/registration with an entry without a service-key`);
    }
    const [hostname = '', portName] = key.split('|');
    const service: ListedService = out.get(hostname) ?? { hostname, portNames: [], hosts: new Map() };
    if (portName && !service.portNames.includes(portName)) service.portNames.push(portName);
    const hosts = (entry as Record<string, unknown>).hosts;
    for (const host of Array.isArray(hosts) ? hosts : []) addHost(service.hosts, host, {});
    out.set(hostname, service);
  }
  return out;
}

/** Merges `host`'s tags and `labels` into its endpoint's entry (a new one when not listed yet; one per host without an address). */
function addHost(hosts: Map<string, Record<string, string>>, host: unknown, labels: Readonly<Record<string, string>>): void {
  const address = isRecord(host) && typeof host.ip_address === 'string' ? `${host.ip_address}:${String(host.port)}` : `#${hosts.size}`;
  hosts.set(address, { ...hosts.get(address), ...tagsOf(host), ...labels });
}

function tagsOf(host: unknown): Record<string, string> {
  const tags = isRecord(host) ? host.tags : undefined;
  if (!isRecord(tags)) return {};
  return Object.fromEntries(Object.entries(tags).filter((pair): pair is [string, string] => typeof pair[1] === 'string'));
}

async function getJson(base: string, path: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
  const { signal: requestSignal, clear } = deadline(timeoutMs, signal);
  const hint = 'check istio-pilot with `mesh-local status` and `mesh-local logs istio-pilot`';
  try {
    const response = await fetch(`${base}${path}`, { headers: { accept: 'application/json' }, signal: requestSignal });
    const text = await response.text();
    if (!response.ok) {
      throw new ServiceFailedError(`pilot at ${base} answered ${path} with HTTP ${response.status}: ${text.trim().slice(0, 300)}`, { hint });
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ServiceFailedError(`pilot at ${base} answered ${path} with something that is not JSON`, { hint });
    }
  } catch (error) {
    if (error instanceof ServiceFailedError) throw error;
    if (signal?.aborted) throw signal.reason ?? error;
    if (requestSignal.aborted) throw new ServiceFailedError(`pilot at ${base} did not answer ${path} within ${timeoutMs} ms`, { cause: error, hint });
    if (isAbortError(error)) throw error;
    const reason = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
    throw new ServiceFailedError(`cannot reach pilot at ${base}: ${reason}`, { cause: error, hint });
  } finally {
    clear();
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
