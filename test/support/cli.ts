import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { detectCompose, composeCli, type ComposeCli } from '../../src/runtime/compose-cli.js';
import { dockerodeEngine } from '../../src/runtime/docker-engine.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, as a user would from `cwd`, capturing both streams. */
export async function runCli(argv: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    cwd: options.cwd,
    env: options.env ?? {},
    engine: () => dockerodeEngine(),
    console: { out: (text) => (stdout += text), err: (text) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

export function temporaryDirectory(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `mesh-local-${prefix}-`));
}

/** The real Compose CLI; `make test` installs one first, so its absence fails the test. */
export async function requireCompose(): Promise<ComposeCli> {
  const variant = await detectCompose();
  if (!variant) throw new Error('neither `docker compose` nor `docker-compose` runs here; `make test` (scripts/ensure-docker.sh) installs one');
  return composeCli(variant);
}
