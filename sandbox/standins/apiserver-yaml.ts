/**
 * A small YAML reader for the API server stand-in, which must run without npm packages. It reads
 * the subset Kubernetes manifests use: block mappings and sequences (including the `key:\n- item`
 * form at the key's own indent), `- key: value` items, single- and double-quoted scalars, plain
 * scalars resolved with YAML 1.2's core schema, single-line flow collections (`{}`, `[a, b]`,
 * `{k: v}`), literal block scalars (`|`, `|-`, `|+`), comments and one optional `---`.
 *
 * Anything else (anchors, aliases, tags, folded scalars, multi-line quoted or plain scalars,
 * several documents) is refused with a YamlSubsetError naming the line, never guessed at.
 */

export class YamlSubsetError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

interface Line {
  /** 1-based line number in the input. */
  number: number;
  indent: number;
  /** The line without its indentation and trailing comment. */
  text: string;
  /** The raw line (block scalars keep their `#` characters). */
  raw: string;
}

export function parseYamlSubset(input: string): unknown {
  const lines = splitLines(input);
  const first = lines.find((line) => line.text !== '');
  if (!first) return null;
  const parser = new BlockParser(lines);
  const value = parser.parseNode(first.indent);
  const line = lines.slice(parser.position).find((candidate) => candidate.text !== '');
  if (line) {
    throw new YamlSubsetError(`unexpected content at indent ${line.indent}: '${line.text}'`, line.number);
  }
  return value;
}

function splitLines(input: string): Line[] {
  const out: Line[] = [];
  let documents = 0;
  let sawContent = false;
  const raws = input.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let index = 0; index < raws.length; index++) {
    const raw = raws[index]!;
    const number = index + 1;
    if (/^---\s*(#.*)?$/.test(raw)) {
      documents++;
      if (documents > 1 || sawContent) throw new YamlSubsetError('only one YAML document is accepted per request', number);
      continue;
    }
    if (/^---\s/.test(raw)) throw new YamlSubsetError("content after '---' on the same line is not supported", number);
    if (/^\.\.\.\s*(#.*)?$/.test(raw)) {
      // Document end: nothing but comments and blank lines may follow.
      for (let rest = index + 1; rest < raws.length; rest++) {
        if (stripComment(raws[rest]!).trim() !== '') {
          throw new YamlSubsetError('only one YAML document is accepted per request', rest + 1);
        }
      }
      break;
    }
    if (/^%/.test(raw)) throw new YamlSubsetError('YAML directives are not supported', number);
    const indentMatch = /^( *)(.*)$/.exec(raw)!;
    const indent = indentMatch[1]!.length;
    const rest = indentMatch[2]!;
    if (rest.startsWith('\t')) {
      if (stripComment(rest).trim() === '') {
        out.push({ number, indent, text: '', raw });
        continue;
      }
      throw new YamlSubsetError('tabs are not allowed in indentation', number);
    }
    const text = stripComment(rest).replace(/\s+$/, '');
    out.push({ number, indent, text, raw });
    if (text !== '') sawContent = true;
  }
  // Blank lines matter only inside block scalars, which read `raw`; keep them, marked empty.
  return out;
}

/** Removes a `#` comment that starts the text or follows whitespace, outside quotes. */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quote) {
      if (quote === '"' && char === '\\') index++;
      else if (char === quote) {
        if (quote === "'" && text[index + 1] === "'") index++;
        else quote = null;
      }
      continue;
    }
    if ((char === '"' || char === "'") && (index === 0 || /[\s\[{,:-]/.test(text[index - 1]!))) {
      quote = char;
      continue;
    }
    if (char === '#' && (index === 0 || /\s/.test(text[index - 1]!))) return text.slice(0, index);
  }
  return text;
}

class BlockParser {
  position = 0;

  constructor(private readonly lines: Line[]) {}

  private skipBlank(): void {
    while (this.position < this.lines.length && this.lines[this.position]!.text === '') this.position++;
  }

  private current(): Line | undefined {
    this.skipBlank();
    return this.lines[this.position];
  }

  /** Parses the node whose first line is at `position` and whose indent is exactly `indent`. */
  parseNode(indent: number): unknown {
    const line = this.current();
    if (!line) return null;
    if (isSequenceItem(line.text)) return this.parseSequence(indent);
    if (findMappingColon(line.text, line.number) !== -1) return this.parseMapping(indent);
    // A lone scalar or flow collection.
    this.position++;
    const next = this.current();
    if (next && next.indent > indent) {
      throw new YamlSubsetError('multi-line plain scalars are not supported; quote the value on one line', next.number);
    }
    return parseInlineValue(line.text, line.number);
  }

  private parseSequence(indent: number): unknown[] {
    const items: unknown[] = [];
    for (;;) {
      const line = this.current();
      if (!line || line.indent < indent) break;
      if (line.indent > indent) throw new YamlSubsetError('bad indentation in a sequence', line.number);
      if (!isSequenceItem(line.text)) break;
      const after = line.text.slice(1);
      const content = after.trimStart();
      if (content === '') {
        this.position++;
        const next = this.current();
        if (next && next.indent > indent) items.push(this.parseNode(next.indent));
        else items.push(null);
        continue;
      }
      // `- content`: the content acts as a node at its own column.
      const column = indent + 1 + (after.length - content.length);
      this.lines[this.position] = { number: line.number, indent: column, text: content, raw: line.raw };
      items.push(this.parseNode(column));
    }
    return items;
  }

  private parseMapping(indent: number): Record<string, unknown> {
    const mapping: Record<string, unknown> = {};
    for (;;) {
      const line = this.current();
      if (!line || line.indent < indent) break;
      if (line.indent > indent) throw new YamlSubsetError('bad indentation in a mapping', line.number);
      if (isSequenceItem(line.text)) break;
      const colon = findMappingColon(line.text, line.number);
      if (colon === -1) throw new YamlSubsetError(`expected 'key: value', got '${line.text}'`, line.number);
      const key = parseKey(line.text.slice(0, colon).trimEnd(), line.number);
      if (Object.prototype.hasOwnProperty.call(mapping, key)) {
        throw new YamlSubsetError(`duplicate key '${key}'`, line.number);
      }
      const rest = line.text.slice(colon + 1).trim();
      this.position++;
      let value: unknown;
      if (rest === '') {
        const next = this.current();
        if (next && next.indent > indent) value = this.parseNode(next.indent);
        else if (next && next.indent === indent && isSequenceItem(next.text)) value = this.parseSequence(indent);
        else value = null;
      } else if (/^[|>]/.test(rest)) {
        value = this.parseBlockScalar(rest, indent, line.number);
      } else {
        const next = this.current();
        if (next && next.indent > indent) {
          throw new YamlSubsetError('multi-line scalars are not supported; quote the value on one line', next.number);
        }
        value = parseInlineValue(rest, line.number);
      }
      defineKey(mapping, key, value);
    }
    return mapping;
  }

  private parseBlockScalar(header: string, parentIndent: number, number: number): string {
    const match = /^\|([+-]?)$/.exec(header);
    if (!match) {
      throw new YamlSubsetError(
        header.startsWith('>')
          ? 'folded block scalars (>) are not supported; use | or a quoted string'
          : `unsupported block scalar header '${header}'`,
        number,
      );
    }
    const chomp = match[1];
    const body: string[] = [];
    let blockIndent: number | undefined;
    while (this.position < this.lines.length) {
      const line = this.lines[this.position]!;
      const raw = line.raw;
      if (raw.trim() === '') {
        body.push('');
        this.position++;
        continue;
      }
      const indent = /^ */.exec(raw)![0].length;
      if (blockIndent === undefined) {
        if (indent <= parentIndent) break;
        blockIndent = indent;
      }
      if (indent < blockIndent) break;
      body.push(raw.slice(blockIndent));
      this.position++;
    }
    // Trailing blank lines belong to chomping, not content.
    let trailing = 0;
    while (body.length > 0 && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    if (body.length === 0) return '';
    const text = body.join('\n');
    if (chomp === '-') return text;
    if (chomp === '+') return `${text}\n${'\n'.repeat(trailing)}`;
    return `${text}\n`;
  }
}

function defineKey(mapping: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty so that a `__proto__` key is an ordinary key, as JSON.parse makes it.
  Object.defineProperty(mapping, key, { value, enumerable: true, writable: true, configurable: true });
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** Index of the `:` that ends a block mapping key (followed by a space or the end), or -1. */
function findMappingColon(text: string, number: number): number {
  let index = 0;
  if (text.startsWith('"') || text.startsWith("'")) {
    index = endOfQuoted(text, 0, number);
    const after = text.slice(index).trimStart();
    return after.startsWith(':') && (after.length === 1 || /\s/.test(after[1]!)) ? text.indexOf(':', index) : -1;
  }
  if (text.startsWith('{') || text.startsWith('[')) return -1;
  if (text.startsWith('? ')) throw new YamlSubsetError("complex keys ('? ') are not supported", number);
  for (; index < text.length; index++) {
    if (text[index] === ':' && (index + 1 === text.length || /\s/.test(text[index + 1]!))) return index;
  }
  return -1;
}

function parseKey(text: string, number: number): string {
  if (text === '') throw new YamlSubsetError('empty mapping key', number);
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = endOfQuoted(text, 0, number);
    if (end !== text.length) throw new YamlSubsetError(`unexpected text after quoted key: '${text}'`, number);
    return parseQuoted(text, number);
  }
  rejectIndicators(text, number);
  return text;
}

/** Index just past the closing quote of the quoted scalar starting at `start`. */
function endOfQuoted(text: string, start: number, number: number): number {
  const quote = text[start]!;
  for (let index = start + 1; index < text.length; index++) {
    const char = text[index]!;
    if (quote === '"' && char === '\\') {
      index++;
      continue;
    }
    if (char === quote) {
      if (quote === "'" && text[index + 1] === "'") {
        index++;
        continue;
      }
      return index + 1;
    }
  }
  throw new YamlSubsetError('unterminated quoted scalar (quoted scalars must end on the same line)', number);
}

const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
};

function parseQuoted(text: string, number: number): string {
  const quote = text[0];
  const body = text.slice(1, -1);
  if (quote === "'") return body.replace(/''/g, "'");
  let out = '';
  for (let index = 0; index < body.length; index++) {
    const char = body[index]!;
    if (char !== '\\') {
      out += char;
      continue;
    }
    const next = body[++index];
    if (next === undefined) throw new YamlSubsetError('dangling backslash in a double-quoted scalar', number);
    const hexLength = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (hexLength > 0) {
      const hex = body.slice(index + 1, index + 1 + hexLength);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) {
        throw new YamlSubsetError(`bad escape '\\${next}${hex}'`, number);
      }
      out += String.fromCodePoint(parseInt(hex, 16));
      index += hexLength;
      continue;
    }
    const escaped = ESCAPES[next];
    if (escaped === undefined) throw new YamlSubsetError(`unknown escape '\\${next}'`, number);
    out += escaped;
  }
  return out;
}

function rejectIndicators(text: string, number: number): void {
  if (/^[&*!]/.test(text)) {
    throw new YamlSubsetError(`anchors, aliases and tags are not supported: '${text}'`, number);
  }
  if (/^[@`]/.test(text)) throw new YamlSubsetError(`a plain scalar cannot start with '${text[0]}'`, number);
  if (text === '<<') throw new YamlSubsetError('merge keys (<<) are not supported', number);
}

/** A scalar or flow collection that fits on the rest of one line. */
function parseInlineValue(text: string, number: number): unknown {
  if (text.startsWith('[') || text.startsWith('{')) {
    const flow = new FlowParser(text, number);
    const value = flow.parseValue();
    flow.skipSpaces();
    if (flow.index !== text.length) throw new YamlSubsetError(`unexpected text after a flow collection: '${text}'`, number);
    return value;
  }
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = endOfQuoted(text, 0, number);
    if (end !== text.length) throw new YamlSubsetError(`unexpected text after a quoted scalar: '${text}'`, number);
    return parseQuoted(text, number);
  }
  rejectIndicators(text, number);
  if (/:(\s|$)/.test(text)) throw new YamlSubsetError(`a plain scalar cannot contain ': '; quote it: '${text}'`, number);
  if (/^[|>]/.test(text)) throw new YamlSubsetError('a block scalar must follow a mapping key', number);
  if (text.startsWith('- ') || text === '-') throw new YamlSubsetError('a sequence cannot start here', number);
  return resolvePlain(text);
}

/** YAML 1.2 core schema. */
export function resolvePlain(text: string): unknown {
  if (/^(null|Null|NULL|~)?$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(text)) return NaN;
  return text;
}

class FlowParser {
  index = 0;

  constructor(
    private readonly text: string,
    private readonly number: number,
  ) {}

  skipSpaces(): void {
    while (this.index < this.text.length && /\s/.test(this.text[this.index]!)) this.index++;
  }

  private fail(message: string): never {
    throw new YamlSubsetError(`${message} in flow collection '${this.text}'`, this.number);
  }

  parseValue(): unknown {
    this.skipSpaces();
    const char = this.text[this.index];
    if (char === '[') return this.parseSequence();
    if (char === '{') return this.parseMapping();
    if (char === '"' || char === "'") {
      const end = endOfQuoted(this.text, this.index, this.number);
      const value = parseQuoted(this.text.slice(this.index, end), this.number);
      this.index = end;
      return value;
    }
    return this.parsePlain();
  }

  private parsePlain(): unknown {
    const start = this.index;
    while (this.index < this.text.length) {
      const char = this.text[this.index]!;
      if (char === ',' || char === ']' || char === '}' || char === '[' || char === '{') break;
      if (char === ':' && (this.index + 1 === this.text.length || /[\s,\]}]/.test(this.text[this.index + 1]!))) break;
      this.index++;
    }
    const raw = this.text.slice(start, this.index).trim();
    if (raw === '') this.fail('missing value');
    rejectIndicators(raw, this.number);
    return resolvePlain(raw);
  }

  private parseSequence(): unknown[] {
    this.index++; // [
    const items: unknown[] = [];
    this.skipSpaces();
    if (this.text[this.index] === ']') {
      this.index++;
      return items;
    }
    for (;;) {
      items.push(this.parseValue());
      this.skipSpaces();
      const char = this.text[this.index];
      this.index++;
      if (char === ']') return items;
      if (char !== ',') this.fail(char === undefined ? "missing ']'" : `unexpected '${char}'`);
      this.skipSpaces();
      if (this.text[this.index] === ']') {
        this.index++;
        return items;
      }
    }
  }

  private parseMapping(): Record<string, unknown> {
    this.index++; // {
    const mapping: Record<string, unknown> = {};
    this.skipSpaces();
    if (this.text[this.index] === '}') {
      this.index++;
      return mapping;
    }
    for (;;) {
      const key = this.parseValue();
      if (key !== null && typeof key === 'object') this.fail('collection keys are not supported');
      const name = key === null ? 'null' : String(key);
      this.skipSpaces();
      let value: unknown = null;
      if (this.text[this.index] === ':') {
        this.index++;
        this.skipSpaces();
        const next = this.text[this.index];
        if (next !== ',' && next !== '}') value = this.parseValue();
      }
      if (Object.prototype.hasOwnProperty.call(mapping, name)) this.fail(`duplicate key '${name}'`);
      defineKey(mapping, name, value);
      this.skipSpaces();
      const char = this.text[this.index];
      this.index++;
      if (char === '}') return mapping;
      if (char !== ',') this.fail(char === undefined ? "missing '}'" : `unexpected '${char}'`);
      this.skipSpaces();
      if (this.text[this.index] === '}') {
        this.index++;
        return mapping;
      }
    }
  }
}
