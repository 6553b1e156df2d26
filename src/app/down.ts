import { open, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GENERATED_MARKER } from '../compose/mesh-files.js';
import { ProjectRemovalError } from '../errors.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import type { Console } from './render.js';

/** Folders of the state directory that `down` keeps: diagnostics bundles are the user's record. */
const KEPT = /^diagnostics-/;
const STATE_FILE = 'state.json';

/**
 * `mesh-local down`: removes every container and network carrying the project's Compose label
 * (and volumes with `--volumes`), whatever Compose variant created them and whether or not the
 * state directory is still there. Idempotent; checks afterwards that nothing is left.
 *
 * With `stateDir` it then forgets the project there: the saved settings (`state.json`) and the
 * rendered stack go, so the next `up` of the project starts from its own command line; the
 * diagnostics bundles stay, and the next `up` never reads them.
 */
export async function downCommand(
  input: { project: string; volumes: boolean; stateDir?: string },
  deps: { engine: Pick<DockerEngine, 'removeProject' | 'projectResources'>; console: Console },
  signal?: AbortSignal,
): Promise<void> {
  const removed = await deps.engine.removeProject(input.project, { volumes: input.volumes }, signal);
  const left = await deps.engine.projectResources(input.project, signal);
  const leftOver = [...left.containers, ...left.networks, ...(input.volumes ? left.volumes : [])];
  if (leftOver.length > 0) {
    throw new ProjectRemovalError(`project ${input.project}: still there after removal: ${leftOver.join(', ')}`, {
      hint: 'something recreated them while down ran (a Compose command still running?); run down again',
    });
  }
  const forgotten = input.stateDir ? await forgetState(input.stateDir) : { state: false, kept: [] };
  const what = removed.containers.length + removed.networks.length === 0 ? 'nothing to remove' : `removed ${removed.containers.length} containers and ${removed.networks.length} networks`;
  const volumes = input.volumes ? '' : left.volumes.length > 0 ? `; kept ${left.volumes.length} volumes (--volumes removes them)` : '';
  deps.console.err(`project ${input.project}: ${what}${volumes}; nothing with its label is left\n`);
  if (forgotten.state) deps.console.err(`forgot its saved settings (${join(input.stateDir!, STATE_FILE)})\n`);
  if (forgotten.kept.length > 0) deps.console.err(`kept ${forgotten.kept.map((name) => join(input.stateDir!, name)).join(', ')}\n`);
}

/**
 * Removes `state.json`, every file mesh-local rendered there (it carries the marker, as
 * `writeGeneratedFiles` requires before overwriting), leftovers of an interrupted atomic write,
 * and the folders this empties. A file without the marker is somebody's and stays (the next `up`
 * refuses to overwrite it, loudly). Returns whether there was saved state, and what was kept.
 */
export async function forgetState(stateDir: string): Promise<{ state: boolean; kept: string[] }> {
  let entries: string[];
  try {
    entries = await readdir(stateDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: false, kept: [] };
    throw error;
  }
  const state = entries.includes(STATE_FILE);
  const kept = entries.filter((name) => KEPT.test(name)).sort();
  try {
    for (const name of entries) {
      if (KEPT.test(name)) continue;
      const path = join(stateDir, name);
      if (name === STATE_FILE || name.endsWith('.tmp')) await rm(path, { force: true });
      else await removeGenerated(path);
    }
    await rmdir(stateDir).catch(() => undefined);
  } catch (error) {
    throw new ProjectRemovalError(`could not remove the saved state in ${stateDir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { state, kept };
}

/** A rendered file, or a folder of them; folders left empty are removed. */
async function removeGenerated(path: string): Promise<void> {
  let children: string[];
  try {
    children = await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
    if (path.endsWith('.tmp') || (await carriesMarker(path))) await rm(path, { force: true });
    return;
  }
  for (const child of children) await removeGenerated(join(path, child));
  // Not empty: something of the user's is inside.
  await rmdir(path).catch(() => undefined);
}

async function carriesMarker(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').split('\n').slice(0, 2).some((line) => line.startsWith(GENERATED_MARKER));
  } finally {
    await handle.close();
  }
}
