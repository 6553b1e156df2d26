import { execFileSync } from 'node:child_process';
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

interface PilotRegistration {
  'service-key': string;
  hosts: Array<{ ip_address: string; port: number; tags: Record<string, string> }>;
}

/** Pilot's v1 registration listing (`/v1/registration`) of a running project, through its published discovery port. */
async function registrationsIn(project: string): Promise<PilotRegistration[]> {
  const pilot = (await engine.projectContainers(project)).find((c) => c.component === 'pilot')!;
  const discovery = pilot.ports.find((p) => p.containerPort === findIstioVersion('0.8.0')!.pilot.discoveryPort)!;
  return (await (await fetch(`http://127.0.0.1:${discovery.hostPort}/v1/registration`)).json()) as PilotRegistration[];
}

/** Whether an IPv4 address lies in the subnet of the project's mesh network. */
async function inMeshNetwork(project: string, address: string): Promise<boolean> {
  const mesh = (await engine.projectNetworks(project)).find((network) => network.composeName === 'mesh');
  const toNumber = (ip: string) => ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
  return (mesh?.subnets ?? []).some(({ subnet }) => {
    const [base, bits] = subnet.split('/');
    const size = 2 ** (32 - Number(bits));
    return Math.floor(toNumber(address) / size) === Math.floor(toNumber(base!) / size);
  });
}

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

  const serviceKey = (name: string) => `${name}.service.consul|http`;
  const pilotRegistration = () => registrationsIn(project);
  const onMeshNetwork = (address: string) => inMeshNetwork(project, address);

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

    const registration = await pilotRegistration();
    const hello = registration.find((entry) => entry['service-key'] === serviceKey('hello'));
    expect(hello?.hosts.map((host) => host.tags.version).sort()).toEqual(['v1', 'v2']);
    // At the pods' addresses on the mesh network, their only one, where the other pods and pilot reach them.
    const podAddresses = (await containersOf(appsProject)).filter((c) => c.role === 'pod' && c.sidecarFor?.startsWith('hello')).flatMap((c) => c.addresses);
    const registered = hello!.hosts.map((host) => host.ip_address);
    expect(registered).toHaveLength(2);
    for (const address of registered) {
      expect(podAddresses).toContain(address);
      expect(await onMeshNetwork(address), `${address} on the mesh network`).toBe(true);
    }

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
    // status of the mesh project lists the deployed apps too, marked with their project.
    const meshStatus = await cli(['status', '--json']);
    expect(meshStatus.code, meshStatus.stderr).toBe(0);
    const rows = JSON.parse(meshStatus.stdout) as Array<{ name: string; ready: number; total: number; deployedAs?: string }>;
    expect(rows.find((row) => row.name === 'istio-pilot')?.deployedAs).toBeUndefined();
    expect(rows.find((row) => row.name === 'hello-v2')).toMatchObject({ deployedAs: appsProject, ready: 2, total: 2 });
    const table = await cli(['status']);
    expect(table.stdout).toContain(`deployed as project ${appsProject}:`);
  }, 300_000);

  it('refuses a second file whose names another deployed file holds (exit 2), the same file name in another folder being another project', async () => {
    await cp(SAMPLE, join(cwd, 'hello-copy'), { recursive: true });
    const copy = join(cwd, 'hello-copy', 'docker-compose.yaml');
    expect(appsProjectName(project, copy)).not.toBe(appsProject);
    const run = await cli(['deploy', '-f', copy, '--timeout', '60s']);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`hello-v1, .*\\bhello\\b.* already taken by project ${appsProject} deployed into project ${project}; nothing was started`));
    expect(await containersOf(appsProjectName(project, copy))).toEqual([]);
  });

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

  it('follows the policy table: an opted-out service joins the mesh network and reaches injected ones by name, also those moved off its own network', async () => {
    const dir = join(cwd, 'policy');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'policy.yaml');
    const server = (name: string) => `    command: ["node", "-e", "require('http').createServer((q, r) => r.end('${name}')).listen(8080)"]`;
    // plain (no sidecar) calls meshed (file's default network) and api (the file's own network backend).
    const caller = "const get = (u) => require('http').get(u, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(u, r.statusCode, b)); }).on('error', (e) => console.log(u, e.code)); setInterval(() => { get('http://meshed:8080/'); get('http://api:8080/'); }, 1000)";
    await writeFile(
      file,
      [
        'services:',
        '  plain:',
        '    image: mesh-local/node:sandbox',
        `    command: ["node", "-e", ${JSON.stringify(caller)}]`,
        '    labels:',
        '      sidecar.istio.io/inject: "false"',
        '    networks: [default, backend]',
        '  meshed:',
        '    image: mesh-local/node:sandbox',
        server('meshed'),
        '    expose: ["8080"]',
        '  api:',
        '    image: mesh-local/node:sandbox',
        server('api'),
        '    expose: ["8080"]',
        '    networks:',
        '      backend:',
        '        aliases: [api.internal]',
        'networks:',
        '  backend: {}',
        '',
      ].join('\n'),
    );
    const deployed = await cli(['deploy', '-f', file, '--timeout', '120s']);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toMatch(/services\.plain runs without a sidecar: it joins the mesh network/);
    expect(deployed.stderr).toMatch(/services\.api is on the mesh network instead of backend/);
    const policyProject = appsProjectName(project, file);
    const containers = await containersOf(policyProject);
    expect(containers.find((c) => c.service === 'plain')?.state).toBe('running');
    expect(containers.some((c) => c.service.startsWith('plain-'))).toBe(false);
    expect(containers.find((c) => c.service === 'meshed-istio-proxy')?.state).toBe('running');
    const plain = containers.find((c) => c.service === 'plain')!;
    await eventually(async () => {
      const logs = await engine.containerLogs(plain.id, 50);
      expect(logs).toContain('http://meshed:8080/ 200 meshed');
      expect(logs).toContain('http://api:8080/ 200 api');
    }, 30_000);
    // api is registered at its one address, on the mesh network; plain is not registered.
    const apiPod = containers.find((c) => c.service === 'api-pod')!;
    expect(apiPod.addresses).toHaveLength(1);
    const registration = await pilotRegistration();
    const api = registration.find((entry) => entry['service-key'] === serviceKey('api'));
    expect(api?.hosts).toHaveLength(1);
    expect(apiPod.addresses).toContain(api!.hosts[0]!.ip_address);
    expect(await onMeshNetwork(api!.hosts[0]!.ip_address)).toBe(true);
    expect(registration.some((entry) => entry['service-key'].startsWith('plain') || entry['service-key'].startsWith('node'))).toBe(false);
    const undeployed = await cli(['undeploy', '-f', file]);
    expect(undeployed.code, undeployed.stderr).toBe(0);
    expect(await containersOf(policyProject)).toEqual([]);
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

describe('deploy (sandbox set, real engine, eureka)', () => {
  const project = projectFor('deploy-eureka');
  const common = ['--project', project];
  let cwd: string;
  let appsProject: string;
  const cli = (args: string[]) => runCli([...args, ...common], { cwd });

  beforeAll(async () => {
    cwd = await temporaryDirectory('deploy-eureka');
    await cp(SAMPLE, join(cwd, 'hello'), { recursive: true });
    appsProject = appsProjectName(project, join(cwd, 'hello', 'docker-compose.yaml'));
    const up = await runCli(['up', '--registry', 'eureka', '--istio-version', '0.8.0', '--images', 'sandbox', ...common, ...ANY_PORTS], { cwd });
    expect(up.code, up.stderr).toBe(0);
  }, 400_000);

  afterAll(async () => {
    await engine.removeProject(appsProject, { volumes: true }).catch(() => undefined);
    await runCli(['down', '--volumes', ...common], { cwd });
  }, 120_000);

  it('registers the versions in Eureka (pilot lists them at mesh addresses) and routes a request through the sidecars; undeploy removes it', async () => {
    const deployed = await cli(['deploy', '-f', 'hello/docker-compose.yaml', '--timeout', '180s']);
    expect(deployed.code, deployed.stderr + deployed.stdout).toBe(0);
    const hello = (await registrationsIn(project)).find((entry) => entry['service-key'].split('|')[0] === 'hello');
    expect(hello?.hosts.map((host) => host.tags.version).sort()).toEqual(['v1', 'v2']);
    for (const host of hello!.hosts) expect(await inMeshNetwork(project, host.ip_address), host.ip_address).toBe(true);

    const containers = await engine.projectContainers(appsProject);
    const port = containers.filter((c) => c.sidecarFor === 'client').flatMap((c) => c.ports).find((p) => p.containerPort === 8081)?.hostPort;
    const seen = ((await (await fetch(`http://127.0.0.1:${port}/call?n=10`)).json()) as { byVersion: Record<string, number> }).byVersion;
    expect((seen.v1 ?? 0) + (seen.v2 ?? 0)).toBe(10);
    const proxy = containers.find((c) => c.service === 'client-istio-proxy')!;
    expect(await engine.containerLogs(proxy.id, 200)).toMatch(/direction=outbound .*host=hello:8080/);

    const undeployed = await cli(['undeploy', '-f', 'hello/docker-compose.yaml']);
    expect(undeployed.code, undeployed.stderr).toBe(0);
    expect(await engine.projectContainers(appsProject)).toEqual([]);
  }, 300_000);
});

describe('undeploy (real engine)', () => {
  it('removes a project of a dozen containers without a MaxListenersExceeded warning (one signal for all its Engine calls)', async () => {
    const cwd = await temporaryDirectory('undeploy-many');
    const file = join(cwd, 'many.yaml');
    await writeFile(file, 'services: {}\n');
    const mesh = projectFor('undeploy-many');
    const appsProject = appsProjectName(mesh, file);
    for (let i = 0; i < 12; i++) {
      execFileSync('docker', ['create', '--label', `com.docker.compose.project=${appsProject}`, '--label', `com.docker.compose.service=s${i}`, 'mesh-local/node:sandbox', 'true']);
    }
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const run = await runCli(['undeploy', '-f', file, '--project', mesh], { cwd });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`removed project ${appsProject} (12 containers)`);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await engine.removeProject(appsProject, { volumes: true }).catch(() => undefined);
    }
  }, 60_000);
});
