import { ProjectNotRunningError } from '../errors.js';
import type { ContainerInfo } from '../runtime/containers.js';
import type { DockerEngine } from '../runtime/docker-engine.js';

/** Base URLs (`http://127.0.0.1:8080`, no trailing slash) of a running project's published endpoints. */
export interface ProjectEndpoints {
  /** The API server (the config store route rules go to). */
  apiserver?: string;
  /** Pilot's discovery port. */
  pilot?: string;
  registry?: { kind: 'consul' | 'eureka'; url: string };
  /** The gateway: the published port of the pod that serves BookInfo's productpage (or an app marked gateway). */
  gateway?: string;
}

/** The host address to dial for a published binding (0.0.0.0 and :: mean this host). */
function dialHost(hostIp: string): string {
  if (hostIp === '' || hostIp === '0.0.0.0') return '127.0.0.1';
  if (hostIp === '::') return '[::1]';
  return hostIp.includes(':') ? `[${hostIp}]` : hostIp;
}

function firstUrl(container: ContainerInfo | undefined): string | undefined {
  if (!container || container.state !== 'running') return undefined;
  const binding = [...container.ports].sort((a, b) => a.containerPort - b.containerPort)[0];
  return binding ? `http://${dialHost(binding.hostIp)}:${binding.hostPort}` : undefined;
}

/**
 * Where a project's components answer on this host, read from the published ports of its running
 * containers, found by mesh-local's Compose labels (component, role), never by container name.
 * Components that are not running (or not published) are absent.
 */
export function endpointsOf(containers: ContainerInfo[]): ProjectEndpoints {
  const byComponent = (component: string) => containers.find((container) => container.component === component && container.state === 'running');
  const endpoints: ProjectEndpoints = {};
  const apiserver = firstUrl(byComponent('apiserver'));
  if (apiserver) endpoints.apiserver = apiserver;
  const pilot = firstUrl(byComponent('pilot'));
  if (pilot) endpoints.pilot = pilot;
  for (const kind of ['consul', 'eureka'] as const) {
    const url = firstUrl(byComponent(kind));
    if (url) endpoints.registry = { kind, url };
  }
  // Only the gateway's pod publishes a port among the pods (render.ts publishes app.gateway only).
  const gateway = firstUrl(containers.find((container) => container.role === 'pod' && container.state === 'running' && container.ports.length > 0));
  if (gateway) endpoints.gateway = gateway;
  return endpoints;
}

/**
 * `containers`' endpoints (as endpointsOf), requiring the ones named in `needed`, for callers that
 * list the project's containers anyway. Errors: as requireEndpoints.
 */
export function requiredEndpointsOf<K extends keyof ProjectEndpoints>(
  containers: ContainerInfo[],
  project: string,
  needed: K[],
): ProjectEndpoints & Required<Pick<ProjectEndpoints, K>> {
  const endpoints = endpointsOf(containers);
  const missing = needed.filter((name) => endpoints[name] === undefined);
  if (missing.length > 0) throw new ProjectNotRunningError(project, missing);
  return endpoints as ProjectEndpoints & Required<Pick<ProjectEndpoints, K>>;
}

/**
 * The project's endpoints, requiring the ones named in `needed`.
 * Errors: ProjectNotRunningError (exit 1) naming what is missing and `mesh-local up` as the remedy.
 */
export async function requireEndpoints<K extends keyof ProjectEndpoints>(
  engine: Pick<DockerEngine, 'projectContainers'>,
  project: string,
  needed: K[],
  signal?: AbortSignal,
): Promise<ProjectEndpoints & Required<Pick<ProjectEndpoints, K>>> {
  return requiredEndpointsOf(await engine.projectContainers(project, signal), project, needed);
}
