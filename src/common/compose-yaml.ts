import {
  Alias,
  Document,
  Pair,
  Scalar,
  YAMLMap,
  YAMLSeq,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parse,
  parseAllDocuments,
  type CollectionTag,
  type DocumentOptions,
  type Node,
  type ParseOptions,
  type SchemaOptions,
  type Tags,
  type ScalarTag,
} from 'yaml';
import { InputShapeError, YamlError } from '../errors.js';
import { readInput } from './yaml-file.js';

/**
 * Reads a Compose file as Compose v2 reads it and writes the user's own document back, patched.
 *
 * Compose v2 (compose-go) decodes YAML with go-yaml v3, whose plain scalars are YAML 1.2 core
 * with go-yaml's own number rules (gopkg.in/yaml.v3 resolve.go @ v3.0.1): an unquoted `22:22`,
 * `0:0`, `yes` or `no` is a string; integers are Go's `strconv.ParseInt(s, 0, 64)` after removing
 * every `_` (so `0440` is octal 288, `0x1F`, `0b101`, `0o17` and `1_000` are numbers), then
 * `ParseUint`, then floats (`08` is the float 8); `2001-12-14` is a timestamp, which Compose prints
 * as Go's `time.Time.String()`. Established against `docker compose config --format json` v2.26
 * (test/inject-yaml.test.ts). compose-go reads the tags `!reset` (the key is dropped) and
 * `!override` (the value as written), and merges the documents of a multi-document file.
 */

/** Compose files of 1,000 services come out of `inject` at about 6x their size; 64 MiB holds that with room. */
export const COMPOSE_MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** Nodes that aliases may add by expansion (a document's own nodes do not count). */
export const COMPOSE_MAX_ALIAS_EXPANSION = 1_000_000;

type Mapping = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Scalars as go-yaml v3 resolves them

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`: the integer, or undefined. */
function goParseInt(plain: string): bigint | undefined {
  const match = /^([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(plain);
  if (!match) return undefined;
  const [, sign, hex, octal, binary, legacyOctal, decimal] = match;
  const magnitude = hex !== undefined ? BigInt(`0x${hex}`)
    : octal !== undefined ? BigInt(`0o${octal}`)
    : binary !== undefined ? BigInt(`0b${binary}`)
    : legacyOctal !== undefined ? (legacyOctal === '' ? 0n : BigInt(`0o${legacyOctal}`))
    : BigInt(decimal!);
  const value = sign === '-' ? -magnitude : magnitude;
  if (value >= INT64_MIN && value <= INT64_MAX) return value;
  // ParseUint takes no sign at all.
  if (sign === '' && value <= UINT64_MAX) return value;
  return undefined;
}

/** An integer as plain data: a number when exact, else a BigInt (every digit kept). */
function exactInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** go-yaml v3's reading of a plain scalar that starts with a digit, `+`, `-` or `.`. */
export function goNumber(text: string): number | bigint | string {
  const plain = /^[-+0-9]/.test(text) ? text.replaceAll('_', '') : text;
  if (/^[-+0-9]/.test(text)) {
    const integer = goParseInt(plain);
    if (integer !== undefined) return exactInteger(integer);
  }
  if (YAML_STYLE_FLOAT.test(plain)) return Number.parseFloat(plain);
  return text;
}

const TIMESTAMP = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:([Tt ])([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.([0-9]{1,9}))?(Z|[-+][0-9]{2}:[0-9]{2})?)?$/;

/**
 * go-yaml v3's timestamps (`allowedTimestampFormats`: `2006-1-2T15:4:5.999999999Z07:00`, the same
 * with `t`, `2006-1-2 15:4:5.999999999` without a zone, `2006-1-2`) as Compose prints them: Go's
 * `time.Time.String()`, e.g. `2001-12-14 00:00:00 +0000 UTC`. Undefined when Go would not parse it.
 */
export function goTimestamp(text: string): string | undefined {
  const match = TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [, year, month, day, separator, hour, minute, second, fraction, zone] = match;
  if (separator !== undefined) {
    // With T/t the zone is required; with a space there is none.
    if ((separator === ' ') !== (zone === undefined)) return undefined;
  }
  const numbers = [year, month, day, hour ?? '0', minute ?? '0', second ?? '0'].map(Number) as [number, number, number, number, number, number];
  const [y, mo, d, h, mi, s] = numbers;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  const pad = (value: number) => String(value).padStart(2, '0');
  const fractionText = fraction ? `.${fraction.replace(/0+$/, '')}`.replace(/^\.$/, '') : '';
  let zoneText = '+0000 UTC';
  if (zone && zone !== 'Z' && zone !== '+00:00' && zone !== '-00:00') {
    const offset = zone.replace(':', '');
    zoneText = `${offset} ${offset}`;
  }
  return `${String(y).padStart(4, '0')}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}${fractionText} ${zoneText}`;
}

/** Keeps the text as written when the value was not changed; new values in Go's spelling. */
function stringifyNumber(item: Scalar): string {
  if (item.source !== undefined && Object.is(goNumber(item.source), item.value)) return item.source;
  const value = item.value;
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
  return String(value);
}

const goNumberTag: ScalarTag = {
  tag: 'tag:yaml.org,2002:int',
  default: true,
  identify: (value) => typeof value === 'bigint' || typeof value === 'number',
  test: /^[-+0-9.][-+0-9a-zA-Z_.]*$/,
  resolve: (text) => {
    // `.inf`/`.nan` spellings and everything else with a dot hint go through the float table.
    const special: Record<string, number> = {
      '.nan': NaN, '.NaN': NaN, '.NAN': NaN,
      '.inf': Infinity, '.Inf': Infinity, '.INF': Infinity,
      '+.inf': Infinity, '+.Inf': Infinity, '+.INF': Infinity,
      '-.inf': -Infinity, '-.Inf': -Infinity, '-.INF': -Infinity,
    };
    if (text in special) return special[text];
    if (text.startsWith('.')) return YAML_STYLE_FLOAT.test(text) ? Number.parseFloat(text) : text;
    return goNumber(text);
  },
  stringify: (item) => stringifyNumber(item as Scalar),
};

const goTimestampTag: ScalarTag = {
  tag: 'tag:yaml.org,2002:timestamp',
  default: true,
  test: /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ][0-9:.+\-Z]+)?$/,
  resolve: (text) => goTimestamp(text) ?? text,
  stringify: (item) => ((item as Scalar).source ?? String((item as Scalar).value)),
};

/** compose-go's tags: `!reset` drops the key, `!override` replaces what other files merge in. */
export const COMPOSE_TAGS = ['!reset', '!override'] as const;
const composeTags: Array<ScalarTag | CollectionTag> = COMPOSE_TAGS.flatMap((tag) => [
  { tag, collection: 'map', nodeClass: YAMLMap } as CollectionTag,
  { tag, collection: 'seq', nodeClass: YAMLSeq } as CollectionTag,
  { tag, resolve: (text: string) => resolvePlain(text) } as ScalarTag,
]);

const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  schema: 'core',
  customTags: (tags: Tags) => [
    ...tags.filter((tag) => typeof tag === 'object' && !['tag:yaml.org,2002:int', 'tag:yaml.org,2002:float'].includes(tag.tag)),
    goTimestampTag,
    goNumberTag,
    ...composeTags,
  ],
  prettyErrors: true,
  uniqueKeys: true,
};

/** The plain scalar `text` as go-yaml v3 reads it. */
export function resolvePlain(text: string): unknown {
  const document = new Document(null, PARSE_OPTIONS);
  const tags = document.schema.tags as ScalarTag[];
  for (const tag of tags) {
    if (!tag.collection && tag.default && tag.test?.test(text)) return tag.resolve(text, () => {}, {});
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ComposeYaml {
  file: string;
  text: string;
  /** The file's documents; `write` patches them in place. */
  documents: Document[];
  /**
   * The file as Compose v2 reads it, merged across documents, as plain data: mappings are
   * objects, integers numbers (BigInt beyond 2^53), timestamps Go's strings, `!reset` keys left out.
   */
  value: unknown;
  /** Each document's own plain value, in order (what `write` compares against). */
  documentValues: unknown[];
}

/** The text of a Compose file, refused unread above COMPOSE_MAX_INPUT_BYTES. */
export async function readComposeYaml(file: string, maxBytes = COMPOSE_MAX_INPUT_BYTES): Promise<ComposeYaml> {
  return parseComposeYaml(await readInput(file, maxBytes, 'Compose file'), file);
}

/**
 * Parses a Compose file. Errors: ML_YAML_SYNTAX (file, line, column), ML_YAML_ALIAS_EXPANSION
 * (aliases would add more than COMPOSE_MAX_ALIAS_EXPANSION nodes, or refer to themselves),
 * ML_INPUT_SHAPE (a document that is not a mapping; an entry of `services`, `networks`...
 * defined in two documents, which inject cannot merge as Compose does).
 */
export function parseComposeYaml(text: string, file: string): ComposeYaml {
  const documents = parseAllDocuments(text, PARSE_OPTIONS);
  if (!Array.isArray(documents)) return { file, text, documents: [], value: null, documentValues: [] };
  for (const document of documents) {
    const error = document.errors[0];
    if (error) {
      const position = error.linePos?.[0];
      throw new YamlError('ML_YAML_SYNTAX', file, error.message.split('\n')[0]!, position ? { line: position.line, column: position.col } : {}, { cause: error });
    }
  }
  const reader = new PlainReader(file);
  const documentValues = documents.map((document) => reader.read(document));
  return { file, text, documents, value: mergeDocuments(documentValues, file), documentValues };
}

/** Nodes of the source behind plain objects, so `write` can move a value with its comments. */
const SOURCE_NODES = new WeakMap<object, Node>();

class PlainReader {
  private readonly converted = new Map<Node, unknown>();
  private readonly sizes = new Map<Node, number>();
  private expansion = 0;
  private readonly inProgress = new Set<Node>();
  private document!: Document;

  constructor(private readonly file: string) {}

  read(document: Document): unknown {
    this.document = document;
    return document.contents === null ? null : this.plain(document.contents as Node);
  }

  private aliasTarget(alias: Alias): Node {
    const target = alias.resolve(this.document) as Node | undefined;
    if (!target) throw new YamlError('ML_YAML_SYNTAX', this.file, `alias *${alias.source} refers to no anchor before it`);
    return target;
  }

  /** Nodes `node` stands for with every alias expanded; counts what aliases add. */
  private expandedSize(node: Node): number {
    const known = this.sizes.get(node);
    if (known !== undefined) return known;
    if (this.inProgress.has(node)) throw new YamlError('ML_YAML_ALIAS_EXPANSION', this.file, 'an alias refers to a node that contains it');
    this.inProgress.add(node);
    let size = 1;
    if (isAlias(node)) size = this.expandedSize(this.aliasTarget(node));
    else if (isMap(node)) for (const pair of node.items) size += 1 + (pair.value ? this.expandedSize(pair.value as Node) : 0);
    else if (isSeq(node)) for (const item of node.items) size += this.expandedSize(item as Node);
    this.inProgress.delete(node);
    this.sizes.set(node, size);
    return size;
  }

  private plain(node: Node): unknown {
    if (isAlias(node)) {
      const target = this.aliasTarget(node);
      this.expansion += this.expandedSize(target);
      if (this.expansion > COMPOSE_MAX_ALIAS_EXPANSION) {
        throw new YamlError('ML_YAML_ALIAS_EXPANSION', this.file, `aliases would expand to more than ${COMPOSE_MAX_ALIAS_EXPANSION} nodes; refusing to expand them`);
      }
      // An alias stands for the very value of its anchor: shared, never copied.
      return this.plainOnce(target);
    }
    return this.plainOnce(node);
  }

  private plainOnce(node: Node): unknown {
    if (this.converted.has(node)) return this.converted.get(node);
    if (this.inProgress.has(node)) throw new YamlError('ML_YAML_ALIAS_EXPANSION', this.file, 'an alias refers to a node that contains it');
    this.inProgress.add(node);
    let value: unknown;
    if (isScalar(node)) {
      value = node.value;
    } else if (isSeq(node)) {
      const list: unknown[] = [];
      for (const item of node.items) list.push(item === null ? null : this.plain(item as Node));
      SOURCE_NODES.set(list, node);
      value = list;
    } else if (isMap(node)) {
      const mapping: Mapping = {};
      const merged: Mapping[] = [];
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const valueNode = pair.value as Node | null;
        if (isMergeKey(key)) {
          const sources = isSeq(valueNode) ? valueNode.items.map((item) => this.plain(item as Node)) : [valueNode === null ? null : this.plain(valueNode)];
          for (const source of sources) {
            if (!isMapping(source)) throw new InputShapeError(this.file, '<<', 'a mapping or a list of mappings to merge', describeValue(source));
            merged.push(source);
          }
          continue;
        }
        if (valueNode && hasTag(valueNode, '!reset')) continue; // compose-go drops the key
        define(mapping, keyText(key), valueNode === null ? null : this.plain(valueNode));
      }
      // Explicit keys win over merged ones; of the merged, the first listed wins (go-yaml v3).
      for (const source of merged) for (const [key, entry] of Object.entries(source)) if (!(key in mapping)) define(mapping, key, entry);
      SOURCE_NODES.set(mapping, node);
      value = mapping;
    } else {
      value = null;
    }
    this.inProgress.delete(node);
    this.converted.set(node, value);
    return value;
  }
}

function isMergeKey(key: Node | null): boolean {
  return isScalar(key) && key.value === '<<' && key.type === 'PLAIN' && !key.tag;
}

function hasTag(node: Node, tag: string): boolean {
  return (node as { tag?: string }).tag === tag;
}

function keyText(key: Node | null): string {
  if (key === null) return '';
  if (isScalar(key)) {
    if (typeof key.value === 'string') return key.value;
    if (key.value === null) return 'null';
    return key.source ?? String(key.value);
  }
  return String(key);
}

function define(mapping: Mapping, key: string, value: unknown): void {
  Object.defineProperty(mapping, key, { value, enumerable: true, writable: true, configurable: true });
}

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${String(value)}`;
}

/** Top-level sections whose entries Compose merges by name across documents. */
const NAMED_SECTIONS = ['services', 'networks', 'volumes', 'secrets', 'configs'];

/**
 * The documents of a file merged as Compose v2 merges them, as long as that merge is a union: an
 * entry of a named section defined in two documents, or a top-level key with two different values,
 * is refused (Compose merges them field by field, which inject does not reproduce).
 */
function mergeDocuments(values: unknown[], file: string): unknown {
  if (values.length === 0) return null;
  if (values.length === 1) return values[0];
  const merged: Mapping = {};
  const origin = new Map<string, number>();
  values.forEach((value, index) => {
    if (!isMapping(value)) throw new InputShapeError(file, `(document ${index + 1})`, 'a mapping (Compose v2: "Top-level object must be a mapping")', describeValue(value));
    for (const [key, entry] of Object.entries(value)) {
      if (NAMED_SECTIONS.includes(key) && isMapping(entry)) {
        const section = isMapping(merged[key]) ? (merged[key] as Mapping) : {};
        for (const [name, definition] of Object.entries(entry)) {
          const where = `${key}.${name}`;
          if (origin.has(where)) {
            throw new InputShapeError(file, where, 'defined in one document only (inject does not merge a definition across documents as Compose does)', `it in documents ${origin.get(where)! + 1} and ${index + 1}`);
          }
          origin.set(where, index);
          define(section, name, definition);
        }
        define(merged, key, section);
      } else if (key in merged && !plainEqual(merged[key], entry)) {
        throw new InputShapeError(file, key, 'the same in every document (inject does not merge it across documents as Compose does)', `different values in documents ${origin.get(key)! + 1} and ${index + 1}`);
      } else {
        origin.set(key, origin.get(key) ?? index);
        define(merged, key, entry);
      }
    }
  });
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Writing

export function plainEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const list = b as unknown[];
    return a.length === list.length && a.every((item, index) => plainEqual(item, list[index]));
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => Object.hasOwn(b, key) && plainEqual((a as Mapping)[key], (b as Mapping)[key]));
}

const quoteCache = new Map<string, boolean>();

/**
 * Whether a string written plain would be read as something else by Compose v1 (PyYAML, YAML 1.1:
 * `22:22` base 60, `no` a boolean, `0440` octal, `2001-12-14` a date) or by Compose v2.
 */
export function needsQuotes(text: string): boolean {
  let quoted = quoteCache.get(text);
  if (quoted === undefined) {
    let v11: unknown;
    try {
      v11 = parse(text, { version: '1.1' });
    } catch {
      v11 = undefined;
    }
    quoted = typeof v11 !== 'string' || v11 !== text || resolvePlain(text) !== text;
    if (quoteCache.size < 100_000) quoteCache.set(text, quoted);
  }
  return quoted;
}

class Patcher {
  changed = false;
  /** Alias -> the node it meant when read. */
  private readonly targets = new Map<Alias, Node>();

  constructor(private readonly documents: Document[]) {
    for (const document of documents) {
      const visitNode = (node: unknown): void => {
        if (isAlias(node)) this.targets.set(node, node.resolve(document) as Node);
        else if (isMap(node)) for (const pair of node.items) { visitNode(pair.key); visitNode(pair.value); }
        else if (isSeq(node)) node.items.forEach(visitNode);
      };
      visitNode(document.contents);
    }
  }

  /** A copy of `node` without anchors; its aliases keep what they meant. */
  clone(node: Node): Node {
    if (isAlias(node)) {
      const copy = new Alias(node.source);
      this.targets.set(copy, this.targets.get(node) ?? node);
      return copy;
    }
    if (isScalar(node)) {
      const copy = new Scalar(node.value);
      Object.assign(copy, { type: node.type, tag: node.tag, format: node.format, source: node.source, comment: node.comment, commentBefore: node.commentBefore, spaceBefore: node.spaceBefore });
      return copy;
    }
    if (isMap(node) || isSeq(node)) {
      const copy = isMap(node) ? new YAMLMap() : new YAMLSeq();
      Object.assign(copy, { flow: node.flow, tag: node.tag, comment: node.comment, commentBefore: node.commentBefore, spaceBefore: node.spaceBefore });
      if (isMap(node)) {
        (copy as YAMLMap).items = node.items.map((pair) => {
          const next = new Pair(pair.key === null ? null : this.clone(pair.key as Node), pair.value === null ? null : this.clone(pair.value as Node));
          return next;
        });
      } else {
        (copy as YAMLSeq).items = node.items.map((item) => (item === null ? null : this.clone(item as Node)));
      }
      return copy;
    }
    return node;
  }

  /** A node for a value: the source's node (copied) for a value read from it, else a new one. */
  create(value: unknown): Node {
    if (typeof value === 'object' && value !== null) {
      const source = SOURCE_NODES.get(value);
      if (source) return this.clone(source);
      if (Array.isArray(value)) {
        const seq = new YAMLSeq();
        seq.items = value.map((item) => this.create(item));
        return seq;
      }
      const map = new YAMLMap();
      map.items = Object.entries(value).map(([key, entry]) => new Pair(this.createKey(key), this.create(entry)));
      return map;
    }
    const scalar = new Scalar(value);
    if (typeof value === 'string' && needsQuotes(value)) scalar.type = 'QUOTE_DOUBLE';
    return scalar;
  }

  createKey(key: string): Scalar {
    const scalar = new Scalar(key);
    if (needsQuotes(key)) scalar.type = 'QUOTE_DOUBLE';
    return scalar;
  }

  /** The node that now holds `after`, `node` itself patched where it can be. */
  patch(node: Node | null, before: unknown, after: unknown): Node {
    if (node !== null && plainEqual(before, after)) return node;
    this.changed = true;
    if (node === null || isAlias(node)) return this.create(after);
    if (isMap(node) && isMapping(before) && isMapping(after)) {
      // An anchored node is shared with its aliases: a copy is patched, the aliases are fixed later.
      const target = (node.anchor ? this.clone(node) : node) as YAMLMap;
      this.patchMap(target, before, after);
      return target;
    }
    if (isSeq(node) && Array.isArray(before) && Array.isArray(after)) {
      const target = (node.anchor ? this.clone(node) : node) as YAMLSeq;
      const items = target.items as Array<Node | null>;
      target.items = after.map((item, index) => (index < before.length && index < items.length ? this.patch(items[index] ?? null, before[index], item) : this.create(item)));
      return target;
    }
    const created = this.create(after);
    if (isScalar(node) && isScalar(created)) created.comment = node.comment;
    return created;
  }

  patchMap(node: YAMLMap, before: Mapping, after: Mapping): void {
    const explicit = new Map<string, Pair>();
    for (const pair of node.items) if (!isMergeKey(pair.key as Node | null)) explicit.set(keyText(pair.key as Node | null), pair);
    const fromMerge = Object.keys(before).filter((key) => !explicit.has(key));
    const hasMerge = node.items.some((pair) => isMergeKey(pair.key as Node | null));
    // A removed key a merge may also supply (merged in, or written over a merged one) would come
    // back through the merge: the merge keys give way to their keys written out.
    if (hasMerge && Object.keys(before).some((key) => !(key in after))) {
      // A merged-in key must go: the merge keys give way to their keys written out.
      const merges = node.items.filter((pair) => isMergeKey(pair.key as Node | null));
      node.items = node.items.filter((pair) => !isMergeKey(pair.key as Node | null));
      for (const key of fromMerge) {
        const pair = new Pair(this.createKey(key), this.create(before[key]));
        node.items.push(pair);
        explicit.set(key, pair);
      }
      void merges;
    }
    for (const [key, pair] of explicit) {
      if (pair.value !== null && hasTag(pair.value as Node, '!reset')) continue; // not part of the data
      if (!(key in after)) {
        const at = node.items.indexOf(pair);
        // Comments written above a removed key stay, above what follows it.
        const comment = (pair.key as Node | null)?.commentBefore;
        if (comment) {
          const next = node.items[at + 1]?.key as Node | undefined;
          if (next && typeof next === 'object') next.commentBefore = next.commentBefore ? `${comment}\n${next.commentBefore}` : comment;
          else node.comment = node.comment ? `${comment}\n${node.comment}` : comment;
        }
        node.items.splice(at, 1);
        this.changed = true;
      } else if (key in before) {
        pair.value = this.patch(pair.value as Node | null, before[key], after[key]);
      } else {
        pair.value = this.create(after[key]);
      }
    }
    for (const [key, value] of Object.entries(after)) {
      if (explicit.has(key)) continue;
      if (key in before && plainEqual(before[key], value)) continue; // still merged in
      node.items.push(new Pair(this.createKey(key), this.create(value)));
      this.changed = true;
    }
  }

  /** Aliases whose anchor no longer comes before them get a copy of what they meant. */
  fixAliases(): void {
    const defined = new Map<string, Node>();
    const walk = (node: Node): Node => {
      if (isAlias(node)) {
        const target = this.targets.get(node);
        if (target && defined.get(node.source) === target) return node;
        if (!target) return node;
        return walk(this.clone(target));
      }
      if (node.anchor) defined.set(node.anchor, node);
      if (isMap(node)) for (const pair of node.items) {
        if (pair.key !== null) pair.key = walk(pair.key as Node);
        if (pair.value !== null) pair.value = walk(pair.value as Node);
      }
      else if (isSeq(node)) node.items = node.items.map((item) => (item === null ? null : walk(item as Node)));
      return node;
    };
    for (const document of this.documents) if (document.contents) document.contents = walk(document.contents as Node) as typeof document.contents;
  }
}

/**
 * The file's text with its documents patched to hold `after` (plain data, e.g. an injected
 * `value`): unchanged values keep their nodes (comments, anchors, style), changed keys get new
 * nodes, removed keys go, new entries are appended (to the document that holds the section, the
 * last one when none does). Strings YAML 1.1 would misread are quoted in new nodes. With nothing
 * changed, the text is returned as it was read.
 */
export function writeComposeYaml(compose: ComposeYaml, after: Mapping): string {
  const patcher = new Patcher(compose.documents);
  const values = compose.documentValues;
  if (compose.documents.length <= 1) {
    const document = compose.documents[0] ?? new Document(null, PARSE_OPTIONS);
    const before = values[0] ?? null;
    document.contents = patcher.patch(document.contents as Node | null, before, after) as typeof document.contents;
    if (!compose.documents.includes(document)) compose.documents.push(document);
  } else {
    patchDocuments(compose, values as Mapping[], after, patcher);
  }
  if (!patcher.changed) return compose.text;
  patcher.fixAliases();
  const indentSeq = !/^( *)[^\s#-][^\n]*:\s*\n\1- /m.test(compose.text);
  return compose.documents.map((document) => document.toString({ lineWidth: 0, flowCollectionPadding: false, indentSeq })).join('');
}

/** Each key of `after` goes to the document that defined it; new ones to the last that has the section. */
function patchDocuments(compose: ComposeYaml, values: Mapping[], after: Mapping, patcher: Patcher): void {
  const wanted: Mapping[] = values.map(() => ({}));
  for (const [key, value] of Object.entries(after)) {
    if (NAMED_SECTIONS.includes(key) && isMapping(value)) {
      const holders = values.map((document, index) => (isMapping(document[key]) ? index : -1)).filter((index) => index >= 0);
      const home = holders.at(-1) ?? values.length - 1;
      for (const [name, definition] of Object.entries(value)) {
        const where = holders.find((index) => Object.hasOwn(values[index]![key] as Mapping, name)) ?? home;
        const section = (wanted[where]![key] ??= {}) as Mapping;
        define(section, name, definition);
      }
      for (const index of holders) wanted[index]![key] ??= {};
    } else {
      const holders = values.map((document, index) => (key in document ? index : -1)).filter((index) => index >= 0);
      for (const index of holders.length > 0 ? holders : [values.length - 1]) define(wanted[index]!, key, value);
    }
  }
  compose.documents.forEach((document, index) => {
    document.contents = patcher.patch(document.contents as Node | null, values[index], wanted[index]) as typeof document.contents;
  });
}
