import { join, relative } from 'node:path';
import { deadline } from '../common/deadline.js';
import { LABELS } from '../compose/compose-spec.js';
import { UsageError } from '../errors.js';
import { IMAGE_SETS, type ImageSetName } from '../model/image-sets.js';
import { ADDONS, REGISTRIES, type RegistryKind } from '../model/mesh.js';
import { buildModel, resolveSettings, type FlagValues } from '../model/settings.js';
import type { ContainerInfo } from '../runtime/containers.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { loadSettings, type SettingsContext } from './settings-source.js';
import { mergeFlags, readState, stateDirOf } from './up.js';

/** What `inject` asks the Engine: the project's containers, and one container's labels. */
export type RunningProjectEngine = Pick<DockerEngine, 'projectContainers' | 'inspectContainer'>;

export interface InjectSettingsContext extends SettingsContext {
  /** Made on first use; without it, only the saved state is consulted. */
  engine?: () => RunningProjectEngine;
  /** Ctrl-C. */
  signal?: AbortSignal;
  /** How long to wait for the Engine's answer; ENGINE_LOOKUP_MS when not given. */
  engineLookupMs?: number;
}

export interface InjectSettings {
  /** The flags to resolve settings with: the running project's values, then the command line's. */
  flags: FlagValues & { config?: string };
  /** One line for stderr saying which project's settings were used and where they came from; none when no project runs. */
  message: string | undefined;
}

/** How long `inject` waits for the Engine's answer before going on without it. */
export const ENGINE_LOOKUP_MS = 5_000;

/** What a running project's containers say about the settings it was started with. */
export interface RunningSettings {
  registry: RegistryKind | undefined;
  istioVersion: string | undefined;
  addons: string[];
  imageSet: ImageSetName | undefined;
}

/**
 * The settings `inject` makes sidecars with. A sidecar only works with the registry and Pilot it
 * is made for, so when the project (`--project`, config, env, default `mesh-local`) is running,
 * its registry, Istio version, addons and image set are read from its containers (the
 * `dev.mesh-local.role`/`.component` labels and the `dev.mesh-local.istio-version` label) and take
 * the place of defaults, config and env; its saved state (`.mesh-local/<project>/state.json` under
 * `cwd`) adds the image settings (`--image`, `--image-mirror`). A command-line flag wins, but
 * `--registry` or `--istio-version` that contradicts the running project is refused (UsageError,
 * exit 2) naming both values. When the Engine does not answer within ENGINE_LOOKUP_MS, the saved
 * state stands in for the containers, without refusals; with neither, the flags are returned
 * unchanged (today's defaults) and, for the unreachable Engine only, a message says so.
 * Ctrl-C (`context.signal`) rejects with its reason.
 */
export async function injectSettings(flags: FlagValues & { config?: string }, context: InjectSettingsContext): Promise<InjectSettings> {
  const given = (await loadSettings(flags, context)).settings;
  const project = given.project;
  const stateFile = join(stateDirOf(context.cwd, project), 'state.json');
  const shownStateFile = relative(context.cwd, stateFile);
  const saved = await readState(stateDirOf(context.cwd, project));

  let lookup: { running: RunningSettings | undefined } | { unanswered: string } | undefined;
  if (context.engine) {
    const engine = context.engine();
    const lookupMs = context.engineLookupMs ?? ENGINE_LOOKUP_MS;
    const { signal, clear } = deadline(lookupMs, context.signal);
    try {
      // The inspect of runningSettings too: every Engine call of this lookup is under its deadline.
      const containers = await engine.projectContainers(project, signal);
      lookup = { running: await runningSettings(containers, engine, signal) };
    } catch (error) {
      if (context.signal?.aborted) throw context.signal.reason;
      lookup = { unanswered: signal.aborted ? `the Docker Engine did not answer within ${lookupMs / 1000}s` : firstLine(error) };
    } finally {
      clear();
    }
  }

  const running = lookup && 'running' in lookup ? lookup.running : undefined;
  if (running) {
    refuseContradiction(flags, running, project);
    const fromContainers: FlagValues = {
      ...(running.registry ? { registry: running.registry } : {}),
      ...(running.istioVersion ? { istioVersion: running.istioVersion } : {}),
      addons: running.addons.join(','),
      ...(running.imageSet ? { imageSet: running.imageSet } : {}),
    };
    const base = mergeFlags(saved?.flags ?? {}, fromContainers);
    const merged = mergeFlags(base, flags);
    const source = saved ? `from its running containers and ${shownStateFile}` : 'from its running containers';
    return { flags: merged, message: await describe(project, merged, context, source) };
  }
  if (lookup && 'running' in lookup) return { flags, message: undefined }; // not running: today's defaults
  const unanswered = lookup && 'unanswered' in lookup ? lookup.unanswered : 'no Docker Engine was asked';
  if (!saved && !lookup) return { flags, message: undefined }; // a caller without an Engine or state: today's defaults
  if (saved) {
    const merged = mergeFlags(saved.flags, flags);
    return { flags: merged, message: await describe(project, merged, context, `from ${shownStateFile}; ${unanswered}, so it may not be running`) };
  }
  return {
    flags,
    message: `could not check for a running project ${project} (${unanswered}); using registry ${given.registry}, Istio ${given.istioVersion}`,
  };
}

/**
 * Reads a project's settings from its running containers; undefined when none of mesh-local's
 * containers runs. The registry is the component of the `registry` role; the Istio version is the
 * label every rendered service carries (read from one container's inspect document); addons are
 * the components of the `addon` role; the image set is the one whose Pilot image the running Pilot
 * has (undefined with a mirror or overrides, which only the saved state knows).
 */
export async function runningSettings(containers: ContainerInfo[], engine: Pick<DockerEngine, 'inspectContainer'>, signal?: AbortSignal): Promise<RunningSettings | undefined> {
  const ours = containers.filter((container) => container.role !== undefined && (container.state === 'running' || container.state === 'restarting'));
  if (ours.length === 0) return undefined;
  const registry = ours.find((container) => container.role === 'registry')?.component;
  const labelled = ours.find((container) => container.role === 'control-plane') ?? ours[0]!;
  const inspected = (await engine.inspectContainer(labelled.id, signal)) as { Config?: { Labels?: Record<string, string> | null } } | undefined;
  const istioVersion = inspected?.Config?.Labels?.[LABELS.istioVersion];
  const addons = [...new Set(ours.filter((container) => container.role === 'addon').map((container) => container.component ?? ''))]
    .filter((name) => (ADDONS as readonly string[]).includes(name))
    .sort((a, b) => ADDONS.indexOf(a as never) - ADDONS.indexOf(b as never));
  const pilot = ours.find((container) => container.component === 'pilot');
  let imageSet: ImageSetName | undefined;
  if (pilot && istioVersion) {
    imageSet = IMAGE_SETS.find((set) => {
      try {
        // The image table of that set, with no mirror or overrides.
        return buildModel(resolveSettings({ env: {}, flags: { istioVersion, imageSet: set } }).settings).images.pilot === pilot.image;
      } catch {
        return false;
      }
    });
  }
  return {
    registry: (REGISTRIES as readonly string[]).includes(registry ?? '') ? (registry as RegistryKind) : undefined,
    istioVersion,
    addons,
    imageSet,
  };
}

function refuseContradiction(flags: FlagValues, running: RunningSettings, project: string): void {
  const checks = [
    { flag: '--registry', given: flags.registry, runs: running.registry, what: 'registry', why: `its sidecars would ask a ${flags.registry} registry that is not there` },
    { flag: '--istio-version', given: flags.istioVersion, runs: running.istioVersion, what: 'Istio', why: `${flags.istioVersion} sidecars would not work with its ${running.istioVersion} Pilot` },
  ];
  for (const check of checks) {
    if (check.given === undefined || check.runs === undefined || check.given === check.runs) continue;
    throw new UsageError(`${check.flag} ${check.given} contradicts project ${project}, which runs ${check.what} ${check.runs} (from its running containers): ${check.why}`, {
      hint: `leave ${check.flag} out to use the running project's ${check.what}, or name another project with --project`,
    });
  }
}

async function describe(project: string, flags: FlagValues & { config?: string }, context: SettingsContext, source: string): Promise<string> {
  const { settings } = await loadSettings(flags, context);
  const parts = [`registry ${settings.registry}`, `Istio ${settings.istioVersion}`, `images ${settings.imageSet}`];
  if (settings.addons.length > 0) parts.push(`addons ${settings.addons.join(',')}`);
  return `using project ${project}'s settings: ${parts.join(', ')} (${source})`;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
