/**
 * The registration loop: keeps a registry in step with the running containers, as gliderlabs'
 * bridge does (bridge/bridge.go, the same file in the ijsnellf fork).
 *
 * - At start: subscribe to Docker events (first, so no start is missed), then sync.
 * - On `start` register the container; on `die`, `stop` or `destroy` deregister it.
 * - A registration the registry refuses is dropped, as gliderlabs' bridge drops it: only a sync
 *   tries it again.
 * - A sync (`Sync`), at start and every `resyncMs` (registrator's `-resync`; off by default): list
 *   the running containers, register those not registered yet and register the others' services
 *   again (a restarted Consul or Eureka gets them back). With `-cleanup` also: deregister the
 *   services of containers that no longer exist (created, restarting, running or paused), and
 *   every registration the registry lists whose ID carries this registrator's host name
 *   (`<hostname>:<container>:<port>`) but stands for none of its services: what it registered
 *   before a restart, or an earlier container with the same host name. Other IDs stay.
 * - Every `heartbeatMs`, for registries with leases (Eureka): renew every registration.
 * - When the event stream ends or breaks, the registrator ends: upstream's main loop reads events
 *   until the stream closes, then `log.Fatal("Docker event loop closed")` (registrator.go, also in
 *   the fork), exit 1. A restart policy brings it back, and its first sync catches up.
 * All registry changes run one at a time, so a heartbeat cannot re-register a service that a
 * deregistration is removing. Closing stops the loop and leaves registrations in place, as
 * registrator does: a registrator restart must not empty the mesh.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient, DockerEvent } from './docker.js';
import { isAbort } from './http.js';
import type { RegistryBackend } from './registry.js';
import { planServices, type ServiceRegistration } from './services.js';

/** IDs registrator generates, `<hostname>:<container name>:<port>[:udp]` (bridge.go `serviceIDPattern`). */
export const SERVICE_ID_PATTERN = /^(.+?):([a-zA-Z0-9][a-zA-Z0-9_.-]+):[0-9]+(?::udp)?$/;

/** The containers `-cleanup` counts as existing (bridge.go `Sync`). */
const NON_EXITED = ['created', 'restarting', 'running', 'paused'];

export interface RegistratorOptions {
  docker: DockerClient;
  backend: RegistryBackend;
  /** First part of every service ID; the registrator container's host name. */
  hostname: string;
  /** 0 turns periodic resync off (registrator's default). */
  resyncMs: number;
  /** 0: no heartbeats (registrator's default without -ttl-refresh). */
  heartbeatMs: number;
  explicit?: boolean;
  /** Registrator's `-cleanup`. */
  cleanup?: boolean;
  forceTags?: string[];
  /** Attempts to reach the registry at start; -1 retries for ever (registrator's `-retry-attempts`). */
  retryAttempts?: number;
  retryIntervalMs?: number;
  log?: (line: string) => void;
}

export interface RunningRegistrator {
  /** Services registered per container ID, for tests and diagnostics. */
  registered(): ServiceRegistration[];
  /** Runs a sync now and resolves when it is done. */
  resync(): Promise<void>;
  /**
   * Rejects with `Docker event loop closed` when the event stream ends or breaks before `close()`
   * (then the process must exit 1, as upstream's does); resolves after `close()`.
   */
  ended: Promise<void>;
  close(): Promise<void>;
}

const short = (id: string) => id.slice(0, 12);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function startRegistrator(options: RegistratorOptions): Promise<RunningRegistrator> {
  const registrator = new Registrator(options);
  await registrator.start();
  return {
    registered: () => registrator.registered(),
    resync: () => registrator.requestResync(),
    ended: registrator.ended,
    close: () => registrator.close(),
  };
}

class Registrator {
  /** Desired registrations per running container. */
  private readonly services = new Map<string, ServiceRegistration[]>();
  /** Why a container was skipped, to log each reason once. */
  private readonly skipped = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pendingJobs = new Set<string>();
  private tail: Promise<void> = Promise.resolve();
  private eventsLoop: Promise<void> = Promise.resolve();
  ended: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly log: (line: string) => void;

  constructor(private readonly options: RegistratorOptions) {
    this.log = options.log ?? ((line) => console.log(`registrator: ${line}`));
  }

  registered(): ServiceRegistration[] {
    return [...this.services.values()].flat();
  }

  async start(): Promise<void> {
    const { docker, backend } = this.options;
    await this.waitForRegistry();
    let events: AsyncIterable<DockerEvent>;
    try {
      events = await docker.events(this.abort.signal);
    } catch (error) {
      throw new Error(`cannot subscribe to Docker events: ${message(error)}`);
    }
    this.log(`using ${backend.description}`);
    try {
      // Sync(false): registrator exits when it cannot list containers at start.
      await this.enqueue(() => this.sync(false));
    } catch (error) {
      this.abort.abort();
      throw error;
    }

    this.eventsLoop = this.followEvents(events);
    this.ended = this.eventsLoop;
    // Handled here too, so that a caller that never looks at `ended` sees no unhandled rejection.
    this.eventsLoop.catch(() => undefined);
    if (this.options.resyncMs > 0) this.timers.push(setInterval(() => void this.requestResync(), this.options.resyncMs));
    if (backend.needsHeartbeat && this.options.heartbeatMs > 0) this.timers.push(setInterval(() => void this.requestHeartbeat(), this.options.heartbeatMs));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.abort.abort();
    await this.eventsLoop.catch(() => undefined);
    await this.tail;
  }

  private async waitForRegistry(): Promise<void> {
    const attempts = this.options.retryAttempts ?? -1;
    const intervalMs = this.options.retryIntervalMs ?? 2000;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.options.backend.ping();
        return;
      } catch (error) {
        if (attempts >= 0 && attempt > attempts) throw new Error(`cannot reach ${this.options.backend.description}: ${message(error)}`);
        this.log(`waiting for ${this.options.backend.description}: ${message(error)}`);
        await sleep(intervalMs, undefined, { signal: this.abort.signal });
      }
    }
  }

  /** Runs registry work one job at a time. */
  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.tail.then(async () => {
      if (!this.closed) await job();
    });
    this.tail = run.catch((error: unknown) => this.log(`error: ${message(error)}`));
    return run;
  }

  /** Queues a periodic job unless one of the same kind is already waiting. */
  private enqueueOnce(kind: string, job: () => Promise<void>): Promise<void> {
    if (this.pendingJobs.has(kind)) return this.tail;
    this.pendingJobs.add(kind);
    return this.enqueue(async () => {
      this.pendingJobs.delete(kind);
      await job();
    }).catch(() => undefined);
  }

  requestResync(): Promise<void> {
    return this.enqueueOnce('resync', () => this.resync());
  }

  private requestHeartbeat(): Promise<void> {
    return this.enqueueOnce('heartbeat', () => this.heartbeat());
  }

  private async add(containerId: string): Promise<void> {
    if (this.services.has(containerId)) return;
    let container;
    try {
      container = await this.options.docker.inspectContainer(containerId);
    } catch (error) {
      this.log(`cannot inspect ${short(containerId)}: ${message(error)}`);
      return;
    }
    if (!container) return; // gone already
    const name = container.Name.replace(/^\//, '');
    const plan = planServices(container, { hostname: this.options.hostname, explicit: this.options.explicit, forceTags: this.options.forceTags });
    if (!plan.register) {
      if (this.skipped.get(containerId) !== plan.reason) this.log(`skipped ${short(containerId)} ${name}: ${plan.reason}`);
      this.skipped.set(containerId, plan.reason);
      return;
    }
    this.skipped.delete(containerId);
    for (const ignored of plan.ignored) this.log(`ignored ${short(containerId)} ${name} port ${ignored.port}: ${ignored.reason}`);
    // As gliderlabs' bridge (bridge/bridge.go, add): only what the registry accepted is kept, so a
    // refused registration gets no heartbeats and is tried again only by a resync (-resync).
    const accepted: ServiceRegistration[] = [];
    for (const service of plan.services) {
      try {
        await this.options.backend.register(service);
        accepted.push(service);
        this.log(`registered ${service.id} as ${service.name} at ${service.ip}:${service.port}${service.tags.length ? ` tags ${service.tags.join(',')}` : ''}`);
      } catch (error) {
        const retry = this.options.resyncMs > 0 ? `tried again at the next resync, in ${this.options.resyncMs / 1000} s` : 'not tried again: no -resync';
        this.log(`register failed for ${service.id} (${retry}): ${message(error)}`);
      }
    }
    if (accepted.length > 0) this.services.set(containerId, accepted);
  }

  private async remove(containerId: string): Promise<void> {
    this.skipped.delete(containerId);
    const services = this.services.get(containerId);
    if (!services) return;
    this.services.delete(containerId);
    for (const service of services) {
      try {
        await this.options.backend.deregister(service);
        this.log(`deregistered ${service.id} (${service.name})`);
      } catch (error) {
        this.log(`deregister failed for ${service.id} (removed at the next resync): ${message(error)}`);
      }
    }
  }

  private async resync(): Promise<void> {
    await this.sync(true);
  }

  /** bridge.go `Sync(quiet)`: only the first one, at start, fails when containers cannot be listed. */
  private async sync(quiet: boolean): Promise<void> {
    const { docker, backend, hostname } = this.options;
    let containers;
    try {
      containers = await docker.listContainers();
    } catch (error) {
      if (!quiet) throw new Error(`cannot list containers: ${message(error)}`);
      this.log(`resync skipped, cannot list containers: ${message(error)}`);
      return;
    }
    const running = new Set(containers.map((container) => container.Id));
    for (const id of [...this.skipped.keys()]) if (!running.has(id)) this.skipped.delete(id);
    for (const id of running) {
      const services = this.services.get(id);
      if (!services) {
        await this.add(id);
        continue;
      }
      for (const service of services) {
        try {
          await backend.register(service);
        } catch (error) {
          this.log(`sync register failed for ${service.id}: ${message(error)}`);
        }
      }
    }
    if (!this.options.cleanup) return;

    let existing;
    try {
      existing = new Set((await docker.listContainers({ status: NON_EXITED })).map((container) => container.Id));
    } catch (error) {
      this.log(`cleanup skipped, cannot list non-exited containers: ${message(error)}`);
      return;
    }
    for (const id of [...this.services.keys()]) {
      if (existing.has(id)) continue;
      this.log(`stale: removing the services of ${short(id)}, its container does not exist`);
      await this.remove(id);
    }
    let listed;
    try {
      listed = await backend.services();
    } catch (error) {
      this.log(`cleanup failed: ${message(error)}`);
      return;
    }
    const registered = this.registered();
    for (const entry of listed) {
      const match = SERVICE_ID_PATTERN.exec(entry.id);
      // Not an ID registrator makes, or one made on another host: not ours to remove.
      if (!match || match[1] !== hostname) continue;
      if (registered.some((service) => service.name === entry.name && service.containerName === match[2])) continue;
      try {
        await backend.deregisterListed(entry);
        this.log(`removed dangling ${entry.id} (${entry.name})`);
      } catch (error) {
        this.log(`deregister failed for dangling ${entry.id}: ${message(error)}`);
      }
    }
  }

  private async heartbeat(): Promise<void> {
    await Promise.all(
      this.registered().map(async (service) => {
        try {
          await this.options.backend.heartbeat(service);
        } catch (error) {
          this.log(`heartbeat failed for ${service.id}: ${message(error)}`);
        }
      }),
    );
  }

  private onEvent(event: DockerEvent): void {
    if (event.action === 'start') void this.enqueue(() => this.add(event.id)).catch(() => undefined);
    else if (event.action === 'die' || event.action === 'stop' || event.action === 'destroy') {
      void this.enqueue(() => this.remove(event.id)).catch(() => undefined);
    }
  }

  /** Reads events until the stream closes; then, unless closed, rejects as upstream's log.Fatal. */
  private async followEvents(stream: AsyncIterable<DockerEvent>): Promise<void> {
    let reason = '';
    try {
      for await (const event of stream) this.onEvent(event);
    } catch (error) {
      if (!isAbort(error)) reason = ` (${message(error)})`;
    }
    if (this.closed) return;
    for (const timer of this.timers) clearInterval(timer);
    throw new Error(`Docker event loop closed${reason}`);
  }
}
