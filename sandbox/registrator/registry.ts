/**
 * What the registrator needs from a service registry. The Consul and Eureka backends speak the real
 * registries' HTTP APIs, so they work against the sandbox stand-ins and the real servers alike.
 */
import type { ServiceRegistration } from './services.js';

/** A registration as the registry lists it (what registrator's adapters return from `Services()`). */
export interface ListedService {
  id: string;
  /** The service name it is registered under. */
  name: string;
}

export interface RegistryBackend {
  /** "consul at http://consul:8500", for log lines. */
  readonly description: string;
  /** Whether registrations expire unless `heartbeat` renews them (Eureka leases). */
  readonly needsHeartbeat: boolean;
  /** Resolves when the registry answers. */
  ping(): Promise<void>;
  register(service: ServiceRegistration): Promise<void>;
  /** Removes a registration; one the registry does not know is not an error. */
  deregister(service: ServiceRegistration): Promise<void>;
  /** Renews a registration; rejects when the registry does not (a forgotten one waits for a resync). */
  heartbeat(service: ServiceRegistration): Promise<void>;
  /** Every registration the registry holds, for `-cleanup`'s removal of dangling ones. */
  services(): Promise<ListedService[]>;
  /** Removes a listed registration (`Deregister` of what `Services()` returned). */
  deregisterListed(service: ListedService): Promise<void>;
}

/** Raised when a registry answers a request with an error status. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}
