import { basename, dirname, join, resolve } from 'node:path';
import { toYaml } from '../common/yaml-file.js';
import { renderMesh } from '../compose/render.js';
import { FILES_DIR, GENERATED_MARKER, type RenderedFile } from '../compose/mesh-files.js';
import { buildModel, type FlagValues } from '../model/settings.js';
import type { MeshModel } from '../model/mesh.js';
import { writeGeneratedFiles } from './output-files.js';
import type { OutputTarget } from '../common/output-target.js';
import { UsageError } from '../errors.js';
import { loadSettings, type SettingsContext } from './settings-source.js';

export interface Console {
  out(text: string): void;
  err(text: string): void;
}

export interface RenderInput {
  flags: FlagValues & { config?: string };
  /** Compose file to write; `undefined` prints the document on stdout. */
  output?: string | undefined;
  /** Where stdout leads (see outputTarget); `undefined` is a stream, as for a pipe or a terminal. */
  stdout?: OutputTarget | undefined;
}

export interface RenderOutcome {
  model: MeshModel;
  composeFile: string | undefined;
  writtenFiles: string[];
}

/** The Compose file's own text: a header naming what it is, then the document. */
export function composeFileText(model: MeshModel, body: string): string {
  const apps = model.apps.length > 0 ? `, ${model.apps.length} app instances with sidecars` : '';
  return (
    `${GENERATED_MARKER} Istio ${model.istioVersion}, registry ${model.registry}${apps}.\n` +
    `# Re-render with mesh-local rather than editing; files it mounts are under ./${FILES_DIR}/.\n` +
    body
  );
}

/** `mesh-local render`: settings -> model -> Compose document, plus the files it mounts. */
export async function renderCommand(input: RenderInput, context: SettingsContext, console: Console): Promise<RenderOutcome> {
  const { settings, warnings } = await loadSettings(input.flags, context);
  for (const warning of warnings) console.err(`warning: ${warning}\n`);
  const model = buildModel(settings);
  const { document, files } = renderMesh(model);
  const text = composeFileText(model, toYaml(document));

  if (input.output === undefined && input.stdout?.kind === 'file') {
    // `render > stack/file.yaml`: Compose resolves the mounts relative to that file's folder, so
    // they go there, as with -o.
    const composeFile = input.stdout.path;
    const writtenFiles = await writeGeneratedFiles(dirname(composeFile), files);
    console.out(text);
    console.err(`wrote ${files.length} mounted files under ${join(dirname(composeFile), FILES_DIR)}/, beside ${composeFile} (stdout)\n`);
    return { model, composeFile, writtenFiles };
  }
  if (input.output === undefined && input.stdout?.kind === 'unknown-file') {
    throw new UsageError(`stdout is a file whose path cannot be found (${input.stdout.reason}), so the files the stack mounts cannot be put beside it`, {
      hint: 'use -o FILE: the Compose file is written there, its mounted files under mesh-files/ beside it',
    });
  }
  if (input.output === undefined) {
    // A pipe or a terminal: the document mounts files by relative path, so they go where a file
    // saved from stdout in this directory would look for them.
    const writtenFiles = await writeGeneratedFiles(context.cwd, files);
    console.out(text);
    console.err(`wrote ${files.length} mounted files under ./${FILES_DIR}/ (keep the Compose file in ${context.cwd})\n`);
    return { model, composeFile: undefined, writtenFiles };
  }
  const composeFile = resolve(context.cwd, input.output);
  const composeEntry: RenderedFile = { path: basename(composeFile), content: text, mode: 0o644 };
  const writtenFiles = await writeGeneratedFiles(dirname(composeFile), [...files, composeEntry]);
  console.err(`wrote ${composeFile} and ${files.length} mounted files under ${join(dirname(composeFile), FILES_DIR)}/\n`);
  return { model, composeFile, writtenFiles };
}
