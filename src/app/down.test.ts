import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_MARKER } from '../compose/mesh-files.js';
import { ProjectRemovalError } from '../errors.js';
import type { ProjectResources } from '../runtime/docker-engine.js';
import { downCommand, forgetState } from './down.js';

const NOTHING: ProjectResources = { containers: [], networks: [], volumes: [] };

async function stateDirWithEverything(): Promise<string> {
  const stateDir = join(await mkdtemp(join(tmpdir(), 'mesh-local-down-')), 'p');
  await mkdir(join(stateDir, 'mesh-files', 'istio'), { recursive: true });
  await mkdir(join(stateDir, 'diagnostics-2024-01-01T00-00-00-000Z', 'logs'), { recursive: true });
  await writeFile(join(stateDir, 'state.json'), '{"flags":{},"bookinfo":true}\n');
  await writeFile(join(stateDir, 'docker-compose.yaml'), `${GENERATED_MARKER} Istio 0.8.0.\nservices: {}\n`);
  await writeFile(join(stateDir, 'docker-compose.yaml.123.tmp'), 'half');
  await writeFile(join(stateDir, 'mesh-files', 'istio', 'kubeconfig'), `${GENERATED_MARKER} Points pilot.\n`);
  await writeFile(join(stateDir, 'diagnostics-2024-01-01T00-00-00-000Z', 'logs', 'etcd.log'), 'log\n');
  return stateDir;
}

describe('forgetState', () => {
  it('removes state.json and the rendered stack, keeps the diagnostics bundles', async () => {
    const stateDir = await stateDirWithEverything();
    expect(await forgetState(stateDir)).toEqual({ state: true, kept: ['diagnostics-2024-01-01T00-00-00-000Z'] });
    expect(await readdir(stateDir)).toEqual(['diagnostics-2024-01-01T00-00-00-000Z']);
  });

  it("keeps a file without mesh-local's marker, and removes the state directory when nothing is left", async () => {
    const stateDir = await stateDirWithEverything();
    await writeFile(join(stateDir, 'mesh-files', 'istio', 'mine.yaml'), 'somebody: else\n');
    await forgetState(stateDir);
    expect((await readdir(stateDir)).sort()).toEqual(['diagnostics-2024-01-01T00-00-00-000Z', 'mesh-files']);
    expect(await readdir(join(stateDir, 'mesh-files', 'istio'))).toEqual(['mine.yaml']);

    const plain = join(await mkdtemp(join(tmpdir(), 'mesh-local-down-')), 'q');
    await mkdir(plain);
    await writeFile(join(plain, 'state.json'), '{}');
    await forgetState(plain);
    await expect(readdir(plain)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('has nothing to do without a state directory', async () => {
    expect(await forgetState(join(tmpdir(), 'mesh-local-never-there'))).toEqual({ state: false, kept: [] });
  });
});

describe('downCommand', () => {
  it('says what it removed and forgot', async () => {
    const stateDir = await stateDirWithEverything();
    let stderr = '';
    await downCommand(
      { project: 'p', volumes: false, stateDir },
      {
        engine: { removeProject: async () => ({ containers: ['etcd'], networks: ['p_mesh'], volumes: [] }), projectResources: async () => NOTHING },
        console: { out: () => undefined, err: (text) => (stderr += text) },
      },
    );
    expect(stderr).toBe(
      'project p: removed 1 containers and 1 networks; nothing with its label is left\n' +
        `forgot its saved settings (${join(stateDir, 'state.json')})\n` +
        `kept ${join(stateDir, 'diagnostics-2024-01-01T00-00-00-000Z')}\n`,
    );
  });

  it('fails with a typed error when something is still there, and keeps the saved state then', async () => {
    const stateDir = await stateDirWithEverything();
    const down = downCommand(
      { project: 'p', volumes: false, stateDir },
      {
        engine: { removeProject: async () => NOTHING, projectResources: async () => ({ ...NOTHING, networks: ['p_mesh'] }) },
        console: { out: () => undefined, err: () => undefined },
      },
    );
    await expect(down).rejects.toBeInstanceOf(ProjectRemovalError);
    await expect(down).rejects.toThrow('project p: still there after removal: p_mesh');
    expect(await readdir(stateDir)).toContain('state.json');
  });
});
