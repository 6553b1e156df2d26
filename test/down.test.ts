import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_BASE_IMAGE } from '../src/model/image-sets.js';
import { dockerodeEngine } from '../src/runtime/docker-engine.js';
import { requireCompose, runCli, temporaryDirectory } from './support/cli.js';

const docker = new Docker();
const engine = dockerodeEngine(docker);
const NOTHING = { containers: [], networks: [], volumes: [] };
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
}, 120_000);

/** A small Compose project with a `mesh` network, as `up` makes one, started by the real Compose CLI. */
async function composeProject(name: string): Promise<{ project: string; cwd: string }> {
  const project = `mltest-${name}-${randomUUID().slice(0, 6)}`;
  const cwd = await temporaryDirectory('down');
  const file = join(cwd, 'docker-compose.yaml');
  await writeFile(
    file,
    `services:\n  app:\n    image: ${SANDBOX_BASE_IMAGE}\n    command: ["sleep", "infinity"]\n    init: true\n    networks: [mesh]\n    volumes: ["data:/data"]\n` +
      `volumes:\n  data: {}\nnetworks:\n  mesh: {}\n`,
  );
  // Registered first: a Compose run that fails half-way leaves what it made (a volume, a network).
  cleanups.push(() => engine.removeProject(project, { volumes: true }));
  await (await requireCompose()).up(file, project, ['app']);
  return { project, cwd };
}

/** A container without any Compose label, as `docker run` makes one. */
async function foreignContainer(name: string): Promise<Docker.Container> {
  const container = await docker.createContainer({ name: `${name}-${randomUUID().slice(0, 6)}`, Image: SANDBOX_BASE_IMAGE, Cmd: ['sleep', 'infinity'], HostConfig: { Init: true } });
  cleanups.push(() => container.remove({ force: true }));
  await container.start();
  return container;
}

describe('down never fails on what up made, and leaves nothing behind', () => {
  it('with a foreign container attached to the mesh network: disconnects it, removes the network, leaves the container alone', async () => {
    const { project, cwd } = await composeProject('down-foreign');
    const foreign = await foreignContainer('mltest-foreign');
    await docker.getNetwork(`${project}_mesh`).connect({ Container: foreign.id });

    const down = await runCli(['down', '--project', project, '--volumes'], { cwd });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain(`project ${project}: removed 1 containers and 1 networks; nothing with its label is left`);
    expect(await engine.projectResources(project)).toEqual(NOTHING);
    const after = await foreign.inspect();
    expect(after.State.Running).toBe(true);
    expect(Object.keys(after.NetworkSettings.Networks)).not.toContain(`${project}_mesh`);
  });

  it('with only the network left and a foreign container on it (an earlier down that failed half-way)', async () => {
    const { project, cwd } = await composeProject('down-network');
    const foreign = await foreignContainer('mltest-foreign');
    await docker.getNetwork(`${project}_mesh`).connect({ Container: foreign.id });
    for (const container of await engine.projectContainers(project)) await docker.getContainer(container.id).remove({ force: true });

    const down = await runCli(['down', '--project', project, '--volumes'], { cwd });
    expect(down.code, down.stderr).toBe(0);
    expect(await engine.projectResources(project)).toEqual(NOTHING);
  });

  it('a volume a foreign container still uses: a typed error naming it, exit 1, not ML_INTERNAL', async () => {
    const { project, cwd } = await composeProject('down-volume');
    const volume = `${project}_data`;
    const user = await docker.createContainer({ name: `mltest-volume-user-${randomUUID().slice(0, 6)}`, Image: SANDBOX_BASE_IMAGE, Cmd: ['true'], HostConfig: { Binds: [`${volume}:/data`] } });
    cleanups.push(() => user.remove({ force: true }));

    const down = await runCli(['down', '--project', project, '--volumes'], { cwd });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^error \\[ML_REMOVAL_FAILED\\]: project ${project}: could not remove volume ${volume}: .*in use`, 'm'));
    expect(down.stderr).toContain('hint: ');

    await user.remove({ force: true });
    const again = await runCli(['down', '--project', project, '--volumes'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(await engine.projectResources(project)).toEqual(NOTHING);
  });
});
