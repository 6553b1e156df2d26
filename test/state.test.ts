import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateDirOf } from '../src/app/up.js';
import { dockerodeEngine } from '../src/runtime/docker-engine.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { ANY_PORTS, testProjects } from './support/projects.js';

const engine = dockerodeEngine();
const NOTHING = { containers: [], networks: [], volumes: [] };
const newProject = testProjects();

// The issue: state.json grew by the --port flags on every up, and down kept it, so the next up
// of the project silently started BookInfo again.
describe("a project's saved state on the real engine", () => {
  it('10 up/down cycles with --port flags: state.json keeps its size, a reusing up says so, down forgets it', async () => {
    const cwd = await temporaryDirectory('state');
    const project = newProject('state');
    const stateFile = join(stateDirOf(cwd, project), 'state.json');
    const sizes: number[] = [];
    for (let cycle = 0; cycle < 10; cycle++) {
      const up = await runCli(['up', '--project', project, '--images', 'sandbox', ...ANY_PORTS], { cwd });
      expect(up.code, up.stderr).toBe(0);
      // Nothing saved since the last down: nothing reused.
      expect(up.stderr).not.toContain('reusing settings');
      sizes.push((await stat(stateFile)).size);

      // The same --port flags again (what made state.json grow by them on every up).
      const same = await runCli(['up', '--project', project, '--images', 'sandbox', ...ANY_PORTS], { cwd });
      expect(same.code, same.stderr).toBe(0);
      sizes.push((await stat(stateFile)).size);

      if (cycle === 0) {
        // Without the --port flags, the project's saved ones are used, and named.
        const again = await runCli(['up', '--project', project, '--images', 'sandbox'], { cwd });
        expect(again.code, again.stderr).toBe(0);
        expect(again.stderr).toContain(`notice: reusing settings of the last up of project ${project} (${stateFile}): ${ANY_PORTS.join(' ')}`);
        sizes.push((await stat(stateFile)).size);
      }

      const down = await runCli(['down', '--project', project], { cwd });
      expect(down.code, down.stderr).toBe(0);
      expect(down.stderr).toContain(`forgot its saved settings (${stateFile})`);
      await expect(stat(stateFile)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await engine.projectResources(project)).toEqual(NOTHING);
    }
    expect(sizes).toHaveLength(21);
    expect(new Set(sizes).size).toBe(1);
  }, 900_000);

  it('bookinfo, down, then up: the control plane only, nothing reused', async () => {
    const cwd = await temporaryDirectory('state');
    const project = newProject('state-bookinfo');
    const bookinfo = await runCli(['bookinfo', '--project', project, '--images', 'sandbox', ...ANY_PORTS, '--timeout', '8m'], { cwd });
    expect(bookinfo.code, bookinfo.stderr).toBe(0);
    // A diagnostics bundle is the user's; down keeps it, and the next up does not read it.
    const down = await runCli(['down', '--project', project], { cwd });
    expect(down.code, down.stderr).toBe(0);

    const up = await runCli(['up', '--project', project, '--images', 'sandbox', ...ANY_PORTS], { cwd });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).not.toContain('reusing settings');
    const services = (await engine.projectContainers(project)).map((container) => container.service);
    expect(services).toContain('istio-pilot');
    expect(services.filter((service) => /productpage|reviews|ratings|details/.test(service))).toEqual([]);

    expect((await runCli(['down', '--project', project], { cwd })).code).toBe(0);
    // Nothing of the project is left in the state root either.
    expect(await readdir(join(cwd, '.mesh-local'))).toEqual([]);
  }, 600_000);
});
