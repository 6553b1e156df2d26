import type { DockerEngine } from '../runtime/docker-engine.js';
import type { Console } from './render.js';

/**
 * `mesh-local down`: removes every container and network carrying the project's Compose label
 * (and volumes with `--volumes`), whatever Compose variant created them and whether or not the
 * state directory is still there. Idempotent; checks afterwards that nothing is left.
 */
export async function downCommand(
  input: { project: string; volumes: boolean },
  deps: { engine: Pick<DockerEngine, 'removeProject' | 'projectResources'>; console: Console },
  signal?: AbortSignal,
): Promise<void> {
  const removed = await deps.engine.removeProject(input.project, { volumes: input.volumes }, signal);
  const left = await deps.engine.projectResources(input.project, signal);
  const leftOver = [...left.containers, ...left.networks, ...(input.volumes ? left.volumes : [])];
  if (leftOver.length > 0) {
    throw new Error(`project ${input.project}: still there after removal: ${leftOver.join(', ')}`);
  }
  const what = removed.containers.length + removed.networks.length === 0 ? 'nothing to remove' : `removed ${removed.containers.length} containers and ${removed.networks.length} networks`;
  const volumes = input.volumes ? '' : left.volumes.length > 0 ? `; kept ${left.volumes.length} volumes (--volumes removes them)` : '';
  deps.console.err(`project ${input.project}: ${what}${volumes}; nothing with its label is left\n`);
}
