import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { COMPOSE_ENV, detectCompose, composeCli, type ComposeChoice, type ComposeCli } from '../../src/runtime/compose-cli.js';
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
    // The Compose CLI of this test run (`make test` runs test/up.test.ts again with v1) reaches
    // the CLI like any MESH_LOCAL_* setting of a user's shell.
    env: { ...COMPOSE_SELECTION, ...options.env },
    engine: () => dockerodeEngine(),
    console: { out: (text) => (stdout += text), err: (text) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

export function temporaryDirectory(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `mesh-local-${prefix}-`));
}

const COMPOSE_SELECTION: Record<string, string> = process.env[COMPOSE_ENV] ? { [COMPOSE_ENV]: process.env[COMPOSE_ENV] } : {};

/**
 * The real Compose CLI: `choice`, else the one MESH_LOCAL_COMPOSE selects for this test run (v2
 * when unset and present). `make test` installs both, so a missing one fails the test, never skips it.
 */
export async function requireCompose(choice?: ComposeChoice): Promise<ComposeCli> {
  const variant = await detectCompose(choice ? { [COMPOSE_ENV]: choice } : COMPOSE_SELECTION);
  if (!variant) throw new Error('neither `docker compose` nor `docker-compose` runs here; `make test` (scripts/ensure-compose.sh) installs both');
  return composeCli(variant);
}

export interface ComposeUnderTest {
  choice: ComposeChoice;
}

/**
 * The variants every rendered and injected document is validated with: v2 and v1. Only where
 * Debian has no v1 at all (13 and later; scripts/ensure-compose.sh --expected says why) is v1 left
 * out, and `COMPOSE_LEFT_OUT` says so; anywhere else a missing variant fails the tests.
 */
export const COMPOSE_LEFT_OUT: ReadonlyArray<{ choice: ComposeChoice; reason: string }> =
  debianMajor() >= 13 ? [{ choice: 'v1', reason: `Debian ${debianMajor()} has no Compose v1 (see scripts/ensure-compose.sh)` }] : [];
export const COMPOSE_UNDER_TEST: readonly ComposeUnderTest[] = (['v2', 'v1'] as const)
  .filter((choice) => !COMPOSE_LEFT_OUT.some((left) => left.choice === choice))
  .map((choice) => ({ choice }));

/** As scripts/ensure-compose.sh reads it: 0 off Debian, 99 for testing and sid ("trixie/sid"). */
function debianMajor(): number {
  let version: string;
  try {
    version = readFileSync('/etc/debian_version', 'utf8').trim();
  } catch {
    return 0;
  }
  return /^\d/.test(version) ? Number.parseInt(version, 10) : 99;
}
