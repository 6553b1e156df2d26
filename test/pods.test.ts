import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../src/runtime/compose-cli.js';
import { dockerodeEngine } from '../src/runtime/docker-engine.js';
import { requireCompose, runCli, temporaryDirectory } from './support/cli.js';
import { containerLogs, execIn } from './support/docker.js';
import { eventually } from './support/stack.js';
import { ANY_PORTS } from './support/projects.js';

/**
 * The pod layout on a real engine (sandbox set, Consul, Istio 0.8.0): one BookInfo stack, and
 * faults done to it the way they happen (a restarted or crashed container, a pod recreated under
 * its app, a killed pilot and registry), each followed by traffic that must pass through the
 * instance's sidecar.
 */

const docker = new Docker();
const engine = dockerodeEngine(docker);
const project = `mltest-pods-${randomUUID().slice(0, 6)}`;
const common = ['--project', project, '--images', 'sandbox', ...ANY_PORTS];
let cwd: string;
let gateway: string;

/** The user's own services, injected and run under a project of their own next to the mesh. */
const appProject = `${project}-app`;

/** The one container of a Compose service of this project (or `inProject`), found by labels. */
async function containerOf(service: string, inProject = project): Promise<Docker.Container> {
  const found = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${inProject}`, `com.docker.compose.service=${service}`] },
  });
  expect(found.length, `containers of ${service}`).toBe(1);
  return docker.getContainer(found[0]!.Id);
}

/** The pod's address on the mesh network: where an instance is registered and reached. */
async function podAddress(app: string): Promise<string> {
  const pod = await (await containerOf(`${app}-pod`)).inspect();
  return pod.NetworkSettings.Networks[`${project}_mesh`]!.IPAddress;
}

/** Inbound lines in a proxy's access log. */
async function inboundLines(app: string): Promise<number> {
  const log = await containerLogs(await containerOf(`${app}-istio-proxy`));
  return log.split('\n').filter((line) => line.includes('direction=inbound')).length;
}

/**
 * `count` requests to `app` straight at its pod's address from this host, so they arrive through
 * `app`'s own sidecar (inbound); each must answer 200. Not from another app: its sidecar, like
 * Envoy v1 under pilot 0.8, routes by service name and answers 404 (NR) for a bare pod address.
 */
async function callThroughMesh(app: string, path: string, count: number): Promise<void> {
  const address = await podAddress(app);
  for (let i = 0; i < count; i++) {
    const response = await fetch(`http://${address}:9080${path}`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    expect(response.status, `request ${i + 1} to ${app}`).toBe(200);
  }
}

/**
 * At least `count` inbound lines in `app`'s proxy log, waiting a little: a proxy writes a request's
 * line once the response has gone out, so the caller can be a step ahead of the log.
 */
async function expectInboundLines(app: string, count: number): Promise<void> {
  await eventually(async () => expect(await inboundLines(app)).toBeGreaterThanOrEqual(count), 10_000);
}

async function statusRow(name: string): Promise<{ ready: number; total: number; status: string; problems: string[] }> {
  const status = await runCli(['status', '--project', project, '--json'], { cwd });
  expect(status.code, status.stderr).toBe(0);
  const row = (JSON.parse(status.stdout) as Array<{ name: string; ready: number; total: number; status: string; problems: string[] }>).find((entry) => entry.name === name);
  expect(row, `status row ${name}`).toBeDefined();
  return row!;
}

beforeAll(async () => {
  cwd = await temporaryDirectory('pods');
  const up = await runCli(['up', '--registry', 'consul', '--istio-version', '0.8.0', ...common], { cwd });
  expect(up.code, up.stderr).toBe(0);
  const bookinfo = await runCli(['bookinfo', ...common], { cwd });
  expect(bookinfo.code, bookinfo.stderr).toBe(0);
  gateway = /^GATEWAY_URL=(.+)$/m.exec(bookinfo.stdout)![1]!;
}, 300_000);

afterAll(async () => {
  // The user's project first: its pods hold endpoints on the mesh's network.
  await engine.removeProject(appProject, { volumes: true }).catch(() => undefined);
  await engine.removeProject(project, { volumes: true }).catch(() => undefined);
}, 120_000);

describe('pods on Compose (sandbox set, real engine)', () => {
  it('publishes the gateway on the pod and serves the page through it', async () => {
    const response = await fetch(`http://${gateway}/productpage`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Book Reviews');
  });

  it('keeps a restarted app in the mesh: traffic still passes through its sidecar, status stays 2/2', async () => {
    await (await containerOf('reviews-v2')).restart();
    await eventually(() => callThroughMesh('reviews-v2', '/health', 1), 30_000);
    const before = await inboundLines('reviews-v2');
    await callThroughMesh('reviews-v2', '/reviews/0', 10);
    await expectInboundLines('reviews-v2', before + 10);
    expect(await statusRow('reviews-v2')).toMatchObject({ ready: 2, total: 2, status: 'Running', problems: [] });
  }, 90_000);

  it('brings a crashed app back by its restart policy, in its pod', async () => {
    const app = await containerOf('details-v1');
    // SIGKILL from the host is a crash to Docker; `docker kill` would count as a manual stop.
    process.kill((await app.inspect()).State.Pid, 'SIGKILL');
    await eventually(async () => expect((await app.inspect()).RestartCount).toBeGreaterThanOrEqual(1), 30_000);
    await eventually(() => callThroughMesh('details-v1', '/health', 1), 30_000);
    const before = await inboundLines('details-v1');
    await callThroughMesh('details-v1', '/details/0', 5);
    await expectInboundLines('details-v1', before + 5);
    expect(await statusRow('details-v1')).toMatchObject({ ready: 2, total: 2, status: 'Running' });
  }, 90_000);

  it('sends traffic through a restarted proxy', async () => {
    const proxy = await containerOf('reviews-v3-istio-proxy');
    await proxy.restart();
    const restartedAt = Date.parse((await proxy.inspect()).State.StartedAt);
    await eventually(() => callThroughMesh('reviews-v3', '/health', 1), 30_000);
    await callThroughMesh('reviews-v3', '/reviews/0', 5);
    const lines = (await containerLogs(proxy, { timestamps: true }))
      .split('\n')
      .filter((line) => line.includes('direction=inbound') && Date.parse(line.slice(0, line.indexOf(' ')).replace(/(\.\d{3})\d*Z$/, '$1Z')) >= restartedAt);
    expect(lines.length).toBeGreaterThanOrEqual(5);
  }, 90_000);

  it("starts an injected app only once its rules and proxy are in place: its very first request is proxied", async () => {
    const file = join(cwd, 'first.yaml');
    const marker = `first-${randomUUID().slice(0, 8)}`;
    // The app's first instruction is an outbound request; without the pod's order it would bypass
    // the proxy (no rules yet) or be refused (rules, but no proxy on 15001).
    await writeFile(
      file,
      [
        'services:',
        '  first:',
        '    image: mesh-local/curl:sandbox',
        `    entrypoint: ["curl", "-sS", "-o", "/dev/null", "-w", "first=%{http_code}", "-H", "x-request-id: ${marker}", "http://details:9080/details/0"]`,
        // A neighbour that exposes a port and sets no SERVICE_NAME: registered by the mesh's
        // registrator under its image's name, as registrator names an app of its own.
        '  cache:',
        '    image: mesh-local/curl:sandbox',
        '    entrypoint: ["sleep", "3600"]',
        '    expose: ["6379"]',
        '',
      ].join('\n'),
    );
    const inject = await runCli(['inject', '-f', file, '-o', join(cwd, 'first.injected.yaml'), '--project', project, '--images', 'sandbox'], { cwd });
    expect(inject.code, inject.stderr).toBe(0);
    const compose = await requireCompose();
    // As the README says: under a project of its own, joined to the mesh's network.
    const started = await runProcess([...compose.variant.command, '-p', appProject, '-f', join(cwd, 'first.injected.yaml'), 'up', '-d', '--no-build'], {});
    expect(started.exitCode, started.stderr).toBe(0);
    const first = await containerOf('first', appProject);
    await eventually(async () => expect((await first.inspect()).State.Status).toBe('exited'), 60_000);
    expect(await containerLogs(first)).toContain('first=200');
    const proxyLog = await containerLogs(await containerOf('first-istio-proxy', appProject));
    expect(proxyLog).toMatch(new RegExp(`direction=outbound .*host=details:9080 path=/details/0 status=200 .*request_id=${marker}`));
    const consul = (await (await containerOf('consul')).inspect()).NetworkSettings.Ports['8500/tcp']![0]!;
    const cachePod = await (await containerOf('cache-pod', appProject)).inspect();
    const cacheAddresses = Object.values(cachePod.NetworkSettings.Networks).map((network) => `${network.IPAddress}:6379`);
    // Registrator appends `-<port>` when it sees the port twice: Compose v2 writes the exposed
    // port without `/tcp`, Docker lists it with it (bridge.go `add`, `isGroup`).
    let names: string[] = [];
    await eventually(async () => {
      const services = (await (await fetch(`http://127.0.0.1:${consul.HostPort}/v1/catalog/services`)).json()) as Record<string, string[]>;
      names = Object.keys(services).filter((name) => /^curl(-6379)?$/.test(name));
      expect(names).toHaveLength(1);
    }, 30_000);
    const entries = (await (await fetch(`http://127.0.0.1:${consul.HostPort}/v1/catalog/service/${names[0]}`)).json()) as Array<{ ServiceAddress: string; ServicePort: number }>;
    expect(cacheAddresses).toContain(`${entries[0]!.ServiceAddress}:${entries[0]!.ServicePort}`);
    const services = (await (await fetch(`http://127.0.0.1:${consul.HostPort}/v1/catalog/services`)).json()) as Record<string, string[]>;
    expect(Object.keys(services).filter((name) => name.startsWith('pause'))).toEqual([]);

    // Its neighbours still find it by its service name: the pod carries it as an alias.
    const address = (await execIn(await containerOf('productpage-v1'), ['getent', 'hosts', 'first'])).split(/\s+/)[0];
    const pod = await (await containerOf('first-pod', appProject)).inspect();
    expect(Object.values(pod.NetworkSettings.Networks).map((network) => network.IPAddress)).toContain(address);
  }, 120_000);

  it('shows an app whose pod was recreated under it as detached, and `bookinfo` repairs it', async () => {
    const compose = await requireCompose();
    const composeFile = join(cwd, '.mesh-local', project, 'docker-compose.yaml');
    const recreated = await runProcess([...compose.variant.command, '-p', project, '-f', composeFile, 'up', '-d', '--no-deps', '--force-recreate', 'reviews-v1-pod'], {});
    expect(recreated.exitCode, recreated.stderr).toBe(0);

    const detached = await statusRow('reviews-v1');
    expect(detached.status).toBe('Detached');
    expect(detached.ready).toBeLessThan(2);
    expect(detached.problems.join('\n')).toMatch(/reviews-v1(-istio-proxy)? runs in the namespace of a pod container that was replaced/);
    const table = await runCli(['status', '--project', project], { cwd });
    expect(table.stdout).toMatch(/reviews-v1 +[01]\/2 +Detached/);
    expect(table.stdout).toContain(`repair: mesh-local up --project ${project}`);

    const repair = await runCli(['bookinfo', ...common], { cwd });
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stderr).toMatch(/repairing reviews-v1: .*recreating its pod/);
    expect(await statusRow('reviews-v1')).toMatchObject({ ready: 2, total: 2, status: 'Running', problems: [] });
    // Ready means registered at the new pod's address; the app may take a moment to listen.
    await eventually(() => callThroughMesh('reviews-v1', '/health', 1), 30_000);
    const before = await inboundLines('reviews-v1');
    await callThroughMesh('reviews-v1', '/reviews/0', 5);
    await expectInboundLines('reviews-v1', before + 5);
  }, 180_000);

  it('finds a pod restarted with its members (what an engine restart does) uncaptured, and `up` repairs it', async () => {
    // The restart policies bring the pod back first, then its app and proxy into the new
    // namespace; the init step does not run again, so nothing is captured there.
    await (await containerOf('ratings-v1-pod')).restart();
    await (await containerOf('ratings-v1-istio-proxy')).restart();
    await (await containerOf('ratings-v1')).restart();
    const uncaptured = await statusRow('ratings-v1');
    expect(uncaptured).toMatchObject({ ready: 0, total: 2, status: 'Detached' });
    expect(uncaptured.problems).toEqual(['traffic is not captured: ratings-v1-istio-init set up its rules before ratings-v1-pod last started']);

    const repair = await runCli(['up', ...common], { cwd });
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stderr).toMatch(/repairing ratings-v1: traffic is not captured/);
    expect(await statusRow('ratings-v1')).toMatchObject({ ready: 2, total: 2, status: 'Running', problems: [] });
    await eventually(() => callThroughMesh('ratings-v1', '/health', 1), 30_000);
    const before = await inboundLines('ratings-v1');
    await callThroughMesh('ratings-v1', '/ratings/0', 5);
    await expectInboundLines('ratings-v1', before + 5);
  }, 180_000);

  it('starts a killed pilot and a killed Consul again on `up`, and the registrations come back', async () => {
    await (await containerOf('istio-pilot')).kill();
    await (await containerOf('consul')).kill();
    const up = await runCli(['up', ...common], { cwd });
    expect(up.code, up.stderr).toBe(0);
    expect((await (await containerOf('istio-pilot')).inspect()).State.Status).toBe('running');
    const consul = (await (await containerOf('consul')).inspect()).NetworkSettings.Ports['8500/tcp']![0]!;
    const services = (await (await fetch(`http://127.0.0.1:${consul.HostPort}/v1/catalog/services`)).json()) as Record<string, string[]>;
    expect(services.reviews?.sort()).toEqual(['version|v1', 'version|v2', 'version|v3']);
    expect(Object.keys(services).sort()).toEqual(expect.arrayContaining(['details', 'productpage', 'ratings', 'reviews']));
    const page = await fetch(`http://${gateway}/productpage`);
    expect(page.status).toBe(200);
  }, 180_000);

  it('goes down cleanly in the middle of faults: a detached pod, a killed pilot, the user\'s pods on its network', async () => {
    const compose = await requireCompose();
    const composeFile = join(cwd, '.mesh-local', project, 'docker-compose.yaml');
    const recreated = await runProcess([...compose.variant.command, '-p', project, '-f', composeFile, 'up', '-d', '--no-deps', '--force-recreate', 'reviews-v2-pod'], {});
    expect(recreated.exitCode, recreated.stderr).toBe(0);
    await (await containerOf('istio-pilot')).kill();
    // The injected project's pods (from the test above) are still on the mesh's network.
    expect((await docker.listContainers({ filters: { label: [`com.docker.compose.project=${appProject}`] } })).length).toBeGreaterThan(0);

    const down = await runCli(['down', '--project', project], { cwd });
    expect(down.code, down.stderr).toBe(0);
    expect(await engine.projectResources(project)).toEqual({ containers: [], networks: [], volumes: [] });
  }, 120_000);
});
