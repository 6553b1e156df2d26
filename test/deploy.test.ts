import { createServer, type Server } from 'node:net';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appsProjectName } from '../src/app/deploy.js';
import { findIstioVersion } from '../src/model/istio-versions.js';
import { dockerodeEngine } from '../src/runtime/docker-engine.js';
import type { ContainerInfo } from '../src/runtime/containers.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { eventually } from './support/stack.js';
import { ANY_PORTS, testProjects } from './support/projects.js';

/**
 * `mesh-local deploy` end to end (issue 10 §2 and §4) on the real engine with the sandbox set:
 * samples/hello (two versions of hello and a client) deployed into a Consul mesh running
 * BookInfo, its traffic through the sidecars, its instances in pilot with their versions, a route
 * rule splitting between them, the policy table through deploy, the refusals, and an undeploy
 * that leaves the mesh and BookInfo serving.
 */

const SAMPLE = fileURLToPath(new URL('../samples/hello/', import.meta.url));
const projectFor = testProjects();
const engine = dockerodeEngine();

describe('deploy (sandbox set, real engine, consul)', () => {
  const project = projectFor('deploy');
  const common = ['--project', project];
  let cwd: string;
  let sampleFile: string;
  let appsProject: string;

  const cli = (args: string[]) => runCli([...args, ...common], { cwd });
  const containersOf = (name: string) => engine.projectContainers(name);
  const hostPort = (containers: ContainerInfo[], service: string, port: number) =>
    containers.filter((c) => c.service === service || c.sidecarFor === service).flatMap((c) => c.ports).find((p) => p.containerPort === port)?.hostPort;

  async function callHello(n: number): Promise<Record<string, number>> {
    const port = hostPort(await containersOf(appsProject), 'client', 8081);
    expect(port, 'client publishes 8081').toBeDefined();
    const response = await fetch(`http://127.0.0.1:${port}/call?n=${n}`);
    return ((await response.json()) as { byVersion: Record<string, number> }).byVersion;
  }

  beforeAll(async () => {
    cwd = await temporaryDirectory('deploy');
    // The sample is copied: deploy writes its injected file next to its input.
    await cp(SAMPLE, join(cwd, 'hello'), { recursive: true });
    sampleFile = join(cwd, 'hello', 'docker-compose.yaml');
    appsProject = appsProjectName(project, sampleFile);
    const up = await runCli(['up', '--registry', 'consul', '--istio-version', '0.8.0', '--images', 'sandbox', ...common, ...ANY_PORTS], { cwd });
    expect(up.code, up.stderr).toBe(0);
    const bookinfo = await cli(['bookinfo']);
    expect(bookinfo.code, bookinfo.stderr).toBe(0);
  }, 400_000);

  afterAll(async () => {
    await engine.removeProject(appsProject, { volumes: true }).catch(() => undefined);
    await runCli(['down', '--volumes', ...common], { cwd });
  }, 120_000);

  it('deploys the sample: every pod ready, the instances registered with their versions, traffic through the sidecars', async () => {
    const deployed = await cli(['deploy', '-f', 'hello/docker-compose.yaml', '--json', '--timeout', '180s']);
    expect(deployed.code, deployed.stderr + deployed.stdout).toBe(0);
    const events = deployed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; ok?: boolean });
    expect(events.at(-1)).toMatchObject({ type: 'finish', ok: true });

    const containers = await containersOf(appsProject);
    for (const app of ['hello-v1', 'hello-v2', 'client']) {
      expect(containers.find((c) => c.service === `${app}-istio-init`)?.exitCode, `${app} init`).toBe(0);
      expect(containers.find((c) => c.service === `${app}-istio-proxy`)?.state, `${app} proxy`).toBe('running');
    }
    // The mesh project is untouched: nothing of the sample runs under it.
    expect((await containersOf(project)).some((c) => c.service.startsWith('hello'))).toBe(false);

    const pilot = (await containersOf(project)).find((c) => c.component === 'pilot')!;
    const discovery = pilot.ports.find((p) => p.containerPort === findIstioVersion('0.8.0')!.pilot.discoveryPort)!;
    const registration = (await (await fetch(`http://127.0.0.1:${discovery.hostPort}/v1/registration`)).json()) as Array<{
      'service-key': string;
      hosts: Array<{ ip_address: string; port: number; tags: Record<string, string> }>;
    }>;
    const hello = registration.find((entry) => entry['service-key'] === 'hello.service.consul|http');
    expect(hello?.hosts.map((host) => host.tags.version).sort()).toEqual(['v1', 'v2']);
    // At the pods' addresses on the mesh network, where the other pods and pilot reach them.
    const meshAddresses = new Set((await containersOf(project)).flatMap((c) => c.addresses));
    const podAddresses = (await containersOf(appsProject)).filter((c) => c.role === 'pod' && c.sidecarFor?.startsWith('hello')).flatMap((c) => c.addresses);
    expect(hello?.hosts.map((host) => host.ip_address).sort()).toEqual([...podAddresses].sort());
    expect([...meshAddresses].some((address) => address.split('.').slice(0, 2).join('.') === podAddresses[0]!.split('.').slice(0, 2).join('.'))).toBe(true);

    const seen = await callHello(20);
    expect(seen.error ?? 0).toBe(0);
    expect((seen.v1 ?? 0) + (seen.v2 ?? 0)).toBe(20);
    const logsOf = async (service: string) => {
      const proxy = (await containersOf(appsProject)).find((c) => c.service === `${service}-istio-proxy`)!;
      return engine.containerLogs(proxy.id, 500);
    };
    expect(await logsOf('client')).toMatch(/direction=outbound .*host=hello:8080/);
    expect(`${await logsOf('hello-v1')}${await logsOf('hello-v2')}`).toMatch(/direction=inbound .*status=200/);

    // status and logs take the file's project.
    const status = await runCli(['status', '--project', appsProject, '--json'], { cwd });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('hello-v1');
  }, 300_000);

  it('splits traffic between the versions with a route rule', async () => {
    const rule = join(cwd, 'hello-split.yaml');
    const write = (weights: Record<string, number>) =>
      writeFile(
        rule,
        [
          'apiVersion: config.istio.io/v1alpha2',
          'kind: RouteRule',
          'metadata:',
          '  name: hello-split',
          'spec:',
          '  destination:',
          '    service: hello.service.consul',
          '  precedence: 1',
          '  route:',
          ...Object.entries(weights).flatMap(([version, weight]) => ['  - labels:', `      version: ${version}`, `    weight: ${weight}`]),
          '',
        ].join('\n'),
      );
    // All to v2, then 25/75: `route apply` returns once the change is in effect (PROPAGATION_MS).
    await write({ v2: 100 });
    let applied = await cli(['route', 'apply', '-f', rule]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await callHello(20)).toEqual({ v2: 20 });
    await write({ v1: 25, v2: 75 });
    applied = await cli(['route', 'apply', '-f', rule]);
    expect(applied.code, applied.stderr).toBe(0);
    // 200 requests: 75% +- 15 points is about 5 standard deviations of the binomial share.
    const split = await callHello(200);
    expect((split.v1 ?? 0) + (split.v2 ?? 0)).toBe(200);
    expect(split.v2).toBeGreaterThanOrEqual(120);
    expect(split.v2).toBeLessThanOrEqual(180);
    const deleted = await cli(['route', 'delete', 'hello-split']);
    expect(deleted.code, deleted.stderr).toBe(0);
  }, 120_000);

  it('follows the policy table: a service labelled sidecar.istio.io/inject "false" runs without a sidecar', async () => {
    const dir = join(cwd, 'policy');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'policy.yaml');
    await writeFile(
      file,
      [
        'services:',
        '  plain:',
        '    image: mesh-local/node:sandbox',
        '    command: ["node", "-e", "setInterval(() => undefined, 1000)"]',
        '    labels:',
        '      sidecar.istio.io/inject: "false"',
        '  meshed:',
        '    image: mesh-local/node:sandbox',
        '    command: ["node", "-e", "require(\'http\').createServer((q, r) => r.end(\'ok\')).listen(8080)"]',
        '    expose: ["8080"]',
        '',
      ].join('\n'),
    );
    const deployed = await cli(['deploy', '-f', file, '--timeout', '120s']);
    expect(deployed.code, deployed.stderr).toBe(0);
    const containers = await containersOf(appsProjectName(project, file));
    expect(containers.find((c) => c.service === 'plain')?.state).toBe('running');
    expect(containers.some((c) => c.service.startsWith('plain-'))).toBe(false);
    expect(containers.find((c) => c.service === 'meshed-istio-proxy')?.state).toBe('running');
    const undeployed = await cli(['undeploy', '-f', file]);
    expect(undeployed.code, undeployed.stderr).toBe(0);
    expect(await containersOf(appsProjectName(project, file))).toEqual([]);
  }, 200_000);

  describe('refusals: nothing starts', () => {
    async function refused(name: string, text: string, expectedCode: number, pattern: RegExp) {
      const file = join(cwd, `${name}.yaml`);
      await writeFile(file, text);
      const run = await cli(['deploy', '-f', file]);
      expect(run.code, run.stderr).toBe(expectedCode);
      expect(run.stderr).toMatch(pattern);
      expect(await containersOf(appsProjectName(project, file))).toEqual([]);
    }

    it('a service named like a mesh service (exit 2)', async () => {
      await refused('collide', 'services:\n  istio-pilot:\n    image: mesh-local/node:sandbox\n', 2, /istio-pilot already taken/);
      await refused('collide-app', 'services:\n  productpage:\n    image: mesh-local/node:sandbox\n', 2, /productpage already taken/);
    });

    it('a published host port in use (exit 1, named)', async () => {
      const server: Server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      try {
        await refused('taken', `services:\n  web:\n    image: mesh-local/node:sandbox\n    ports: ["127.0.0.1:${port}:8080"]\n`, 1, new RegExp(`services\\.web publishes host port 127\\.0\\.0\\.1:${port}`));
      } finally {
        server.close();
      }
    });

    it('a missing file and bad YAML (exit 2, line named)', async () => {
      const missing = await cli(['deploy', '-f', 'nowhere.yaml']);
      expect(missing.code, missing.stderr).toBe(2);
      expect(missing.stderr).toContain('nowhere.yaml');
      await refused('bad', 'services:\n  web:\n    image: [unclosed\n', 2, /bad\.yaml:\d+/);
    });
  });

  it('undeploy removes only what deploy added: the mesh and BookInfo still serve', async () => {
    const undeployed = await cli(['undeploy', '-f', 'hello/docker-compose.yaml']);
    expect(undeployed.code, undeployed.stderr).toBe(0);
    expect(await containersOf(appsProject)).toEqual([]);
    const mesh = await containersOf(project);
    expect(mesh.find((c) => c.component === 'pilot')?.state).toBe('running');
    const verify = await cli(['verify', '--requests', '5', '--json']);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  }, 120_000);
});
