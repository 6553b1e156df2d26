import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../src/common/yaml-file.js';
import { findIstioVersion } from '../src/model/istio-versions.js';
import { buildModel, resolveSettings } from '../src/model/settings.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { ANY_PORTS, testProjects } from './support/projects.js';

type Doc = Record<string, any>;
const newProject = testProjects();

const APP = 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n';

function argAfter(argv: readonly string[], flag: string): string | undefined {
  const index = argv.indexOf(flag);
  return index === -1 ? undefined : argv[index + 1];
}

async function injectIn(cwd: string, args: string[]) {
  await writeFile(join(cwd, 'compose.yaml'), APP);
  const result = await runCli(['inject', '-f', 'compose.yaml', '-o', 'out.yaml', ...args], { cwd });
  const document = result.code === 0 ? (parseYaml(await readFile(join(cwd, 'out.yaml'), 'utf8'), 'out.yaml') as Doc) : undefined;
  return { ...result, document };
}

// The issue: in a folder with a running Eureka 0.6.0 project, inject made sidecars with
// `--serviceregistry Consul` and Pilot's 0.8.0 port.
describe('inject next to a running project (one real sandbox stack, Eureka, Istio 0.6.0)', () => {
  it("uses the project's registry, Istio version and images, says so, and refuses flags that contradict them", async () => {
    const cwd = await temporaryDirectory('inject-project');
    const project = newProject('inject');
    const up = await runCli(['up', '--project', project, '--registry', 'eureka', '--istio-version', '0.6.0', '--images', 'sandbox', ...ANY_PORTS], { cwd });
    expect(up.code, up.stderr).toBe(0);

    const v060 = findIstioVersion('0.6.0')!;
    const sandbox060 = buildModel(resolveSettings({ env: {}, flags: { istioVersion: '0.6.0', imageSet: 'sandbox' } }).settings).images;
    const expectEureka060 = (document: Doc | undefined) => {
      const proxy = document!.services['web-istio-proxy'];
      expect(argAfter(proxy.command, '--serviceregistry')).toBe('Eureka');
      expect(argAfter(proxy.command, '--discoveryAddress')).toBe(`istio-pilot:${v060.pilot.discoveryPort}`);
      expect(proxy.image).toBe(sandbox060.proxy);
      expect(document!.networks['istio-mesh']).toEqual({ external: true, name: `${project}_mesh` });
    };

    // In the project's folder: its containers, and its saved state.
    const here = await injectIn(cwd, ['--project', project]);
    expect(here.code, here.stderr).toBe(0);
    expect(here.stderr).toContain(
      `using project ${project}'s settings: registry eureka, Istio 0.6.0, images sandbox (from its running containers and ${join('.mesh-local', project, 'state.json')})\n`,
    );
    expectEureka060(here.document);

    // From any other folder, named by MESH_LOCAL_PROJECT: the containers alone say the same.
    const elsewhere = await temporaryDirectory('inject-project-elsewhere');
    await writeFile(join(elsewhere, 'compose.yaml'), APP);
    const byEnv = await runCli(['inject', '-f', 'compose.yaml', '-o', 'out.yaml'], { cwd: elsewhere, env: { MESH_LOCAL_PROJECT: project } });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(byEnv.stderr).toContain(`using project ${project}'s settings: registry eureka, Istio 0.6.0, images sandbox (from its running containers)\n`);
    expectEureka060(parseYaml(await readFile(join(elsewhere, 'out.yaml'), 'utf8'), 'out.yaml') as Doc);

    // Flags that agree are fine; flags that contradict are refused, naming both values.
    expect((await injectIn(cwd, ['--project', project, '--registry', 'eureka', '--istio-version', '0.6.0'])).code).toBe(0);
    const consul = await injectIn(cwd, ['--project', project, '--registry', 'consul']);
    expect(consul.code).toBe(2);
    expect(consul.stderr).toContain(`error [ML_USAGE]: --registry consul contradicts project ${project}, which runs registry eureka`);
    const v080 = await injectIn(cwd, ['--project', project, '--istio-version', '0.8.0']);
    expect(v080.code).toBe(2);
    expect(v080.stderr).toContain(`error [ML_USAGE]: --istio-version 0.8.0 contradicts project ${project}, which runs Istio 0.6.0`);

    const down = await runCli(['down', '--project', project], { cwd });
    expect(down.code, down.stderr).toBe(0);

    // Not running any more: today's defaults, and nothing said about a project.
    const after = await injectIn(cwd, ['--project', project]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).not.toContain('settings');
    expect(argAfter(after.document!.services['web-istio-proxy'].command, '--serviceregistry')).toBe('Consul');
  }, 600_000);
});
