import Docker from 'dockerode';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseYaml, toYaml } from '../../src/common/yaml-file.js';
import type { ComposeDocument } from '../../src/compose/compose-spec.js';
import { HOST_PORT_NAMES } from '../../src/model/mesh.js';
import { detectCompose, runProcess, type ComposeVariant } from '../../src/runtime/compose-cli.js';
import { runCli, temporaryDirectory } from './cli.js';
import { containerLogs, execIn } from './docker.js';

const docker = new Docker();
const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';

export interface TestStack {
  project: string;
  dir: string;
  document: ComposeDocument;
  /** The host port (on 127.0.0.1) a service's container port is published on (an app's: on its pod). */
  hostPort(service: string, containerPort: number): Promise<number>;
  url(service: string, containerPort: number): Promise<string>;
  logs(service: string, options?: { timestamps?: boolean }): Promise<string>;
  /** The address on the mesh network (an app's: its pod's), as the registry should hold it. */
  ip(service: string): Promise<string>;
  stop(service: string): Promise<void>;
  /** Runs a command in a service's container and returns its output (exit code checked). */
  exec(service: string, command: string[], user?: string): Promise<string>;
  down(): Promise<void>;
}

/**
 * Renders a sandbox stack under a unique project, publishes every exposed port on an ephemeral
 * 127.0.0.1 port (through the app's sidecar, for apps), starts it with one Compose `up` of the
 * rendered file and waits until every container runs, every one with a healthcheck is healthy and
 * every init step exited 0. Services without a healthcheck may still be starting: wait for what a
 * test needs with `untilAnswers`.
 */
export async function startSandboxStack(options: {
  registry: 'consul' | 'eureka';
  istioVersion?: string;
  extra?: string[];
  /** Added to services' environment through the override file (the rendered file stays as it is). */
  environment?: Record<string, Record<string, string>>;
  timeoutMs?: number;
}): Promise<TestStack> {
  const compose = await detectCompose();
  if (!compose) throw new Error('no Compose CLI: `make test` installs docker-compose first');
  const dir = await temporaryDirectory(`stack-${options.registry}`);
  const project = `mltest-${options.registry}-${process.pid}-${Date.now() % 100000}`;
  const file = join(dir, 'docker-compose.yaml');
  const ports = HOST_PORT_NAMES.flatMap((name) => ['--port', `${name}=0`]);
  const rendered = await runCli(
    [
      'render', '--images', 'sandbox', '--registry', options.registry, '--istio-version', options.istioVersion ?? '0.8.0',
      '--bookinfo', '--project', project, ...ports, ...(options.extra ?? []), '-o', file,
    ],
    { cwd: dir },
  );
  if (rendered.code !== 0) throw new Error(`render failed: ${rendered.stderr}`);
  const document = parseYaml(await readFile(file, 'utf8'), file) as ComposeDocument;

  const override: ComposeDocument = { services: {} };
  for (const [name, service] of Object.entries(document.services)) {
    if (service.network_mode || !service.expose?.length) continue;
    override.services[name] = { ports: service.expose.map((port) => `127.0.0.1::${port}`) } as never;
  }
  for (const [name, environment] of Object.entries(options.environment ?? {})) {
    override.services[name] = { ...override.services[name], environment } as never;
  }
  const overrideFile = join(dir, 'docker-compose.test.yaml');
  await writeFile(overrideFile, toYaml(override));

  const base = [...compose.command, '-f', file, '-f', overrideFile, '-p', project];
  const stack = makeStack(project, dir, document, base);
  const up = await runProcess([...base, 'up', '-d'], { cwd: dir });
  if (up.exitCode !== 0) {
    await stack.down();
    throw new Error(`compose up failed (${up.exitCode}):\n${up.stderr.split('\n').slice(-30).join('\n')}`);
  }
  try {
    await waitUntilReady(project, options.timeoutMs ?? 240_000);
  } catch (error) {
    const logs = await composeLogs(base);
    await stack.down();
    throw new Error(`${(error as Error).message}\n--- compose logs (tail) ---\n${logs}`);
  }
  return stack;
}

function makeStack(project: string, dir: string, document: ComposeDocument, base: string[]): TestStack {
  const container = async (service: string) => {
    const [found] = await docker.listContainers({
      all: true,
      filters: { label: [`${PROJECT_LABEL}=${project}`, `${SERVICE_LABEL}=${service}`] },
    });
    if (!found) throw new Error(`no container for service ${service} in project ${project}`);
    return docker.getContainer(found.Id);
  };
  // An app's network (published ports, address) belongs to its pod: `network_mode: service:<pod>`.
  const networkOwner = (service: string) => {
    const mode = document.services[service]?.network_mode;
    return mode?.startsWith('service:') ? mode.slice('service:'.length) : service;
  };
  const stack: TestStack = {
    project,
    dir,
    document,
    async hostPort(service, containerPort) {
      const info = await (await container(networkOwner(service))).inspect();
      const binding = info.NetworkSettings.Ports[`${containerPort}/tcp`]?.[0];
      if (!binding) throw new Error(`${service}:${containerPort} is not published`);
      return Number(binding.HostPort);
    },
    async url(service, containerPort) {
      return `http://127.0.0.1:${await stack.hostPort(service, containerPort)}`;
    },
    async ip(service) {
      const info = await (await container(networkOwner(service))).inspect();
      const network = Object.entries(info.NetworkSettings.Networks).find(([name]) => name.endsWith('_mesh'));
      if (!network) throw new Error(`${service} is not on the mesh network`);
      return network[1].IPAddress;
    },
    async stop(service) {
      await (await container(service)).stop({ t: 5 });
    },
    async logs(service, options) {
      return containerLogs(await container(service), options);
    },
    async exec(service, command, user) {
      return execIn(await container(service), command, user);
    },
    async down() {
      await runProcess([...base, 'down', '-v', '--remove-orphans', '-t', '2'], { cwd: dir });
    },
  };
  return stack;
}

async function waitUntilReady(project: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending: string[] = [];
  while (Date.now() < deadline) {
    const containers = await docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${project}`] } });
    pending = [];
    for (const summary of containers) {
      const service = summary.Labels[SERVICE_LABEL] ?? summary.Id;
      const role = summary.Labels['dev.mesh-local.role'];
      if (summary.State === 'exited') {
        const { State } = await docker.getContainer(summary.Id).inspect();
        if (State.ExitCode !== 0) throw new Error(`${service} exited with ${State.ExitCode}`);
        if (role !== 'sidecar-init' && role !== 'job') throw new Error(`${service} exited`);
        continue;
      }
      if (summary.State !== 'running') pending.push(`${service} (${summary.State})`);
      else if (summary.Status.includes('(health: starting)')) pending.push(`${service} (starting)`);
      else if (summary.Status.includes('(unhealthy)')) throw new Error(`${service} is unhealthy`);
    }
    if (containers.length > 0 && pending.length === 0) return;
    await sleep(500);
  }
  throw new Error(`stack ${project} not ready after ${timeoutMs} ms; pending: ${pending.join(', ')}`);
}

async function composeLogs(base: string[]): Promise<string> {
  const result = await runProcess([...base, 'logs', '--no-color', '--tail', '15'], {});
  return result.stdout.split('\n').slice(-150).join('\n');
}

export type { ComposeVariant };

/** Retries `check` every 250 ms until it passes or the deadline; then its last failure is thrown. */
export async function eventually(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

/** Resolves once every URL answers `accept` (by default any 2xx), polling each 250 ms until the deadline. */
export async function untilAnswers(urls: string[], timeoutMs = 60_000, accept: (status: number) => boolean = (status) => status >= 200 && status < 300): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    for (;;) {
      const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((response) => response.status, () => 0);
      if (accept(status)) break;
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms (last status ${status || 'none'})`);
      await sleep(250);
    }
  }
}
