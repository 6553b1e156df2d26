import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { OutputTarget } from '../common/output-target.js';
import { readComposeYaml, writeComposeYaml } from '../common/compose-yaml.js';
import { injectSidecars, type InjectionPolicy } from '../compose/inject.js';
import { GENERATED_MARKER } from '../compose/mesh-files.js';
import { MESH_NETWORK } from '../compose/render.js';
import { findIstioVersion } from '../model/istio-versions.js';
import { buildModel, type FlagValues } from '../model/settings.js';
import { writeGeneratedFiles } from './output-files.js';
import type { Console } from './render.js';
import { loadSettings } from './settings-source.js';
import { injectSettings, type InjectSettings, type InjectSettingsContext } from './inject-settings.js';
import { gatherComposeFacts } from './compose-facts.js';
import { relocatePaths } from '../compose/relocate.js';
import { UsageError } from '../errors.js';
import { composeCli, detectCompose, type ComposeConfigReader } from '../runtime/compose-cli.js';

export interface InjectContext extends InjectSettingsContext {
  /** The Compose CLI whose `config` gives each service's effective settings; default: detectCompose(env). */
  compose?: () => Promise<ComposeConfigReader | undefined>;
  /** Where stdout leads (output-target.ts): a file elsewhere is treated like `-o`. */
  stdoutTarget?: () => Promise<OutputTarget>;
}

export interface InjectInput {
  file: string;
  policy: InjectionPolicy;
  output?: string | undefined;
  /** Network of the running mesh to join; `undefined` derives `<project>_mesh`, `null` joins none. */
  meshNetwork?: string | null | undefined;
  flags: FlagValues & { config?: string };
  /** The running project's settings when the caller already asked for them (deploy asks once for all its files). */
  settings?: InjectSettings | undefined;
}

/** `mesh-local inject`: the Compose counterpart of `istioctl kube-inject`. */
export async function injectCommand(input: InjectInput, context: InjectContext, console: Console) {
  const path = resolve(context.cwd, input.file);
  // Read as Compose v2 reads it (first: a bad file is refused without asking Docker anything);
  // the user's own document is patched and written back below.
  const compose = await readComposeYaml(path);
  // A running project's registry and Istio version, so its sidecars work with it.
  const running = input.settings ?? (await injectSettings(input.flags, context));
  if (running.message && !input.settings) console.err(`${running.message}\n`);
  const { settings, warnings } = await loadSettings(running.flags, context);
  for (const warning of warnings) console.err(`warning: ${warning}\n`);
  const model = buildModel(settings);
  const version = findIstioVersion(model.istioVersion)!;
  // Compose v2 takes a file without `services` (only volumes, networks...) as a project of none.
  const noServices = isMapping(compose.value) && compose.value.services === undefined;
  if (noServices) console.err(`notice: ${input.file} defines no services: nothing to inject\n`);
  const document = noServices ? { ...(compose.value as Record<string, unknown>), services: {} } : compose.value;
  // The folder the written document will be read from: -o's, or that of a file stdout leads to.
  const outputDir = await outputFolder(input, context);
  if (outputDir !== undefined) await requireSameDotEnv(dirname(path), outputDir, input.file);
  // What Compose itself reads (extends, include, profiles, interpolation), not the text as written.
  const facts = isMapping(document)
    ? await gatherComposeFacts({
        path,
        file: input.file,
        document,
        env: context.env,
        reader: await (context.compose ?? (() => defaultCompose(context.env)))(),
        signal: context.signal,
      })
    : undefined;
  if (facts?.notice) console.err(facts.notice);
  for (const service of facts?.included ?? []) {
    console.err(`warning: ${service}: not injected: it comes from an include: file, which inject does not edit; inject that file itself\n`);
  }
  const result = injectSidecars(document, input.file, {
    ...(facts ? { facts: facts.services } : {}),
    policy: input.policy,
    sidecar: {
      version,
      registry: model.registry,
      images: { pause: model.images.pause!, proxyInit: model.images['proxy-init']!, proxy: model.images.proxy! },
      tracing: model.addons.includes('zipkin'),
    },
    // Compose names a project's network `<project>_<network>` in both v1 and v2.
    meshNetwork: input.meshNetwork === undefined ? `${model.project}_${MESH_NETWORK}` : input.meshNetwork,
  });
  for (const skipped of result.skipped) console.err(`warning: ${skipped.service}: not injected: ${skipped.reason}\n`);

  let written = { ...result.document };
  if (noServices && Object.keys(written.services as object).length === 0) delete written.services;
  if (outputDir !== undefined) {
    // Compose resolves relative paths against the written file's folder: they are rewritten to
    // name the same files from there.
    const moved = relocatePaths(written, input.file, dirname(path), outputDir);
    written = moved.document;
    if (moved.changed.length > 0) console.err(`rewrote relative paths for ${relative(context.cwd, outputDir) || '.'}: ${moved.changed.join(', ')}\n`);
  }
  const text = writeComposeYaml(compose, written);
  if (input.output === undefined) {
    console.out(text);
  } else {
    const target = resolve(context.cwd, input.output);
    // Refused, like any file mesh-local did not write, when it is the hand-written input itself.
    await writeGeneratedFiles(dirname(target), [
      { path: basename(target), content: `${GENERATED_MARKER} Sidecars injected into ${input.file}.\n${withoutMarker(text)}`, mode: 0o644 },
    ]);
    console.err(`wrote ${target}\n`);
  }
  console.err(
    result.injected.length > 0
      ? `injected sidecars into ${result.injected.length} services: ${result.injected.join(', ')}\n`
      : 'no service needed a sidecar\n',
  );
  return result;
}

async function defaultCompose(env: Readonly<Record<string, string | undefined>>): Promise<ComposeConfigReader | undefined> {
  const variant = await detectCompose(env);
  return variant ? composeCli(variant) : undefined;
}

/** The folder of `-o`, else of the file stdout was redirected to; undefined for a pipe or terminal. */
async function outputFolder(input: InjectInput, context: InjectContext): Promise<string | undefined> {
  if (input.output !== undefined) return dirname(resolve(context.cwd, input.output));
  const target = await context.stdoutTarget?.();
  if (target?.kind === 'file') return dirname(target.path);
  if (target?.kind === 'unknown-file') {
    throw new UsageError(`stdout is a file whose folder cannot be known (${target.reason}), so relative paths of ${input.file} cannot be kept`, {
      hint: 'write the file with -o FILE',
    });
  }
  return undefined;
}

/**
 * Compose interpolates with the `.env` of the folder it reads the file from: the output's folder
 * must hold the same `.env` as the input's (or neither has one), else the variables would change.
 */
async function requireSameDotEnv(inputDir: string, outputDir: string, file: string): Promise<void> {
  if (resolve(inputDir) === resolve(outputDir)) return;
  const read = (dir: string) => readFile(join(dir, '.env'), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  const [source, target] = await Promise.all([read(inputDir), read(outputDir)]);
  if (source === target) return;
  const where = source === undefined
    ? `${join(outputDir, '.env')} exists and ${join(inputDir, '.env')} does not`
    : target === undefined
      ? `${join(inputDir, '.env')} would not be read from ${outputDir}`
      : `${join(outputDir, '.env')} differs from ${join(inputDir, '.env')}`;
  throw new UsageError(`${file}: .env: Compose reads the .env of the output's folder, and ${where}: the variables would change`, {
    hint: `copy ${join(inputDir, '.env')} beside the output, or write the output into ${inputDir}`,
  });
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An injected file injected again keeps one marker line, the new one. */
function withoutMarker(text: string): string {
  return text.startsWith(GENERATED_MARKER) ? text.slice(text.indexOf('\n') + 1) : text;
}
