import { readFile, statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { release } from 'node:os';
import { join } from 'node:path';
import { MeshLocalError } from '../errors.js';
import { publishedPortNames, type Settings } from '../model/settings.js';
import { COMPOSE_ENV, type ComposeVariant } from '../runtime/compose-cli.js';

/**
 * `doctor`: checks this host can run a stack before `up` tries to. Every dependency is injected,
 * so tests need no Docker; `readKernelModules`, `portIsFree` and `freeDiskBytes` are the defaults.
 */

export interface KernelModules {
  /** Names in /proc/modules. */
  loaded: Set<string>;
  /** Modules modules.dep lists, i.e. ones `modprobe` (or the kernel's autoloader) can load. */
  available: Set<string>;
  /** Compiled into the kernel (modules.builtin); these never show in /proc/modules. */
  builtin: Set<string>;
  /** Files that could not be read, e.g. /lib/modules inside a container or on WSL. */
  unreadable?: string[];
}

export interface HostPortToCheck {
  /** The setting's name, as `--port NAME=...` takes it. */
  name: string;
  host: string;
  /** 0 lets the engine pick any free port; such ports are not checked. */
  port: number;
}

export interface DoctorDeps {
  /** Rejects when the Engine cannot be reached. */
  engineVersion(): Promise<string>;
  /** The variant `MESH_LOCAL_COMPOSE` selects; rejects when the chosen one is missing or the value is bad. */
  detectCompose(): Promise<ComposeVariant | undefined>;
  kernelModules(): Promise<KernelModules>;
  isPortFree(host: string, port: number): Promise<boolean>;
  freeDiskBytes(path: string): Promise<number>;
  ports: HostPortToCheck[];
  diskPath: string;
  /** Warn below this; 2 GiB when absent. */
  minFreeBytes?: number;
}

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  /** False when any check failed; warnings do not count. */
  ok: boolean;
}

export const DEFAULT_MIN_FREE_BYTES = 2 * 1024 ** 3;

/**
 * What transparent interception needs: istio-init writes iptables NAT rules (REDIRECT, owner
 * match to spare the proxy's own traffic), Docker needs overlay and br_netfilter.
 */
export const REQUIRED_KERNEL_MODULES = [
  'overlay',
  'br_netfilter',
  'nf_nat',
  'xt_REDIRECT',
  'xt_owner',
  'iptable_nat',
  'iptable_mangle',
  'iptable_filter',
] as const;

/** Runs every check; none stops the others, so one run shows everything to fix. */
export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const groups = await Promise.all([
    checkEngine(deps).then((check) => [check]),
    checkCompose(deps).then((check) => [check]),
    checkKernelModules(deps),
    Promise.all(deps.ports.filter((entry) => entry.port !== 0).map((entry) => checkPort(deps, entry))),
    checkDisk(deps).then((check) => [check]),
  ]);
  const checks = groups.flat();
  return { checks, ok: checks.every((check) => check.status !== 'fail') };
}

async function checkEngine(deps: DoctorDeps): Promise<DoctorCheck> {
  try {
    return { name: 'Docker Engine', status: 'ok', detail: await deps.engineVersion() };
  } catch (error) {
    return {
      name: 'Docker Engine',
      status: 'fail',
      detail: `unreachable: ${messageOf(error)}`,
      fix:
        error instanceof MeshLocalError && error.hint
          ? error.hint
          : 'start Docker, or point DOCKER_HOST at a running engine',
    };
  }
}

/**
 * The oldest Compose that accepts what the rendered and injected files use: `depends_on` with
 * `condition: service_completed_successfully` (sidecars wait for their init step, the control
 * plane for the config job). docker/compose's CHANGELOG.md, 1.29.0 (2021-04-06): "Add a
 * `depends_on` condition to wait for successful service completion" (PR #8122, commit 4daad056c,
 * which added the value to compose/config/compose_spec.json); 1.28.6's schema refuses it. Every
 * v2 release accepts it.
 */
export const MIN_COMPOSE_VERSION = '1.29.0';

const INSTALL_COMPOSE_V2 =
  'install Compose v2: on Debian 12 or 13 as root, `bash scripts/ensure-compose.sh` from a mesh-local checkout (`make engine` runs it; ' +
  'on Debian 13 `apt-get install docker-compose` is enough), elsewhere https://docs.docker.com/compose/install/';

async function checkCompose(deps: DoctorDeps): Promise<DoctorCheck> {
  let variant: ComposeVariant | undefined;
  try {
    variant = await deps.detectCompose();
  } catch (error) {
    // MESH_LOCAL_COMPOSE chose a variant that is not here, or has a bad value.
    return {
      name: 'Compose',
      status: 'fail',
      detail: messageOf(error),
      fix: error instanceof MeshLocalError && error.hint ? error.hint : `unset ${COMPOSE_ENV}`,
    };
  }
  if (!variant) {
    return {
      name: 'Compose',
      status: 'fail',
      detail: 'neither `docker compose` nor `docker-compose` runs',
      fix: INSTALL_COMPOSE_V2,
    };
  }
  const kind = `v${variant.major} ${variant.command.length > 1 ? 'plugin' : 'standalone'}`;
  const selected = variant.chosen ? `selected by ${COMPOSE_ENV}=${variant.chosen}` : `the default with ${COMPOSE_ENV} unset`;
  const detail = `${variant.version} (${variant.command.join(' ')}, ${kind}, ${selected})`;
  if (compareVersions(variant.version, MIN_COMPOSE_VERSION) < 0) {
    return {
      name: 'Compose',
      status: 'fail',
      detail:
        `${detail} is older than ${MIN_COMPOSE_VERSION}, the first to accept ` +
        '`depends_on: condition: service_completed_successfully`, which the rendered files use',
      fix: INSTALL_COMPOSE_V2,
    };
  }
  return { name: 'Compose', status: 'ok', detail };
}

/** Compares dotted release numbers; a suffix such as `-4` or `-rc1` after the numbers is ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => (/^\d+(?:\.\d+)*/.exec(version)?.[0] ?? '0').split('.').map(Number);
  const [left, right] = [parts(a), parts(b)];
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

async function checkKernelModules(deps: DoctorDeps): Promise<DoctorCheck[]> {
  let modules: KernelModules;
  try {
    modules = await deps.kernelModules();
  } catch (error) {
    return [
      {
        name: 'kernel modules',
        status: 'warn',
        detail: `could not read: ${messageOf(error)}`,
        fix: `check by hand that ${REQUIRED_KERNEL_MODULES.join(', ')} are loaded or built in`,
      },
    ];
  }
  const unreadable = modules.unreadable ?? [];
  const nothingKnown = modules.loaded.size + modules.builtin.size + modules.available.size === 0;
  if (nothingKnown && unreadable.length > 0) {
    // One line, not eight: with no module lists at all (a kernel with everything built in, or a
    // container without /proc/modules) nothing can be said per module.
    return [
      {
        name: 'kernel modules',
        status: 'warn',
        detail: `cannot tell: ${unreadable.join(', ')} unreadable`,
        fix: `make sure ${REQUIRED_KERNEL_MODULES.join(', ')} are loaded or built in; a running \`mesh-local bookinfo\` proves interception works`,
      },
    ];
  }
  return REQUIRED_KERNEL_MODULES.map((module): DoctorCheck => {
    const name = `kernel module ${module}`;
    const key = normaliseModuleName(module);
    if (modules.loaded.has(key)) return { name, status: 'ok', detail: 'loaded' };
    if (modules.builtin.has(key)) return { name, status: 'ok', detail: 'built in' };
    // The kernel loads netfilter modules on demand, even for rules written inside a container.
    if (modules.available.has(key)) return { name, status: 'ok', detail: 'loadable' };
    return {
      name,
      status: 'warn',
      detail: unreadable.length > 0 ? `not loaded, and ${unreadable.join(', ')} unreadable` : 'not found',
      // Not a failure: kernels differ in what they build in and under which name, iptables-nft
      // provides the xt_* matches through nftables' compat layer, and with Docker Desktop or a
      // remote DOCKER_HOST the engine's kernel is not this one.
      fix:
        `modprobe ${module} (as root); if there is no such module, the kernel may build it in ` +
        'differently or provide it through nftables compat, and interception can still work',
    };
  });
}

async function checkPort(deps: DoctorDeps, entry: HostPortToCheck): Promise<DoctorCheck> {
  const name = `host port ${entry.port} (${entry.name})`;
  const move = `--port ${entry.name}=<another port> (0 picks any free port)`;
  try {
    if (await deps.isPortFree(entry.host, entry.port)) return { name, status: 'ok', detail: `free on ${entry.host}` };
    return {
      name,
      status: 'fail',
      detail: `in use on ${entry.host}`,
      fix: `stop what listens on ${hostPort(entry.host, entry.port)} (a stack that is already up counts), or move it with ${move}`,
    };
  } catch (error) {
    // E.g. EACCES below 1024 for a non-root user: the engine binds as root and may well succeed.
    return { name, status: 'warn', detail: `could not check on ${entry.host}: ${messageOf(error)}`, fix: `if up fails to bind it, use ${move}` };
  }
}

async function checkDisk(deps: DoctorDeps): Promise<DoctorCheck> {
  const name = `disk space at ${deps.diskPath}`;
  const minimum = deps.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
  try {
    const free = await deps.freeDiskBytes(deps.diskPath);
    if (free >= minimum) return { name, status: 'ok', detail: `${formatBytes(free)} free` };
    return {
      name,
      status: 'warn',
      detail: `${formatBytes(free)} free, less than ${formatBytes(minimum)}`,
      fix: 'free some space, e.g. `docker system prune` for unused images and containers',
    };
  } catch (error) {
    return { name, status: 'warn', detail: `could not check: ${messageOf(error)}` };
  }
}

const STATUS_LABELS: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL' };

/**
 * One line per check: `ok    Docker Engine 20.10.24`, or for a problem
 * `FAIL  host port 8080 (apiserver): in use on 127.0.0.1 — fix: ...`.
 */
export function formatDoctorReport(report: DoctorReport): string {
  return report.checks
    .map((check) => {
      const label = STATUS_LABELS[check.status].padEnd(6);
      const detail = check.detail ? `${check.status === 'ok' ? ' ' : ': '}${check.detail}` : '';
      const fix = check.fix ? ` — fix: ${check.fix}` : '';
      return `${label}${check.name}${detail}${fix}`;
    })
    .join('\n');
}

/** The host ports a stack with these settings publishes, bound to its host address. */
export function doctorPorts(settings: Pick<Settings, 'registry' | 'addons' | 'bookinfo' | 'apps' | 'ports' | 'hostAddress'>): HostPortToCheck[] {
  return publishedPortNames(settings).map((name) => ({ name, host: settings.hostAddress, port: settings.ports[name] }));
}

/** modules.dep paths may spell a module with dashes; /proc/modules always uses underscores. */
export function normaliseModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

const MODULE_FILE = /\.ko(?:\.(?:xz|zst|gz))?$/;

function moduleNameOfPath(path: string): string | undefined {
  const file = path.trim().split('/').at(-1) ?? '';
  return MODULE_FILE.test(file) ? normaliseModuleName(file.replace(MODULE_FILE, '')) : undefined;
}

/**
 * Reads /proc/modules, /lib/modules/<release>/modules.builtin and modules.dep under `root`.
 * Missing files give empty sets (and are listed in `unreadable`), never an error.
 */
export async function readKernelModules(root = '/', options: { release?: string } = {}): Promise<KernelModules> {
  const kernelRelease = options.release ?? release();
  const modulesDir = `/lib/modules/${kernelRelease}`;
  const paths = ['/proc/modules', `${modulesDir}/modules.builtin`, `${modulesDir}/modules.dep`];
  const contents = await Promise.all(paths.map((path) => readFile(join(root, path), 'utf8').catch(() => undefined)));
  const unreadable = paths.filter((_, index) => contents[index] === undefined);
  const [procModules = '', builtinFile = '', depFile = ''] = contents;
  const names = (lines: string[]) => new Set(lines.filter((name) => name !== ''));
  return {
    loaded: names(procModules.split('\n').map((line) => normaliseModuleName(line.split(' ')[0] ?? ''))),
    builtin: names(builtinFile.split('\n').map((line) => moduleNameOfPath(line) ?? '')),
    // `kernel/net/netfilter/xt_REDIRECT.ko.zst: kernel/net/netfilter/x_tables.ko.zst ...`
    available: names(depFile.split('\n').map((line) => moduleNameOfPath(line.split(':')[0] ?? '') ?? '')),
    ...(unreadable.length > 0 ? { unreadable } : {}),
  };
}

/** Whether nothing listens on host:port now; rejects on errors other than EADDRINUSE. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(error);
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** Bytes a non-root user may still write on the file system holding `path`. */
export async function freeDiskBytes(path: string): Promise<number> {
  const stats = await statfs(path);
  return stats.bavail * stats.bsize;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
