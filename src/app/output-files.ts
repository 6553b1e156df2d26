import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { OutputConflictError } from '../errors.js';
import { GENERATED_MARKER, type RenderedFile } from '../compose/mesh-files.js';

/**
 * Writes generated files under `baseDir`. A file that exists and does not carry mesh-local's
 * marker in its first two lines is somebody else's: nothing is written and the error names it.
 * Each file is written to a temporary name and renamed, so a reader never sees half a file.
 */
export async function writeGeneratedFiles(baseDir: string, files: readonly RenderedFile[]): Promise<string[]> {
  const targets = files.map((file) => ({ ...file, target: join(baseDir, file.path) }));
  for (const file of targets) await assertOverwritable(file.target);
  for (const file of targets) await writeAtomically(file.target, file.content, file.mode);
  return targets.map((file) => file.target);
}

/** Writes to a temporary name and renames, so a reader (or a Ctrl-C) never leaves half a file. */
export async function writeAtomically(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, path);
}

async function assertOverwritable(path: string): Promise<void> {
  let head: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(512);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const firstLines = head.split('\n').slice(0, 2);
  if (!firstLines.some((line) => line.startsWith(GENERATED_MARKER))) {
    throw new OutputConflictError(`${path} exists and was not written by mesh-local; refusing to overwrite it`, {
      hint: 'move it away or choose another output path with -o',
    });
  }
}
