/**
 * What the registrator needs from a service registry. The Consul and Eureka backends speak the real
 * registries' HTTP APIs, so they work against the sandbox stand-ins and the real servers alike.
 */
import type { ServiceRegistration } from './services.js';

export interface ReconcileResult {
  /** Service IDs that were missing from the registry and were registered again. */
  added: string[];
  /** Service IDs this host had registered that no running container stands for any more. */
  removed: string[];
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
  /**
   * Makes the registry match `services` for what this host owns: registers what is missing and
   * removes registrations made from `hostname` that are not in the list.
   */
  reconcile(hostname: string, services: ServiceRegistration[]): Promise<ReconcileResult>;
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
