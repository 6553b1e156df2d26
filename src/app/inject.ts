import { basename, dirname, resolve } from 'node:path';
import { readYamlFile, toYaml } from '../common/yaml-file.js';
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
  const document = await readYamlFile(path);
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

  const text = toYaml(result.document);
  if (input.output === undefined) {
    console.out(text);
  } else {
    const target = resolve(context.cwd, input.output);
    // Refused, like any file mesh-local did not write, when it is the hand-written input itself.
    await writeGeneratedFiles(dirname(target), [
      { path: basename(target), content: `${GENERATED_MARKER} Sidecars injected into ${input.file}.\n${text}`, mode: 0o644 },
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
