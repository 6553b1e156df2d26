import { posix } from 'node:path';
import { InputShapeError } from '../errors.js';

type Mapping = Record<string, unknown>;

/**
 * Rewrites the relative paths of a Compose document read in folder `from` so they mean the same
 * files when the document lives in folder `to` (both absolute, POSIX). Compose resolves these
 * against the project folder, which is the folder of the (first) file: `build` / `build.context`,
 * `build.additional_contexts` values, `env_file` (string, list, or `{path}` items), bind-mount
 * sources in `volumes` (short syntax `./src:/dst`, `../src:/dst`; long syntax `type: bind`),
 * `extends.file`, `include` entries (string, `path`, `env_file`, `project_directory`), and the
 * `file` of top-level `secrets` and `configs` (compose-spec 05-services.md, 13-merge.md, 14-include.md).
 * URLs (`https://`, `git@`), absolute and `~` paths are kept. A path that starts with a variable
 * (`${DIR}/x`) cannot be known here: InputShapeError (exit 2) naming the field. Pure; returns a
 * new document and the dotted fields it changed.
 */
export function relocatePaths(document: Mapping, file: string, from: string, to: string): { document: Mapping; changed: string[] } {
  const changed: string[] = [];
  if (posix.resolve(from) === posix.resolve(to)) return { document, changed };
  const move = (value: unknown, path: string): unknown => {
    if (typeof value !== 'string' || value === '') return value;
    if (value.startsWith('$')) {
      throw new InputShapeError(file, path, `a literal path when the output goes to another folder (${to})`, `${value}, which inject cannot rewrite; write the output beside the input instead`);
    }
    if (posix.isAbsolute(value) || value.startsWith('~') || /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || value.startsWith('git@')) return value;
    const moved = posix.relative(to, posix.resolve(from, value)) || '.';
    const result = moved.startsWith('.') ? moved : `./${moved}`;
    if (result !== value) changed.push(path);
    return result;
  };
  const out: Mapping = { ...document };
  const services = asMapping(document.services);
  if (services) {
    const movedServices: Mapping = {};
    for (const [name, raw] of Object.entries(services)) {
      const service = asMapping(raw);
      if (!service) {
        movedServices[name] = raw;
        continue;
      }
      const at = (field: string) => `services.${name}.${field}`;
      const copy: Mapping = { ...service };
      if (typeof service.build === 'string') copy.build = move(service.build, at('build'));
      const build = asMapping(service.build);
      if (build) {
        const movedBuild: Mapping = { ...build };
        // A build without a context builds the project folder (compose-go sets ".").
        movedBuild.context = move(build.context ?? '.', at('build.context'));
        const contexts = asMapping(build.additional_contexts);
        if (contexts) {
          movedBuild.additional_contexts = Object.fromEntries(
            Object.entries(contexts).map(([key, value]) => [key, typeof value === 'string' && value.includes(':') ? value : move(value, at(`build.additional_contexts.${key}`))]),
          );
        }
        copy.build = movedBuild;
      }
      if (service.env_file !== undefined) copy.env_file = moveFiles(service.env_file, at('env_file'), move);
      if (Array.isArray(service.volumes)) {
        copy.volumes = service.volumes.map((volume, index) => moveVolume(volume, at(`volumes[${index}]`), move));
      }
      const extendsOf = asMapping(service.extends);
      if (extendsOf && typeof extendsOf.file === 'string') copy.extends = { ...extendsOf, file: move(extendsOf.file, at('extends.file')) };
      movedServices[name] = copy;
    }
    out.services = movedServices;
  }
  if (Array.isArray(document.include)) {
    out.include = document.include.map((entry, index) => {
      if (typeof entry === 'string') return move(entry, `include[${index}]`);
      const include = asMapping(entry);
      if (!include) return entry;
      const copy: Mapping = { ...include };
      if (include.path !== undefined) copy.path = moveFiles(include.path, `include[${index}].path`, move);
      if (include.env_file !== undefined) copy.env_file = moveFiles(include.env_file, `include[${index}].env_file`, move);
      if (include.project_directory !== undefined) copy.project_directory = move(include.project_directory, `include[${index}].project_directory`);
      return copy;
    });
  }
  for (const top of ['secrets', 'configs'] as const) {
    const entries = asMapping(document[top]);
    if (!entries) continue;
    out[top] = Object.fromEntries(
      Object.entries(entries).map(([name, raw]) => {
        const entry = asMapping(raw);
        return [name, entry && entry.file !== undefined ? { ...entry, file: move(entry.file, `${top}.${name}.file`) } : raw];
      }),
    );
  }
  return { document: out, changed };
}

function moveFiles(value: unknown, path: string, move: (value: unknown, path: string) => unknown): unknown {
  if (typeof value === 'string') return move(value, path);
  if (!Array.isArray(value)) return value;
  return value.map((item, index) => {
    const entry = asMapping(item);
    if (entry && entry.path !== undefined) return { ...entry, path: move(entry.path, `${path}[${index}].path`) };
    return move(item, `${path}[${index}]`);
  });
}

/** Short syntax `SRC:DST[:MODE]` is a relative bind mount when SRC starts with `.`. */
function moveVolume(volume: unknown, path: string, move: (value: unknown, path: string) => unknown): unknown {
  if (typeof volume === 'string') {
    const colon = volume.indexOf(':');
    if (colon <= 0) return volume;
    const source = volume.slice(0, colon);
    // A named volume or a variable (`${PWD}/data`, `${VOLUME}`) is not a relative path.
    if (!source.startsWith('.')) return volume;
    return `${move(source, path) as string}${volume.slice(colon)}`;
  }
  const entry = asMapping(volume);
  if (entry && entry.type === 'bind' && typeof entry.source === 'string') return { ...entry, source: move(entry.source, `${path}.source`) };
  return volume;
}

function asMapping(value: unknown): Mapping | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Mapping) : undefined;
}
