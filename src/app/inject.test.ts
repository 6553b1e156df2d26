import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { YamlError } from '../errors.js';
import { injectCommand } from './inject.js';

describe('injectCommand', () => {
  it('refuses a file that does not parse before asking Docker anything (a hung engine must not delay exit 2)', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mesh-local-inject-'));
    await writeFile(join(cwd, 'compose.yaml'), 'services:\n  web:\n    image: [nginx\n');
    const asked: string[] = [];
    const engine = () => {
      asked.push('engine');
      throw new Error('the engine must not be asked for a file that does not parse');
    };
    const failure = await injectCommand(
      { file: 'compose.yaml', policy: 'enabled', flags: {} },
      { cwd, env: {}, engine, compose: async () => undefined },
      { out: () => undefined, err: () => undefined },
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(YamlError);
    expect((failure as YamlError).exitCode).toBe(2);
    expect(asked).toEqual([]);
  });
});
