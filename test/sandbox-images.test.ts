import Docker from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComposeService } from '../src/compose/compose-spec.js';
import { renderMesh } from '../src/compose/render.js';
import { SANDBOX_IMAGES, STANDS_IN_LABEL, type SandboxImage } from '../src/model/image-sets.js';
import { IMAGE_KEYS } from '../src/model/images.js';
import { ISTIO_VERSIONS } from '../src/model/istio-versions.js';
import { buildModel, resolveSettings } from '../src/model/settings.js';
import { findProgram, imageFacts } from '../src/model/upstream/facts.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { containerLogs, execIn } from './support/docker.js';

const docker = new Docker();
const LABEL = { 'dev.mesh-local.test': 'sandbox-images' };
const started: Docker.Container[] = [];
let network: Docker.Network;

// `make test` builds the set before the tests (from scratch on a fresh machine); building it
// here again must find every image up to date.
describe('mesh-local images build --set sandbox', () => {
  it('builds every image, and a second build with nothing changed rebuilds none', async () => {
    const cwd = await temporaryDirectory('images');
    const first = await runCli(['images', 'build', '--set', 'sandbox'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(['images', 'build'], { cwd });
    expect(second.code, second.stderr).toBe(0);
    const count = SANDBOX_IMAGES.length;
    expect(second.stderr).toMatch(new RegExp(`sandbox set ready: ${count} images \\(${count} unchanged\\)`));
    expect(second.stderr).toContain(`[1/${count}] mesh-local/node-runtime:sandbox: up to date`);
  }, 900_000);

  it.each(ISTIO_VERSIONS.map((version) => version.version))('lists every image of %s as present, and the addons it leaves out', async (version) => {
    const result = await runCli(['images', 'list', '--set', 'sandbox', '--istio-version', version], { cwd: await temporaryDirectory('images') });
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s{2,}/));
    expect(rows).toHaveLength(IMAGE_KEYS.length);
    for (const row of rows) {
      if (['grafana', 'zipkin', 'servicegraph'].includes(row[0]!)) expect(row.slice(1)).toEqual(['-', 'not in this set', '-']);
      else expect(row[3], row[0]).toBe('yes');
    }
    expect(rows.find((row) => row[0] === 'pilot')).toEqual(['pilot', `mesh-local/pilot-standin:${version}-sandbox`, 'stand-in', 'yes']);
  });
});

/**
 * What makes the sandbox run the upstream command lines: each image starts as the upstream one
 * (ENTRYPOINT, CMD), has a program at every path the upstream image runs, and has every tool it
 * says it has (the upstream check of healthchecks and scripts relies on that list).
 */
describe('each sandbox image starts like the upstream image it stands in for', () => {
  const standIns = SANDBOX_IMAGES.filter((image): image is SandboxImage & { standsInFor: string } => image.standsInFor !== null);

  it.each(standIns.map((image) => [image.reference, image] as const))('%s', async (_reference, image) => {
    const facts = imageFacts(image.standsInFor)!;
    const { Config } = await docker.getImage(image.reference).inspect();
    expect(Config.Labels?.[STANDS_IN_LABEL]).toBe(image.standsInFor);
    expect(Config.Entrypoint ?? []).toEqual(facts.entrypoint ?? []);
    expect(Config.Cmd ?? []).toEqual(image.cmdOverride?.cmd ?? facts.cmd ?? []);
    // BookInfo keeps its own CMD (the listed exception), so upstream's app programs are not there.
    const paths = image.cmdOverride ? [] : facts.programs.map((program) => program.path);
    const entrypoint = facts.entrypoint?.[0];
    const probe = [
      ...(entrypoint ? [`command -v "${entrypoint}" >/dev/null || echo "missing entrypoint ${entrypoint}"`] : []),
      ...paths.map((path) => `[ -x "${path}" ] || echo "missing program ${path}"`),
      ...image.tools.map((tool) => `command -v "${tool}" >/dev/null || echo "missing tool ${tool}"`),
      'true',
    ].join('; ');
    const output = await runOnce(image.reference, { entrypoint: ['/bin/sh', '-c', probe] });
    expect(output.logs.trim()).toBe('');
    expect(output.exitCode).toBe(0);
  });
});

/** Each case: an image, a command line, the exit code and the message the real binary gives. */
const REFUSALS: Array<{ what: string; image: string; entrypoint?: string[]; cmd: string[]; message: string | RegExp; exitCode?: number }> = [
  { what: "pilot 0.8.0, 1.0's --httpAddr", image: 'mesh-local/pilot-standin:0.8.0-sandbox', cmd: ['discovery', '--httpAddr', ':15007'], message: 'Error: unknown flag: --httpAddr' },
  { what: "pilot 0.6.0, 0.8's --grpcAddr", image: 'mesh-local/pilot-standin:0.6.0-sandbox', cmd: ['discovery', '--grpcAddr', ':15010'], message: 'Error: unknown flag: --grpcAddr' },
  { what: "mixs 0.6.0, 0.8's --address", image: 'mesh-local/mixer-standin:0.6.0-sandbox', cmd: ['--address', 'tcp://0.0.0.0:9091'], message: 'Error: unknown flag: --address' },
  { what: "istio_ca 0.6.0, 0.8's --append-dns-names", image: 'mesh-local/ca-standin:0.6.0-sandbox', cmd: ['--append-dns-names=true'], message: 'Error: unknown flag: --append-dns-names' },
  { what: 'kube-apiserver 1.7.3, an unknown flag', image: 'mesh-local/apiserver-standin:sandbox', cmd: ['kube-apiserver', '--no-such-flag'], message: /unknown flag: --no-such-flag/ },
  { what: 'consul agent, an unknown flag', image: 'mesh-local/consul-standin:sandbox', cmd: ['agent', '-no-such-flag'], message: /flag provided but not defined: -no-such-flag/ },
  { what: 'registrator, an unknown flag', image: 'mesh-local/consul-registrator:sandbox', cmd: ['-no-such-flag', 'consul://consul:8500'], message: 'flag provided but not defined: -no-such-flag' },
  { what: 'registrator, -resync in Go duration form', image: 'mesh-local/eureka-registrator:sandbox', cmd: ['-resync=5s', 'eureka://eureka:8080/eureka/v2'], message: /invalid value "5s" for flag -resync/ },
  { what: 'pilot-agent 0.8.0, an unknown flag', image: 'mesh-local/proxy-standin:0.8.0-sandbox', cmd: ['proxy', '--no-such-flag'], message: 'Error: unknown flag: --no-such-flag' },
  { what: "istio-iptables.sh 0.8.0, an option it lacks", image: 'mesh-local/proxy-init:0.8.0-sandbox', cmd: ['-z'], message: 'Invalid option: -z', exitCode: 1 },
  { what: "prepare_proxy.sh 0.6.0, 0.8's -m", image: 'mesh-local/proxy-init:0.6.0-sandbox', cmd: ['-p', '15001', '-u', '1337', '-m', 'REDIRECT'], message: 'Invalid option: -m', exitCode: 1 },
  { what: 'etcd (real), an unknown flag', image: 'mesh-local/etcd:sandbox', cmd: ['etcd', '--no-such-flag'], message: /flag provided but not defined: -no-such-flag/ },
  { what: 'prometheus (real), an unknown flag', image: 'mesh-local/prometheus:sandbox', cmd: ['--no-such-flag'], message: /unknown long flag '--no-such-flag'/ },
];

describe('the sandbox images refuse what the real binaries refuse, as they do', () => {
  it.each(REFUSALS.map((refusal) => [refusal.what, refusal] as const))('%s', async (_what, refusal) => {
    const image = SANDBOX_IMAGES.find((candidate) => candidate.reference === refusal.image)!;
    const facts = imageFacts(image.standsInFor!)!;
    const program = findProgram(facts, (refusal.entrypoint ?? facts.entrypoint ?? refusal.cmd)[0]!);
    const result = await runOnce(refusal.image, { cmd: refusal.cmd });
    expect(result.logs).toMatch(typeof refusal.message === 'string' ? new RegExp(escapeRegExp(refusal.message)) : refusal.message);
    // The stand-ins exit with the code the facts give the upstream program; real binaries with their own.
    const expected = refusal.exitCode ?? (image.nature === 'real' ? undefined : program?.refusal.exitCode);
    if (expected !== undefined) expect(result.exitCode).toBe(expected);
    else expect(result.exitCode).not.toBe(0);
  });
});

/** The rendered documents of both versions, for running single services with their real command lines. */
function renderedServices(istioVersion: string, registry: 'consul' | 'eureka') {
  const { settings } = resolveSettings({ env: {}, flags: { istioVersion, registry, imageSet: 'sandbox', bookinfo: true, addons: 'prometheus' } });
  return renderMesh(buildModel(settings)).document.services;
}

describe('each sandbox image serves with the command line mesh-local renders for it', () => {
  beforeAll(async () => {
    network = await docker.createNetwork({ Name: `mltest-smoke-${process.pid}`, Labels: LABEL });
  });
  afterAll(async () => {
    for (const container of started) await container.remove({ force: true }).catch(() => undefined);
    await network?.remove().catch(() => undefined);
  });

  for (const version of ISTIO_VERSIONS.map((entry) => entry.version)) {
    it(`Istio ${version}: Mixer, the CA, Consul and Eureka answer with their rendered commands`, async () => {
      const consul = renderedServices(version, 'consul');
      const eureka = renderedServices(version, 'eureka');
      const mixerPort = ISTIO_VERSIONS.find((entry) => entry.version === version)!.mixer.monitoringPort;
      const checks: Array<[ComposeService, string]> = [
        [consul['istio-mixer']!, `http://127.0.0.1:${mixerPort}/health`],
        [consul['istio-ca']!, 'http://127.0.0.1:8060/health'],
        [consul.consul!, 'http://127.0.0.1:8500/v1/status/leader'],
        [eureka.eureka!, 'http://127.0.0.1:8080/eureka/v2/apps'],
      ];
      for (const [service, url] of checks) {
        const container = await runService(service);
        await untilOk(() => exec(container, ['curl', '-fsS', url]));
        await expectCleanStop(container);
      }
    });
  }

  it('BookInfo answers /health on 9080 with no command and no PORT, as upstream', async () => {
    const services = renderedServices('0.8.0', 'consul');
    for (const name of ['productpage-v1', 'details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3']) {
      const container = await runService(services[name]!);
      await untilOk(() => exec(container, ['curl', '-fsS', 'http://127.0.0.1:9080/health']));
      await expectCleanStop(container);
    }
  });

  it('etcd (real) and the API server stand-in on it are healthy with their rendered commands and healthchecks', async () => {
    const services = renderedServices('0.8.0', 'consul');
    const etcd = await runService(services.etcd!, 'etcd');
    expect(await untilOk(() => exec(etcd, services.etcd!.healthcheck!.test.slice(1)))).toContain('is healthy');
    const apiserver = await runService(services['istio-apiserver']!, 'istio-apiserver');
    await untilOk(() => exec(apiserver, services['istio-apiserver']!.healthcheck!.test.slice(1)));
    expect(await exec(apiserver, ['curl', '-fsS', 'http://127.0.0.1:8080/healthz'])).toBe('ok');
    await expectCleanStop(apiserver);
  });

  it('the pilot stand-in exits non-zero when the API server is not reachable, as pilot does', async () => {
    const pilot = renderedServices('0.8.0', 'consul')['istio-pilot']!;
    const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster:\n    server: http://nowhere.invalid:8080\ncontexts:\n- name: x\n  context:\n    cluster: x\ncurrent-context: x\n`;
    const command = pilot.command!.map((arg) => (arg === '/etc/istio/config/kubeconfig' ? '/tmp/kubeconfig' : arg));
    const result = await runOnce(pilot.image, {
      entrypoint: ['/bin/sh', '-c', `printf '%s' "$KUBECONFIG_TEXT" > /tmp/kubeconfig && exec /usr/local/bin/pilot-discovery "$@"`, 'pilot'],
      cmd: command,
      env: [`KUBECONFIG_TEXT=${kubeconfig}`],
    });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toContain('cannot reach the API server at http://nowhere.invalid:8080');
  });

  it('prometheus (real) answers /-/healthy with the rendered command', async () => {
    const container = await runService({ ...renderedServices('0.8.0', 'consul').prometheus!, volumes: [], command: ['--config.file=/etc/prometheus/prometheus.yml'] });
    expect(await untilOk(() => exec(container, ['wget', '-q', '-O', '-', 'http://127.0.0.1:9090/-/healthy']))).toContain('Healthy');
    await expectCleanStop(container);
  });

  it.each(ISTIO_VERSIONS.map((entry) => entry.version))('Istio %s: the proxy runs as uid 1337 and answers its healthcheck', async (version) => {
    const proxy = renderedServices(version, 'consul')['details-v1-istio-proxy']!;
    const container = await runService(proxy);
    expect(await untilOk(() => exec(container, proxy.healthcheck!.test.slice(1)).then(() => exec(container, ['curl', '-fsS', 'http://127.0.0.1:15000/'])))).toContain('details-v1');
    expect((await exec(container, ['id', '-u'])).trim()).toBe('1337');
    expect(await logs(container)).toContain('pilot-agent stand-in: cluster details-v1; asking pilot at istio-pilot:');
    await expectCleanStop(container);
  });

  it('Istio 0.8.0: istio-iptables.sh installs its rules, exits 0, and can run again', async () => {
    const init = renderedServices('0.8.0', 'consul')['details-v1-istio-init']!;
    const app = await runService(renderedServices('0.8.0', 'consul')['details-v1']!);
    for (const attempt of [1, 2]) {
      const result = await runOnce(init.image, { cmd: init.command!, capAdd: ['NET_ADMIN'], networkMode: `container:${app.id}` });
      expect(result.exitCode, `run ${attempt}: ${result.logs}`).toBe(0);
      expect(result.logs).toContain('-A ISTIO_INBOUND -p tcp -m tcp --dport 9080 -j ISTIO_REDIRECT');
      expect(result.logs).toContain('-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN');
    }
  });

  it("Istio 0.6.0: prepare_proxy.sh fails when run again, as upstream's; the rendered wrapper makes it re-runnable", async () => {
    const init = renderedServices('0.6.0', 'consul')['details-v1-istio-init']!;
    const bare = await runService(renderedServices('0.6.0', 'consul')['details-v1']!);
    const direct = (attempt: number) => runOnce(init.image, { cmd: init.command!, capAdd: ['NET_ADMIN'], networkMode: `container:${bare.id}` }).then((result) => ({ attempt, ...result }));
    expect((await direct(1)).exitCode).toBe(0);
    const again = await direct(2);
    expect(again.exitCode).not.toBe(0);
    expect(again.logs).toContain('Chain already exists');

    const app = await runService(renderedServices('0.6.0', 'consul')['ratings-v1']!);
    for (const attempt of [1, 2]) {
      const result = await runOnce(init.image, {
        entrypoint: init.entrypoint!.map((part) => part.replaceAll('$$', '$')),
        cmd: init.command!,
        capAdd: ['NET_ADMIN'],
        networkMode: `container:${app.id}`,
      });
      expect(result.exitCode, `run ${attempt}: ${result.logs}`).toBe(0);
      expect(result.logs).toContain('redirecting inbound [*] and outbound [*] TCP to :15001');
    }
  });

  it.each(['consul', 'eureka'] as const)('the %s registrator starts with its rendered command and stops cleanly', async (registry) => {
    const services = renderedServices('0.8.0', registry);
    await runService(services[registry]!, registry);
    // The engine's socket, read-only, in place of the project's Docker API view (which
    // test/registrator-isolation.test.ts runs in a whole stack).
    const rendered = services.registrator!;
    const registrator = await runService({
      ...rendered,
      environment: { ...rendered.environment, DOCKER_HOST: 'unix:///tmp/docker.sock' },
      volumes: ['/var/run/docker.sock:/tmp/docker.sock:ro'],
    });
    await sleep(2000);
    expect((await registrator.inspect()).State.Running, await logs(registrator)).toBe(true);
    expect(await logs(registrator)).toContain(`registrator: using ${registry} at http://${registry}:`);
    await expectCleanStop(registrator);
  });
});

interface RunOptions {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  alias?: string;
  capAdd?: string[];
  capDrop?: string[];
  networkMode?: string;
  binds?: string[];
  user?: string;
}

/** Runs a rendered service's image with its entrypoint, command, environment, user and capabilities. */
async function runService(service: ComposeService, alias?: string): Promise<Docker.Container> {
  return run(service.image, {
    ...(service.entrypoint ? { entrypoint: service.entrypoint.map((part) => part.replaceAll('$$', '$')) } : {}),
    ...(service.command ? { cmd: service.command } : {}),
    env: Object.entries(service.environment ?? {}).map(([key, value]) => `${key}=${value}`),
    ...(alias ? { alias } : {}),
    ...(service.user ? { user: service.user } : {}),
    ...(service.cap_add ? { capAdd: service.cap_add } : {}),
    ...(service.cap_drop ? { capDrop: service.cap_drop } : {}),
    binds: (service.volumes ?? []).filter((volume) => volume.startsWith('/')),
  });
}

async function run(imageRef: string, options: RunOptions = {}): Promise<Docker.Container> {
  const container = await docker.createContainer({
    Image: imageRef,
    ...(options.entrypoint ? { Entrypoint: options.entrypoint } : {}),
    ...(options.cmd ? { Cmd: options.cmd } : {}),
    Env: options.env,
    Labels: LABEL,
    User: options.user,
    HostConfig: {
      NetworkMode: options.networkMode ?? network?.id ?? 'bridge',
      CapAdd: options.capAdd,
      CapDrop: options.capDrop,
      Binds: options.binds,
    },
    ...(options.networkMode || !network
      ? {}
      : { NetworkingConfig: { EndpointsConfig: { [network.id]: { Aliases: options.alias ? [options.alias] : [] } } } }),
  });
  started.push(container);
  await container.start();
  return container;
}

/** Runs a container to its end; its exit code and output. */
async function runOnce(imageRef: string, options: RunOptions): Promise<{ exitCode: number; logs: string }> {
  const container = await run(imageRef, options);
  const { StatusCode } = await container.wait();
  return { exitCode: StatusCode, logs: await logs(container) };
}

const exec = (container: Docker.Container, command: string[]) => execIn(container, command);

async function untilOk<T>(attempt: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(300);
    }
  }
}

/** docker stop sends SIGTERM; every program must exit 0 on it, well before the kill. */
async function expectCleanStop(container: Docker.Container): Promise<void> {
  await container.stop({ t: 10 });
  const { State } = await container.inspect();
  expect(State.ExitCode).toBe(0);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const logs = containerLogs;
