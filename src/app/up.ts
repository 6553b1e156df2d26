import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toYaml } from '../common/yaml-file.js';
import { LABELS, type ComposeDocument } from '../compose/compose-spec.js';
import { renderMesh } from '../compose/render.js';
import { HealthTimeoutError, ImageUnavailableError, InterruptedError, PreflightError, isAbortError } from '../errors.js';
import type { ImageSetName } from '../model/image-sets.js';
import { findIstioVersion } from '../model/istio-versions.js';
import type { MeshModel } from '../model/mesh.js';
import { SCALAR_SETTINGS, buildModel, publishedPortNames, resolveSettings, type FlagValues, type Settings } from '../model/settings.js';
import type { ProgressEvent, Reporter, ServiceSummary } from '../output/events.js';
import type { ComposeCli } from '../runtime/compose-cli.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { buildSandboxImages } from './images.js';
import { writeAtomically, writeGeneratedFiles } from './output-files.js';
import { composeFileText, type Console } from './render.js';
import { readConfigFile } from './settings-source.js';
import { fetchGet, waitForMesh, type HttpGet } from './readiness.js';
import { detachedMembers, podsOf } from './pods.js';

export type ImageChoice = ImageSetName | 'auto';

export interface UpInput {
  flags: FlagValues & { config?: string };
  /** `--images`; `auto` picks upstream when its registry answers, else sandbox. */
  images?: ImageChoice | undefined;
  timeoutMs: number;
  rollback: boolean;
  /** `mesh-local bookinfo`: deploy BookInfo into the project's mesh and check the gateway. */
  bookinfo: boolean;
}

export interface UpDeps {
  engine: DockerEngine;
  compose: () => Promise<ComposeCli>;
  reporter: Reporter;
  console: Console;
  cwd: string;
  env: Record<string, string | undefined>;
  packageRoot: string;
  isPortFree: (host: string, port: number) => Promise<boolean>;
  httpGet?: HttpGet;
  now?: () => number;
}

export interface UpOutcome {
  project: string;
  stateDir: string;
  summary: ServiceSummary[];
  gatewayUrl?: string;
}

/**
 * What a project was last brought up with, so `bookinfo` and a second `up` reuse it (and say so).
 * `down` removes it: nothing saved outlives the stack it describes.
 */
export interface ProjectState {
  flags: FlagValues;
  bookinfo: boolean;
}

export const STATE_ROOT = '.mesh-local';

export function stateDirOf(cwd: string, project: string): string {
  return resolve(cwd, STATE_ROOT, project);
}

/**
 * `mesh-local up` and `mesh-local bookinfo`. Checks what would block the start before starting
 * anything, makes sure the images exist, renders into the state directory, starts the stack
 * with the Compose CLI and waits until the mesh is ready, or says precisely why not.
 */
export async function upCommand(input: UpInput, deps: UpDeps, signal: AbortSignal): Promise<UpOutcome> {
  const now = deps.now ?? Date.now;
  const timeline: ProgressEvent[] = [];
  const emit = (event: ProgressEvent) => {
    timeline.push(event);
    deps.reporter.emit(event);
  };
  const started = now();
  const notice = (message: string) => emit({ type: 'notice', at: now(), message });

  // Settings: the config file is read once; the project's saved flags, then this command line's.
  const configFile = await readConfigFile(input.flags, deps);
  const settingsFor = (flags: FlagValues) => resolveSettings({ file: configFile, env: deps.env, flags });
  const project = settingsFor(input.flags).settings.project;
  const stateDir = stateDirOf(deps.cwd, project);
  const command = input.bookinfo ? 'bookinfo' : 'up';

  // Preflight: nothing is started before it passes; `enter` names each step for a deadline's message.
  async function runPreflight(enter: (phase: string) => void) {
    signal.throwIfAborted();
    const saved = await readState(stateDir, notice);
    const flags = mergeFlags(saved?.flags ?? {}, input.flags);
    const bookinfo = input.bookinfo || (saved?.bookinfo ?? false);
    if (saved) {
      const reused = reusedSettings(saved, input);
      if (reused.length > 0) {
        notice(`reusing settings of the last up of project ${project} (${join(stateDir, STATE_FILE)}): ${reused.join(' ')}; \`mesh-local down --project ${project}\` forgets them`);
      }
    }
    enter('asking the Docker Engine');
    const engineVersion = await deps.engine.version(signal);
    enter('looking for the Compose CLI');
    const compose = await deps.compose();
    enter('choosing the image set');
    const imageSet = await chooseImageSet(input.images ?? (flags.imageSet as ImageSetName | undefined) ?? 'upstream', () => settingsFor({ ...flags, imageSet: 'upstream' }).settings, deps, notice, signal);
    const { settings, warnings } = settingsFor({ ...flags, imageSet, bookinfo });
    for (const warning of warnings) notice(warning);
    const model = buildModel(settings);
    const version = findIstioVersion(model.istioVersion)!;
    const { document, files } = renderMesh(model);
    enter('checking the host ports');
    await checkHostPorts(model, settings, deps, signal);
    enter(model.imageSet === 'sandbox' ? 'building the sandbox images' : 'pulling the images');
    await ensureImages(model, imagesOf(document), deps, notice, signal);
    signal.throwIfAborted();
    return { flags, bookinfo, engineVersion, compose, imageSet, settings, model, version, document, files };
  }

  // Ctrl-C or the deadline can come at any moment of the preflight; whatever the interrupted call
  // then rejects with ("cannot reach the Docker Engine", "building ... failed: aborted") is not
  // what happened.
  let phase = 'reading the saved state';
  let preflight: Awaited<ReturnType<typeof runPreflight>>;
  try {
    preflight = await runPreflight((next) => (phase = next));
  } catch (error) {
    if (!signal.aborted) throw error;
    if ((signal.reason as { name?: string } | undefined)?.name === 'TimeoutError') {
      throw new HealthTimeoutError(`the deadline passed before the stack was started, while ${phase}; nothing was started`, {
        hint: 'raise --timeout (it also covers building and pulling images)',
      });
    }
    deps.console.err(
      `interrupted before the stack was started: the project's containers are as they were.\n` +
        `  resume:   ${resumeCommand(command, project, input)}\n  clean up: mesh-local down --project ${project}\n`,
    );
    throw new InterruptedError('interrupted before the stack was started', { cause: error });
  }
  const { flags, bookinfo, engineVersion, compose, imageSet, settings, model, version, document, files } = preflight;

  // Write into the state directory; the files land before Compose can mount them.
  const composeFile = join(stateDir, 'docker-compose.yaml');
  await writeGeneratedFiles(stateDir, [...files, { path: 'docker-compose.yaml', content: composeFileText(model, toYaml(document)), mode: 0o644 }]);
  await writeState(stateDir, { flags: { ...flags, imageSet }, bookinfo });

  const services = Object.keys(document.services);
  emit({ type: 'start', at: now(), project: model.project, services, imageSet });
  notice(`Docker Engine ${engineVersion}, ${compose.variant.command.join(' ')} ${compose.variant.version}; state in ${stateDir}`);
  await removeDetachedPods(model.project, deps.engine, notice, signal);

  const composeAbort = new AbortController();
  const composeSignal = AbortSignal.any([signal, composeAbort.signal]);
  const starting = compose.up(composeFile, model.project, services, composeSignal);
  starting.catch(() => undefined);
  try {
    const progress = await waitForMesh(
      { project: model.project, model, version, document, services, gatewayCheck: bookinfo, starting },
      { engine: deps.engine, httpGet: deps.httpGet ?? fetchGet, emit, now },
      signal,
    );
    const summary = [...progress.values()]
      .filter((entry) => document.services[entry.service]?.labels?.[LABELS.role] !== 'sidecar-init')
      .map((entry): ServiceSummary => ({ service: entry.service, state: entry.state, endpoint: entry.endpoint, ...(entry.readyAt !== undefined ? { readyAfterMs: entry.readyAt } : {}) }));
    const gatewayUrl = bookinfo ? progress.get('productpage-v1')?.endpoint : undefined;
    emit({ type: 'finish', at: now(), ok: true, summary, elapsedMs: now() - started });
    if (gatewayUrl) {
      deps.console.out(`GATEWAY_URL=${gatewayUrl.replace(/^http:\/\//, '')}\ncurl -s ${gatewayUrl}/productpage | grep -o "<title>.*</title>"\n`);
    }
    return { project: model.project, stateDir, summary, ...(gatewayUrl ? { gatewayUrl } : {}) };
  } catch (error) {
    composeAbort.abort();
    const failure = isAbortError(error) ? new InterruptedError('interrupted while waiting') : error;
    emit({ type: 'finish', at: now(), ok: false, summary: [], elapsedMs: now() - started, message: failure instanceof Error ? failure.message.split('\n')[0]! : String(failure) });
    if (failure instanceof InterruptedError) {
      // The settings are saved by now, so the project's name is enough to resume.
      deps.console.err(
        `interrupted: the stack stays as it is.\n  resume:   mesh-local ${command} --project ${model.project}\n  clean up: mesh-local down --project ${model.project}\n`,
      );
      throw failure;
    }
    const bundle = await writeDiagnostics(stateDir, model.project, deps.engine, timeline).catch((bundleError) => `(could not write it: ${String(bundleError)})`);
    deps.console.err(`diagnostics bundle: ${bundle}\n`);
    if (input.rollback) {
      await deps.engine.removeProject(model.project, { volumes: true }).catch((cleanupError) => deps.console.err(`rollback failed: ${String(cleanupError)}\n`));
      deps.console.err(`rolled back: removed project ${model.project}\n`);
    } else {
      deps.console.err(`the stack is left running for debugging; remove it with: mesh-local down --project ${model.project}\n`);
    }
    throw failure;
  }
}

async function chooseImageSet(
  choice: ImageChoice,
  upstreamSettings: () => Settings,
  deps: UpDeps,
  notice: (message: string) => void,
  signal: AbortSignal,
): Promise<ImageSetName> {
  if (choice !== 'auto') return choice;
  const missing = await missingImages(imagesOf(renderMesh(buildModel(upstreamSettings())).document), deps.engine, signal);
  if (missing.length === 0) return 'upstream';
  try {
    await deps.engine.pullImage(missing[0]!, () => undefined, AbortSignal.any([signal, AbortSignal.timeout(20_000)]));
    return 'upstream';
  } catch (error) {
    if (signal.aborted) throw error;
    notice(
      `USING THE SANDBOX IMAGE SET: the upstream registry did not answer (${firstLine(error)}); the sandbox set is built here from Debian's packages and has stand-ins (see README)`,
    );
    return 'sandbox';
  }
}

/** The images a rendered stack runs, each once. */
function imagesOf(document: ComposeDocument): string[] {
  return [...new Set(Object.values(document.services).map((service) => service.image))];
}

async function missingImages(images: string[], engine: DockerEngine, signal: AbortSignal): Promise<string[]> {
  const missing: string[] = [];
  for (const image of images) if (!(await engine.imageExists(image, signal))) missing.push(image);
  return missing;
}

async function ensureImages(model: MeshModel, images: string[], deps: UpDeps, notice: (message: string) => void, signal: AbortSignal): Promise<void> {
  if (model.imageSet === 'sandbox') {
    // Only what changed is worth a line: images actually built, the base, and the total.
    const worthShowing = (line: string) => / built in |^base .*(imported|tagged|debootstrap)|^sandbox set ready/.test(line);
    const err = (text: string) => {
      if (worthShowing(text)) notice(text.trimEnd());
    };
    await buildSandboxImages({ engine: deps.engine, console: { out: () => undefined, err }, packageRoot: deps.packageRoot, env: deps.env }, signal);
    return;
  }
  for (const image of await missingImages(images, deps.engine, signal)) {
    notice(`pulling ${image}`);
    try {
      await deps.engine.pullImage(image, () => undefined, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new ImageUnavailableError(`cannot pull ${image}: ${firstLine(error)}; nothing was started`, {
        hint: 'the upstream registry does not answer from here: use --images sandbox (built locally) or --images auto, or --image-mirror for a reachable mirror',
      });
    }
  }
}

/**
 * Repair, the way the kubelet replaces a pod whose sandbox is gone: every pod with a member out
 * of its network namespace (see `detachedMembers`) is removed whole (pause, init, proxy and app),
 * and the `compose up` that follows creates it again in order. Rerunning only the init step would
 * not do: Docker joins a namespace when a container starts, never later.
 */
async function removeDetachedPods(project: string, engine: DockerEngine, notice: (message: string) => void, signal: AbortSignal): Promise<void> {
  for (const view of podsOf(await engine.projectContainers(project, signal))) {
    const [first] = detachedMembers(view);
    if (!first) continue;
    notice(`repairing ${view.app}: ${first.problem}; recreating its pod`);
    const members = [view.pod, view.init, view.proxy, view.appContainer].filter((member) => member !== undefined);
    await engine.removeContainers(members.map((member) => member.id), signal);
  }
}

/** Every fixed host port must be free, unless this project's own containers hold it already. */
async function checkHostPorts(model: MeshModel, settings: Parameters<typeof publishedPortNames>[0], deps: UpDeps, signal: AbortSignal): Promise<void> {
  const held = new Set(
    (await deps.engine.projectContainers(model.project, signal)).flatMap((container) => container.ports.map((port) => port.hostPort)),
  );
  const taken: string[] = [];
  for (const name of publishedPortNames(settings)) {
    const port = model.hostPorts[name];
    if (port === 0 || held.has(port)) continue;
    if (!(await deps.isPortFree(model.hostAddress, port))) taken.push(`${model.hostAddress}:${port} (${name})`);
  }
  if (taken.length > 0) {
    throw new PreflightError(`host port${taken.length > 1 ? 's' : ''} already in use: ${taken.join(', ')}; nothing was started`, {
      hint: `free ${taken.length > 1 ? 'them' : 'it'}, or move the stack: --port ${taken[0]!.match(/\((\w+)\)/)![1]}=<free port> (0 picks any free port)`,
    });
  }
}

/** inspect of every container, logs of every service, the rendered files and the timeline. */
export async function writeDiagnostics(stateDir: string, project: string, engine: DockerEngine, timeline: ProgressEvent[]): Promise<string> {
  const dir = join(stateDir, `diagnostics-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await mkdir(join(dir, 'containers'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  for (const container of await engine.projectContainers(project)) {
    const inspect = await engine.inspectContainer(container.id).catch((error) => ({ error: String(error) }));
    await writeFile(join(dir, 'containers', `${container.service}.json`), `${JSON.stringify(inspect, null, 2)}\n`);
    await writeFile(join(dir, 'logs', `${container.service}.log`), await engine.containerLogs(container.id, 'all').catch((error) => String(error)));
  }
  await cp(join(stateDir, 'docker-compose.yaml'), join(dir, 'rendered', 'docker-compose.yaml')).catch(() => undefined);
  await cp(join(stateDir, 'mesh-files'), join(dir, 'rendered', 'mesh-files'), { recursive: true }).catch(() => undefined);
  await writeFile(join(dir, 'timeline.json'), `${JSON.stringify(timeline, null, 2)}\n`);
  return dir;
}

/**
 * This command line over the saved one. Repeatable `--port` and `--image` merge by name: a later
 * `--port gateway=X` replaces an earlier one for `gateway`, so saving the result after every `up`
 * keeps one entry per name however often the same flags are given.
 */
export function mergeFlags(saved: FlagValues, current: FlagValues & { config?: string }): FlagValues & { config?: string } {
  const merged: FlagValues & { config?: string } = { ...saved, ...current };
  for (const key of ['port', 'image'] as const) {
    const values = mergeByName([...(saved[key] ?? []), ...(current[key] ?? [])]);
    if (values.length > 0) merged[key] = values;
  }
  return merged;
}

/** `NAME=VALUE` entries, the last one of each name winning, in the order names first appear. */
function mergeByName(entries: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    // Malformed entries are kept as they are (once each), for the settings to refuse with their source.
    byName.set(eq > 0 ? entry.slice(0, eq).trim() : `malformed:${entry}`, entry);
  }
  return [...byName.values()];
}

/** What the saved state adds to this command line, as flags (plus BookInfo), for the notice. */
function reusedSettings(saved: ProjectState, input: UpInput): string[] {
  const current = input.flags;
  const reused: string[] = [];
  for (const [name, value] of Object.entries(saved.flags) as [keyof FlagValues, unknown][]) {
    if (name === 'project' || name === 'port' || name === 'image' || value === undefined) continue;
    if (name === 'imageSet') {
      if (input.images === undefined) reused.push(`--images ${String(value)}`);
      continue;
    }
    if (current[name] !== undefined) continue;
    const flag = name in SCALAR_SETTINGS ? SCALAR_SETTINGS[name as keyof typeof SCALAR_SETTINGS].flag : `--${name}`;
    reused.push(typeof value === 'boolean' ? (value ? flag : `${flag}=false`) : `${flag} ${String(value)}`);
  }
  for (const [key, flag] of [['port', '--port'], ['image', '--image']] as const) {
    const given = new Set((current[key] ?? []).map((entry) => entry.split('=')[0]!.trim()));
    for (const entry of saved.flags[key] ?? []) if (!given.has(entry.split('=')[0]!.trim())) reused.push(`${flag} ${entry}`);
  }
  if (saved.bookinfo && !input.bookinfo) reused.push('(BookInfo, deployed by `mesh-local bookinfo`)');
  return reused;
}

/**
 * The command that resumes an `up` stopped before it saved its settings: this command line's
 * settings, so the resumed one brings up the same stack.
 */
function resumeCommand(command: string, project: string, input: UpInput): string {
  const words = ['mesh-local', command, '--project', project];
  const { flags } = input;
  for (const [name, spec] of Object.entries(SCALAR_SETTINGS)) {
    const value = flags[name as keyof FlagValues];
    if (name === 'project' || name === 'imageSet' || value === undefined || Array.isArray(value)) continue;
    if (typeof value === 'boolean') {
      if (value) words.push(spec.flag);
    } else words.push(spec.flag, String(value));
  }
  if (input.images !== undefined) words.push('--images', input.images);
  for (const entry of flags.image ?? []) words.push('--image', entry);
  for (const entry of flags.port ?? []) words.push('--port', entry);
  if (flags.config !== undefined) words.push('--config', flags.config);
  return words.map(shellWord).join(' ');
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const STATE_FILE = 'state.json';

/**
 * The saved state, or undefined when there is none. A file that cannot be used (half written by
 * an older version, edited by hand) is ignored with a notice rather than trusted.
 */
export async function readState(stateDir: string, notice: (message: string) => void = () => undefined): Promise<ProjectState | undefined> {
  const path = join(stateDir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    notice(`ignoring ${path}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  try {
    const state = JSON.parse(text) as ProjectState;
    const list = (value: unknown) => value === undefined || (Array.isArray(value) && value.every((entry) => typeof entry === 'string'));
    if (typeof state !== 'object' || state === null || typeof state.flags !== 'object' || state.flags === null || !list(state.flags.port) || !list(state.flags.image)) {
      throw new Error('not the shape mesh-local writes');
    }
    return { flags: state.flags, bookinfo: state.bookinfo === true };
  } catch (error) {
    notice(`ignoring ${path}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** Saves what this `up` ran with; `--config` is not saved (the file is read again each time). */
export async function writeState(stateDir: string, state: ProjectState): Promise<void> {
  const { config: _config, ...flags } = state.flags as FlagValues & { config?: string };
  const saved: ProjectState = { flags: { ...flags, ...(flags.port ? { port: mergeByName(flags.port) } : {}), ...(flags.image ? { image: mergeByName(flags.image) } : {}) }, bookinfo: state.bookinfo };
  await writeAtomically(join(stateDir, STATE_FILE), `${JSON.stringify(saved, null, 2)}\n`);
}

/** The first line of an error, without dockerode's `(HTTP code 500) server error - ` prefix. */
function firstLine(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}
