import Docker from 'dockerode';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { starsFromHtml } from '../samples/bookinfo/api-suite.js';
import { dockerodeEngine } from '../src/runtime/docker-engine.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { containerLogs } from './support/docker.js';
import { eventually } from './support/stack.js';
import { ANY_PORTS, testProjects } from './support/projects.js';

const docker = new Docker();
const engine = dockerodeEngine(docker);
const ROOT = join(import.meta.dirname, '..');
const INSTANCES = ['productpage-v1', 'details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3'];
const newProject = testProjects();

// Consul with Istio 0.8.0, Eureka with 0.6.0; test/sandbox-stack.test.ts runs the other two pairs.
describe.each([
  ['consul', '0.8.0'],
  ['eureka', '0.6.0'],
] as const)('mesh-local up + bookinfo with %s, Istio %s (sandbox images)', (registry, istioVersion) => {
  it('comes up ready, serves v1/v2/v3 through sidecars, shows 2/2, and goes down leaving nothing', async () => {
    const cwd = await temporaryDirectory(`up-${registry}`);
    const project = newProject(registry);
    const common = ['--project', project, '--images', 'sandbox', ...ANY_PORTS];

    const up = await runCli(['up', '--registry', registry, '--istio-version', istioVersion, ...common], { cwd });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/istio-pilot: ready/);
    expect(up.stderr).toMatch(/ready in \d+\.\ds/);

    const bookinfo = await runCli(['bookinfo', ...common], { cwd });
    expect(bookinfo.code, bookinfo.stderr).toBe(0);
    const gateway = /^GATEWAY_URL=(.+)$/m.exec(bookinfo.stdout)?.[1];
    expect(gateway).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(bookinfo.stdout).toContain(`curl -s http://${gateway}/productpage`);

    // 30 requests through the gateway see every reviews version.
    const seen = new Set<string>();
    const requestId = `mesh-local-up-${randomUUID()}`;
    for (let attempt = 0; attempt < 30; attempt++) {
      const response = await fetch(`http://${gateway}/productpage`, { headers: { 'x-request-id': requestId } });
      expect(response.status).toBe(200);
      seen.add(starsFromHtml(await response.text())[0]?.color ?? 'none');
    }
    expect([...seen].sort()).toEqual(['black', 'none', 'red']);

    // The requests show in the sidecars' access logs: productpage's inbound and outbound, and reviews' inbound.
    const containers = await engine.projectContainers(project);
    const proxyOf = (app: string) => containers.find((container) => container.role === 'sidecar-proxy' && container.sidecarFor === app)!;
    const logOf = async (app: string) => containerLogs(docker.getContainer(proxyOf(app).id));
    const inboundLines = (log: string) => log.split('\n').filter((line) => line.includes(requestId) && line.includes('direction=inbound'));
    // A proxy writes an access-log line once the response is sent: the last may lag a moment.
    await eventually(async () => {
      const productpageLog = await logOf('productpage-v1');
      expect(inboundLines(productpageLog)).toHaveLength(30);
      expect(productpageLog).toMatch(new RegExp(`direction=outbound .*host=reviews:9080 .*request_id=${requestId}`));
      const reviewsLog = (await Promise.all(['reviews-v1', 'reviews-v2', 'reviews-v3'].map(logOf))).join('\n');
      expect(inboundLines(reviewsLog)).toHaveLength(30);
    });

    // status: every app 2/2 (the proxy counts; the finished init step does not).
    const status = await runCli(['status', '--project', project], { cwd });
    expect(status.code).toBe(0);
    for (const app of INSTANCES) expect(status.stdout).toMatch(new RegExp(`^${app}\\s+2/2\\s+Running\\s`, 'm'));
    const json = await runCli(['status', '--project', project, '--json'], { cwd });
    expect(JSON.parse(json.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'reviews-v2', ready: 2, total: 2, status: 'Running' })]));

    // The ordering held. Pilot (and its stand-in) exits at once when the API server cannot take its
    // CRDs and nothing restarts it, so a pilot that is running, was never restarted and has never
    // finished did not start before the API server was healthy.
    const pilot = await docker.getContainer(containers.find((container) => container.service === 'istio-pilot')!.id).inspect();
    expect(pilot.State.Running).toBe(true);
    expect(pilot.RestartCount).toBe(0);
    expect(pilot.State.FinishedAt).toBe('0001-01-01T00:00:00Z');
    expect(pilot.HostConfig.RestartPolicy?.Name ?? 'no').toMatch(/^(no|)$/);

    // logs finds a sidecar by its app.
    const logs = await runCli(['logs', 'reviews-v2', '--sidecar', '--project', project, '--tail', '5'], { cwd });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('mesh-proxy cluster=reviews-v2');

    // up again on the ready project changes nothing: the same containers keep running.
    const again = await runCli(['up', ...common], { cwd });
    expect(again.code, again.stderr).toBe(0);
    const after = await engine.projectContainers(project);
    expect(after.map((container) => container.id).sort()).toEqual(containers.map((container) => container.id).sort());

    const down = await runCli(['down', '--project', project, '--volumes'], { cwd });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain('nothing with its label is left');
    expect(await engine.projectResources(project)).toEqual({ containers: [], networks: [], volumes: [] });
    const downAgain = await runCli(['down', '--project', project], { cwd });
    expect(downAgain.code).toBe(0);
  }, 600_000);
});

describe('mesh-local up when something goes wrong', () => {
  it('fails within 5 s of a crash, with the logs and a diagnostics bundle', async () => {
    const cwd = await temporaryDirectory('crash');
    const project = newProject('crash');
    const running = runCli(['up', '--project', project, '--images', 'sandbox', ...ANY_PORTS], { cwd });
    // Kill consul as soon as it runs; the wait goes on for Mixer and the CA for seconds after that.
    let killedAt = 0;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline && !killedAt; await sleep(200)) {
      const consul = (await engine.projectContainers(project)).find((container) => container.service === 'consul');
      if (consul?.state === 'running') {
        await docker.getContainer(consul.id).kill({ signal: 'SIGKILL' });
        killedAt = Date.now();
      }
    }
    expect(killedAt).toBeGreaterThan(0);
    const result = await running;
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error [ML_SERVICE_FAILED]: consul exited with code 137');
    expect(result.stderr).toContain('last 20 log lines of consul:');
    expect(result.stderr).toContain('hint:');
    expect(result.stderr).toContain(`remove it with: mesh-local down --project ${project}`);
    const bundle = /^diagnostics bundle: (.+)$/m.exec(result.stderr)?.[1];
    expect(bundle).toBeDefined();
    expect((await readdir(bundle!)).sort()).toEqual(['containers', 'logs', 'rendered', 'timeline.json']);
    expect(await readdir(join(bundle!, 'logs'))).toContain('consul.log');
  }, 300_000);

  it('with --rollback, removes what it started after a failure', async () => {
    const cwd = await temporaryDirectory('rollback');
    const project = newProject('rollback');
    // An init-step image in the CA's place: iptables without NET_ADMIN fails at once.
    const result = await runCli(['up', '--project', project, '--images', 'sandbox', ...ANY_PORTS, '--image', 'ca=mesh-local/proxy-init:0.8.0-sandbox', '--rollback'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('istio-ca exited with code');
    expect(result.stderr).toContain(`rolled back: removed project ${project}`);
    expect((await engine.projectResources(project)).containers).toEqual([]);
  }, 300_000);

  it('refuses a taken host port before starting anything', async () => {
    const cwd = await temporaryDirectory('port');
    const project = newProject('port');
    const { server, port } = await occupyPort();
    try {
      const result = await runCli(['up', '--project', project, '--images', 'sandbox', ...ANY_PORTS, '--port', `apiserver=${port}`], { cwd });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error [ML_PREFLIGHT]: host port already in use: 127.0.0.1:${port} (apiserver); nothing was started`);
      expect(result.stderr).toContain('--port apiserver=<free port>');
      expect(await engine.projectResources(project)).toEqual({ containers: [], networks: [], volumes: [] });
    } finally {
      server.close();
    }
  });

  it('says the engine is unreachable (DOCKER_HOST at a dead socket), exit 1, nothing started', async () => {
    const result = await runProcess(['up', '--images', 'sandbox', '--project', newProject('dead')], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error [ML_DOCKER_UNREACHABLE]: cannot reach the Docker Engine at unix:///nonexistent/docker.sock');
    expect(result.stderr).toContain('hint: start Docker');
  });

  it('with --images upstream and no reachable registry, fails before starting anything', async () => {
    const cwd = await temporaryDirectory('upstream');
    const project = newProject('upstream');
    const result = await runCli(['up', '--project', project, '--images', 'upstream', ...ANY_PORTS], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error \[ML_IMAGE_UNAVAILABLE\]: cannot pull \S+: .*; nothing was started/);
    expect(result.stderr).toContain('--images sandbox');
    expect(await engine.projectResources(project)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('with --images auto and no reachable registry, falls back to the sandbox set and says so', async () => {
    const cwd = await temporaryDirectory('auto');
    const project = newProject('auto');
    const result = await runCli(['up', '--project', project, '--images', 'auto', ...ANY_PORTS, '--timeout', '3m'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('USING THE SANDBOX IMAGE SET');
    expect((await engine.projectContainers(project)).every((container) => container.image.startsWith('mesh-local/'))).toBe(true);
  }, 300_000);
});

describe('Ctrl-C and doctor', () => {
  it('Ctrl-C stops the wait with exit 130 and says how to resume or clean up', async () => {
    const cwd = await temporaryDirectory('interrupt');
    const project = newProject('interrupt');
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'mesh-local.js'), 'up', '--project', project, '--images', 'sandbox', ...ANY_PORTS], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    for (const deadline = Date.now() + 120_000; Date.now() < deadline && !/etcd: /.test(stderr); ) await sleep(100);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('interrupted: the stack stays as it is.');
    expect(stderr).toContain(`resume:   mesh-local up --project ${project}`);
    expect(stderr).toContain(`clean up: mesh-local down --project ${project}`);
    // The state written before the start is whole: the Compose file still parses.
    expect((await runCli(['down', '--project', project], { cwd })).code).toBe(0);
  }, 300_000);

  it('doctor exits 1 when a host port the stack needs is taken, naming it', async () => {
    const { server, port } = await occupyPort();
    try {
      const result = await runCli(['doctor', '--port', `apiserver=${port}`], { cwd: await temporaryDirectory('doctor') });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^ok\s+Docker Engine /m);
      expect(result.stdout).toMatch(new RegExp(`^FAIL\\s+host port ${port} \\(apiserver\\)`, 'm'));
    } finally {
      server.close();
    }
  });
});

describe('two projects side by side', () => {
  it('come up on their own ports and one going down leaves the other running', async () => {
    const cwd = await temporaryDirectory('two');
    const [first, second] = [newProject('first'), newProject('second')];
    const [a, b] = await Promise.all(
      [first, second].map((project) => runCli(['up', '--project', project, '--images', 'sandbox', ...ANY_PORTS], { cwd })),
    );
    expect(a!.code, a!.stderr).toBe(0);
    expect(b!.code, b!.stderr).toBe(0);
    const ports = async (project: string) => (await engine.projectContainers(project)).flatMap((container) => container.ports.map((port) => port.hostPort));
    const [firstPorts, secondPorts] = await Promise.all([ports(first), ports(second)]);
    expect(firstPorts.length).toBeGreaterThan(0);
    expect(firstPorts.filter((port) => secondPorts.includes(port))).toEqual([]);
    expect((await runCli(['down', '--project', first], { cwd })).code).toBe(0);
    const left = await engine.projectContainers(second);
    expect(left.filter((container) => container.role !== 'job').every((container) => container.state === 'running')).toBe(true);
    expect((await engine.projectResources(first)).containers).toEqual([]);
  }, 600_000);
});

async function occupyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** The CLI as a separate process, so DOCKER_HOST reaches dockerode as it would for a user. */
function runProcess(argv: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'mesh-local.js'), ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
