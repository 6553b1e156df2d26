import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerUnreachableError, PreflightError } from '../errors.js';
import { defaultSettings } from '../model/settings.js';
import {
  DEFAULT_MIN_FREE_BYTES,
  MIN_COMPOSE_VERSION,
  REQUIRED_KERNEL_MODULES,
  compareVersions,
  doctorPorts,
  formatDoctorReport,
  freeDiskBytes,
  portIsFree,
  readKernelModules,
  runDoctor,
  type DoctorCheck,
  type DoctorDeps,
} from './doctor.js';

const GiB = 1024 ** 3;

function fakeDeps(overrides: Partial<DoctorDeps> = {}): DoctorDeps {
  return {
    engineVersion: async () => '20.10.24',
    detectCompose: async () => ({ command: ['docker', 'compose'], major: 2, version: '2.24.5' }),
    kernelModules: async () => ({ loaded: new Set(REQUIRED_KERNEL_MODULES), available: new Set(), builtin: new Set() }),
    isPortFree: async () => true,
    freeDiskBytes: async () => 50 * GiB,
    ports: [
      { name: 'apiserver', host: '127.0.0.1', port: 8080 },
      { name: 'pilot', host: '127.0.0.1', port: 8081 },
    ],
    diskPath: '/var/lib/docker',
    ...overrides,
  };
}

const byName = (checks: DoctorCheck[], name: string) => {
  const check = checks.find((c) => c.name === name);
  expect(check, name).toBeDefined();
  return check!;
};

describe('runDoctor', () => {
  it('all ok', async () => {
    const report = await runDoctor(fakeDeps());
    expect(report.ok).toBe(true);
    expect(report.checks.every((check) => check.status === 'ok')).toBe(true);
    expect(report.checks.map((check) => check.name)).toEqual([
      'Docker Engine',
      'Compose',
      ...REQUIRED_KERNEL_MODULES.map((module) => `kernel module ${module}`),
      'host port 8080 (apiserver)',
      'host port 8081 (pilot)',
      'disk space at /var/lib/docker',
    ]);
    expect(formatDoctorReport(report).split('\n').slice(0, 3)).toEqual([
      'ok    Docker Engine 20.10.24',
      'ok    Compose 2.24.5 (docker compose, v2 plugin, the default with MESH_LOCAL_COMPOSE unset)',
      'ok    kernel module overlay loaded',
    ]);
  });

  it('engine down: fail with the error hint as fix, and the report is not ok', async () => {
    const report = await runDoctor(
      fakeDeps({
        engineVersion: async () => {
          throw new DockerUnreachableError('cannot reach the Docker Engine at unix:///var/run/docker.sock: connect ENOENT', {
            hint: 'start Docker or point DOCKER_HOST at a running engine',
          });
        },
      }),
    );
    expect(report.ok).toBe(false);
    expect(byName(report.checks, 'Docker Engine')).toEqual({
      name: 'Docker Engine',
      status: 'fail',
      detail: 'unreachable: cannot reach the Docker Engine at unix:///var/run/docker.sock: connect ENOENT',
      fix: 'start Docker or point DOCKER_HOST at a running engine',
    });
    // The other checks still ran.
    expect(byName(report.checks, 'Compose').status).toBe('ok');
  });

  it('engine down with a plain error still gets a fix', async () => {
    const report = await runDoctor(fakeDeps({ engineVersion: () => Promise.reject(new Error('ECONNREFUSED')) }));
    expect(byName(report.checks, 'Docker Engine')).toMatchObject({ status: 'fail', fix: expect.stringContaining('DOCKER_HOST') });
  });

  it('no compose: fail with an install hint', async () => {
    const report = await runDoctor(fakeDeps({ detectCompose: async () => undefined }));
    expect(report.ok).toBe(false);
    const check = byName(report.checks, 'Compose');
    expect(check.status).toBe('fail');
    expect(check.fix).toContain('Compose v2');
    expect(check.fix).toContain('scripts/ensure-compose.sh');
  });

  it('compose v1 chosen by MESH_LOCAL_COMPOSE is reported as such', async () => {
    const report = await runDoctor(
      fakeDeps({ detectCompose: async () => ({ command: ['docker-compose'], major: 1, version: '1.29.2', chosen: 'v1' }) }),
    );
    expect(byName(report.checks, 'Compose')).toEqual({
      name: 'Compose',
      status: 'ok',
      detail: '1.29.2 (docker-compose, v1 standalone, selected by MESH_LOCAL_COMPOSE=v1)',
    });
  });

  it("Debian 13's docker-compose is v2 under the standalone name", async () => {
    const report = await runDoctor(fakeDeps({ detectCompose: async () => ({ command: ['docker-compose'], major: 2, version: '2.26.1-4' }) }));
    expect(byName(report.checks, 'Compose').detail).toBe('2.26.1-4 (docker-compose, v2 standalone, the default with MESH_LOCAL_COMPOSE unset)');
  });

  it('refuses Compose older than 1.29.0, saying what the rendered files need and how to get v2', async () => {
    expect(MIN_COMPOSE_VERSION).toBe('1.29.0');
    const report = await runDoctor(fakeDeps({ detectCompose: async () => ({ command: ['docker-compose'], major: 1, version: '1.28.6' }) }));
    expect(report.ok).toBe(false);
    const check = byName(report.checks, 'Compose');
    expect(check.status).toBe('fail');
    expect(check.detail).toBe(
      '1.28.6 (docker-compose, v1 standalone, the default with MESH_LOCAL_COMPOSE unset) is older than 1.29.0, ' +
        'the first to accept `depends_on: condition: service_completed_successfully`, which the rendered files use',
    );
    expect(check.fix).toContain('bash scripts/ensure-compose.sh');
    expect(check.fix).toContain('apt-get install docker-compose');
    expect(formatDoctorReport({ checks: [check], ok: false })).toMatch(/^FAIL {2}Compose: 1\.28\.6 .* — fix: install Compose v2: /);
  });

  it('accepts exactly 1.29.0', async () => {
    const report = await runDoctor(fakeDeps({ detectCompose: async () => ({ command: ['docker-compose'], major: 1, version: '1.29.0' }) }));
    expect(byName(report.checks, 'Compose').status).toBe('ok');
  });

  it('a variant chosen by MESH_LOCAL_COMPOSE that is missing fails with the error and its hint', async () => {
    const report = await runDoctor(
      fakeDeps({
        detectCompose: () =>
          Promise.reject(new PreflightError('MESH_LOCAL_COMPOSE=v1 chose Compose v1 (`docker-compose`), but it does not run here', { hint: 'install docker-compose 1.29' })),
      }),
    );
    expect(report.ok).toBe(false);
    expect(byName(report.checks, 'Compose')).toEqual({
      name: 'Compose',
      status: 'fail',
      detail: 'MESH_LOCAL_COMPOSE=v1 chose Compose v1 (`docker-compose`), but it does not run here',
      fix: 'install docker-compose 1.29',
    });
  });

  it('a missing module warns with a modprobe fix; the report stays ok', async () => {
    const loaded = new Set<string>(REQUIRED_KERNEL_MODULES.filter((module) => module !== 'xt_owner'));
    const report = await runDoctor(fakeDeps({ kernelModules: async () => ({ loaded, available: new Set(), builtin: new Set() }) }));
    expect(report.ok).toBe(true);
    const check = byName(report.checks, 'kernel module xt_owner');
    expect(check.status).toBe('warn');
    expect(check.fix).toContain('modprobe xt_owner');
    expect(check.fix).toContain('nftables');
  });

  it('a loadable or built-in module is ok', async () => {
    const report = await runDoctor(
      fakeDeps({
        kernelModules: async () => ({
          loaded: new Set(['overlay', 'nf_nat']),
          available: new Set(['xt_REDIRECT', 'xt_owner', 'iptable_nat', 'iptable_mangle', 'iptable_filter']),
          builtin: new Set(['br_netfilter']),
        }),
      }),
    );
    expect(byName(report.checks, 'kernel module xt_REDIRECT')).toEqual({ name: 'kernel module xt_REDIRECT', status: 'ok', detail: 'loadable' });
    expect(byName(report.checks, 'kernel module br_netfilter')).toMatchObject({ status: 'ok', detail: 'built in' });
    expect(byName(report.checks, 'kernel module overlay')).toMatchObject({ status: 'ok', detail: 'loaded' });
  });

  it('unreadable module files are named in the warning', async () => {
    const report = await runDoctor(
      fakeDeps({
        kernelModules: async () => ({ loaded: new Set(['overlay']), available: new Set(), builtin: new Set(), unreadable: ['/lib/modules/x/modules.dep'] }),
      }),
    );
    expect(byName(report.checks, 'kernel module nf_nat')).toMatchObject({ status: 'warn', detail: 'not loaded, and /lib/modules/x/modules.dep unreadable' });
  });

  it('says once that nothing can be told when no module list is readable', async () => {
    const report = await runDoctor(
      fakeDeps({
        kernelModules: async () => ({ loaded: new Set(), available: new Set(), builtin: new Set(), unreadable: ['/proc/modules'] }),
      }),
    );
    const moduleChecks = report.checks.filter((check) => check.name.startsWith('kernel module'));
    expect(moduleChecks).toEqual([expect.objectContaining({ name: 'kernel modules', status: 'warn', detail: 'cannot tell: /proc/modules unreadable' })]);
    expect(report.ok).toBe(true);
  });

  it('a taken port fails, naming the port and the --port setting; port 0 is skipped', async () => {
    const asked: number[] = [];
    const report = await runDoctor(
      fakeDeps({
        isPortFree: async (_host, port) => {
          asked.push(port);
          return port !== 8080;
        },
        ports: [
          { name: 'apiserver', host: '127.0.0.1', port: 8080 },
          { name: 'gateway', host: '127.0.0.1', port: 0 },
        ],
      }),
    );
    expect(asked).toEqual([8080]);
    expect(report.ok).toBe(false);
    const check = byName(report.checks, 'host port 8080 (apiserver)');
    expect(check).toMatchObject({ status: 'fail', detail: 'in use on 127.0.0.1' });
    expect(check.fix).toContain('--port apiserver=');
    expect(report.checks.some((c) => c.name.includes('gateway'))).toBe(false);
    expect(formatDoctorReport({ checks: [check], ok: false })).toMatch(/^FAIL {2}host port 8080 \(apiserver\): in use on 127\.0\.0\.1 — fix: .*--port apiserver=/);
  });

  it('a port that cannot be probed warns instead of failing', async () => {
    const report = await runDoctor(fakeDeps({ isPortFree: () => Promise.reject(new Error('listen EACCES')) }));
    expect(report.ok).toBe(true);
    expect(byName(report.checks, 'host port 8080 (apiserver)')).toMatchObject({ status: 'warn' });
  });

  it('low disk warns; the default minimum is 2 GiB', async () => {
    expect(DEFAULT_MIN_FREE_BYTES).toBe(2 * GiB);
    const paths: string[] = [];
    const report = await runDoctor(
      fakeDeps({
        freeDiskBytes: async (path) => {
          paths.push(path);
          return 1.5 * GiB;
        },
      }),
    );
    expect(paths).toEqual(['/var/lib/docker']);
    expect(report.ok).toBe(true);
    expect(byName(report.checks, 'disk space at /var/lib/docker')).toMatchObject({
      status: 'warn',
      detail: '1.5 GiB free, less than 2.0 GiB',
    });
    const custom = await runDoctor(fakeDeps({ freeDiskBytes: async () => 1.5 * GiB, minFreeBytes: GiB }));
    expect(byName(custom.checks, 'disk space at /var/lib/docker').status).toBe('ok');
  });
});

describe('compareVersions', () => {
  it('compares release numbers and ignores Debian revisions and pre-release suffixes', () => {
    expect(compareVersions('2.26.1-4', '1.29.0')).toBe(1);
    expect(compareVersions('1.29.2', '1.29.0')).toBe(1);
    expect(compareVersions('1.29.0', '1.29.0')).toBe(0);
    expect(compareVersions('1.29', '1.29.0')).toBe(0);
    expect(compareVersions('1.28.6', '1.29.0')).toBe(-1);
    expect(compareVersions('1.9.0', '1.29.0')).toBe(-1);
    expect(compareVersions('1.29.0-rc1', '1.29.0')).toBe(0);
  });
});

describe('formatDoctorReport', () => {
  it('one line per check, labels padded', () => {
    expect(
      formatDoctorReport({
        ok: true,
        checks: [
          { name: 'Docker Engine', status: 'ok', detail: '20.10.24' },
          { name: 'kernel module xt_owner', status: 'warn', detail: 'not found', fix: 'modprobe xt_owner' },
        ],
      }),
    ).toBe('ok    Docker Engine 20.10.24\nWARN  kernel module xt_owner: not found — fix: modprobe xt_owner');
  });
});

describe('doctorPorts', () => {
  it('lists the published host ports of the settings on the host address', () => {
    const settings = { ...defaultSettings(), bookinfo: true, addons: ['zipkin' as const], hostAddress: '127.0.0.2' };
    expect(doctorPorts(settings)).toEqual([
      { name: 'apiserver', host: '127.0.0.2', port: 8080 },
      { name: 'pilot', host: '127.0.0.2', port: 8081 },
      { name: 'consul', host: '127.0.0.2', port: 8500 },
      { name: 'gateway', host: '127.0.0.2', port: 9081 },
      { name: 'zipkin', host: '127.0.0.2', port: 9411 },
    ]);
  });
});

describe('portIsFree (real sockets)', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('is false while a server listens and true once it closed', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    expect(await portIsFree('127.0.0.1', port)).toBe(false);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    expect(await portIsFree('127.0.0.1', port)).toBe(true);
  });
});

describe('freeDiskBytes', () => {
  it('reads the file system of a real path', async () => {
    expect(await freeDiskBytes(tmpdir())).toBeGreaterThan(0);
  });
});

describe('readKernelModules', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
    root = undefined;
  });

  it('reads loaded, built-in and loadable modules under a fake root', async () => {
    root = await mkdtemp(join(tmpdir(), 'mesh-local-doctor-'));
    const modulesDir = join(root, 'lib/modules/6.1.0-test');
    await mkdir(join(root, 'proc'), { recursive: true });
    await mkdir(modulesDir, { recursive: true });
    await writeFile(
      join(root, 'proc/modules'),
      [
        'overlay 151552 0 - Live 0x0000000000000000',
        'br_netfilter 32768 0 - Live 0x0000000000000000',
        'nf_nat 57344 2 xt_MASQUERADE,iptable_nat, Live 0x0000000000000000',
        '',
      ].join('\n'),
    );
    await writeFile(join(modulesDir, 'modules.builtin'), 'kernel/net/netfilter/x_tables.ko\nkernel/net/ipv4/netfilter/iptable-filter.ko\n');
    await writeFile(
      join(modulesDir, 'modules.dep'),
      [
        'kernel/net/netfilter/xt_REDIRECT.ko.zst: kernel/net/netfilter/nf_nat.ko.zst kernel/net/netfilter/x_tables.ko.zst',
        'kernel/net/netfilter/xt_owner.ko.xz: kernel/net/netfilter/x_tables.ko.xz',
        'kernel/net/ipv4/netfilter/iptable-mangle.ko:',
        'kernel/net/ipv4/netfilter/iptable_nat.ko: kernel/net/netfilter/nf_nat.ko',
        '',
      ].join('\n'),
    );

    const modules = await readKernelModules(root, { release: '6.1.0-test' });
    expect([...modules.loaded].sort()).toEqual(['br_netfilter', 'nf_nat', 'overlay']);
    expect([...modules.builtin].sort()).toEqual(['iptable_filter', 'x_tables']);
    expect([...modules.available].sort()).toEqual(['iptable_mangle', 'iptable_nat', 'xt_REDIRECT', 'xt_owner']);
    expect(modules.unreadable).toBeUndefined();

    const report = await runDoctor(fakeDeps({ kernelModules: () => readKernelModules(root, { release: '6.1.0-test' }) }));
    expect(report.checks.filter((check) => check.name.startsWith('kernel module')).every((check) => check.status === 'ok')).toBe(true);
  });

  it('missing files give empty sets and are listed, not thrown', async () => {
    root = await mkdtemp(join(tmpdir(), 'mesh-local-doctor-'));
    const modules = await readKernelModules(root, { release: '6.1.0-none' });
    expect(modules.loaded.size + modules.available.size + modules.builtin.size).toBe(0);
    expect(modules.unreadable).toEqual([
      '/proc/modules',
      '/lib/modules/6.1.0-none/modules.builtin',
      '/lib/modules/6.1.0-none/modules.dep',
    ]);
  });
});
