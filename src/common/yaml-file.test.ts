import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputFileError, YamlError } from '../errors.js';
import { MAX_INPUT_BYTES, parseYaml, readYamlFile, toYaml } from './yaml-file.js';

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
