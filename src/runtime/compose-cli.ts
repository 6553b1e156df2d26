import { spawn } from 'node:child_process';
import { ComposeCommandError } from '../errors.js';

/** Which Compose CLI runs the stacks: the v2 plugin (`docker compose`) or standalone v1. */
export interface ComposeVariant {
  /** argv prefix, e.g. `['docker', 'compose']` or `['docker-compose']`. */
  command: readonly string[];
  major: 1 | 2;
  version: string;
}

export interface ProcessResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export type RunProcess = (argv: readonly string[], options: { cwd?: string; signal?: AbortSignal }) => Promise<ProcessResult>;

/** Spawns without a shell and settles on 'close', when all output has been read. */
export const runProcess: RunProcess = (argv, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, signal: options.signal, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });

/**
 * Finds the Compose CLI: `docker compose` (v2) when present, else `docker-compose` (v1).
 * Returns undefined when neither runs.
 */
export async function detectCompose(run: RunProcess = runProcess): Promise<ComposeVariant | undefined> {
  for (const command of [['docker', 'compose'], ['docker-compose']] as const) {
    const result = await run([...command, 'version', '--short'], {}).catch(() => undefined);
    if (result?.exitCode !== 0) continue;
    const version = result.stdout.trim().replace(/^v/, '');
    return { command, major: version.startsWith('1.') ? 1 : 2, version };
  }
  return undefined;
}

export interface ComposeCli {
  readonly variant: ComposeVariant;
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
  };
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
