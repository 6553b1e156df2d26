import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { STANDS_IN_ENV } from '../../src/model/image-sets.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A sandbox program compiled as its image has it (tsc of the entry file and what it imports, as
 * ES modules), to run with node as the image's wrapper runs it. `close()` removes the output.
 */
export interface CompiledProgram {
  /** Runs the program with `args`, as the stand-in for `standsInFor`; resolves at its exit. */
  run(args: string[], options: { standsInFor: string; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function compileSandboxProgram(entry: string): Promise<CompiledProgram> {
  const out = await mkdtemp(join(tmpdir(), 'sandbox-program-'));
  const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
  await promisify(execFile)(
    tsc,
    ['--ignoreConfig', '--outDir', out, '--rootDir', repoRoot, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', join(repoRoot, entry)],
    { cwd: repoRoot },
  );
  await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
  const script = join(out, entry.replace(/\.ts$/, '.js'));
  return {
    run: (args, options) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [script, ...args], {
          env: { PATH: process.env.PATH, [STANDS_IN_ENV]: options.standsInFor, ...options.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      }),
    close: () => rm(out, { recursive: true, force: true }),
  };
}
