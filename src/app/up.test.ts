import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerUnreachableError, HealthTimeoutError, InterruptedError } from '../errors.js';
import type { ProgressEvent } from '../output/events.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { forgetState } from './down.js';
import { mergeFlags, readState, stateDirOf, upCommand, writeState, type UpDeps, type UpInput } from './up.js';

const PORTS = ['apiserver=0', 'pilot=0', 'consul=0', 'gateway=0'];

describe('mergeFlags', () => {
  it('merges --port and --image by name: a later value replaces an earlier one for the same name', () => {
    const merged = mergeFlags(
      { port: ['gateway=1', 'pilot=2'], image: ['pilot=a/pilot:1'], registry: 'eureka' },
      { port: ['gateway=3', 'consul=4'], image: ['pilot=b/pilot:2', 'mixer=m:1'] },
    );
    expect(merged.port).toEqual(['gateway=3', 'pilot=2', 'consul=4']);
    expect(merged.image).toEqual(['pilot=b/pilot:2', 'mixer=m:1']);
    expect(merged.registry).toBe('eureka');
  });

  it('keeps one entry per name when the same flags come again and again', () => {
    let flags = mergeFlags({}, { port: PORTS });
    for (let cycle = 0; cycle < 10; cycle++) flags = mergeFlags(flags, { port: PORTS });
    expect(flags.port).toEqual(PORTS);
  });

  it('keeps a malformed entry as it is, for the settings to refuse with its source', () => {
    expect(mergeFlags({ port: ['gateway'] }, { port: ['gateway=1'] }).port).toEqual(['gateway', 'gateway=1']);
  });
});

describe('state.json across cycles (real files)', () => {
  it('stays the same size over 10 up cycles with the same --port flags', async () => {
    const stateDir = join(await mkdtemp(join(tmpdir(), 'mesh-local-state-')), 'p');
    const sizes: number[] = [];
    for (let cycle = 0; cycle < 10; cycle++) {
      // What upCommand does: the saved flags under this command line's, saved again.
      const saved = await readState(stateDir);
      const flags = mergeFlags(saved?.flags ?? {}, { project: 'p', port: PORTS, imageSet: 'sandbox' });
      await writeState(stateDir, { flags, bookinfo: false });
      sizes.push((await stat(join(stateDir, 'state.json'))).size);
    }
    expect(new Set(sizes).size).toBe(1);
    expect((await readState(stateDir))?.flags.port).toEqual(PORTS);
  });

  it('is gone after down: 10 up/down cycles leave nothing that a later up reads', async () => {
    const stateDir = join(await mkdtemp(join(tmpdir(), 'mesh-local-state-')), 'p');
    for (let cycle = 0; cycle < 10; cycle++) {
      expect(await readState(stateDir)).toBeUndefined();
      await writeState(stateDir, { flags: mergeFlags({}, { port: PORTS }), bookinfo: true });
      expect((await forgetState(stateDir)).state).toBe(true);
    }
    expect(await readState(stateDir)).toBeUndefined();
  });

  it('does not save --config, and ignores a state file it cannot use, with a notice', async () => {
    const stateDir = join(await mkdtemp(join(tmpdir(), 'mesh-local-state-')), 'p');
    await writeState(stateDir, { flags: { port: ['gateway=0'], config: 'x.yaml' } as never, bookinfo: false });
    expect(JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')).flags).toEqual({ port: ['gateway=0'] });
    await writeFile(join(stateDir, 'state.json'), '{"flags": {"port": "gateway=0"}}');
    const notices: string[] = [];
    expect(await readState(stateDir, (message) => notices.push(message))).toBeUndefined();
    expect(notices).toEqual([expect.stringMatching(/^ignoring .*state\.json: not the shape mesh-local writes$/)]);
  });
});

/** The part of `up` before anything starts, with an engine that hangs until the signal aborts. */
function harness(options: { version?: DockerEngine['version'] } = {}) {
  const events: ProgressEvent[] = [];
  let stderr = '';
  const hang = (signal?: AbortSignal) =>
    new Promise<never>((_, reject) =>
      signal?.addEventListener('abort', () => reject(new DockerUnreachableError('cannot reach the Docker Engine: The operation was aborted'))),
    );
  const engine = { version: options.version ?? hang } as unknown as DockerEngine;
  const deps = (cwd: string): UpDeps => ({
    engine,
    compose: () => Promise.reject(new Error('not reached')),
    reporter: { emit: (event) => events.push(event), close: () => undefined },
    console: { out: () => undefined, err: (text) => (stderr += text) },
    cwd,
    env: {},
    packageRoot: cwd,
    isPortFree: async () => true,
  });
  return { events, stderr: () => stderr, deps };
}

const input = (flags: UpInput['flags'], bookinfo = false): UpInput => ({ flags, images: 'sandbox', timeoutMs: 60_000, rollback: false, bookinfo });

describe('up stopped before the stack starts', () => {
  it('Ctrl-C while the engine is asked: InterruptedError and the resume line with this command line', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mesh-local-up-'));
    const { deps, stderr } = harness();
    const interrupt = new AbortController();
    const running = upCommand(input({ project: 'p1', port: ['gateway=0', 'pilot=0'], imageSet: 'sandbox' }, true), deps(cwd), interrupt.signal);
    setTimeout(() => interrupt.abort(new DOMException('interrupted', 'AbortError')), 20);
    await expect(running).rejects.toBeInstanceOf(InterruptedError);
    expect(stderr()).toContain('interrupted before the stack was started');
    expect(stderr()).toContain('  resume:   mesh-local bookinfo --project p1 --images sandbox --port gateway=0 --port pilot=0\n');
    expect(stderr()).toContain('  clean up: mesh-local down --project p1\n');
  });

  it('Ctrl-C before anything was asked (the signal already aborted)', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mesh-local-up-'));
    const { deps, stderr } = harness({ version: async () => '20.10' });
    const interrupt = new AbortController();
    interrupt.abort(new DOMException('interrupted', 'AbortError'));
    await expect(upCommand(input({ project: 'p2' }), deps(cwd), interrupt.signal)).rejects.toBeInstanceOf(InterruptedError);
    expect(stderr()).toContain('  resume:   mesh-local up --project p2 --images sandbox\n');
  });

  it('the deadline during the preflight: a timeout naming the step, not "cannot reach the Docker Engine"', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mesh-local-up-'));
    const { deps, stderr } = harness();
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new DOMException('deadline', 'TimeoutError')), 20);
    const error = await upCommand(input({ project: 'p3' }), deps(cwd), deadline.signal).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HealthTimeoutError);
    expect((error as Error).message).toBe('the deadline passed before the stack was started, while asking the Docker Engine; nothing was started');
    expect(stderr()).toBe('');
  });

  it('a failure that is not an abort stays what it is', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mesh-local-up-'));
    const unreachable = new DockerUnreachableError('cannot reach the Docker Engine');
    const { deps } = harness({ version: () => Promise.reject(unreachable) });
    await expect(upCommand(input({ project: 'p4' }), deps(cwd), new AbortController().signal)).rejects.toBe(unreachable);
  });
});

describe('up reusing saved settings', () => {
  it('says which saved settings it reused, and not those this command line gives again', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mesh-local-up-'));
    await writeState(stateDirOf(cwd, 'p5'), { flags: { project: 'p5', registry: 'eureka', port: ['gateway=0', 'pilot=0'], imageSet: 'sandbox' }, bookinfo: true });
    const { deps, events } = harness({ version: () => Promise.reject(new DockerUnreachableError('stop here')) });
    await expect(upCommand(input({ project: 'p5', port: ['pilot=0'] }), deps(cwd), new AbortController().signal)).rejects.toThrow('stop here');
    const notices = events.filter((event) => event.type === 'notice').map((event) => (event as { message: string }).message);
    expect(notices).toEqual([
      `reusing settings of the last up of project p5 (${join(stateDirOf(cwd, 'p5'), 'state.json')}): --registry eureka --port gateway=0 ` +
        '(BookInfo, deployed by `mesh-local bookinfo`); `mesh-local down --project p5` forgets them',
    ]);
  });

  it('says nothing when there is no saved state', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mesh-local-up-'));
    const { deps, events } = harness({ version: () => Promise.reject(new DockerUnreachableError('stop here')) });
    await expect(upCommand(input({ project: 'p6', port: PORTS }), deps(cwd), new AbortController().signal)).rejects.toThrow('stop here');
    expect(events).toEqual([]);
  });
});
