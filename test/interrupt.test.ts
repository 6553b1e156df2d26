import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dockerodeEngine } from '../src/runtime/docker-engine.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { ANY_PORTS, testProjects } from './support/projects.js';

const engine = dockerodeEngine();
const BIN = join(import.meta.dirname, '..', 'bin', 'mesh-local.js');
const newProject = testProjects();

/** The CLI as a real process, sent SIGINT (what Ctrl-C sends) `delayMs` after it was started. */
async function interruptAfter(argv: string[], delayMs: number, cwd: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...argv], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
  await sleep(delayMs);
  child.kill('SIGINT');
  const [code, signal] = await exited;
  return { code, signal, stderr };
}

// Ctrl-C at 0.5 s comes while the engine is asked and the cached sandbox images are checked, at
// 2 s about when Compose starts the stack, at 5 s while mesh-local waits for it.
describe('Ctrl-C at any moment of up or bookinfo: exit 130 and how to resume or clean up', () => {
  it.each([
    ['up', 500],
    ['up', 2000],
    ['up', 5000],
    ['bookinfo', 500],
    ['bookinfo', 3000],
  ] as const)('%s, Ctrl-C after %i ms', async (command, delayMs) => {
    const cwd = await temporaryDirectory('interrupt');
    const project = newProject(`int-${command}-${delayMs}`);
    const result = await interruptAfter([command, '--project', project, '--images', 'sandbox', ...ANY_PORTS], delayMs, cwd);
    expect(result.signal, result.stderr).toBeNull();
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/^interrupted(: the stack stays as it is| before the stack was started: the project's containers are as they were)\.$/m);
    // Before the settings are saved the resume line repeats them; after, the project is enough.
    expect(result.stderr).toContain(`  resume:   mesh-local ${command} --project ${project}`);
    expect(result.stderr).toContain(`  clean up: mesh-local down --project ${project}\n`);
    expect(result.stderr).toMatch(/^error \[ML_INTERRUPTED\]: interrupted/m);
    expect(result.stderr).not.toMatch(/ML_IMAGE_BUILD_FAILED|ML_DOCKER_UNREACHABLE|ML_INTERNAL|ML_COMPOSE_FAILED/);

    const resume = /^ {2}resume: {3}(.+)$/m.exec(result.stderr)![1]!;
    if (resume !== `mesh-local ${command} --project ${project}`) {
      expect(resume).toBe(`mesh-local ${command} --project ${project} --images sandbox ${ANY_PORTS.join(' ')}`);
    }

    const down = await runCli(['down', '--project', project, '--volumes'], { cwd });
    expect(down.code, down.stderr).toBe(0);
    expect(await engine.projectResources(project)).toEqual({ containers: [], networks: [], volumes: [] });
  }, 300_000);
});
