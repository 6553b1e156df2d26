import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../src/common/yaml-file.js';
import { runProcess } from '../src/runtime/compose-cli.js';
import { COMPOSE_UNDER_TEST, requireCompose, runCli, temporaryDirectory } from './support/cli.js';

type Doc = Record<string, any>;
const PROJECT = 'injectreplicas';

/** Compose files that run a service more than once, and the field `inject` must name. */
const REPLICATED = [
  { name: 'deploy.replicas: 3', field: 'services.web.deploy.replicas', count: 3, text: 'services:\n  web:\n    image: nginx\n    deploy:\n      replicas: 3\n' },
  { name: 'scale: 2', field: 'services.web.scale', count: 2, text: 'services:\n  web:\n    image: nginx\n    scale: 2\n' },
  {
    name: 'replicas through an anchor and a merge key',
    field: 'services.web.deploy.replicas',
    count: 3,
    text: 'x-scaled: &scaled\n  deploy:\n    replicas: 3\nservices:\n  web:\n    <<: *scaled\n    image: nginx\n',
  },
];

const SINGLE = 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n    deploy:\n      replicas: 1\n  worker:\n    image: busybox\n    scale: 1\n';

async function fileWith(text: string): Promise<{ dir: string; file: string }> {
  const dir = await temporaryDirectory('inject-replicas');
  const file = path.join(dir, 'compose.yaml');
  await writeFile(file, text);
  return { dir, file };
}

/** How many times this Compose would run `web`, as `config` reads the file. */
async function replicasReadBy(choice: 'v1' | 'v2', file: string): Promise<number> {
  const compose = await requireCompose(choice);
  const result = await runProcess([...compose.variant.command, '-f', file, '-p', PROJECT, 'config'], {});
  expect(result.exitCode, result.stderr).toBe(0);
  const web = (parseYaml(result.stdout, 'compose config') as Doc).services.web as Doc;
  return Number(web.deploy?.replicas ?? web.scale ?? 1);
}

describe('inject: replicated services (every replica in the mesh, or a refusal)', () => {
  describe.each(COMPOSE_UNDER_TEST.map((variant) => variant.choice))('Compose %s', (choice) => {
    it.each(REPLICATED)('$name: Compose runs it more than once; inject refuses with exit 2 naming the file and field', async ({ field, count, text }) => {
      const { dir, file } = await fileWith(text);
      expect(await replicasReadBy(choice, file)).toBe(count);
      const result = await runCli(['inject', '-f', 'compose.yaml', '-o', 'out.yaml'], { cwd: dir });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`error [ML_INPUT_SHAPE]: compose.yaml: '${field}' must be 0 or 1 for a service that gets a sidecar, found ${count}`);
      expect(result.stderr).toContain('network_mode: service:web-pod names one container');
      await expect(readFile(path.join(dir, 'out.yaml'))).rejects.toThrow(/ENOENT/);
    });

    it('replicas 1 and scale 1 are injected, and Compose accepts the output', async () => {
      const { dir } = await fileWith(SINGLE);
      const result = await runCli(['inject', '-f', 'compose.yaml', '-o', 'out.yaml'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('injected sidecars into 2 services: web, worker');
      const compose = await requireCompose(choice);
      await expect(compose.validate(path.join(dir, 'compose.yaml'), PROJECT)).resolves.toBeUndefined();
      await expect(compose.validate(path.join(dir, 'out.yaml'), PROJECT)).resolves.toBeUndefined();
    });

    it('a replicated service labelled out of the mesh is left alone, and Compose accepts the output', async () => {
      const { dir } = await fileWith(`${REPLICATED[0]!.text}    labels:\n      sidecar.istio.io/inject: "false"\n  api:\n    image: nginx\n`);
      const result = await runCli(['inject', '-f', 'compose.yaml', '-o', 'out.yaml'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('injected sidecars into 1 services: api');
      const compose = await requireCompose(choice);
      await expect(compose.validate(path.join(dir, 'out.yaml'), PROJECT)).resolves.toBeUndefined();
      expect(await replicasReadBy(choice, path.join(dir, 'out.yaml'))).toBe(3);
    });
  });
});
