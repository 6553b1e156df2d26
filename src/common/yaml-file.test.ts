import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputFileError, YamlError } from '../errors.js';
import { MAX_INPUT_BYTES, parseYaml, parseYamlDocuments, readYamlDocuments, readYamlFile, toYaml } from './yaml-file.js';

function billionLaughs(levels: number): string {
  const lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let level = 1; level < levels; level++) {
    lines.push(`l${level}: &l${level} [${Array(9).fill(`*l${level - 1}`).join(',')}]`);
  }
  return lines.join('\n');
}

describe('parseYaml', () => {
  it('reports malformed YAML with file, 1-based line and column', () => {
    const error = (() => {
      try {
        parseYaml('services:\n  web:\n    image: [a, b\n', 'compose.yaml');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(YamlError);
    expect(error).toMatchObject({ code: 'ML_YAML_SYNTAX', file: 'compose.yaml', line: 4 });
    expect((error as YamlError).message).toMatch(/^compose\.yaml:4:\d+: /);
  });

  it('applies merge keys', () => {
    expect(parseYaml('base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n', 'f')).toEqual({ base: { a: 1, b: 2 }, x: { a: 1, b: 3 } });
  });

  it('refuses a billion-laughs document quickly, without expanding it', () => {
    const started = performance.now();
    expect(() => parseYaml(billionLaughs(9), 'bomb.yaml')).toThrow(
      expect.objectContaining({ code: 'ML_YAML_ALIAS_EXPANSION', message: expect.stringContaining('bomb.yaml') }),
    );
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('accepts ordinary aliasing well under the limit', () => {
    expect(() => parseYaml(billionLaughs(3), 'small.yaml')).not.toThrow();
  });

  it('reads yes as a string (as Compose v2 does) and 0755 as octal (as both Compose versions do)', () => {
    expect(parseYaml('a: yes\nb: true\nc: 0755\nd: "0755"\n', 'f')).toEqual({ a: 'yes', b: true, c: 0o755, d: '0755' });
  });
});

describe('readYamlFile', () => {
  it('refuses a file over the size limit before reading it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yaml-'));
    const file = join(dir, 'big.yaml');
    await writeFile(file, `x: "${'a'.repeat(MAX_INPUT_BYTES)}"\n`);
    await expect(readYamlFile(file)).rejects.toThrow(InputFileError);
    await expect(readYamlFile(file)).rejects.toMatchObject({ code: 'ML_INPUT_TOO_LARGE' });
  });

  it('names a missing file', async () => {
    await expect(readYamlFile('/nonexistent/mesh.yaml')).rejects.toMatchObject({
      code: 'ML_INPUT_UNREADABLE',
      message: '/nonexistent/mesh.yaml: cannot read: no such file',
    });
  });
});

describe('toYaml', () => {
  it('quotes every string value so YAML 1.1 readers do not turn them into numbers or booleans', () => {
    expect(toYaml({ ports: ['22:22'], restart: 'no', retries: 3, ok: true })).toBe(
      'ports:\n  - "22:22"\nrestart: "no"\nretries: 3\nok: true\n',
    );
  });

  it('writes shared objects out in full instead of as anchors', () => {
    const shared = { a: 1 };
    expect(toYaml({ first: shared, second: shared })).toBe('first:\n  a: 1\nsecond:\n  a: 1\n');
  });
});

describe('parseYamlDocuments / readYamlDocuments', () => {
  it('reads every document of a stream in order, leaving out empty ones', () => {
    const text = '---\nkind: RouteRule\nmetadata: {name: a}\n---\n---\n# only a comment\n---\nkind: RouteRule\nmetadata: {name: b}\n';
    expect(parseYamlDocuments(text, 'rules.yaml')).toEqual([
      { kind: 'RouteRule', metadata: { name: 'a' } },
      { kind: 'RouteRule', metadata: { name: 'b' } },
    ]);
    expect(parseYamlDocuments('', 'empty.yaml')).toEqual([]);
  });

  it('reads with the schema of parseYaml: YAML 1.2 strings, merge keys, 1.1 octal', () => {
    const [document] = parseYamlDocuments('base: &b {x: 1}\nmerged: {<<: *b, y: 2}\nflag: yes\nmode: 0440\n', 'f.yaml');
    expect(document).toEqual({ base: { x: 1 }, merged: { x: 1, y: 2 }, flag: 'yes', mode: 0o440 });
  });

  it('names the file, line and column of a syntax error in any document', () => {
    try {
      parseYamlDocuments('a: 1\n---\nb: [1, 2\n', 'rules.yaml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(YamlError);
      expect((error as YamlError).message).toMatch(/^rules\.yaml:4:1: /);
    }
  });

  it('refuses an alias bomb in a later document', () => {
    expect(() => parseYamlDocuments(`a: 1\n---\n${billionLaughs(9)}\n`, 'bomb.yaml')).toThrow(/aliases would expand/);
  });

  it('reads a file, with the size limit of readYamlFile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-local-yaml-docs-'));
    await writeFile(join(dir, 'two.yaml'), 'a: 1\n---\nb: 2\n');
    expect(await readYamlDocuments(join(dir, 'two.yaml'))).toEqual([{ a: 1 }, { b: 2 }]);
    await writeFile(join(dir, 'big.yaml'), 'x'.repeat(MAX_INPUT_BYTES + 1));
    await expect(readYamlDocuments(join(dir, 'big.yaml'))).rejects.toBeInstanceOf(InputFileError);
  });
});
