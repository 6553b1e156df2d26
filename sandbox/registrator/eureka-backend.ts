/**
 * Registers services with Eureka through its `/eureka/v2/apps` REST API, following the registrator
 * fork Istio's Eureka setup used (ijsnellf/registrator `eureka/eureka.go` at 1a2bcfb, the image
 * `ijsnellf/registrator:v7`): the same requests, a ping that never waits, renewals that re-register
 * nothing, no listing for `-cleanup`; hostName and app are the service name (Pilot uses hostName as
 * the service's host), the instance ID is the registrator ID with `:` replaced by `-`, metadata
 * carries `istio.protocol` plus the `key|value` tags as labels.
 */
import { send, summarize } from './http.js';
import { RegistryError, type ListedService, type RegistryBackend } from './registry.js';
import type { ServiceRegistration } from './services.js';

export interface EurekaLease {
  /** How often this registrator renews (HEARTBEAT_SECONDS). */
  renewalIntervalSecs: number;
  /** How long Eureka keeps an instance without renewal (`-ttl`). */
  durationSecs: number;
}

export function eurekaInstanceId(service: ServiceRegistration): string {
  return service.id.replace(/:/g, '-');
}

export function eurekaAppName(service: ServiceRegistration): string {
  return service.name.toUpperCase();
}

export function eurekaInstance(service: ServiceRegistration, lease: EurekaLease): { instance: Record<string, unknown> } {
  return {
    instance: {
      instanceId: eurekaInstanceId(service),
      hostName: service.name,
      app: eurekaAppName(service),
      ipAddr: service.ip,
      vipAddress: service.name,
      status: 'UP',
      // A string, as the fork and Eureka 1.x clients sent it; Eureka reads a string or a number.
      port: { $: String(service.port), '@enabled': 'true' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: lease.renewalIntervalSecs, durationInSecs: lease.durationSecs },
      // The fork always sent istio.protocol ("hack for istio": Pilot assumes TCP without it).
      metadata: { 'istio.protocol': service.protocol, ...service.labels },
    },
  };
}

export class EurekaBackend implements RegistryBackend {
  readonly needsHeartbeat = true;

  /** `baseUrl`: http://eureka:8080/eureka/v2 */
  constructor(
    readonly baseUrl: string,
    private readonly lease: EurekaLease,
    private readonly timeoutMs = 10_000,
  ) {}

  get description(): string {
    return `eureka at ${this.baseUrl}`;
  }

  private instanceUrl(app: string, id: string): string {
    return `${this.baseUrl}/apps/${encodeURIComponent(app)}/${encodeURIComponent(id)}`;
  }

  /**
   * Always succeeds without asking Eureka, as the fork's `Ping()` does (eureka/eureka.go, a TODO
   * returning nil): `-retry-attempts` never waits for Eureka, so registrations made before it is up
   * fail and only `-resync` tries them again.
   */
  async ping(): Promise<void> {}

  async register(service: ServiceRegistration): Promise<void> {
    const response = await send({
      method: 'POST',
      url: `${this.baseUrl}/apps/${encodeURIComponent(eurekaAppName(service))}`,
      json: eurekaInstance(service, this.lease),
      timeoutMs: this.timeoutMs,
    });
    if (response.status < 200 || response.status > 299) throw new RegistryError(`registering ${service.id}: ${summarize(response)}`, response.status);
  }

  async deregister(service: ServiceRegistration): Promise<void> {
    await this.cancel(eurekaAppName(service), eurekaInstanceId(service));
  }

  private async cancel(app: string, id: string): Promise<void> {
    const response = await send({ method: 'DELETE', url: this.instanceUrl(app, id), timeoutMs: this.timeoutMs });
    if (response.status !== 200 && response.status !== 404) throw new RegistryError(`deregistering ${id}: ${summarize(response)}`, response.status);
  }

  async heartbeat(service: ServiceRegistration): Promise<void> {
    const response = await send({
      method: 'PUT',
      url: this.instanceUrl(eurekaAppName(service), eurekaInstanceId(service)),
      timeoutMs: this.timeoutMs,
    });
    if (response.status === 200) return;
    // The fork's Refresh() only logs a failed renewal (a 404 when Eureka forgot the instance):
    // nothing registers it again but a resync (-resync), which re-posts every registration.
    throw new RegistryError(`renewing ${service.id}: ${summarize(response)}`, response.status);
  }

  /**
   * Nothing, as the fork's `Services()` (eureka/eureka.go, a TODO returning nil): `-cleanup` removes
   * no dangling Eureka instance; one nobody renews any more leaves when its lease runs out.
   */
  async services(): Promise<ListedService[]> {
    return [];
  }

  async deregisterListed(service: ListedService): Promise<void> {
    await this.cancel(service.name.toUpperCase(), service.id.replace(/:/g, '-'));
  }
}
