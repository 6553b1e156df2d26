import { describe, expect, it } from 'vitest';
import { PreflightError, UsageError } from '../errors.js';
import { composeChoice, detectCompose, type ProcessResult, type RunProcess } from './compose-cli.js';

/** A runner that answers `version --short` for the commands in `versions` and fails the others. */
function fakeRunner(versions: Record<string, string>): RunProcess & { asked: string[] } {
  const asked: string[] = [];
  const run = async (argv: readonly string[]): Promise<ProcessResult> => {
    const command = argv.slice(0, -2).join(' ');
    asked.push(argv.join(' '));
    expect(argv.slice(-2)).toEqual(['version', '--short']);
    const version = versions[command];
    if (version === undefined) throw Object.assign(new Error(`spawn ${argv[0]} ENOENT`), { code: 'ENOENT' });
    return { exitCode: 0, stdout: `${version}\n`, stderr: '' };
  };
  return Object.assign(run, { asked });
}

const BOTH = { 'docker compose': '2.26.1-4', 'docker-compose': '1.29.2' };

describe('detectCompose', () => {
  it('unset: v2 when present, without asking for v1', async () => {
    const run = fakeRunner(BOTH);
    expect(await detectCompose({}, run)).toEqual({ command: ['docker', 'compose'], major: 2, version: '2.26.1-4' });
    expect(run.asked).toEqual(['docker compose version --short']);
  });

  it('unset: v1 when v2 is missing; undefined when neither runs', async () => {
    expect(await detectCompose({ MESH_LOCAL_COMPOSE: '' }, fakeRunner({ 'docker-compose': '1.29.2' }))).toEqual({
      command: ['docker-compose'],
      major: 1,
      version: '1.29.2',
    });
    expect(await detectCompose({}, fakeRunner({}))).toBeUndefined();
  });

  it('a leading v in the version is dropped', async () => {
    expect((await detectCompose({}, fakeRunner({ 'docker compose': 'v2.24.5' })))?.version).toBe('2.24.5');
  });

  it('MESH_LOCAL_COMPOSE=v1 picks docker-compose even when v2 is present, and says it chose it', async () => {
    const run = fakeRunner(BOTH);
    expect(await detectCompose({ MESH_LOCAL_COMPOSE: 'v1' }, run)).toEqual({ command: ['docker-compose'], major: 1, version: '1.29.2', chosen: 'v1' });
    expect(run.asked).toEqual(['docker-compose version --short']);
  });

  it('MESH_LOCAL_COMPOSE=v2 picks the plugin', async () => {
    expect(await detectCompose({ MESH_LOCAL_COMPOSE: 'V2' }, fakeRunner(BOTH))).toMatchObject({ command: ['docker', 'compose'], chosen: 'v2' });
  });

  it('a chosen variant that is missing is an error naming it, with a hint', async () => {
    const missing = detectCompose({ MESH_LOCAL_COMPOSE: 'v2' }, fakeRunner({ 'docker-compose': '1.29.2' }));
    await expect(missing).rejects.toThrow(PreflightError);
    await expect(missing).rejects.toThrow('MESH_LOCAL_COMPOSE=v2 chose Compose v2 (`docker compose`), but it does not run here');
    await expect(missing).rejects.toMatchObject({ hint: expect.stringContaining('scripts/ensure-compose.sh') });
  });

  it("v1 chosen where docker-compose is v2 (Debian 13's symlink to the plugin) is an error, not v2", async () => {
    await expect(detectCompose({ MESH_LOCAL_COMPOSE: 'v1' }, fakeRunner({ 'docker-compose': '2.26.1-4' }))).rejects.toThrow(
      'MESH_LOCAL_COMPOSE=v1 chose Compose v1 (`docker-compose`), but it is Compose 2.26.1-4',
    );
  });

  it('any other value is a usage error naming the variable', async () => {
    await expect(detectCompose({ MESH_LOCAL_COMPOSE: 'v3' }, fakeRunner(BOTH))).rejects.toThrow(UsageError);
    expect(() => composeChoice({ MESH_LOCAL_COMPOSE: 'compose' })).toThrow('MESH_LOCAL_COMPOSE=compose: expected v1 or v2');
  });
});
