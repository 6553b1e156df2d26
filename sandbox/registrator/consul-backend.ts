/**
 * Registers services with Consul through its agent API, the way gliderlabs/registrator's consul
 * backend does (master build: attributes go into ServiceMeta).
 */
import { send, summarize } from './http.js';
import { RegistryError, type ListedService, type RegistryBackend } from './registry.js';
import type { ServiceRegistration } from './services.js';

/** Consul refuses Meta keys outside this alphabet and the reserved `consul-` prefix. */
const META_KEY = /^[A-Za-z0-9_-]{1,128}$/;
const META_VALUE_MAX = 512;
const META_MAX_PAIRS = 64;

export interface ConsulRegistration {
  ID: string;
  Name: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
}

/**
 * Meta: the container's other SERVICE_<KEY> attributes, then its `key|value` tags (version: v1),
 * then `protocol` (SERVICE_PROTOCOL, else http, which Pilot 1.1+ reads from ServiceMeta).
 * Keys Consul would refuse are left out rather than failing the whole registration.
 */
export function consulMeta(service: ServiceRegistration): Record<string, string> {
  const meta: Record<string, string> = {};
  const candidates: Array<[string, string]> = [...Object.entries(service.attrs), ...Object.entries(service.labels), ['protocol', service.protocol]];
  for (const [key, value] of candidates) {
    if (!META_KEY.test(key) || key.startsWith('consul-') || value.length > META_VALUE_MAX) continue;
    meta[key] = value;
  }
  return Object.fromEntries(Object.entries(meta).slice(0, META_MAX_PAIRS));
}

export function consulRegistration(service: ServiceRegistration): ConsulRegistration {
  return {
    ID: service.id,
    Name: service.name,
    Tags: service.tags,
    Address: service.ip,
    Port: service.port,
    Meta: consulMeta(service),
  };
}

interface AgentService {
  ID: string;
  Service: string;
}

export class ConsulBackend implements RegistryBackend {
  readonly needsHeartbeat = false;

  /** `baseUrl`: http://consul:8500 */
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  get description(): string {
    return `consul at ${this.baseUrl}`;
  }

  async ping(): Promise<void> {
    const response = await send({ url: `${this.baseUrl}/v1/status/leader`, timeoutMs: this.timeoutMs });
    if (response.status !== 200) throw new RegistryError(`consul leader: ${summarize(response)}`, response.status);
    const leader = JSON.parse(response.body) as unknown;
    if (typeof leader !== 'string' || leader === '') throw new RegistryError('consul has no leader yet', response.status);
  }

  async register(service: ServiceRegistration): Promise<void> {
    const response = await send({
      method: 'PUT',
      url: `${this.baseUrl}/v1/agent/service/register`,
      json: consulRegistration(service),
      timeoutMs: this.timeoutMs,
    });
    if (response.status !== 200) throw new RegistryError(`registering ${service.id}: ${summarize(response)}`, response.status);
  }

  async deregister(service: ServiceRegistration): Promise<void> {
    await this.deregisterId(service.id);
  }

  private async deregisterId(id: string): Promise<void> {
    const response = await send({
      method: 'PUT',
      url: `${this.baseUrl}/v1/agent/service/deregister/${encodeURIComponent(id)}`,
      timeoutMs: this.timeoutMs,
    });
    // Consul 1.4+ answers 404 for an ID it does not know; that is the state we wanted.
    if (response.status !== 200 && response.status !== 404) throw new RegistryError(`deregistering ${id}: ${summarize(response)}`, response.status);
  }

  /** Consul keeps agent registrations without renewal; registering again is harmless. */
  async heartbeat(service: ServiceRegistration): Promise<void> {
    await this.register(service);
  }

  /** The agent's services, as gliderlabs' consul adapter lists them (`Agent().Services()`). */
  async services(): Promise<ListedService[]> {
    const response = await send({ url: `${this.baseUrl}/v1/agent/services`, timeoutMs: this.timeoutMs });
    if (response.status !== 200) throw new RegistryError(`listing agent services: ${summarize(response)}`, response.status);
    return Object.values(JSON.parse(response.body) as Record<string, AgentService>).map((service) => ({ id: service.ID, name: service.Service }));
  }

  async deregisterListed(service: ListedService): Promise<void> {
    await this.deregisterId(service.id);
  }
}
