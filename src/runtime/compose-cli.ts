import { spawn } from 'node:child_process';
import { ComposeCommandError, PreflightError, UsageError } from '../errors.js';

/** Which Compose CLI runs the stacks: the v2 plugin (`docker compose`) or standalone v1. */
export interface ComposeVariant {
  /** argv prefix, e.g. `['docker', 'compose']` or `['docker-compose']`. */
  command: readonly string[];
  major: 1 | 2;
  version: string;
  /** Set when `MESH_LOCAL_COMPOSE` chose this variant rather than the default order. */
  chosen?: ComposeChoice;
}

/** Picks the Compose CLI: `v1` or `v2`; unset or empty means v2 when present, else v1. */
export const COMPOSE_ENV = 'MESH_LOCAL_COMPOSE';
export const COMPOSE_CHOICES = ['v1', 'v2'] as const;
export type ComposeChoice = (typeof COMPOSE_CHOICES)[number];

const COMPOSE_COMMANDS: Record<ComposeChoice, readonly string[]> = {
  v2: ['docker', 'compose'],
  v1: ['docker-compose'],
};

export interface ProcessResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export type RunProcess = (
  argv: readonly string[],
  options: { cwd?: string; signal?: AbortSignal; env?: Readonly<Record<string, string | undefined>> },
) => Promise<ProcessResult>;

/**
 * Spawns without a shell and settles on 'close', when all output has been read. `env` is laid
 * over this process's environment (PATH, DOCKER_HOST... stay).
 */
export const runProcess: RunProcess = (argv, options) =>
  new Promise((resolve, reject) => {
    const env = options.env ? { ...process.env, ...options.env } : undefined;
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, signal: options.signal, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });

/** `MESH_LOCAL_COMPOSE` read from `env`; a value other than v1, v2 or empty is a usage error. */
export function composeChoice(env: Readonly<Record<string, string | undefined>>): ComposeChoice | undefined {
  const raw = env[COMPOSE_ENV]?.trim();
  if (!raw) return undefined;
  const choice = COMPOSE_CHOICES.find((name) => name === raw.toLowerCase());
  if (!choice) {
    throw new UsageError(`${COMPOSE_ENV}=${raw}: expected ${COMPOSE_CHOICES.join(' or ')}`, {
      hint: `${COMPOSE_ENV}=v2 runs \`docker compose\`, ${COMPOSE_ENV}=v1 runs \`docker-compose\`; unset, v2 when present, else v1`,
    });
  }
  return choice;
}

/**
 * Finds the Compose CLI named by `MESH_LOCAL_COMPOSE` in `env`, or with it unset
 * `docker compose` (v2) when present, else `docker-compose` (v1). Returns undefined when none runs
 * and nothing was chosen; a chosen variant that does not run is an error saying so.
 */
export async function detectCompose(
  env: Readonly<Record<string, string | undefined>> = {},
  run: RunProcess = runProcess,
): Promise<ComposeVariant | undefined> {
  const chosen = composeChoice(env);
  if (chosen === undefined) {
    for (const choice of ['v2', 'v1'] as const) {
      const variant = await probeCompose(COMPOSE_COMMANDS[choice], run);
      if (variant) return variant;
    }
    return undefined;
  }
  const command = COMPOSE_COMMANDS[chosen];
  const variant = await probeCompose(command, run);
  const wanted = chosen === 'v2' ? 2 : 1;
  if (variant?.major === wanted) return { ...variant, chosen };
  // On Debian 13, `docker-compose` is a symlink to the v2 plugin: present, but not v1.
  const found = variant ? `it is Compose ${variant.version}` : 'it does not run here';
  throw new PreflightError(`${COMPOSE_ENV}=${chosen} chose Compose ${chosen} (\`${command.join(' ')}\`), but ${found}`, {
    hint:
      chosen === 'v2'
        ? `install the Compose v2 plugin (on Debian, as root: bash scripts/ensure-compose.sh from a mesh-local checkout), or unset ${COMPOSE_ENV}`
        : `install docker-compose 1.29 (Debian 12: apt-get install docker-compose; Debian 13 has no v1), or unset ${COMPOSE_ENV}`,
  });
}

/** `<command> version --short`, e.g. `1.29.2` or `2.26.1-4` (some v2 builds print a leading v). */
async function probeCompose(command: readonly string[], run: RunProcess): Promise<ComposeVariant | undefined> {
  const result = await run([...command, 'version', '--short'], {}).catch(() => undefined);
  if (result?.exitCode !== 0) return undefined;
  const version = result.stdout.trim().replace(/^v/, '');
  return { command, major: version.startsWith('1.') ? 1 : 2, version };
}

/** What Compose itself makes of a file: the project after includes, extends, profiles and interpolation. */
export interface ComposeConfigReader {
  readonly variant: ComposeVariant;
  /**
   * Compose v2's `--profile '*' -f FILE -p PROJECT config --format json` run in `projectDirectory`
   * with `env` laid over the environment: every service of every profile, `include:` and `extends`
   * resolved, `.env` and environment interpolated, ports in long syntax (`target` a number). Returns
   * the parsed JSON. Compose v1 has no JSON output: UsageError. A file Compose rejects:
   * ComposeCommandError with its stderr.
   */
  effectiveConfig(
    file: string,
    options: { projectDirectory: string; project: string; env?: Readonly<Record<string, string | undefined>> },
    signal?: AbortSignal,
  ): Promise<unknown>;
}

export interface ComposeCli extends ComposeConfigReader {
  /** `config -q`: validates a Compose file the way `up` would read it. */
  validate(file: string, project: string, signal?: AbortSignal): Promise<void>;
  /**
   * `up -d --no-build` for the named services. Compose itself starts them in `depends_on` order
   * and waits for the conditions; it is run in the background while mesh-local watches.
   */
  up(file: string, project: string, services: string[], signal?: AbortSignal): Promise<void>;
}

/** Compose CLI adapter; every call names the file and project explicitly (`-f`, `-p`). */
export function composeCli(variant: ComposeVariant, run: RunProcess = runProcess): ComposeCli {
  const compose = async (file: string, project: string, args: string[], signal?: AbortSignal) => {
    const argv = [...variant.command, '-f', file, '-p', project, ...args];
    const result = await run(argv, { ...(signal ? { signal } : {}) });
    if (result.exitCode !== 0) throw new ComposeCommandError(argv, result.exitCode, lastLines(result.stderr, 20));
  };
  return {
    variant,
    validate: (file, project, signal) => compose(file, project, ['config', '-q'], signal),
    up: (file, project, services, signal) => compose(file, project, ['up', '-d', '--no-build', ...services], signal),
    effectiveConfig: async (file, options, signal) => {
      if (variant.major !== 2) {
        throw new UsageError(`Compose ${variant.version} cannot print a project as JSON; \`docker compose\` (v2) can`);
      }
      // `--profile '*'` (Compose v2.24 and later, a global flag) enables every profile.
      const argv = [...variant.command, '--profile', '*', '--project-directory', options.projectDirectory, '-f', file, '-p', options.project, 'config', '--format', 'json'];
      const result = await run(argv, { cwd: options.projectDirectory, ...(options.env ? { env: options.env } : {}), ...(signal ? { signal } : {}) });
      if (result.exitCode !== 0) throw new ComposeCommandError(argv, result.exitCode, lastLines(result.stderr, 20));
      return JSON.parse(result.stdout) as unknown;
    },
  };
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
