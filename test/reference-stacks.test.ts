import { describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { COMPOSE_UNDER_TEST, requireCompose, runCli, temporaryDirectory } from './support/cli.js';

const ROOT = join(import.meta.dirname, '..');

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

// compose/ holds the stacks rendered from the defaults, for people using plain Compose.
describe.each(['consul', 'eureka'])('compose/%s', (registry) => {
  it('is exactly what `make compose` renders today', async () => {
    const dir = await temporaryDirectory('reference');
    const result = await runCli(['render', '--registry', registry, '--bookinfo', '-o', join(dir, 'docker-compose.yaml')], { cwd: dir });
    expect(result.code).toBe(0);
    const committed = join(ROOT, 'compose', registry);
    const expected = await listFiles(dir);
    expect(await listFiles(committed), 'run `make compose` to update compose/').toEqual(expected);
    for (const file of expected) {
      expect(await readFile(join(committed, file), 'utf8'), `${file} is stale: run \`make compose\``).toBe(
        await readFile(join(dir, file), 'utf8'),
      );
    }
  });

  // Plain Compose users run either CLI on it.
  for (const { choice } of COMPOSE_UNDER_TEST) {
    it(`is accepted by \`config\` of Compose ${choice}`, async () => {
      const compose = await requireCompose(choice);
      await expect(compose.validate(join(ROOT, 'compose', registry, 'docker-compose.yaml'), 'reference')).resolves.toBeUndefined();
    });
  }
});
