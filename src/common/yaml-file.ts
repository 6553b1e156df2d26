import { readFile, stat } from 'node:fs/promises';
import { CORE_SCHEMA, SCALAR_STYLE, YAMLException, dump, intYaml11Tag, load, loadAll, mergeTag, visit } from 'js-yaml';
import { InputFileError, YamlError } from '../errors.js';

/** Compose and config files are a few KiB; anything this large is refused unread. */
export const MAX_INPUT_BYTES = 2 * 1024 * 1024;
/** Upper bound on nodes after alias expansion; a billion-laughs document exceeds it at once. */
export const MAX_EXPANDED_NODES = 100_000;

// YAML 1.2 core (`yes` is a string, as Compose v2 reads it), plus merge keys (`<<: *defaults`),
// common in Compose files, and YAML 1.1 integers: both Compose versions read `mode: 0440` as octal.
const SCHEMA = CORE_SCHEMA.withTags(mergeTag, intYaml11Tag);

function loadOptions(file: string) {
  return { filename: file, schema: SCHEMA, maxDepth: 100, maxAliases: 10_000, maxTotalMergeKeys: 10_000 };
}

/** js-yaml's syntax error as ML_YAML_SYNTAX with the file, line and column; anything else as it is. */
function syntaxError(error: unknown, file: string): unknown {
  if (!(error instanceof YAMLException)) return error;
  const mark = error.mark;
  return new YamlError('ML_YAML_SYNTAX', file, error.reason, mark ? { line: mark.line + 1, column: mark.column + 1 } : {}, { cause: error });
}

/**
 * Parses one YAML document without ever expanding aliases: js-yaml builds aliased nodes as shared
 * objects, and `assertBoundedExpansion` counts what they would expand to before anything walks them.
 */
export function parseYaml(text: string, file: string): unknown {
  let value: unknown;
  try {
    value = load(text, loadOptions(file));
  } catch (error) {
    throw syntaxError(error, file);
  }
  assertBoundedExpansion(value, file);
  return value;
}

/**
 * Every document of a multi-document stream (`---` between them), with the same schema and limits
 * as `parseYaml`; empty documents are left out, as `istioctl` and `kubectl` leave them out.
 */
export function parseYamlDocuments(text: string, file: string): unknown[] {
  let documents: unknown[];
  try {
    documents = loadAll(text, null, loadOptions(file));
  } catch (error) {
    throw syntaxError(error, file);
  }
  const present = documents.filter((document) => document !== null && document !== undefined);
  for (const document of present) assertBoundedExpansion(document, file);
  return present;
}

/**
 * The text of an input file, refused unread above `maxBytes` (default MAX_INPUT_BYTES); `kind`
 * names the file in that refusal. Errors: ML_INPUT_UNREADABLE, ML_INPUT_TOO_LARGE.
 */
export async function readInput(file: string, maxBytes = MAX_INPUT_BYTES, kind = 'YAML file'): Promise<string> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new InputFileError('ML_INPUT_UNREADABLE', file, `${file}: cannot read: ${describe(error)}`, {
      cause: error,
    });
  }
  if (size > maxBytes) {
    throw new InputFileError(
      'ML_INPUT_TOO_LARGE',
      file,
      `${file}: ${size} bytes is more than the ${maxBytes} bytes accepted for a ${kind}`,
    );
  }
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new InputFileError('ML_INPUT_UNREADABLE', file, `${file}: cannot read: ${describe(error)}`, {
      cause: error,
    });
  }
}

export async function readYamlFile(file: string): Promise<unknown> {
  return parseYaml(await readInput(file), file);
}

/** `parseYamlDocuments` of a file (route rules: one rule per document). */
export async function readYamlDocuments(file: string): Promise<unknown[]> {
  return parseYamlDocuments(await readInput(file), file);
}

/**
 * Serializes without anchors. Every string value is quoted: docker-compose v1 reads YAML 1.1, where
 * an unquoted `22:22` is a base-60 integer and `no` a boolean.
 */
const STRING_TAG = 'tag:yaml.org,2002:str';

export function toYaml(value: unknown): string {
  return dump(value, {
    noRefs: true,
    lineWidth: -1,
    transform: (documents) =>
      visit(documents, (node, context) => {
        if (node.kind === 'scalar' && !context.isKey && node.tag === STRING_TAG && node.style === SCALAR_STYLE.PLAIN) {
          node.style = SCALAR_STYLE.DOUBLE_QUOTED;
        }
      }),
  });
}

function assertBoundedExpansion(root: unknown, file: string): void {
  const sizes = new Map<object, number>();
  const inProgress = new Set<object>();
  const sizeOf = (node: unknown): number => {
    if (node === null || typeof node !== 'object') return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (inProgress.has(node)) {
      throw new YamlError('ML_YAML_ALIAS_EXPANSION', file, 'an alias refers to a node that contains it');
    }
    inProgress.add(node);
    let total = 1;
    for (const child of Object.values(node)) {
      total += sizeOf(child);
      if (total > MAX_EXPANDED_NODES) {
        throw new YamlError(
          'ML_YAML_ALIAS_EXPANSION',
          file,
          `aliases would expand to more than ${MAX_EXPANDED_NODES} nodes; refusing to expand them`,
        );
      }
    }
    inProgress.delete(node);
    sizes.set(node, total);
    return total;
  };
  sizeOf(root);
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && error.code === 'ENOENT') {
    return 'no such file';
  }
  return error instanceof Error ? error.message : String(error);
}
