/**
 * Mesh expansion, the registry side: `mesh-local register NAME IP [PORTNAME:]PORT...` and
 * `mesh-local unregister NAME IP` put an instance no container stands for (a VM, a process on the
 * host) into the running project's Consul or Eureka, as `istioctl register` / `deregister` put one
 * into Kubernetes' Endpoints (istioctl/cmd/istioctl/register.go, deregister.go and
 * pilot/pkg/serviceregistry/kube/register.go, deregister.go @0.8.0), so that mesh services reach it
 * by name and route rules select it by its `version` label.
 *
 * Kubernetes gave a registered service a cluster IP and a DNS name. Here the name comes from a
 * "service address" container: the project's pause image on the mesh network with the service
 * name (and, on Consul, `<name>.service.consul`) as its DNS alias, made when the first external
 * instance of a name is registered and removed with the last. A caller's sidecar captures the
 * connection to that address and routes it by the Host header to the registered instances, as
 * Envoy did for a cluster IP; callers without a sidecar reach nothing there. It carries the
 * project's Compose label, so `down` removes it; Compose calls it an orphan.
 */
import { isIPv4 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError, ServiceFailedError, UsageError } from '../errors.js';
import { deadline } from '../common/deadline.js';
import { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, type ContainerInfo } from '../runtime/containers.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { RegistryRequestError, type ExternalInstance, type ListedInstance, type MeshRegistry, type RegistryKind } from '../runtime/mesh-registry.js';
import { requireEndpoints } from './endpoints.js';
import type { Console } from './render.js';
import { waitForPropagation } from './route.js';

/** Pilot 0.8's protocol names (model/service.go ParseProtocol @0.8.0). */
export const PILOT_PROTOCOLS = ['http', 'http2', 'grpc', 'https', 'tcp', 'udp', 'mongo', 'redis'] as const;

/**
 * istioctl's guesses for a port given without a name (kube/register.go `portsToName` @0.8.0); any
 * other port gets `http`, the protocol registrator gives a container without SERVICE_PROTOCOL
 * (istioctl named it after its number, which Kubernetes' adapter reads as TCP).
 */
const PORT_NAME_GUESSES: Record<number, string> = { 80: 'http', 443: 'https', 8080: 'http' };

export const DEFAULT_EXTERNAL_VERSION = 'v1';
/** The role label of a service address container (see the module comment). */
export const SERVICE_ADDRESS_ROLE = 'service-address';
/** How long `register`/`unregister` wait for pilot to list the change. */
export const PILOT_SYNC_TIMEOUT_MS = 15_000;

export interface NamedPort {
  /** As given, or guessed: `http`, `http-api`, `grpc`. */
  name: string;
  port: number;
  /** The name's protocol part (before the first `-`), lower case. */
  protocol: string;
}

export interface Registration {
  name: string;
  ip: string;
  ports: NamedPort[];
  version: string;
}

/** RFC 1123 label, as Kubernetes service names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes' IANA_SVC_NAME: port names. */
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes label values: route rules select `version` by it. */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Validates a service name (exit 2 naming the argument). */
export function parseServiceName(value: string, what = 'NAME'): string {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    throw new UsageError(`${what} '${value}': must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`);
  }
  return value;
}

/** Validates an IPv4 address (exit 2). Pilot's registries hold one address per instance; IPv6 is not accepted here. */
export function parseInstanceIp(value: string): string {
  if (!isIPv4(value)) throw new UsageError(`IP '${value}': must be an IPv4 address like 172.20.0.1`);
  if (value === '0.0.0.0' || value.startsWith('127.')) {
    throw new UsageError(`IP '${value}': must be an address the mesh's containers can dial, not ${value === '0.0.0.0' ? 'the unspecified address' : 'loopback'} (for this host, use the gateway of the project's mesh network)`);
  }
  return value;
}

/** `[name:]port` as istioctl's Str2NamedPort reads it, validated (exit 2). */
export function parseNamedPort(value: string): NamedPort {
  const colon = value.indexOf(':');
  const name = colon >= 0 ? value.slice(0, colon) : undefined;
  const portText = colon >= 0 ? value.slice(colon + 1) : value;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`PORT '${value}': the port must be a number from 1 to 65535`);
  if (name === undefined) {
    const guessed = PORT_NAME_GUESSES[port] ?? 'http';
    return { name: guessed, port, protocol: guessed };
  }
  if (name.length > 15 || !PORT_NAME.test(name) || name.includes('--')) {
    throw new UsageError(`PORT '${value}': the port name '${name}' must be lower-case letters, digits and single '-', at most 15 characters (a Kubernetes port name)`);
  }
  const protocol = name.split('-')[0]!;
  if (!(PILOT_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new UsageError(`PORT '${value}': the port name must start with a protocol pilot knows (${PILOT_PROTOCOLS.join(', ')}), optionally followed by -<suffix>, e.g. http-api`);
  }
  return { name, port, protocol };
}

export function parseVersion(value: string): string {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw new UsageError(`--app-version '${value}': must be a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters`);
  }
  return value;
}

/** Every argument of `register`, validated (exit 2 naming the first bad one). */
export function parseRegistration(name: string, ip: string, ports: readonly string[], version = DEFAULT_EXTERNAL_VERSION): Registration {
  if (ports.length === 0) throw new UsageError('register needs at least one [PORTNAME:]PORT');
  const parsed = ports.map(parseNamedPort);
  const seen = new Set<number>();
  for (const port of parsed) {
    if (seen.has(port.port)) throw new UsageError(`PORT ${port.port} is given twice`);
    seen.add(port.port);
  }
  return { name: parseServiceName(name), ip: parseInstanceIp(ip), ports: parsed, version: parseVersion(version) };
}

export interface ExpansionDeps {
  engine: Pick<DockerEngine, 'projectContainers' | 'projectNetworks' | 'runContainer' | 'removeContainers'>;
  /** A client for the project's registry at its published URL. */
  registryClient: (kind: RegistryKind, url: string) => MeshRegistry;
  console: Console;
  /** Time pilot may take to list a change (PILOT_SYNC_TIMEOUT_MS). */
  pilotTimeoutMs?: number;
}

export interface RegisterResult {
  registry: RegistryKind;
  name: string;
  ip: string;
  version: string;
  ports: NamedPort[];
  /** Earlier registrations of NAME at IP that this one replaced. */
  replaced: number;
  /** The address the name resolves to on the mesh network (the service address container's), if one was needed. */
  serviceAddress?: string;
}

/** `mesh-local register`. Errors: ProjectNotRunningError (exit 1), ServiceFailedError when the registry or pilot fails (exit 1). */
export async function registerCommand(request: { project: string; registration: Registration }, deps: ExpansionDeps, signal?: AbortSignal): Promise<RegisterResult> {
  const { project, registration } = request;
  const { registry: endpoint, pilot } = await requireEndpoints(deps.engine, project, ['registry', 'pilot'], signal);
  const registry = deps.registryClient(endpoint.kind, endpoint.url);
  const previous = (await call(registry, () => registry.instances(signal))).filter(
    (instance) => instance.external && instance.name === registration.name && instance.ip === registration.ip,
  );
  // Replace: the ports of an earlier registration that this one does not name go away.
  for (const instance of previous) await call(registry, () => registry.deregister(instance, signal));
  for (const port of registration.ports) {
    const instance: ExternalInstance = { name: registration.name, ip: registration.ip, port: port.port, protocol: port.protocol, version: registration.version };
    await call(registry, () => registry.register(instance, signal));
  }
  const serviceAddress = await ensureServiceAddress(project, registration.name, endpoint.kind, deps, signal);
  await waitForPilot(pilot, registration.name, (hosts) => registration.ports.every((port) => hosts.has(`${registration.ip}:${port.port}`)), deps.pilotTimeoutMs, signal);
  // Sidecars poll pilot once a second (v1 discovery, no acknowledgement): the bound route apply waits too.
  await waitForPropagation(signal);
  const result: RegisterResult = {
    registry: endpoint.kind,
    name: registration.name,
    ip: registration.ip,
    version: registration.version,
    ports: registration.ports,
    replaced: previous.length,
    ...(serviceAddress ? { serviceAddress } : {}),
  };
  deps.console.out(formatRegistered(result));
  return result;
}

export function formatRegistered(result: RegisterResult): string {
  const ports = result.ports.map((port) => `${port.name}:${port.port}`).join(', ');
  const lines = [
    `${result.replaced > 0 ? 'replaced' : 'registered'} ${result.name} at ${result.ip} (${ports}, version ${result.version}) in ${result.registry}; pilot lists it and the sidecars have had time to fetch it`,
    ...result.ports.map((port) => `  mesh services reach it as ${port.protocol.startsWith('http') ? 'http://' : ''}${result.name}:${port.port}${result.registry === 'consul' ? ` (or ${result.name}.service.consul:${port.port})` : ''}`),
  ];
  if (result.serviceAddress) lines.push(`  ${result.name} resolves to ${result.serviceAddress} on the mesh network (its service address)`);
  return `${lines.join('\n')}\n`;
}

export interface UnregisterResult {
  registry: RegistryKind;
  name: string;
  ip: string;
  removed: ListedInstance[];
  /** The service address container was removed with the last external instance of the name. */
  serviceAddressRemoved: boolean;
}

/** `mesh-local unregister`. Errors: NotFoundError (exit 1) when `register` made no instance of NAME at IP; ProjectNotRunningError; ServiceFailedError. */
export async function unregisterCommand(request: { project: string; name: string; ip: string }, deps: ExpansionDeps, signal?: AbortSignal): Promise<UnregisterResult> {
  const { project, name, ip } = request;
  const { registry: endpoint, pilot } = await requireEndpoints(deps.engine, project, ['registry', 'pilot'], signal);
  const registry = deps.registryClient(endpoint.kind, endpoint.url);
  const all = await call(registry, () => registry.instances(signal));
  const matching = all.filter((instance) => instance.external && instance.name === name && instance.ip === ip);
  if (matching.length === 0) {
    const others = all.filter((instance) => instance.name === name).map((instance) => `${instance.ip}:${instance.port}${instance.external ? '' : ' (a container, registered by the registrator)'}`);
    throw new NotFoundError(`no instance of ${name} at ${ip} was registered with \`mesh-local register\` in project ${project}'s ${endpoint.kind}`, {
      hint: others.length > 0 ? `${name} has: ${others.join(', ')}` : `${endpoint.kind} has no instance of ${name}`,
    });
  }
  for (const instance of matching) await call(registry, () => registry.deregister(instance, signal));
  const remaining = all.filter((instance) => instance.external && instance.name === name && !matching.includes(instance));
  let serviceAddressRemoved = false;
  if (remaining.length === 0) {
    const addresses = (await deps.engine.projectContainers(project, signal)).filter((container) => isServiceAddressOf(container, name));
    if (addresses.length > 0) {
      await deps.engine.removeContainers(addresses.map((container) => container.id), signal);
      serviceAddressRemoved = true;
    }
  }
  await waitForPilot(pilot, name, (hosts) => matching.every((instance) => !hosts.has(`${instance.ip}:${instance.port}`)), deps.pilotTimeoutMs, signal);
  await waitForPropagation(signal);
  deps.console.out(
    `unregistered ${name} at ${ip} (${matching.map((instance) => instance.port).join(', ')}) from ${endpoint.kind}; pilot no longer lists it${serviceAddressRemoved ? `; ${name} no longer resolves on the mesh network` : ''}\n`,
  );
  return { registry: endpoint.kind, name, ip, removed: matching, serviceAddressRemoved };
}

/** Registry failures become ServiceFailedError (exit 1) naming the registry; Ctrl-C stays itself. */
async function call<T>(registry: MeshRegistry, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof RegistryRequestError) {
      throw new ServiceFailedError(error.message, { cause: error, hint: `check the registry with \`mesh-local status\` and \`mesh-local logs ${registry.kind}\`` });
    }
    throw error;
  }
}

function isServiceAddressOf(container: ContainerInfo, name: string): boolean {
  return container.role === SERVICE_ADDRESS_ROLE && container.component === name;
}

/** Compose service label of a service address container. */
export function serviceAddressService(name: string): string {
  return `external-${name}`;
}

/**
 * Makes sure `name` resolves on the mesh network: nothing to do when a Compose-run app of that
 * name (its pods carry the name as alias) or an earlier service address exists; else starts one.
 * Resolves with the service address container's IP when there is one.
 */
async function ensureServiceAddress(project: string, name: string, kind: RegistryKind, deps: ExpansionDeps, signal?: AbortSignal): Promise<string | undefined> {
  const containers = await deps.engine.projectContainers(project, signal);
  const existing = containers.find((container) => isServiceAddressOf(container, name) && container.state === 'running');
  if (existing) return existing.addresses[0];
  if (containers.some((container) => container.role === 'app' && container.component === name)) return undefined;
  // A stopped leftover would hold the container name.
  const stale = containers.filter((container) => isServiceAddressOf(container, name));
  if (stale.length > 0) await deps.engine.removeContainers(stale.map((container) => container.id), signal);
  const pod = containers.find((container) => container.role === 'pod');
  if (!pod) throw new ServiceFailedError(`project ${project} has no pod whose pause image could hold ${name}'s address`, { hint: `deploy an app first, e.g. \`mesh-local bookinfo --project ${project}\`` });
  const mesh = (await deps.engine.projectNetworks(project, signal)).find((network) => network.composeName === 'mesh');
  if (!mesh) throw new ServiceFailedError(`project ${project} has no mesh network`, { hint: `start it with \`mesh-local up --project ${project}\`` });
  const service = serviceAddressService(name);
  await deps.engine.runContainer(
    {
      name: `${project}-${service}-1`,
      image: pod.image,
      labels: {
        [COMPOSE_PROJECT_LABEL]: project,
        [COMPOSE_SERVICE_LABEL]: service,
        'dev.mesh-local.role': SERVICE_ADDRESS_ROLE,
        'dev.mesh-local.component': name,
      },
      // Registrator skips it: the instances are what `register` wrote.
      env: { SERVICE_IGNORE: '1' },
      network: mesh.name,
      aliases: kind === 'consul' ? [name, `${name}.service.consul`] : [name],
      restart: 'unless-stopped',
    },
    signal,
  );
  const started = (await deps.engine.projectContainers(project, signal)).find((container) => isServiceAddressOf(container, name));
  return started?.addresses[0];
}

/**
 * Polls pilot's `GET /v1/registration` (every 250 ms, up to `timeoutMs`) until `done` holds for the
 * `ip:port` endpoints it lists for `name` (`name` on Eureka, `name.service.consul` on Consul).
 * Errors: ServiceFailedError when the time runs out.
 */
async function waitForPilot(pilot: string, name: string, done: (hosts: Set<string>) => boolean, timeoutMs = PILOT_SYNC_TIMEOUT_MS, signal?: AbortSignal): Promise<void> {
  const limit = deadline(timeoutMs, signal);
  let last = 'no answer yet';
  try {
    for (;;) {
      try {
        const response = await fetch(`${pilot}/v1/registration`, { signal: limit.signal, headers: { accept: 'application/json' } });
        const listed = (await response.json()) as Array<{ 'service-key'?: string; hosts?: Array<{ ip_address?: string; port?: number }> }>;
        const hosts = new Set<string>();
        for (const entry of Array.isArray(listed) ? listed : []) {
          const hostname = (entry['service-key'] ?? '').split('|')[0];
          if (hostname !== name && hostname !== `${name}.service.consul`) continue;
          for (const host of entry.hosts ?? []) hosts.add(`${host.ip_address}:${host.port}`);
        }
        if (done(hosts)) return;
        last = `pilot lists ${name} at ${[...hosts].join(', ') || 'no address'}`;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (limit.signal.aborted) break;
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(250, undefined, { signal: limit.signal }).catch(() => undefined);
      if (signal?.aborted) throw signal.reason;
      if (limit.signal.aborted) break;
    }
  } finally {
    limit.clear();
  }
  throw new ServiceFailedError(`the registry holds the change but pilot did not show it within ${timeoutMs} ms (${last})`, {
    hint: 'check pilot with `mesh-local logs istio-pilot`',
  });
}
