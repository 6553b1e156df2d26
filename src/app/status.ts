import { alignColumns } from '../output/columns.js';
import { POD_ROLE } from '../compose/sidecar.js';
import type { ContainerInfo, PublishedPort } from '../runtime/containers.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { detachedMembers } from './pods.js';

/**
 * `status`: one row per app or infrastructure service, like `kubectl get pods`. An app's sidecar
 * containers (init and proxy) are folded into the app's row, the way a pod holds its containers.
 */

export interface StatusRow {
  /** The Compose service the row is about; for an app, the app's service (not its sidecars'). */
  name: string;
  kind: 'infrastructure' | 'app';
  /** Role label of the row's own container(s); undefined when only sidecars were found. */
  role: string | undefined;
  /** Long-running containers that run and are not unhealthy. */
  ready: number;
  /** Long-running containers: every container but the sidecar init and one-shot jobs. */
  total: number;
  status: string;
  restarts: number;
  /** Seconds since the oldest container of the row started (or was created). */
  ageSeconds: number;
  ports: PublishedPort[];
  /** Compose services of every container folded into the row, the row's own first. */
  services: string[];
  /** Why the row is not ready although its containers run (a member out of its pod's namespace). */
  problems: string[];
  /** For an app `deploy` started in this mesh: the Compose project it runs under (absent for the project's own rows). */
  deployedAs?: string;
}

/** Roles whose containers are expected to stop: they never count toward READY. */
const ONE_SHOT_ROLES = new Set(['sidecar-init', 'job']);
/** Pod members folded into their app's row; the pod's pause container never counts toward READY, as in Kubernetes. */
const SIDECAR_ROLES = new Set(['sidecar-init', 'sidecar-proxy', POD_ROLE]);

export function statusRows(containers: ContainerInfo[], now: Date): StatusRow[] {
  const groups = new Map<string, ContainerInfo[]>();
  for (const container of containers) {
    // A sidecar without `sidecar-for` cannot be folded anywhere; it gets its own row.
    const key = SIDECAR_ROLES.has(container.role ?? '') && container.sidecarFor ? container.sidecarFor : container.service;
    groups.set(key, [...(groups.get(key) ?? []), container]);
  }
  const rows = [...groups].map(([name, members]) => rowFor(name, members, now));
  return rows.sort(compareRows);
}

/**
 * The rows of `status --project <mesh>`: the project's own, then those of every app deployed into
 * it (`deploy` labels them DEPLOYED_INTO), grouped by the Compose project each runs under and
 * marked with it in `deployedAs`.
 */
export async function projectStatusRows(
  engine: Pick<DockerEngine, 'projectContainers' | 'labelledContainers'>,
  project: string,
  now: Date,
  signal?: AbortSignal,
): Promise<StatusRow[]> {
  const [own, deployed] = await Promise.all([engine.projectContainers(project, signal), engine.labelledContainers(DEPLOYED_INTO, project, signal)]);
  const byProject = new Map<string, ContainerInfo[]>();
  for (const container of deployed) {
    if (container.project === project) continue;
    byProject.set(container.project, [...(byProject.get(container.project) ?? []), container]);
  }
  const rows = statusRows(own, now);
  for (const [appsProject, containers] of [...byProject].sort(([a], [b]) => a.localeCompare(b))) {
    rows.push(...statusRows(containers, now).map((row) => ({ ...row, deployedAs: appsProject })));
  }
  return rows;
}

/** Label `deploy` puts on what it starts: the mesh project it was deployed into (deploy.ts DEPLOYED_INTO_LABEL). */
const DEPLOYED_INTO = 'dev.mesh-local.deployed-into';

function rowFor(name: string, members: ContainerInfo[], now: Date): StatusRow {
  const own = members.filter((c) => c.service === name && !(SIDECAR_ROLES.has(c.role ?? '') && c.sidecarFor));
  const inits = members.filter((c) => c.role === 'sidecar-init' && !own.includes(c));
  const proxies = members.filter((c) => c.role === 'sidecar-proxy' && !own.includes(c));
  const pod = members.find((c) => c.role === POD_ROLE && !own.includes(c));
  const found = pod ? detachedMembers({ app: name, pod, init: inits[0], proxy: proxies[0], appContainer: own[0] }) : [];
  const problems = found.map((entry) => entry.problem);
  const detached = new Set(found.map((entry) => entry.member.id));
  // Uncaptured traffic (rules from an older namespace) makes every member not ready.
  const uncaptured = found.some((entry) => entry.member.role === 'sidecar-init');
  // Own containers first, then the proxy: the order `Exited (N)` picks from.
  const longRunning = [...own, ...proxies].filter((c) => !ONE_SHOT_ROLES.has(c.role ?? ''));
  const jobs = own.filter((c) => c.role === 'job');
  const role = own[0]?.role;
  // Orphaned sidecars (their app container is gone) still belong to an app.
  const kind = role === 'app' || own.length === 0 ? 'app' : 'infrastructure';

  const oldest = Math.min(...members.map((c) => (c.startedAt ?? c.createdAt).getTime()));
  return {
    name,
    kind,
    role,
    ready: longRunning.filter((c) => isReady(c) && !detached.has(c.id) && !uncaptured).length,
    total: longRunning.length,
    status: problems.length > 0 && !longRunning.some((c) => c.state !== 'running') ? 'Detached' : statusOf(inits, longRunning, jobs, pod),
    restarts: members.reduce((sum, c) => sum + c.restartCount, 0),
    ageSeconds: Math.floor((now.getTime() - oldest) / 1000),
    ports: uniquePorts(members.flatMap((c) => c.ports)),
    services: [...new Set([...own, ...inits, ...proxies, ...members].map((c) => c.service))],
    problems,
  };
}

function isReady(container: ContainerInfo): boolean {
  return container.state === 'running' && container.health !== 'unhealthy';
}

/**
 * A guard ladder, most telling first: a failed init container explains everything after it,
 * then a container that cannot stay up, then one that stopped, then pending init, then health.
 */
function statusOf(inits: ContainerInfo[], longRunning: ContainerInfo[], jobs: ContainerInfo[], pod?: ContainerInfo): string {
  const failedInit = inits.find((c) => c.state === 'exited' && (c.exitCode ?? 0) !== 0);
  if (failedInit) return `Init:Error (${failedInit.exitCode})`;
  if (longRunning.length === 0 && jobs.length > 0) return jobStatus(jobs);

  const all = [...longRunning, ...jobs];
  if (all.some((c) => c.state === 'restarting')) return 'Restarting';
  const exited = longRunning.find((c) => c.state === 'exited' && (c.exitCode ?? 0) !== 0) ?? longRunning.find((c) => c.state === 'exited');
  if (exited) return exited.exitCode === undefined ? 'Exited' : `Exited (${exited.exitCode})`;
  // Compose starts the pod, then the init container, then the proxy once init succeeded, then
  // the app; a pod that is not running explains everything after it.
  if (pod && pod.state !== 'running') return `Pod:${capitalise(pod.state)}`;
  if (inits.some((c) => c.state !== 'exited')) return `Init:0/${inits.length}`;
  if (all.some((c) => c.state === 'dead')) return 'Dead';
  if (all.some((c) => c.state === 'removing')) return 'Terminating';
  if (all.some((c) => c.state === 'paused')) return 'Paused';
  if (all.some((c) => c.state === 'created')) return 'Created';
  if (longRunning.length === 0) return 'Unknown';
  if (longRunning.some((c) => c.health === 'unhealthy')) return 'Running (unhealthy)';
  if (longRunning.some((c) => c.health === 'starting')) return 'Starting';
  return 'Running';
}

function jobStatus(jobs: ContainerInfo[]): string {
  const failed = jobs.find((c) => c.state === 'exited' && (c.exitCode ?? 0) !== 0);
  if (failed) return `Error (${failed.exitCode})`;
  if (jobs.some((c) => c.state === 'restarting')) return 'Restarting';
  if (jobs.every((c) => c.state === 'exited')) return 'Completed';
  if (jobs.some((c) => c.state === 'running')) return 'Running';
  if (jobs.some((c) => c.state === 'created')) return 'Created';
  return capitalise(jobs[0]!.state);
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** The Engine lists a port once per address family; keep one entry per binding. */
function uniquePorts(ports: PublishedPort[]): PublishedPort[] {
  const seen = new Set<string>();
  return ports.filter((port) => {
    const key = formatPort(port);
    if (port.hostPort <= 0 || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function compareRows(a: StatusRow, b: StatusRow): number {
  if (a.kind !== b.kind) return a.kind === 'infrastructure' ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** kubectl's short human duration: `45s`, `3m`, `2h`, `4d`, `2y`; the largest whole unit only. */
export function formatAge(seconds: number): string {
  // A container started a moment "in the future" is clock skew between host and engine.
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 365) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}

/** `127.0.0.1:9081->9080`; IPv6 addresses in brackets. */
export function formatPort(port: PublishedPort): string {
  const host = port.hostIp === '' ? '' : port.hostIp.includes(':') ? `[${port.hostIp}]:` : `${port.hostIp}:`;
  return `${host}${port.hostPort}->${port.containerPort}`;
}

const COLUMNS = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'PORTS'] as const;
/** kubectl's tabwriter padding between columns. */
const GAP = 3;

/**
 * The table `status` prints; the header alone when there are no rows. Rows of deployed apps follow
 * the project's own, under a `deployed as project <name>:` line per Compose project, in columns
 * shared with the rest.
 */
export function formatStatusTable(rows: StatusRow[]): string {
  const own = rows.filter((row) => row.deployedAs === undefined);
  const groups = [...new Set(rows.map((row) => row.deployedAs).filter((name): name is string => name !== undefined))];
  const lines = alignedLines([...own, ...groups.flatMap((name) => rows.filter((row) => row.deployedAs === name))]);
  const header = lines[0]!;
  const out = [header, ...lines.slice(1, own.length + 1)];
  let next = own.length + 1;
  for (const name of groups) {
    const count = rows.filter((row) => row.deployedAs === name).length;
    out.push('', `deployed as project ${name}:`, ...lines.slice(next, next + count));
    next += count;
  }
  return out.join('\n');
}

function alignedLines(rows: StatusRow[]): string[] {
  const cells = [
    [...COLUMNS],
    ...rows.map((row) => [
      row.name,
      `${row.ready}/${row.total}`,
      row.status,
      String(row.restarts),
      formatAge(row.ageSeconds),
      row.ports.map(formatPort).join(','),
    ]),
  ];
  return alignColumns(cells, GAP);
}

/**
 * Lines under the table for rows that are not ready though their containers run, with the repair;
 * empty when there are none.
 */
export function formatStatusProblems(rows: StatusRow[], project: string): string {
  const lines = rows.flatMap((row) => row.problems.map((problem) => `  ${row.name}: ${problem}`));
  if (lines.length === 0) return '';
  return `\nnot ready:\n${lines.join('\n')}\nrepair: mesh-local up --project ${project} (or bookinfo) recreates what is detached\n`;
}

/** One entry of `status --json`. */
export interface StatusJson {
  name: string;
  kind: 'infrastructure' | 'app';
  role: string | null;
  ready: number;
  total: number;
  status: string;
  restarts: number;
  age: string;
  ageSeconds: number;
  ports: { hostIp: string; hostPort: number; containerPort: number }[];
  services: string[];
  problems: string[];
  /** Present on apps `deploy` started in this mesh: their Compose project. */
  deployedAs?: string;
}

/** Plain data for `--json`: no Dates, no undefined, stable key order. */
export function statusJson(rows: StatusRow[]): StatusJson[] {
  return rows.map((row) => ({
    name: row.name,
    kind: row.kind,
    role: row.role ?? null,
    ready: row.ready,
    total: row.total,
    status: row.status,
    restarts: row.restarts,
    age: formatAge(row.ageSeconds),
    ageSeconds: row.ageSeconds,
    ports: row.ports.map((port) => ({ hostIp: port.hostIp, hostPort: port.hostPort, containerPort: port.containerPort })),
    services: [...row.services],
    problems: [...row.problems],
    ...(row.deployedAs !== undefined ? { deployedAs: row.deployedAs } : {}),
  }));
}
