import { basename, dirname, resolve } from 'node:path';
import { readComposeYaml, writeComposeYaml } from '../common/compose-yaml.js';
import { injectSidecars, type InjectionPolicy } from '../compose/inject.js';
import { GENERATED_MARKER } from '../compose/mesh-files.js';
import { MESH_NETWORK } from '../compose/render.js';
import { findIstioVersion } from '../model/istio-versions.js';
import { buildModel, type FlagValues } from '../model/settings.js';
import { writeGeneratedFiles } from './output-files.js';
import type { Console } from './render.js';
import { loadSettings } from './settings-source.js';
import { injectSettings, type InjectSettingsContext } from './inject-settings.js';

export interface InjectInput {
  file: string;
  policy: InjectionPolicy;
  output?: string | undefined;
  /** Network of the running mesh to join; `undefined` derives `<project>_mesh`, `null` joins none. */
  meshNetwork?: string | null | undefined;
  flags: FlagValues & { config?: string };
}

/** `mesh-local inject`: the Compose counterpart of `istioctl kube-inject`. */
export async function injectCommand(input: InjectInput, context: InjectSettingsContext, console: Console) {
  // A running project's registry and Istio version, so its sidecars work with it.
  const running = await injectSettings(input.flags, context);
  if (running.message) console.err(`${running.message}\n`);
  const { settings, warnings } = await loadSettings(running.flags, context);
  for (const warning of warnings) console.err(`warning: ${warning}\n`);
  const model = buildModel(settings);
  const version = findIstioVersion(model.istioVersion)!;
  const path = resolve(context.cwd, input.file);
  // Read as Compose v2 reads it; the user's own document is patched and written back below.
  const compose = await readComposeYaml(path);
  // Compose v2 takes a file without `services` (only volumes, networks...) as a project of none.
  const noServices = isMapping(compose.value) && compose.value.services === undefined;
  if (noServices) console.err(`notice: ${input.file} defines no services: nothing to inject\n`);
  const document = noServices ? { ...(compose.value as Record<string, unknown>), services: {} } : compose.value;
  const result = injectSidecars(document, input.file, {
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

  const written = { ...result.document };
  if (noServices && Object.keys(written.services as object).length === 0) delete written.services;
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

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An injected file injected again keeps one marker line, the new one. */
function withoutMarker(text: string): string {
  return text.startsWith(GENERATED_MARKER) ? text.slice(text.indexOf('\n') + 1) : text;
}
