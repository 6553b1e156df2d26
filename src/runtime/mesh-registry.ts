/**
 * The project's service registry (Consul or Eureka) as mesh expansion needs it: instances that no
 * container stands for are written with the same shape mesh-local's registrator writes for a
 * container (sandbox/registrator/consul-backend.ts, eureka-backend.ts), so pilot converts them the
 * same way, and listed back. Clients are made per call site and passed in (see `meshRegistry`).
 *
 * Consul (agent API, as gliderlabs/registrator's consul backend): `PUT /v1/agent/service/register`
 * {ID, Name, Tags: ["version|v1"], Address, Port, Meta: {version, protocol}}; pilot 0.8 reads the
 * `key|value` tags as labels (consul/conversion.go convertLabels @0.8.0). Consul keeps an agent
 * registration until it is deregistered: nothing renews it.
 *
 * Eureka (`/eureka/v2`, as the ijsnellf registrator fork): `POST /apps/<NAME>` {instance: {instanceId,
 * hostName: name, app: NAME, ipAddr, vipAddress, status: UP, port {$, @enabled}, dataCenterInfo,
 * leaseInfo, metadata {istio.protocol, version}}}; pilot 0.8 uses hostName as the service host and
 * the metadata without istio.protocol as labels (eureka/conversion.go @0.8.0). Eureka drops an
 * instance whose lease is not renewed; `register` runs once and renews nothing, so it asks for
 * EXTERNAL_LEASE_SECONDS (see there).
 */
import { isAbortError } from '../errors.js';
import { deadline } from '../common/deadline.js';

export type RegistryKind = 'consul' | 'eureka';

/** What `register` writes for one port of an external instance. */
export interface ExternalInstance {
  /** Service name, a DNS label: `hostsvc`. */
  name: string;
  /** IPv4 address the mesh dials. */
  ip: string;
  port: number;
  /** Pilot's protocol name, lower case: `http`, `grpc`, `tcp`... */
  protocol: string;
  /** The `version` label route rules select. */
  version: string;
}

/** One instance as the registry lists it. */
export interface ListedInstance {
  /** Consul service ID or Eureka instanceId. */
  id: string;
  name: string;
  ip: string;
  port: number;
  labels: Record<string, string>;
  /** Made by `mesh-local register` (its ID prefix), not by the registrator for a container. */
  external: boolean;
}

export interface MeshRegistry {
  readonly kind: RegistryKind;
  /** Registers (or replaces, same ID) one port of an external instance. */
  register(instance: ExternalInstance, signal?: AbortSignal): Promise<void>;
  /** Removes one listed instance; one already gone is no error. */
  deregister(instance: ListedInstance, signal?: AbortSignal): Promise<void>;
  /** Every instance the registry holds, of every service. */
  instances(signal?: AbortSignal): Promise<ListedInstance[]>;
}

/** Registry requests that fail (refused, unreachable, timed out); the message names the request. */
export class RegistryRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RegistryRequestError';
  }
}

/** First part of every ID `register` makes; registrator's `-cleanup` removes only IDs under its own host name (`registrator:`). */
export const EXTERNAL_ID_PREFIX = 'mesh-local-register';

/**
 * Eureka lease asked for by `register`, in seconds: 2,147,483 s (24.8 days), the longest whose
 * milliseconds fit a Java int, since Eureka 1.x computes the lease in int milliseconds
 * (`Lease(T, int durationInSecs)`: `duration = durationInSecs * 1000`) and a longer one overflows.
 * Nothing renews it: after that Eureka drops the instance unless `register` runs again.
 * Not confirmed here (Netflix/eureka's Lease.java could not be read); the sandbox's Eureka
 * stand-in honours the lease as asked.
 */
export const EXTERNAL_LEASE_SECONDS = 2_147_483;
/** What the registration states as its renewal interval (Eureka's default); informational, as nothing renews. */
const RENEWAL_INTERVAL_SECONDS = 30;

/** `mesh-local-register:hostsvc:172.20.0.1:8090` (Consul), with `-` for `:` on Eureka as the registrator fork does. */
export function externalId(kind: RegistryKind, instance: Pick<ExternalInstance, 'name' | 'ip' | 'port'>): string {
  const id = `${EXTERNAL_ID_PREFIX}:${instance.name}:${instance.ip}:${instance.port}`;
  return kind === 'eureka' ? id.replace(/:/g, '-') : id;
}

const isExternalId = (id: string) => id.startsWith(`${EXTERNAL_ID_PREFIX}:`) || id.startsWith(`${EXTERNAL_ID_PREFIX}-`);

/** The Consul agent registration body; the shape of consul-backend.ts `consulRegistration`. */
export function consulRegistrationBody(instance: ExternalInstance): Record<string, unknown> {
  return {
    ID: externalId('consul', instance),
    Name: instance.name,
    Tags: [`version|${instance.version}`],
    Address: instance.ip,
    Port: instance.port,
    Meta: { version: instance.version, protocol: instance.protocol },
  };
}

/** The Eureka registration body; the shape of eureka-backend.ts `eurekaInstance`. */
export function eurekaRegistrationBody(instance: ExternalInstance): { instance: Record<string, unknown> } {
  return {
    instance: {
      instanceId: externalId('eureka', instance),
      hostName: instance.name,
      app: instance.name.toUpperCase(),
      ipAddr: instance.ip,
      vipAddress: instance.name,
      status: 'UP',
      port: { $: String(instance.port), '@enabled': 'true' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: RENEWAL_INTERVAL_SECONDS, durationInSecs: EXTERNAL_LEASE_SECONDS },
      metadata: { 'istio.protocol': instance.protocol, version: instance.version },
    },
  };
}

/** `key|value` tags as labels, as pilot's Consul adapter reads them. */
function labelsFromTags(tags: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const tag of Array.isArray(tags) ? tags : []) {
    if (typeof tag !== 'string') continue;
    const bar = tag.indexOf('|');
    if (bar > 0) labels[tag.slice(0, bar)] = tag.slice(bar + 1);
  }
  return labels;
}

/**
 * A client for the registry at `url` (the published base URL, `http://127.0.0.1:8500`; for Eureka
 * the server root, `/eureka/v2` is added). Each request has `timeoutMs` and follows `signal`.
 */
export function meshRegistry(kind: RegistryKind, url: string, timeoutMs = 10_000): MeshRegistry {
  const base = url.replace(/\/+$/, '');
  const request = async (method: string, path: string, signal: AbortSignal | undefined, body?: unknown): Promise<{ status: number; text: string }> => {
    const limit = deadline(timeoutMs, signal);
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        signal: limit.signal,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const reason = isAbortError(error) ? `no answer within ${timeoutMs} ms` : error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new RegistryRequestError(`${kind} at ${base}: ${method} ${path}: ${reason}`);
    } finally {
      limit.clear();
    }
  };
  const expect = (answer: { status: number; text: string }, ok: (status: number) => boolean, what: string) => {
    if (!ok(answer.status)) throw new RegistryRequestError(`${kind} at ${base}: ${what}: HTTP ${answer.status} ${answer.text.trim().slice(0, 300)}`, answer.status);
    return answer;
  };
  const parse = (text: string, what: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RegistryRequestError(`${kind} at ${base}: ${what}: the answer is not JSON`);
    }
  };

  if (kind === 'consul') {
    return {
      kind,
      async register(instance, signal) {
        expect(await request('PUT', '/v1/agent/service/register', signal, consulRegistrationBody(instance)), (status) => status === 200, `registering ${instance.name} at ${instance.ip}:${instance.port}`);
      },
      async deregister(instance, signal) {
        // Consul 1.4+ answers 404 for an ID it does not know: the state wanted.
        expect(await request('PUT', `/v1/agent/service/deregister/${encodeURIComponent(instance.id)}`, signal), (status) => status === 200 || status === 404, `deregistering ${instance.id}`);
      },
      async instances(signal) {
        const answer = expect(await request('GET', '/v1/agent/services', signal), (status) => status === 200, 'listing agent services');
        const services = parse(answer.text, 'listing agent services') as Record<string, { ID?: string; Service?: string; Address?: string; Port?: number; Tags?: unknown }>;
        return Object.values(services ?? {}).map((service) => ({
          id: String(service.ID ?? ''),
          name: String(service.Service ?? ''),
          ip: String(service.Address ?? ''),
          port: Number(service.Port ?? 0),
          labels: labelsFromTags(service.Tags),
          external: isExternalId(String(service.ID ?? '')),
        }));
      },
    };
  }
  const eureka = '/eureka/v2';
  return {
    kind,
    async register(instance, signal) {
      expect(
        await request('POST', `${eureka}/apps/${encodeURIComponent(instance.name.toUpperCase())}`, signal, eurekaRegistrationBody(instance)),
        (status) => status >= 200 && status < 300,
        `registering ${instance.name} at ${instance.ip}:${instance.port}`,
      );
    },
    async deregister(instance, signal) {
      expect(
        await request('DELETE', `${eureka}/apps/${encodeURIComponent(instance.name.toUpperCase())}/${encodeURIComponent(instance.id)}`, signal),
        (status) => status === 200 || status === 404,
        `deregistering ${instance.id}`,
      );
    },
    async instances(signal) {
      const answer = expect(await request('GET', `${eureka}/apps`, signal), (status) => status === 200, 'listing applications');
      const body = parse(answer.text, 'listing applications') as { applications?: { application?: unknown } };
      const applications = asList(body?.applications?.application) as Array<{ instance?: unknown }>;
      return applications.flatMap((application) =>
        (asList(application.instance) as Array<Record<string, unknown>>).map((entry) => {
          const metadata = (entry.metadata ?? {}) as Record<string, unknown>;
          const labels: Record<string, string> = {};
          // As pilot's convertLabels: the metadata without istio.protocol and @class.
          for (const [key, value] of Object.entries(metadata)) if (key !== 'istio.protocol' && key !== '@class') labels[key] = String(value);
          const id = String(entry.instanceId ?? entry.hostName ?? '');
          return {
            id,
            name: String(entry.hostName ?? ''),
            ip: String(entry.ipAddr ?? ''),
            port: Number((entry.port as { $?: unknown } | undefined)?.$ ?? 0),
            labels,
            external: isExternalId(id),
          };
        }),
      );
    },
  };
}

/** Eureka's JSON gives a single element as an object rather than a list of one. */
function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
