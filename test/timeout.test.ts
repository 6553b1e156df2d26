import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/cli/program.js';
import { runCli, temporaryDirectory } from './support/cli.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'mesh-local.js');
const RANGE = 'expected a duration from 1s to 24h, such as 300s, 5m or 1h';

describe('--timeout: out-of-range and malformed durations are bad input (exit 2), before any Docker call', () => {
  // 0 and 600h once turned into "cannot reach the Docker Engine" (a Node.js timer overflow fires at
  // once), 99999999999h into ML_INTERNAL with a stack trace.
  it.each(['0', '0s', '999ms', '0.5s', '-5m', '600h', '24.001h', '99999999999h', '1e3', 'abc', '5 m', ''])(
    'refuses %j for up and bookinfo, naming the flag and the range',
    async (value) => {
      const cwd = await temporaryDirectory('timeout');
      for (const command of ['up', 'bookinfo']) {
        // `--timeout=<value>` so that a value starting with "-" is not read as a flag.
        const result = await runCli([command, '--images', 'sandbox', `--timeout=${value}`], { cwd });
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toBe(`error: option '--timeout <duration>' argument '${value}' is invalid. ${RANGE}\n`);
      }
    },
  );

  it('refuses 400 digits (Infinity once read as a number)', () => {
    expect(() => parseDuration('9'.repeat(400))).toThrow(RANGE);
  });

  it('reads the values at the edges of the range', () => {
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('1000ms')).toBe(1000);
    expect(parseDuration('1')).toBe(1000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('1440m')).toBe(86_400_000);
    expect(parseDuration('86400s')).toBe(86_400_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(() => parseDuration('86400001ms')).toThrow(RANGE);
  });

  it.each(['1s', '24h'])('takes %s: the command goes on to the engine (here a dead socket, so exit 1)', async (value) => {
    const result = await runProcess(['up', '--images', 'sandbox', '--project', 'mltest-timeout-edge', '--timeout', value], {
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error \[ML_DOCKER_UNREACHABLE\]: cannot reach the Docker Engine at unix:\/\/\/nonexistent\/docker\.sock: connect ENOENT/);
  });

  it('shows the range in --help', async () => {
    const result = await runCli(['up', '--help'], { cwd: await temporaryDirectory('timeout') });
    expect(result.stdout).toMatch(/--timeout <duration>\s+overall deadline for readiness, from 1s to 24h/);
  });
});

describe('other numeric options refuse what they cannot take, with exit 2', () => {
  it.each(['-1', '1.5', '99999999999999999999', 'many'])('logs --tail %s', async (value) => {
    const result = await runCli(['logs', 'etcd', `--tail=${value}`], { cwd: await temporaryDirectory('tail') });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: option '--tail <lines>' argument '${value}' is invalid. expected a number of lines from 0 to 1000000, or all\n`);
  });

  it.each(['65536', '99999999999', '-1', '80.5', '0x50'])('--port gateway=%s', async (value) => {
    const result = await runCli(['render', '--bookinfo', '--port', `gateway=${value}`], { cwd: await temporaryDirectory('port') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`ports.gateway: expected a port number between 1 and 65535, or 0 for any free port, found '${value}' (from --port)`);
  });

  it.each(['70000', '-1'])('ports.gateway: %s in the config file and MESH_LOCAL_PORTS', async (value) => {
    const cwd = await temporaryDirectory('port');
    await writeFile(join(cwd, 'mesh-local.yaml'), `ports: { gateway: ${value} }\n`);
    const fromFile = await runCli(['render', '--bookinfo'], { cwd });
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toMatch(/ports\.gateway: expected a port number between 1 and 65535, or 0 for any free port, found '-?\d+' \(from .*mesh-local\.yaml\)/);
    const fromEnv = await runCli(['render', '--bookinfo'], { cwd: await temporaryDirectory('port'), env: { MESH_LOCAL_PORTS: `gateway=${value}` } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('(from MESH_LOCAL_PORTS)');
  });
});

function runProcess(argv: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
