import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ImageBuildError } from '../errors.js';
import { sandboxBuildOrder, SANDBOX_BASE_IMAGE } from '../model/image-sets.js';
import type { BuildRequest } from '../runtime/docker-engine.js';
import { buildSandboxImages, formatImageTable, listImages, type ImageEngine } from './images.js';
import { packageRoot } from '../common/package-root.js';

/** An engine that records builds (and each staged context's files); `failOn` makes one image's build fail after some output. */
function fakeEngine(options: { present?: string[]; failOn?: string; cached?: boolean } = {}) {
  const builds: Array<BuildRequest & { files: Record<string, { text: string; mode: number }> }> = [];
  const present = new Set(options.present ?? [SANDBOX_BASE_IMAGE]);
  const engine: ImageEngine = {
    imageExists: async (reference) => present.has(reference),
    tagImage: async (_source, target) => void present.add(target),
    importImage: async () => undefined,
    async buildImage(request, onLine) {
      const files: Record<string, { text: string; mode: number }> = {};
      for (const entry of await readdir(request.contextDir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const path = join(entry.parentPath, entry.name);
        files[relative(request.contextDir, path)] = { text: await readFile(path, 'utf8'), mode: (await stat(path)).mode & 0o777 };
      }
      builds.push({ ...request, files });
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
    expect(order.indexOf('mesh-local/node-runtime:sandbox')).toBeLessThan(order.indexOf('mesh-local/pilot-standin:0.8.0-sandbox'));
    expect(order.indexOf('mesh-local/node-runtime:sandbox')).toBeLessThan(order.indexOf('mesh-local/proxy-standin:0.8.0-sandbox'));
    expect(builds[0]!.buildArgs).toEqual({ BASE: SANDBOX_BASE_IMAGE });
    expect(builds.find((build) => build.tag === 'mesh-local/etcd:sandbox')!.labels).toEqual({
      'dev.mesh-local.image-set': 'sandbox',
      'dev.mesh-local.nature': 'real',
      'dev.mesh-local.stands-in-for': 'quay.io/coreos/etcd:v3.2.18',
    });
    expect(builds.find((build) => build.tag === 'mesh-local/proxy-standin:0.6.0-sandbox')!.buildArgs).toEqual({ BASE: 'mesh-local/node-runtime:sandbox' });
    expect(builds.find((build) => build.tag === 'mesh-local/proxy-init:0.6.0-sandbox')!.buildArgs).toEqual({
      BASE: SANDBOX_BASE_IMAGE,
      SCRIPT_PATH: '/usr/local/bin/prepare_proxy.sh',
    });
    expect(result).toEqual({ built: order.length, cached: 0 });
    expect(lines[0]).toBe(`base ${SANDBOX_BASE_IMAGE}: present\n`);
    expect(lines).toContain(`[1/${order.length}] ${order[0]}: building\n`);
    expect(lines.at(-1)).toMatch(new RegExp(`^sandbox set ready: ${order.length} images \\(0 unchanged\\)`));
  });

  it("makes each image start as the upstream image it stands in for: its ENTRYPOINT, CMD and program paths", async () => {
    const { engine, builds } = fakeEngine();
    await buildSandboxImages({ engine, console: { out: () => undefined, err: () => undefined }, packageRoot: await packageWithPrograms(), env: {} });
    const pilot = builds.find((build) => build.tag === 'mesh-local/pilot-standin:0.8.0-sandbox')!;
    expect(pilot.files['rootfs/usr/local/bin/pilot-discovery']).toEqual({
      text: expect.stringContaining('exec node /opt/mesh-local/sandbox/standins/pilot.js "$@"'),
      mode: 0o755,
    });
    expect(pilot.files.Dockerfile!.text).toBe(
      [
        'FROM mesh-local/node-runtime:sandbox',
        'USER 0:0',
        'COPY rootfs/ /',
        'USER 1000:1000',
        '# Stands in for docker.io/istio/pilot:0.8.0: the same ENTRYPOINT and CMD.',
        'ENV MESH_LOCAL_STANDS_IN=docker.io/istio/pilot:0.8.0',
        'ENTRYPOINT ["/usr/local/bin/pilot-discovery"]',
        'CMD []',
        '',
      ].join('\n'),
    );
    const consul = builds.find((build) => build.tag === 'mesh-local/consul-standin:sandbox')!;
    // /bin is a link to /usr/bin on Debian: the file goes where the link points, not over it.
    expect(Object.keys(consul.files).filter((path) => path.startsWith('rootfs/')).sort()).toEqual([
      'rootfs/usr/bin/consul',
      'rootfs/usr/local/bin/docker-entrypoint.sh',
    ]);
    expect(consul.files['rootfs/usr/local/bin/docker-entrypoint.sh']!.mode).toBe(0o755);
    expect(consul.files.Dockerfile!.text).toContain('ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["agent","-dev","-client","0.0.0.0"]\n');
    // A Dockerfile of its own gets the same lines appended.
    const etcd = builds.find((build) => build.tag === 'mesh-local/etcd:sandbox')!;
    expect(etcd.files.Dockerfile!.text).toMatch(/USER 1000:1000\n# Stands in for quay\.io\/coreos\/etcd:v3\.2\.18.*\nENV MESH_LOCAL_STANDS_IN=quay\.io\/coreos\/etcd:v3\.2\.18\nENTRYPOINT \[\]\nCMD \["\/usr\/local\/bin\/etcd"\]\n$/);
    // BookInfo keeps its own CMD (node), the one listed exception.
    expect(builds.find((build) => build.tag === 'mesh-local/bookinfo-reviews-v2:sandbox')!.files.Dockerfile!.text).toContain(
      'CMD ["node","/opt/mesh-local/samples/bookinfo/reviews.js"]',
    );
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
    const { engine, builds } = fakeEngine({ failOn: 'mesh-local/proxy-init:0.8.0-sandbox' });
    const failure = await buildSandboxImages({ engine, console: { out: () => undefined, err: () => undefined }, packageRoot: await packageWithPrograms(), env: {} }).catch((error) => error);
    expect(failure).toBeInstanceOf(ImageBuildError);
    expect(failure.image).toBe('mesh-local/proxy-init:0.8.0-sandbox');
    expect(failure.message).toBe('building mesh-local/proxy-init:0.8.0-sandbox failed: The command returned a non-zero code: 100');
    expect(failure.outputTail.split('\n')).toHaveLength(25);
    expect(failure.outputTail.split('\n').at(-1)).toBe('Step 30/30 : RUN step 30');
    expect(builds.at(-1)!.tag).toBe('mesh-local/proxy-init:0.8.0-sandbox');
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
    expect(table).toMatch(/pilot\s+mesh-local\/pilot-standin:0\.8\.0-sandbox\s+stand-in\s+no/);
    expect(table).toMatch(/grafana\s+-\s+not in this set\s+-/);
    expect(formatImageTable(await listImages('sandbox', engine, undefined, '0.6.0'))).toMatch(/pilot\s+mesh-local\/pilot-standin:0\.6\.0-sandbox\s+stand-in\s+no/);
    expect(formatImageTable(await listImages('upstream', engine, undefined, '0.6.0'))).toMatch(/ca\s+docker\.io\/istio\/istio-ca:0\.6\.0\s+upstream\s+no/);
  });
});
