import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageBuildError } from '../errors.js';
import { sandboxBuildOrder, SANDBOX_BASE_IMAGE } from '../model/image-sets.js';
import type { BuildRequest } from '../runtime/docker-engine.js';
import { buildSandboxImages, formatImageTable, listImages, type ImageEngine } from './images.js';
import { packageRoot } from '../common/package-root.js';

/** An engine that records builds; `failOn` makes one image's build fail after some output. */
function fakeEngine(options: { present?: string[]; failOn?: string; cached?: boolean } = {}) {
  const builds: BuildRequest[] = [];
  const present = new Set(options.present ?? [SANDBOX_BASE_IMAGE]);
  const engine: ImageEngine = {
    imageExists: async (reference) => present.has(reference),
    tagImage: async (_source, target) => void present.add(target),
    importImage: async () => undefined,
    async buildImage(request, onLine) {
      builds.push(request);
      for (let step = 1; step <= 30; step++) onLine(`Step ${step}/30 : RUN step ${step}`);
      if (request.tag === options.failOn) throw new ImageBuildError(request.tag, 'The command returned a non-zero code: 100');
      present.add(request.tag);
      return { cached: options.cached ?? false };
    },
  };
  return { engine, builds };
}

async function packageWithPrograms(): Promise<string> {
  // The real images/ folder, plus a stand-in for compiled programs under build/sandbox.
  const root = await mkdtemp(join(tmpdir(), 'images-test-'));
  await mkdir(join(root, 'build', 'sandbox'), { recursive: true });
  await writeFile(join(root, 'build', 'sandbox', 'marker.js'), '');
  const { cp } = await import('node:fs/promises');
  await cp(join(packageRoot(), 'images'), join(root, 'images'), { recursive: true });
  return root;
}

describe('buildSandboxImages', () => {
  it('builds every image in order, the Node.js runtime before the programs on it, with progress', async () => {
    const { engine, builds } = fakeEngine();
    const lines: string[] = [];
    const result = await buildSandboxImages(
      { engine, console: { out: () => undefined, err: (text) => lines.push(text) }, packageRoot: await packageWithPrograms(), env: {} },
    );
    const order = sandboxBuildOrder().map((image) => image.reference);
    expect(builds.map((build) => build.tag)).toEqual(order);
    expect(order.indexOf('mesh-local/node-runtime:sandbox')).toBeLessThan(order.indexOf('mesh-local/pilot-standin:sandbox'));
    expect(builds[0]!.buildArgs).toEqual({ BASE: SANDBOX_BASE_IMAGE });
    expect(builds[0]!.labels).toEqual({ 'dev.mesh-local.image-set': 'sandbox', 'dev.mesh-local.nature': 'real' });
    expect(result).toEqual({ built: order.length, cached: 0 });
    expect(lines[0]).toBe(`base ${SANDBOX_BASE_IMAGE}: present\n`);
    expect(lines).toContain(`[1/${order.length}] ${order[0]}: building\n`);
    expect(lines.at(-1)).toMatch(new RegExp(`^sandbox set ready: ${order.length} images \\(0 unchanged\\)`));
  });

  it('reports a cached set as unchanged', async () => {
    const { engine } = fakeEngine({ cached: true });
    const result = await buildSandboxImages({ engine, console: { out: () => undefined, err: () => undefined }, packageRoot: await packageWithPrograms(), env: {} });
    expect(result.built).toBe(0);
  });

  it('tags a local debian:bookworm-slim as the base instead of running debootstrap', async () => {
    const { engine } = fakeEngine({ present: ['debian:bookworm-slim'] });
    const lines: string[] = [];
    await buildSandboxImages({ engine, console: { out: () => undefined, err: (text) => lines.push(text) }, packageRoot: await packageWithPrograms(), env: {} });
    expect(lines[0]).toBe(`base ${SANDBOX_BASE_IMAGE}: tagged from the local debian:bookworm-slim\n`);
    expect(await engine.imageExists(SANDBOX_BASE_IMAGE)).toBe(true);
  });

  it('names the failing image and keeps the last lines of its build output', async () => {
    const { engine, builds } = fakeEngine({ failOn: 'mesh-local/proxy:sandbox' });
    const failure = await buildSandboxImages({ engine, console: { out: () => undefined, err: () => undefined }, packageRoot: await packageWithPrograms(), env: {} }).catch((error) => error);
    expect(failure).toBeInstanceOf(ImageBuildError);
    expect(failure.image).toBe('mesh-local/proxy:sandbox');
    expect(failure.message).toBe('building mesh-local/proxy:sandbox failed: The command returned a non-zero code: 100');
    expect(failure.outputTail.split('\n')).toHaveLength(25);
    expect(failure.outputTail.split('\n').at(-1)).toBe('Step 30/30 : RUN step 30');
    expect(builds.at(-1)!.tag).toBe('mesh-local/proxy:sandbox');
  });

  it('asks for a build of the sandbox programs when they are not compiled', async () => {
    const root = await mkdtemp(join(tmpdir(), 'images-empty-'));
    const { engine } = fakeEngine();
    await expect(buildSandboxImages({ engine, console: { out: () => undefined, err: () => undefined }, packageRoot: root, env: {} })).rejects.toMatchObject({
      code: 'ML_IMAGE_UNAVAILABLE',
      hint: expect.stringContaining('make build'),
    });
  });
});

describe('listImages', () => {
  it('shows presence per key, and the addons the sandbox set leaves out', async () => {
    const { engine } = fakeEngine({ present: ['mesh-local/etcd:sandbox'] });
    const table = formatImageTable(await listImages('sandbox', engine));
    expect(table.split('\n')[0]).toMatch(/^IMAGE\s+REFERENCE\s+KIND\s+PRESENT$/);
    expect(table).toMatch(/etcd\s+mesh-local\/etcd:sandbox\s+real\s+yes/);
    expect(table).toMatch(/pilot\s+mesh-local\/pilot-standin:sandbox\s+stand-in\s+no/);
    expect(table).toMatch(/grafana\s+-\s+not in this set\s+-/);
  });
});
