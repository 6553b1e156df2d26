import Docker from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_IMAGES } from '../src/model/image-sets.js';
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
    expect(second.stderr).toMatch(/sandbox set ready: 18 images \(18 unchanged\)/);
    expect(second.stderr).toContain('[1/18] mesh-local/etcd:sandbox: up to date');
  }, 900_000);

  it('lists every image as present, and the addons it leaves out as not in the set', async () => {
    const result = await runCli(['images', 'list', '--set', 'sandbox'], { cwd: await temporaryDirectory('images') });
    expect(result.code).toBe(0);
    const rows = result.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s{2,}/));
    expect(rows).toHaveLength(22);
    for (const row of rows) {
      if (['grafana', 'zipkin', 'servicegraph'].includes(row[0]!)) expect(row.slice(1)).toEqual(['-', 'not in this set', '-']);
      else expect(row[3], row[0]).toBe('yes');
    }
    expect(rows.find((row) => row[0] === 'pilot')).toEqual(['pilot', 'mesh-local/pilot-standin:sandbox', 'stand-in', 'yes']);
  });
});

describe('each sandbox image starts, answers its health endpoint and stops', () => {
  beforeAll(async () => {
    network = await docker.createNetwork({ Name: `mltest-smoke-${process.pid}`, Labels: LABEL });
  });
  afterAll(async () => {
    for (const container of started) await container.remove({ force: true }).catch(() => undefined);
    await network?.remove().catch(() => undefined);
  });

  const image = (key: keyof typeof SANDBOX_IMAGES) => SANDBOX_IMAGES[key]!.reference;

  it.each([
    ['consul', 8500, '/v1/status/leader'],
    ['eureka', 8080, '/eureka/v2/apps'],
    ['mixer', 9093, '/health'],
    ['ca', 8060, '/health'],
    ['productpage-v1', 9080, '/health'],
    ['details-v1', 9080, '/health'],
    ['ratings-v1', 9080, '/health'],
    ['reviews-v1', 9080, '/health'],
    ['reviews-v2', 9080, '/health'],
    ['reviews-v3', 9080, '/health'],
  ] as const)('%s answers %i%s', async (key, port, path) => {
    const container = await run(image(key), { env: [`PORT=${port}`] });
    await untilOk(() => exec(container, ['curl', '-fsS', `http://127.0.0.1:${port}${path}`]));
    await expectCleanStop(container);
  });

  it('etcd (real) answers its health check', async () => {
    const container = await run(image('etcd'), {
      cmd: ['etcd', '--data-dir=/tmp/etcd', '--listen-client-urls=http://0.0.0.0:2379', '--advertise-client-urls=http://127.0.0.1:2379'],
      alias: 'etcd',
    });
    const output = await untilOk(() => exec(container, ['env', 'ETCDCTL_API=3', 'etcdctl', 'endpoint', 'health']));
    expect(output).toContain('is healthy');
  });

  it('the API server stand-in is healthy on the real etcd', async () => {
    const container = await run(image('apiserver'), { env: ['PORT=8080', 'ETCD_URL=http://etcd:2379'], alias: 'istio-apiserver' });
    expect(await untilOk(() => exec(container, ['curl', '-fsS', 'http://127.0.0.1:8080/healthz']))).toBe('ok');
    await expectCleanStop(container);
  });

  it('the pilot stand-in exits non-zero when the API server is not reachable, as pilot does', async () => {
    const container = await run(image('pilot'), { env: ['PORT=15007', 'KUBE_API=http://nowhere.invalid:8080', 'PILOT_CRDS=routerules.config.istio.io'] });
    const { StatusCode } = await container.wait();
    expect(StatusCode).not.toBe(0);
  });

  it('prometheus (real) answers /-/healthy', async () => {
    const container = await run(image('prometheus'), { cmd: ['--config.file=/etc/prometheus/prometheus.yml'] });
    expect(await untilOk(() => exec(container, ['curl', '-fsS', 'http://127.0.0.1:9090/-/healthy']))).toContain('Healthy');
    await expectCleanStop(container);
  });

  it('the nginx proxy answers on its admin port as uid 1337', async () => {
    const container = await run(image('proxy'), { cmd: ['--service-cluster', 'smoke', '--inbound-ports', '9080'] });
    expect(await untilOk(() => exec(container, ['curl', '-fsS', 'http://127.0.0.1:15000/']))).toContain('smoke');
    expect((await exec(container, ['id', '-u'])).trim()).toBe('1337');
    await expectCleanStop(container);
  });

  it('the iptables init step installs its rules, exits 0, and can run again', async () => {
    const app = await run(image('proxy'), { cmd: ['--service-cluster', 'target', '--inbound-ports', '9080'] });
    for (const attempt of [1, 2]) {
      const init = await run(image('proxy-init'), {
        cmd: ['-p', '15001', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-b', '9080'],
        capAdd: ['NET_ADMIN'],
        networkMode: `container:${app.id}`,
      });
      const { StatusCode } = await init.wait();
      expect(StatusCode, `run ${attempt}`).toBe(0);
      const log = await logs(init);
      expect(log).toContain('-A ISTIO_INBOUND -p tcp -m tcp --dport 9080 -j ISTIO_REDIRECT');
      expect(log).toContain('-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN');
    }
  });

  it('the registrator starts against the socket read-only and stops cleanly', async () => {
    const consul = await run(image('consul'), { env: ['PORT=8500'], alias: 'consul' });
    await untilOk(() => exec(consul, ['curl', '-fsS', 'http://127.0.0.1:8500/v1/status/leader']));
    const registrator = await run(image('consul-registrator'), {
      cmd: ['node', '/opt/mesh-local/sandbox/registrator/main.js', '-internal', 'consul://consul:8500'],
      env: ['DOCKER_SOCKET=/tmp/docker.sock'],
      binds: ['/var/run/docker.sock:/tmp/docker.sock:ro'],
      user: '0',
    });
    await sleep(2000);
    expect((await registrator.inspect()).State.Running).toBe(true);
    await expectCleanStop(registrator);
  });
});

interface RunOptions {
  cmd?: string[];
  env?: string[];
  alias?: string;
  capAdd?: string[];
  networkMode?: string;
  binds?: string[];
  user?: string;
}

async function run(imageRef: string, options: RunOptions = {}): Promise<Docker.Container> {
  const container = await docker.createContainer({
    Image: imageRef,
    Cmd: options.cmd,
    Env: options.env,
    Labels: LABEL,
    User: options.user,
    HostConfig: {
      NetworkMode: options.networkMode ?? network.id,
      CapAdd: options.capAdd,
      Binds: options.binds,
    },
    ...(options.networkMode
      ? {}
      : { NetworkingConfig: { EndpointsConfig: { [network.id]: { Aliases: options.alias ? [options.alias] : [] } } } }),
  });
  started.push(container);
  await container.start();
  return container;
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

const logs = containerLogs;
