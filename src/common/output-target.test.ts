import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { outputTarget } from './output-target.js';

const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
});

function open(path: string, flags: number | string): number {
  const fd = openSync(path, flags);
  opened.push(fd);
  return fd;
}

describe('outputTarget: where a descriptor such as stdout leads', () => {
  it('a regular file opened as `> stack/file.yaml` would be: its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-local-output-target-'));
    await mkdir(join(dir, 'stack'));
    const path = join(dir, 'stack', 'file.yaml');
    expect(await outputTarget(open(path, 'w'))).toEqual({ kind: 'file', path });
  });

  it('a file deleted or replaced since it was opened: unknown, with the reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-local-output-target-'));
    const deleted = join(dir, 'deleted.yaml');
    const fd = open(deleted, 'w');
    await unlink(deleted);
    expect(await outputTarget(fd)).toEqual({ kind: 'unknown-file', reason: expect.stringContaining('has since been deleted or replaced') });

    const replaced = join(dir, 'replaced.yaml');
    const other = join(dir, 'other.yaml');
    const first = open(replaced, 'w');
    open(other, 'w');
    await rename(other, replaced);
    expect((await outputTarget(first)).kind).toBe('unknown-file');
  });

  it('a pipe (a FIFO here) and a character device (/dev/null) are streams', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-local-output-target-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Read and write: opening a FIFO for writing alone would wait for a reader.
    expect(await outputTarget(open(fifo, constants.O_RDWR))).toEqual({ kind: 'stream' });
    expect(await outputTarget(open('/dev/null', 'w'))).toEqual({ kind: 'stream' });
  });
});
