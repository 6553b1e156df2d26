import { ProjectNotRunningError, UsageError } from '../errors.js';
import type { ContainerInfo } from '../runtime/containers.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import type { Console } from './render.js';

/**
 * `mesh-local logs SERVICE`: one service's logs, found by Compose labels. With `--sidecar`,
 * SERVICE names the app (`reviews-v2`) and the logs are its proxy's.
 */
export async function logsCommand(
  input: { project: string; service: string; sidecar: boolean; follow: boolean; tail: number | 'all' },
  deps: { engine: Pick<DockerEngine, 'projectContainers' | 'containerLogs' | 'followLogs'>; console: Console },
  signal?: AbortSignal,
): Promise<void> {
  const containers = await deps.engine.projectContainers(input.project, signal);
  const target = findTarget(containers, input.service, input.sidecar);
  if (!target) {
    if (containers.length === 0) throw new ProjectNotRunningError(input.project, ['containers']);
    // With --sidecar, only apps that have one are worth naming.
    const names = [
      ...new Set(
        input.sidecar
          ? containers.filter((container) => container.role === 'sidecar-proxy' && container.sidecarFor).map((container) => container.sidecarFor!)
          : containers.filter((container) => container.role !== 'sidecar-proxy' && container.role !== 'sidecar-init').map((container) => container.service),
      ),
    ].sort();
    throw new UsageError(
      input.sidecar
        ? `no sidecar for '${input.service}' in project ${input.project}; apps with a sidecar: ${names.join(', ') || 'none'}`
        : `no service '${input.service}' in project ${input.project}; services: ${names.join(', ')}`,
    );
  }
  if (input.follow) {
    await deps.engine.followLogs(target.id, input.tail, (text) => deps.console.out(text), signal);
    return;
  }
  deps.console.out(await deps.engine.containerLogs(target.id, input.tail, signal));
}

function findTarget(containers: ContainerInfo[], service: string, sidecar: boolean): ContainerInfo | undefined {
  if (sidecar) return containers.find((container) => container.role === 'sidecar-proxy' && container.sidecarFor === service);
  return containers.find((container) => container.service === service);
}
