import { fstat } from 'node:fs';
import { readlink, stat } from 'node:fs/promises';
import { promisify } from 'node:util';

/**
 * Where a file descriptor (stdout) leads: a regular file the shell opened (`> stack/file.yaml`)
 * with its path, such a file whose path cannot be found, or anything else (pipe, terminal,
 * /dev/null), which is a stream.
 */
export type OutputTarget = { kind: 'stream' } | { kind: 'file'; path: string } | { kind: 'unknown-file'; reason: string };

/**
 * What `fd` is. A regular file's path comes from `/proc/self/fd/<fd>` (Linux), and counts only
 * when that path still names the same file (same device and inode): a file deleted or renamed
 * since it was opened, or a system without /proc, gives `unknown-file` with the reason.
 */
export async function outputTarget(fd: number): Promise<OutputTarget> {
  // fs/promises has fstat only on a FileHandle, which would close the descriptor when collected.
  const opened = await promisify(fstat)(fd);
  if (!opened.isFile()) return { kind: 'stream' };
  let path: string;
  try {
    path = await readlink(`/proc/self/fd/${fd}`);
  } catch (error) {
    return { kind: 'unknown-file', reason: `/proc/self/fd/${fd} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  const named = await stat(path).catch(() => undefined);
  if (!named || named.dev !== opened.dev || named.ino !== opened.ino) {
    return { kind: 'unknown-file', reason: `the file it was opened as (${path}) has since been deleted or replaced` };
  }
  return { kind: 'file', path };
}
