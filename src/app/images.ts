import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { pathExists } from '../common/fs.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ImageBuildError, ImageUnavailableError, InternalError, MeshLocalError } from '../errors.js';
import { IMAGE_KEYS, type ImageKey } from '../model/images.js';
import {
  NODE_RUNTIME_IMAGE,
  SANDBOX_BASE_IMAGE,
  SANDBOX_BASE_SOURCE,
  SANDBOX_PROGRAM_ROOT,
  STANDS_IN_ENV,
  STANDS_IN_LABEL,
  sandboxBuildOrder,
  sandboxImageFor,
  type ImageSetName,
  type SandboxImage,
} from '../model/image-sets.js';
import { findIstioVersion, DEFAULT_ISTIO_VERSION } from '../model/istio-versions.js';
import { imageFacts } from '../model/upstream/facts.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import type { Console } from './render.js';

/** The part of the engine image building uses. */
export type ImageEngine = Pick<DockerEngine, 'imageExists' | 'tagImage' | 'buildImage' | 'importImage'>;

export interface ImagesDeps {
  engine: ImageEngine;
  console: Console;
  /** Holds images/sandbox/ and build/sandbox/ (the compiled sandbox programs). */
  packageRoot: string;
  env: Record<string, string | undefined>;
}

const OUTPUT_TAIL_LINES = 25;
const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/**
 * `mesh-local images build --set sandbox`: the base image, the Node.js runtime, then every image
 * of the set, in order. The engine's build cache makes a second run take seconds.
 */
export async function buildSandboxImages(deps: ImagesDeps, signal?: AbortSignal): Promise<{ built: number; cached: number }> {
  const started = Date.now();
  await ensureBaseImage(deps, signal).catch((error: unknown) => {
    // An Engine call stopped by the signal says "cannot reach the Docker Engine"; it was a stop.
    throw signal?.aborted ? signal.reason : error;
  });
  const programs = join(deps.packageRoot, 'build', 'sandbox');
  if (!(await pathExists(programs))) {
    throw new ImageUnavailableError(`the sandbox programs are not compiled (${programs} is missing)`, {
      hint: 'run `make build` (npx tsc -p tsconfig.sandbox.json) first',
    });
  }
  const order = sandboxBuildOrder();
  const workDir = await mkdtemp(join(tmpdir(), 'mesh-local-images-'));
  let cachedCount = 0;
  try {
    for (const [index, image] of order.entries()) {
      const label = `[${index + 1}/${order.length}] ${image.reference}`;
      const contextDir = await stageContext(image, deps.packageRoot, workDir);
      const imageStarted = Date.now();
      deps.console.err(`${label}: building\n`);
      const output: string[] = [];
      try {
        const outcome = await deps.engine.buildImage(
          {
            contextDir,
            contextEntries: ['.'],
            dockerfile: 'Dockerfile',
            tag: image.reference,
            buildArgs:
              image.build.kind === 'dockerfile'
                ? { BASE: image.build.from === 'base' ? SANDBOX_BASE_IMAGE : NODE_RUNTIME_IMAGE, ...image.build.args }
                : {},
            labels: {
              'dev.mesh-local.image-set': 'sandbox',
              'dev.mesh-local.nature': image.nature,
              ...(image.standsInFor ? { [STANDS_IN_LABEL]: image.standsInFor } : {}),
            },
          },
          (line) => output.push(line),
          signal,
        );
        if (outcome.cached) cachedCount++;
        deps.console.err(`${label}: ${outcome.cached ? 'up to date' : 'built'} in ${seconds(imageStarted)}\n`);
      } catch (error) {
        // Stopped by the caller's signal (Ctrl-C, a deadline): the build did not fail, it was
        // stopped, whatever dockerode or the stream made of that ("aborted", "The operation was
        // aborted"); the caller says so.
        if (signal?.aborted) throw signal.reason;
        if (error instanceof MeshLocalError && !(error instanceof ImageBuildError)) throw error;
        const failure =
          error instanceof ImageBuildError ? error : new ImageBuildError(image.reference, messageOf(error), { cause: error });
        failure.outputTail = output.slice(-OUTPUT_TAIL_LINES).join('\n');
        throw failure;
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  deps.console.err(`sandbox set ready: ${order.length} images (${cachedCount} unchanged) in ${seconds(started)}\n`);
  return { built: order.length - cachedCount, cached: cachedCount };
}

/** Copies what one image's build needs into its own small context directory. */
async function stageContext(image: SandboxImage, root: string, workDir: string): Promise<string> {
  const contextDir = join(workDir, image.reference.replace(/[/:]/g, '_'));
  await mkdir(contextDir, { recursive: true });
  let dockerfile: string;
  if (image.build.kind === 'dockerfile') {
    await cp(join(root, image.build.dir), contextDir, { recursive: true });
    if (image.reference === NODE_RUNTIME_IMAGE) {
      await cp(join(root, 'build', 'sandbox'), join(contextDir, 'app'), { recursive: true });
      // The compiled programs are ES modules; Node needs to be told so.
      await writeFile(join(contextDir, 'app', 'package.json'), '{ "type": "module" }\n');
    }
    dockerfile = await readFile(join(contextDir, 'Dockerfile'), 'utf8');
  } else {
    const { programs, files = {}, env = {}, user } = image.build;
    const entries = Object.entries(programs).length + Object.entries(files).length;
    for (const [path, program] of Object.entries(programs)) {
      await writeExecutable(join(contextDir, 'rootfs', mergedUsrPath(path)), `#!/bin/sh\n# mesh-local sandbox: ${path} is ${SANDBOX_PROGRAM_ROOT}/${program}\nexec node ${SANDBOX_PROGRAM_ROOT}/${program} "$@"\n`);
    }
    for (const [path, file] of Object.entries(files)) await writeExecutable(join(contextDir, 'rootfs', mergedUsrPath(path)), await readFile(join(root, file), 'utf8'));
    dockerfile = [
      `FROM ${NODE_RUNTIME_IMAGE}`,
      ...(entries > 0 ? ['USER 0:0', 'COPY rootfs/ /'] : []),
      ...Object.entries(env).map(([key, value]) => `ENV ${key}=${value}`),
      `USER ${user ?? '1000:1000'}`,
      '',
    ].join('\n');
  }
  await writeFile(join(contextDir, 'Dockerfile'), `${dockerfile.trimEnd()}\n${upstreamStart(image)}`);
  return contextDir;
}

/**
 * The lines that make a sandbox image start like the upstream image it stands in for: its
 * reference (label and environment, which the stand-ins read their flag sets by), and upstream's
 * ENTRYPOINT and CMD from the facts table, so a rendered command line means the same in both.
 */
export function upstreamStart(image: SandboxImage): string {
  if (!image.standsInFor) return '';
  const facts = imageFacts(image.standsInFor);
  if (!facts) throw new InternalError(`no upstream facts for ${image.standsInFor}, which ${image.reference} stands in for`);
  const cmd = image.cmdOverride?.cmd ?? facts.cmd;
  return [
    `# Stands in for ${image.standsInFor}: the same ENTRYPOINT and CMD.`,
    `ENV ${STANDS_IN_ENV}=${image.standsInFor}`,
    // An empty ENTRYPOINT clears the parent's; CMD likewise.
    `ENTRYPOINT ${JSON.stringify(facts.entrypoint ?? [])}`,
    `CMD ${JSON.stringify(cmd ?? [])}`,
    '',
  ].join('\n');
}

/**
 * Debian's /bin and /sbin are symlinks into /usr (merged /usr): a COPY of a `bin/` folder would
 * replace the link with a folder holding only our file, so files for /bin go to /usr/bin, which
 * /bin/<name> then resolves to.
 */
export function mergedUsrPath(path: string): string {
  return path.replace(/^\/(s?bin)\//, '/usr/$1/');
}

async function writeExecutable(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content, { mode: 0o755 });
}

/** A local debian:bookworm-slim when there is one, else debootstrap + `docker import`. */
async function ensureBaseImage(deps: ImagesDeps, signal?: AbortSignal): Promise<void> {
  const { engine, console } = deps;
  if (await engine.imageExists(SANDBOX_BASE_IMAGE, signal)) {
    console.err(`base ${SANDBOX_BASE_IMAGE}: present\n`);
    return;
  }
  if (await engine.imageExists(SANDBOX_BASE_SOURCE, signal)) {
    await engine.tagImage(SANDBOX_BASE_SOURCE, SANDBOX_BASE_IMAGE);
    console.err(`base ${SANDBOX_BASE_IMAGE}: tagged from the local ${SANDBOX_BASE_SOURCE}\n`);
    return;
  }
  const mirror = deps.env.MESH_LOCAL_DEBIAN_MIRROR || DEFAULT_DEBIAN_MIRROR;
  const started = Date.now();
  console.err(`base ${SANDBOX_BASE_IMAGE}: no ${SANDBOX_BASE_SOURCE} here; making one with debootstrap from ${mirror}\n`);
  const rootfs = await mkdtemp(join(tmpdir(), 'mesh-local-rootfs-'));
  try {
    await runTool(['debootstrap', '--variant=minbase', 'bookworm', rootfs, mirror], SANDBOX_BASE_IMAGE, signal, {
      hint: 'debootstrap needs root and the debootstrap package (apt-get install debootstrap), or load a debian:bookworm-slim image',
    });
    const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const tarExit = new Promise<number | null>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', resolve);
    });
    // Awaited below only when the import succeeds; an abort rejects both.
    tarExit.catch(() => undefined);
    await engine.importImage(tar.stdout, SANDBOX_BASE_IMAGE, signal);
    if ((await tarExit) !== 0) throw new ImageBuildError(SANDBOX_BASE_IMAGE, 'tar of the root filesystem failed');
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
  console.err(`base ${SANDBOX_BASE_IMAGE}: imported in ${seconds(started)}\n`);
}

function runTool(argv: string[], image: string, signal: AbortSignal | undefined, options: { hint: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const output: string[] = [];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const keep = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => {
      // Killed by the signal: that is the caller's stop, not a failure of the tool.
      if (signal?.aborted) return reject(signal.reason);
      reject(new ImageBuildError(image, `${argv[0]}: ${error.message}`, { cause: error, hint: options.hint }));
    });
    child.on('close', (code) => {
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve();
      const failure = new ImageBuildError(image, `${argv.join(' ')} exited with ${code}`, { hint: options.hint });
      failure.outputTail = output.slice(-OUTPUT_TAIL_LINES).join('\n');
      reject(failure);
    });
  });
}

export interface ImageRow {
  key: ImageKey;
  reference: string | null;
  nature: string;
  present: boolean;
}

/**
 * `mesh-local images list`: every image key of a set at an Istio version (the default one unless
 * given), its reference and whether the engine has it.
 */
export async function listImages(
  set: ImageSetName,
  engine: Pick<DockerEngine, 'imageExists'>,
  signal?: AbortSignal,
  istioVersion: string = DEFAULT_ISTIO_VERSION,
): Promise<ImageRow[]> {
  const version = findIstioVersion(istioVersion);
  if (!version) throw new InternalError(`unknown Istio version ${istioVersion}`);
  const upstream = version.images;
  return Promise.all(
    IMAGE_KEYS.map(async (key): Promise<ImageRow> => {
      if (set === 'upstream') {
        return { key, reference: upstream[key], nature: 'upstream', present: await engine.imageExists(upstream[key], signal) };
      }
      const image = sandboxImageFor(upstream[key]);
      if (!image) return { key, reference: null, nature: 'not in this set', present: false };
      return { key, reference: image.reference, nature: image.nature, present: await engine.imageExists(image.reference, signal) };
    }),
  );
}

export function formatImageTable(rows: ImageRow[]): string {
  const header = ['IMAGE', 'REFERENCE', 'KIND', 'PRESENT'];
  const lines = rows.map((row) => [row.key, row.reference ?? '-', row.nature, row.reference ? (row.present ? 'yes' : 'no') : '-']);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  return [header, ...lines].map((line) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
