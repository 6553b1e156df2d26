/**
 * Issue 8, on the real engine with the sandbox set: projects side by side each register only their
 * own containers (the registrator sees the engine through its project's Docker API view), and a
 * recreated registrator keeps the registry in step (fixed host name, -cleanup).
 *
 * Two projects are brought up with `mesh-local up` (no BookInfo): alpha on Consul, beta on Eureka.
 * Each then gets a plain app container started as Compose would label it in that project, on the
 * project's mesh network, registered under the same name `web` in both: a leak would show as the
 * other project's container name or address.
 */
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRATOR_RESYNC_SECONDS } from '../src/compose/render.js';
import { detectCompose, runProcess } from '../src/runtime/compose-cli.js';
import { dockerodeEngine } from '../src/runtime/docker-engine.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { containerLogs } from './support/docker.js';
import { eventually } from './support/stack.js';
import { ANY_PORTS } from './support/projects.js';

const docker = new Docker();
const engine = dockerodeEngine(docker);
const PROJECT_LABEL = 'com.docker.compose.project';
const APP_IMAGE = 'mesh-local/bookinfo-details-v1:sandbox';
/** A registration gone "within the resync interval": one interval, plus a margin for a busy engine. */
const RESYNC_MS = REGISTRATOR_RESYNC_SECONDS * 1000;
const WITHIN_RESYNC_MS = RESYNC_MS + 3000;

interface Project {
  name: string;
  registry: 'consul' | 'eureka';
  cwd: string;
}

const suffix = randomUUID().slice(0, 6);
const alpha: Project = { name: `mltest-iso-a-${suffix}`, registry: 'consul', cwd: '' };
const beta: Project = { name: `mltest-iso-b-${suffix}`, registry: 'eureka', cwd: '' };
const outsiders: string[] = [];

/** A container as Compose would start it for `service` in `project` (its labels), on a network. */
async function startApp(options: { project: string; service: string; network: string; version?: string }): Promise<Docker.Container> {
  const name = `${options.project}-${options.service}-1`;
  const container = await docker.createContainer({
    Image: APP_IMAGE,
    name,
    Env: ['SERVICE_NAME=web', `SERVICE_TAGS=version|${options.version ?? 'v1'}`],
    Labels: { [PROJECT_LABEL]: options.project, 'com.docker.compose.service': options.service, 'com.docker.compose.container-number': '1' },
    ExposedPorts: { '9080/tcp': {} },
    HostConfig: { NetworkMode: options.network },
  });
  await container.start();
  return container;
}

async function ipOn(container: Docker.Container, network: string): Promise<string> {
  return (await container.inspect()).NetworkSettings.Networks[network]!.IPAddress;
}

/** Every container address on a network. */
async function addressesOn(network: string): Promise<Set<string>> {
  const { Containers } = (await docker.getNetwork(network).inspect()) as { Containers: Record<string, { IPv4Address: string }> };
  return new Set(Object.values(Containers).map((container) => container.IPv4Address.split('/')[0]!));
}

async function publishedUrl(project: string, service: string, port: number): Promise<string> {
  const containers = await engine.projectContainers(project);
  const binding = containers.find((container) => container.service === service)?.ports.find((entry) => entry.containerPort === port);
  if (!binding) throw new Error(`${service}:${port} of ${project} is not published`);
  return `http://127.0.0.1:${binding.hostPort}`;
}

/** What the project's registry holds for `web`: each entry's ID and address. */
async function registered(project: Project): Promise<Array<{ id: string; address: string }>> {
  if (project.registry === 'consul') {
    const consul = await publishedUrl(project.name, 'consul', 8500);
    const entries = (await (await fetch(`${consul}/v1/catalog/service/web`)).json()) as Array<{ ServiceID: string; ServiceAddress: string }>;
    return entries.map((entry) => ({ id: entry.ServiceID, address: entry.ServiceAddress })).sort((a, b) => a.id.localeCompare(b.id));
  }
  const eureka = await publishedUrl(project.name, 'eureka', 8080);
  const response = await fetch(`${eureka}/eureka/v2/apps/WEB`, { headers: { accept: 'application/json' } });
  if (response.status === 404) return [];
  const instances = ((await response.json()) as { application: { instance: Array<{ instanceId: string; ipAddr: string }> } }).application.instance;
  return instances.map((instance) => ({ id: instance.instanceId, address: instance.ipAddr })).sort((a, b) => a.id.localeCompare(b.id));
}

/** What the project's pilot serves: the addresses of every host of every service. */
async function pilotHosts(project: Project): Promise<string[]> {
  const pilot = await publishedUrl(project.name, 'istio-pilot', 15007);
  const registrations = (await (await fetch(`${pilot}/v1/registration`)).json()) as Array<{ hosts: Array<{ ip_address: string }> }>;
  return registrations.flatMap((registration) => registration.hosts.map((host) => host.ip_address)).sort();
}

/** Registrator's ID for a container's port: `<host name>:<container>:<port>`, dashes for Eureka. */
function registrationId(project: Project, container: string): string {
  const id = `registrator:${container}:9080`;
  return project.registry === 'eureka' ? id.replace(/:/g, '-') : id;
}

async function registratorLogs(project: Project): Promise<string> {
  const containers = await engine.projectContainers(project.name);
  const registrator = containers.find((container) => container.service === 'registrator');
  if (!registrator) throw new Error(`no registrator in ${project.name}`);
  return containerLogs(docker.getContainer(registrator.id));
}

async function compose(project: Project, ...args: string[]): Promise<void> {
  const variant = await detectCompose();
  if (!variant) throw new Error('no Compose CLI: `make test` installs docker-compose first');
  const file = join(project.cwd, '.mesh-local', project.name, 'docker-compose.yaml');
  const result = await runProcess([...variant.command, '-f', file, '-p', project.name, ...args], { cwd: project.cwd });
  if (result.exitCode !== 0) throw new Error(`compose ${args.join(' ')} failed: ${result.stderr}`);
}

beforeAll(async () => {
  await Promise.all(
    [alpha, beta].map(async (project) => {
      project.cwd = await temporaryDirectory(`iso-${project.registry}`);
      const up = await runCli(['up', '--registry', project.registry, '--project', project.name, '--images', 'sandbox', ...ANY_PORTS], { cwd: project.cwd });
      if (up.code !== 0) throw new Error(`up of ${project.name} failed:\n${up.stderr}`);
    }),
  );
}, 600_000);

afterAll(async () => {
  for (const name of outsiders) await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
  for (const project of [alpha, beta]) await engine.removeProject(project.name, { volumes: true }).catch(() => undefined);
}, 180_000);

describe('projects side by side on one engine (issue 8)', () => {
  it("each registry and each pilot hold only their own project's instances, and apps another project joined to the mesh", async () => {
    const alphaWeb = await startApp({ project: alpha.name, service: 'web', network: `${alpha.name}_mesh` });
    const betaWeb = await startApp({ project: beta.name, service: 'web', network: `${beta.name}_mesh` });
    // Another Compose project's app joined to alpha's mesh network (what `mesh-local inject` does),
    // and one of a project with a mesh of its own on no mesh network at all.
    const injectedProject = `mltest-iso-c-${suffix}`;
    outsiders.push(`${injectedProject}-joined-1`, `${injectedProject}-alone-1`);
    const joined = await startApp({ project: injectedProject, service: 'joined', network: `${alpha.name}_mesh`, version: 'v2' });
    await startApp({ project: injectedProject, service: 'alone', network: 'bridge', version: 'v3' });

    const alphaIps = [await ipOn(alphaWeb, `${alpha.name}_mesh`), await ipOn(joined, `${alpha.name}_mesh`)].sort();
    const betaIp = await ipOn(betaWeb, `${beta.name}_mesh`);
    const alphaMesh = await addressesOn(`${alpha.name}_mesh`);
    expect(alphaMesh.has(betaIp)).toBe(false);
    await eventually(async () => {
      expect(await registered(alpha)).toEqual(
        [
          { id: registrationId(alpha, `${alpha.name}-web-1`), address: await ipOn(alphaWeb, `${alpha.name}_mesh`) },
          { id: registrationId(alpha, `${injectedProject}-joined-1`), address: await ipOn(joined, `${alpha.name}_mesh`) },
        ].sort((a, b) => a.id.localeCompare(b.id)),
      );
      expect(await registered(beta)).toEqual([{ id: registrationId(beta, `${beta.name}-web-1`), address: betaIp }]);
      // Pilot serves the apps and Consul's own entry: all addresses on its own mesh network.
      const alphaHosts = await pilotHosts(alpha);
      expect(alphaHosts).toEqual(expect.arrayContaining(alphaIps));
      expect(alphaHosts.filter((ip) => !alphaMesh.has(ip))).toEqual([]);
      expect(await pilotHosts(beta)).toEqual([betaIp]);
    }, 30_000);

    // The registrators never saw the other project's containers at all.
    for (const [project, other] of [[alpha, beta], [beta, alpha]] as const) {
      const logs = await registratorLogs(project);
      expect(logs).not.toContain(other.name);
      expect(logs).not.toContain(`${injectedProject}-alone-1`);
    }
  }, 120_000);
});

describe('a recreated registrator keeps the registry in step (issue 8)', () => {
  for (const project of [alpha, beta]) {
    it(`${project.registry}: no duplicate after recreation, and a stopped app is gone within the resync interval`, async () => {
      const app = await startApp({ project: project.name, service: 'stale', network: `${project.name}_mesh` });
      const id = registrationId(project, `${project.name}-stale-1`);
      await eventually(async () => expect((await registered(project)).map((entry) => entry.id)).toContain(id), 30_000);

      await compose(project, 'up', '-d', '--force-recreate', '--no-deps', 'registrator');
      // Same host name, same IDs: the new registrator's registration replaces the old one.
      await sleep(RESYNC_MS + 1000);
      expect((await registered(project)).filter((entry) => entry.id.includes('-stale-1'))).toEqual([expect.objectContaining({ id })]);

      await app.stop({ t: 1 });
      const stoppedAt = Date.now();
      await eventually(async () => expect((await registered(project)).map((entry) => entry.id)).not.toContain(id), WITHIN_RESYNC_MS);
      expect(Date.now() - stoppedAt).toBeLessThan(WITHIN_RESYNC_MS);
      await app.remove({ force: true });
    }, 180_000);
  }

  it('consul: what stopped while the registrator was down is removed by its first sync (-cleanup)', async () => {
    const app = await startApp({ project: alpha.name, service: 'orphan', network: `${alpha.name}_mesh` });
    const id = registrationId(alpha, `${alpha.name}-orphan-1`);
    await eventually(async () => expect((await registered(alpha)).map((entry) => entry.id)).toContain(id), 30_000);
    await compose(alpha, 'stop', '-t', '1', 'registrator');
    await app.stop({ t: 1 });
    await sleep(1000);
    expect((await registered(alpha)).map((entry) => entry.id)).toContain(id);

    await compose(alpha, 'up', '-d', '--no-deps', '--force-recreate', 'registrator');
    const startedAt = Date.now();
    await eventually(async () => expect((await registered(alpha)).map((entry) => entry.id)).not.toContain(id), WITHIN_RESYNC_MS);
    expect(Date.now() - startedAt).toBeLessThan(WITHIN_RESYNC_MS);
    expect(await registratorLogs(alpha)).toContain(`removed dangling ${id} (web)`);
    await app.remove({ force: true });
  }, 180_000);

  it("eureka: what stopped while the registrator was down stays until its lease ends: the fork's -cleanup lists nothing in Eureka", async () => {
    const app = await startApp({ project: beta.name, service: 'orphan', network: `${beta.name}_mesh` });
    const id = registrationId(beta, `${beta.name}-orphan-1`);
    await eventually(async () => expect((await registered(beta)).map((entry) => entry.id)).toContain(id), 30_000);
    await compose(beta, 'stop', '-t', '1', 'registrator');
    await app.stop({ t: 1 });
    await compose(beta, 'up', '-d', '--no-deps', '--force-recreate', 'registrator');
    // Two resyncs later it is still there, unrenewed (Eureka drops it when the 90 s lease runs out).
    await sleep(2 * RESYNC_MS + 2000);
    expect((await registered(beta)).map((entry) => entry.id)).toContain(id);
    await app.remove({ force: true });
  }, 180_000);
});
