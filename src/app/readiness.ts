import { setTimeout as sleep } from 'node:timers/promises';
import type { ComposeDocument } from '../compose/compose-spec.js';
import { LABELS } from '../compose/compose-spec.js';
import { HealthTimeoutError, InterruptedError, ServiceFailedError } from '../errors.js';
import type { IstioVersion } from '../model/istio-versions.js';
import type { MeshModel } from '../model/mesh.js';
import type { ProgressEvent, ServiceState } from '../output/events.js';
import type { ContainerInfo, PublishedPort } from '../runtime/containers.js';
import { POD_ROLE } from '../compose/sidecar.js';
import type { DockerEngine } from '../runtime/docker-engine.js';

/** An HTTP GET with its own short timeout; resolves with the status and body, rejects when unreachable. */
export type HttpGet = (url: string, signal: AbortSignal) => Promise<{ status: number; body: string }>;

export const fetchGet: HttpGet = async (url, signal) => {
  const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
  return { status: response.status, body: await response.text() };
};

export interface WaitDeps {
  engine: Pick<DockerEngine, 'projectContainers' | 'containerLogs'>;
  httpGet: HttpGet;
  emit(event: ProgressEvent): void;
  now(): number;
  pollIntervalMs?: number;
}

export interface WaitPlan {
  project: string;
  model: MeshModel;
  version: IstioVersion;
  document: ComposeDocument;
  /** Services this run waits for. */
  services: string[];
  /** End-to-end check through the gateway (BookInfo). */
  gatewayCheck: boolean;
  /** Started in the background (`compose up`); a rejection ends the wait unless a service failed first. */
  starting: Promise<void>;
  /**
   * Apps outside `model.apps` (`mesh-local deploy`), by Compose service: the registry name and
   * version each app container must be registered with before it counts as ready.
   */
  registrations?: Readonly<Record<string, { name: string; version: string }>>;
}

export interface ServiceProgress {
  service: string;
  state: ServiceState;
  detail?: string;
  readyAt?: number;
  endpoint: string;
}

const ROLE_ONE_SHOT = new Set(['sidecar-init', 'job']);

/**
 * Waits until every planned service is ready, in the mesh's sense: container running and healthy,
 * then what makes it useful (API server answering, pilot's CRDs registered and discovery up, the
 * registry's leader or apps list, each app instance registered with its version at its pod's address), and, for
 * BookInfo, a page through the gateway. Fails at once when a service exits, turns unhealthy or
 * restarts; the signal carries the deadline and Ctrl-C.
 */
export async function waitForMesh(plan: WaitPlan, deps: WaitDeps, signal: AbortSignal): Promise<Map<string, ServiceProgress>> {
  const started = deps.now();
  const progress = new Map<string, ServiceProgress>(plan.services.map((service) => [service, { service, state: 'pending', endpoint: '' }]));
  // A container seen failed once may be one Compose is replacing; the same one seen twice is not.
  let seenFailed = new Set<string>();
  // Restarts before this run are history (a crash a restart policy repaired), not a failure now.
  const restartsBefore = new Map<string, number>();
  let startFailure: unknown;
  let startDone = false;
  plan.starting.then(
    () => (startDone = true),
    (error) => (startFailure = error),
  );
  const set = (service: string, state: ServiceState, detail?: string) => {
    const entry = progress.get(service)!;
    if (entry.state === state && entry.detail === detail) return;
    entry.state = state;
    entry.detail = detail;
    if (state === 'ready' && entry.readyAt === undefined) entry.readyAt = deps.now() - started;
    deps.emit({ type: 'state', at: deps.now(), service, state, ...(detail ? { detail } : {}) });
  };

  for (;;) {
    if (signal.aborted) throw abortReason(signal, progress);
    const containers = await deps.engine.projectContainers(plan.project, signal).catch((error) => {
      if (signal.aborted) throw abortReason(signal, progress);
      throw error;
    });
    const byService = new Map<string, ContainerInfo>();
    for (const container of containers) byService.set(container.service, container);
    const host = plan.model.hostAddress === '0.0.0.0' ? '127.0.0.1' : plan.model.hostAddress;
    const urlOf = (service: string, port: number) => {
      const binding = publishedPorts(service, containers).find((candidate) => candidate.containerPort === port);
      return binding ? `http://${host}:${binding.hostPort}` : undefined;
    };

    const failedNow = new Set<string>();
    for (const service of plan.services) {
      const container = byService.get(service);
      const entry = progress.get(service)!;
      if (entry.state === 'ready' && container?.state === 'running') continue;
      if (!container) continue;
      const role = container.role ?? plan.document.services[service]?.labels?.[LABELS.role];
      if (!restartsBefore.has(container.id)) restartsBefore.set(container.id, container.restartCount);
      // Stopped before this run began (a killed pilot): Compose starts it again; judge it after that.
      if (!startDone && isLeftover(container, started, role)) {
        set(service, 'created', 'stopped; waiting for Compose to start it again');
        continue;
      }
      const failure = containerFailure(container, role, restartsBefore.get(container.id));
      if (failure && !seenFailed.has(container.id)) {
        failedNow.add(container.id);
        continue;
      }
      if (failure) {
        set(service, 'failed', failure);
        const logs = await deps.engine.containerLogs(container.id, 20).catch(() => '(logs unavailable)');
        throw new ServiceFailedError(
          `${service} ${failure}\nlast 20 log lines of ${service}:\n${indent(logs)}`,
          { hint: hintFor(service, container) },
        );
      }
      if (role && ROLE_ONE_SHOT.has(role)) {
        if (container.state === 'exited' && container.exitCode === 0) set(service, 'ready', 'exited 0');
        else set(service, container.state === 'running' ? 'running' : 'created');
        continue;
      }
      if (container.state !== 'running') {
        set(service, 'created');
        continue;
      }
      if (container.health === 'starting') {
        set(service, 'running');
        continue;
      }
      entry.endpoint = endpointOf(publishedPorts(service, containers), host);
      const meshCheck = await meshReadiness(service, container, plan, urlOf, ownersOf(service, containers).flatMap((owner) => owner.addresses), deps.httpGet, signal);
      if (meshCheck === true && role === 'app') set(service, 'registered', `in ${plan.model.registry}`);
      if (meshCheck === true) set(service, 'ready');
      else set(service, meshCheck.state, meshCheck.detail);
    }

    seenFailed = failedNow;
    if (startFailure && failedNow.size === 0) throw startFailure;
    const allReady = [...progress.values()].every((entry) => entry.state === 'ready');
    if (allReady && startDone) {
      if (!plan.gatewayCheck) return progress;
      const gateway = await gatewayPage(urlOf, deps.httpGet, signal);
      if (gateway === true) return progress;
      deps.emit({ type: 'notice', at: deps.now(), message: `waiting for the gateway: ${gateway}` });
    }
    await sleep(failedNow.size > 0 ? 250 : (deps.pollIntervalMs ?? 500), undefined, { signal }).catch(() => undefined);
  }
}

/**
 * Why a container has failed, or undefined while it may still become ready. `restartsBefore` is
 * its restart count when this run first saw it: only restarts since then count.
 */
export function containerFailure(container: ContainerInfo, role: string | undefined, restartsBefore = 0): string | undefined {
  const oneShot = role !== undefined && ROLE_ONE_SHOT.has(role);
  if (container.state === 'exited' || container.state === 'dead') {
    if (oneShot && container.exitCode === 0) return undefined;
    return `exited with code ${container.exitCode ?? 'unknown'}`;
  }
  if (container.state === 'restarting' || container.restartCount > restartsBefore) {
    return `is restarting in a loop (${container.restartCount} restarts)`;
  }
  if (container.health === 'unhealthy') return 'turned unhealthy (its healthcheck fails)';
  return undefined;
}

type Check = true | { state: ServiceState; detail: string };

async function meshReadiness(
  service: string,
  container: ContainerInfo,
  plan: WaitPlan,
  urlOf: (service: string, port: number) => string | undefined,
  addresses: string[],
  httpGet: HttpGet,
  signal: AbortSignal,
): Promise<Check> {
  // While the mesh check is pending: `healthy` only when Docker's healthcheck says so; a service
  // without one (its upstream image has no tool for it) is just `running`.
  const healthy: ServiceState = container.health === 'healthy' ? 'healthy' : 'running';
  const probe = async (url: string | undefined, accept: (status: number, body: string) => boolean, what: string): Promise<Check> => {
    if (!url) return { state: healthy, detail: `${what}: not published yet` };
    try {
      const answer = await httpGet(url, signal);
      return accept(answer.status, answer.body) ? true : { state: healthy, detail: `${what}: HTTP ${answer.status}` };
    } catch (error) {
      return { state: healthy, detail: `${what}: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
  const { version, model } = plan;
  switch (container.component) {
    case 'apiserver':
      return probe(urlOf(service, 8080) && `${urlOf(service, 8080)}/healthz`, (status) => status === 200, 'API server /healthz');
    case 'pilot': {
      const api = urlOf('istio-apiserver', 8080);
      const crds = await probe(
        api && `${api}/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions/${version.pilot.crds[0]}`,
        (status) => status === 200,
        "pilot's CRDs",
      );
      if (crds !== true) return crds;
      const discovery = urlOf(service, version.pilot.discoveryPort);
      return probe(discovery && `${discovery}/v1/registration`, (status) => status === 200, 'pilot discovery');
    }
    case 'consul': {
      const url = urlOf(service, 8500);
      return probe(url && `${url}/v1/status/leader`, (status, body) => status === 200 && body.replace(/"/g, '').trim() !== '', 'Consul leader');
    }
    case 'eureka': {
      const url = urlOf(service, 8080);
      return probe(url && `${url}/eureka/v2/apps`, (status) => status === 200, 'Eureka apps list');
    }
    default:
      break;
  }
  const app = container.role !== 'app' ? undefined : (plan.registrations?.[service] ?? plan.model.apps.find((candidate) => `${candidate.name}-${candidate.version}` === service));
  if (!app) return true;
  const registered = await isRegistered(app.name, app.version, addresses, model.registry, urlOf, httpGet, signal);
  return registered ? true : { state: healthy, detail: `waiting for ${app.name} ${app.version} in ${model.registry}` };
}

/**
 * Whether the registry lists an instance of `name` with `version` at one of `addresses` (its pod's:
 * a recreated pod keeps its service ID but not its address), through the registry's own API.
 */
async function isRegistered(
  name: string,
  version: string,
  addresses: string[],
  registry: 'consul' | 'eureka',
  urlOf: (service: string, port: number) => string | undefined,
  httpGet: HttpGet,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    if (registry === 'consul') {
      const url = urlOf('consul', 8500);
      if (!url) return false;
      const answer = await httpGet(`${url}/v1/catalog/service/${name}`, signal);
      const entries = JSON.parse(answer.body) as { ServiceTags?: string[]; ServiceAddress?: string }[];
      return entries.some((entry) => entry.ServiceTags?.includes(`version|${version}`) && addresses.includes(entry.ServiceAddress ?? ''));
    }
    const url = urlOf('eureka', 8080);
    if (!url) return false;
    const answer = await httpGet(`${url}/eureka/v2/apps/${name.toUpperCase()}`, signal);
    if (answer.status !== 200) return false;
    const instances = (JSON.parse(answer.body) as { application?: { instance?: { metadata?: Record<string, string>; status?: string; ipAddr?: string }[] } })?.application?.instance ?? [];
    return instances.some((instance) => instance.metadata?.version === version && instance.status === 'UP' && addresses.includes(instance.ipAddr ?? ''));
  } catch {
    return false;
  }
}

/** BookInfo is ready when productpage, through the gateway, shows reviews without errors. */
async function gatewayPage(urlOf: (service: string, port: number) => string | undefined, httpGet: HttpGet, signal: AbortSignal): Promise<true | string> {
  const url = urlOf('productpage-v1', 9080);
  if (!url) return 'productpage is not published';
  try {
    const answer = await httpGet(`${url}/productpage`, signal);
    if (answer.status !== 200) return `GET /productpage answered ${answer.status}`;
    if (!answer.body.includes('Book Reviews')) return 'the page has no "Book Reviews" yet';
    if (answer.body.includes('Error fetching')) return 'the page still shows "Error fetching"';
    return true;
  } catch (error) {
    return `GET /productpage: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function endpointOf(ports: PublishedPort[], host: string): string {
  const binding = ports.find((port) => port.hostIp === '127.0.0.1' || port.hostIp === '0.0.0.0' || port.hostIp === host);
  return binding ? `http://${host}:${binding.hostPort}` : '';
}

/** The containers that own a service's network: its own, and its pod (which owns an app's). */
function ownersOf(service: string, containers: ContainerInfo[]): ContainerInfo[] {
  return containers.filter((container) => container.service === service || (container.role === POD_ROLE && container.sidecarFor === service));
}

/** A service's published ports: its own, or its pod's, which owns an app's network. */
export function publishedPorts(service: string, containers: ContainerInfo[]): PublishedPort[] {
  return ownersOf(service, containers).flatMap((container) => container.ports);
}

/** A long-running container that stopped before `since` (ms since the epoch): not this run's doing. */
function isLeftover(container: ContainerInfo, since: number, role: string | undefined): boolean {
  if (role !== undefined && ROLE_ONE_SHOT.has(role)) return false;
  if (container.state !== 'exited' && container.state !== 'dead') return false;
  return (container.startedAt ?? container.createdAt).getTime() < since;
}

function hintFor(service: string, container: ContainerInfo): string {
  if (container.component === 'pilot') {
    return 'pilot exits when it cannot register its CRDs with the API server; see `mesh-local logs istio-apiserver`';
  }
  if (container.role === 'sidecar-init') {
    return 'the init step needs NET_ADMIN and the iptables nat modules; `mesh-local doctor` checks the host';
  }
  return `see \`mesh-local logs ${container.sidecarFor ?? service}${container.sidecarFor ? ' --sidecar' : ''}\` and the diagnostics bundle`;
}

function abortReason(signal: AbortSignal, progress: Map<string, ServiceProgress>): Error {
  const pending = [...progress.values()].filter((entry) => entry.state !== 'ready');
  const list = pending.map((entry) => `  ${entry.service}: ${entry.state}${entry.detail ? ` (${entry.detail})` : ''}`).join('\n');
  const reason = signal.reason as { name?: string } | undefined;
  if (reason?.name === 'TimeoutError') {
    return new HealthTimeoutError(`not ready before the deadline; still waiting for:\n${list}`, {
      hint: 'raise --timeout, or look at the diagnostics bundle for why these services did not get ready',
    });
  }
  return new InterruptedError('interrupted while waiting');
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `  | ${line}`)
    .join('\n');
}
