import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml, toYaml } from '../../src/common/yaml-file.js';
import { configInitFiles } from '../../src/compose/mesh-files.js';
import { renderMesh } from '../../src/compose/render.js';
import { ISTIO_VERSIONS } from '../../src/model/istio-versions.js';
import { REGISTRIES } from '../../src/model/mesh.js';
import { buildModel, resolveSettings } from '../../src/model/settings.js';
import { MemoryStore, EtcdGatewayStore, prefixRangeEnd, type KeyValueStore } from './apiserver-store.js';
import { apiserverApiSuite, call, expectStatus } from './apiserver-suite.js';
import { YamlSubsetError, parseYamlSubset } from './apiserver-yaml.js';
import { start, type RunningApiServer } from './apiserver.js';

describe('apiserver stand-in on the in-memory store', () => {
  let server: RunningApiServer;
  beforeAll(async () => {
    server = await start({ port: 0, host: '127.0.0.1', store: new MemoryStore() });
  });
  afterAll(() => server.close());
  apiserverApiSuite(() => server.url);
});

describe('the config-init job against the stand-in', () => {
  for (const version of ISTIO_VERSIONS) {
    it(`creates ${version.version}'s namespace and Mixer CRDs from its YAML files, and 409s them the second time`, async () => {
      const server = await start({ port: 0, host: '127.0.0.1', store: new MemoryStore() });
      try {
        const files = configInitFiles(version).filter((file) => file.path.endsWith('.yaml'));
        expect(files.length).toBe(version.mixer.crds.length + 1);
        for (const pass of [1, 2]) {
          for (const file of files) {
            const path = file.path.endsWith('namespace.yaml')
              ? '/api/v1/namespaces'
              : '/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions';
            // What the job's curl sends: the file as it is, Content-Type application/yaml.
            const answer = await call(server.url, 'POST', path, file.content, 'application/yaml');
            if (pass === 1) expect(answer.status, `${file.path}: ${answer.text}`).toBe(201);
            else expectStatus(answer, 409, 'AlreadyExists');
          }
        }
        // Mixer can now keep its config in istio-system.
        const rule = await call(server.url, 'POST', '/apis/config.istio.io/v1alpha2/namespaces/istio-system/rules', {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'rule',
          metadata: { name: 'promhttp' },
          spec: { match: 'true', actions: [] },
        });
        expect(rule.status, rule.text).toBe(201);
      } finally {
        await server.close();
      }
    });
  }
});

describe('parseYamlSubset', () => {
  const render = (flags: Record<string, unknown>) =>
    renderMesh(buildModel(resolveSettings({ env: {}, flags: flags as never }).settings));

  it('reads every file and Compose document renderMesh writes exactly as js-yaml does', () => {
    let checked = 0;
    for (const version of ISTIO_VERSIONS) {
      for (const registry of REGISTRIES) {
        const { document, files } = render({
          registry,
          istioVersion: version.version,
          bookinfo: true,
          addons: 'prometheus,grafana,zipkin,servicegraph',
        });
        for (const file of files.filter((entry) => !entry.path.endsWith('.sh'))) {
          expect(parseYamlSubset(file.content), file.path).toEqual(parseYaml(file.content, file.path));
          checked++;
        }
        const compose = toYaml(document);
        expect(parseYamlSubset(compose)).toEqual(parseYaml(compose, 'compose'));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('reads the constructs hand-written manifests use', () => {
    const text = [
      '---',
      '# comment',
      'apiVersion: config.istio.io/v1alpha2   # trailing comment',
      'kind: RouteRule',
      'metadata:',
      '  name: ratings-test-delay',
      "  annotations: {a: '1', \"b\": [x, 2, true, null], c: {}}",
      'spec:',
      '  precedence: 2',
      '  weight: -1.5',
      '  enabled: false',
      '  nothing: ~',
      '  empty:',
      '  hex: 0x1F',
      '  version: "1.0"',
      "  quote: 'it''s'",
      '  escaped: "tab\\there \\u00e9 \\"q\\""',
      '  hash: a#b',
      '  url: http://zipkin:9411/api/v1/spans',
      '  list:',
      '  - one',
      '  - - nested',
      '    - pair',
      '  - key: value',
      '    other: 2',
      '  -',
      '  items:',
      '    - a',
      '  script: |',
      '    line one',
      '      indented # not a comment',
      '',
      '    line three',
      '  keep: |-',
      '    no newline',
      '...',
      '# after the end',
    ].join('\n');
    expect(parseYamlSubset(text)).toEqual({
      apiVersion: 'config.istio.io/v1alpha2',
      kind: 'RouteRule',
      metadata: { name: 'ratings-test-delay', annotations: { a: '1', b: ['x', 2, true, null], c: {} } },
      spec: {
        precedence: 2,
        weight: -1.5,
        enabled: false,
        nothing: null,
        empty: null,
        hex: 31,
        version: '1.0',
        quote: "it's",
        escaped: 'tab\there é "q"',
        hash: 'a#b',
        url: 'http://zipkin:9411/api/v1/spans',
        list: ['one', ['nested', 'pair'], { key: 'value', other: 2 }, null],
        items: ['a'],
        script: 'line one\n  indented # not a comment\n\nline three\n',
        keep: 'no newline',
      },
    });
    expect(parseYamlSubset(text)).toEqual(parseYaml(text, 'manifest'));
  });

  it('reads an empty document as null and a lone scalar as itself', () => {
    expect(parseYamlSubset('# only a comment\n')).toBeNull();
    expect(parseYamlSubset('42')).toBe(42);
  });

  const refused: Array<[string, string, RegExp]> = [
    ['anchors', 'a: &x 1\nb: *x\n', /anchors, aliases and tags/],
    ['tags', 'a: !!str 1\n', /anchors, aliases and tags/],
    ['two documents', 'a: 1\n---\nb: 2\n', /one YAML document/],
    ['folded scalars', 'a: >\n  text\n', /folded/],
    ['multi-line plain scalars', 'a: one\n  two\n', /multi-line/],
    ['unterminated quotes', 'a: "open\n', /unterminated/],
    ['duplicate keys', 'a: 1\na: 2\n', /duplicate key 'a'/],
    ['tabs in indentation', 'a:\n\tb: 1\n', /tabs/],
    ['bad indentation', 'a:\n    b: 1\n  c: 2\n', /line 3/],
    ['merge keys', 'a: 1\n<<: {b: 2}\n', /merge keys/],
    ['unclosed flow', 'a: [1, 2\n', /missing '\]'/],
    ['colon in a plain scalar', 'a: b: c\n', /quote it/],
  ];
  for (const [what, text, message] of refused) {
    it(`refuses ${what} with a line number`, () => {
      let error: unknown;
      try {
        parseYamlSubset(text);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(YamlSubsetError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/^line \d+: /);
    });
  }
});

describe('apiserver stand-in health', () => {
  it('answers /healthz with 500 while the store fails, and ok once it answers', async () => {
    const memory = new MemoryStore();
    let down = true;
    const flaky: KeyValueStore = new Proxy(memory, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => (down ? Promise.reject(new Error('etcd is down')) : value.apply(target, args));
      },
    });
    const server = await start({ port: 0, host: '127.0.0.1', store: flaky, bootstrapRetryMs: 20 });
    try {
      const bad = await call(server.url, 'GET', '/healthz');
      expect(bad.status).toBe(500);
      expect(bad.text).toContain('etcd is down');
      expectStatus(await call(server.url, 'GET', '/api/v1/namespaces/default'), 500, 'InternalError', /etcd is down/);
      down = false;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await call(server.url, 'GET', '/healthz')).text).toBe('ok');
      expect((await call(server.url, 'GET', '/api/v1/namespaces/default')).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('answers /healthz with 500 when etcd is not reachable at all', async () => {
    const port = await freePort();
    const server = await start({ port: 0, host: '127.0.0.1', etcdUrl: `http://127.0.0.1:${port}`, bootstrapRetryMs: 60_000 });
    try {
      const answer = await call(server.url, 'GET', '/healthz');
      expect(answer.status).toBe(500);
      expect(answer.text).toMatch(/etcd at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    } finally {
      await server.close();
    }
  });
});

describe('prefixRangeEnd', () => {
  it('increments the last byte, carrying over 0xff', () => {
    const decode = (text: string) => Buffer.from(text, 'base64');
    expect(decode(prefixRangeEnd('/registry/')).toString()).toBe('/registry0');
    expect([...decode(prefixRangeEnd('a\u00ff'))]).toEqual([0x61, 0xc3, 0xc0]);
  });
});

// ---- a real etcd ----------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function findEtcd(): string {
  const candidates = process.env.ETCD_BIN ? [process.env.ETCD_BIN] : ['/usr/bin/etcd', '/usr/local/bin/etcd'];
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    // Deliberately a failure, not a skip: this test is what shows the stand-in works with etcd.
    throw new Error(
      `no etcd binary (looked at ${candidates.join(', ')}); install it with 'apt-get install etcd-server' or set ETCD_BIN`,
    );
  }
  return found;
}

describe('apiserver stand-in on a real etcd', () => {
  let etcd: ChildProcess | undefined;
  let dataDir: string | undefined;
  let etcdUrl = '';
  let server: RunningApiServer | undefined;
  let etcdLog = '';

  beforeAll(async () => {
    const binary = findEtcd();
    dataDir = await mkdtemp(join(tmpdir(), 'standin-etcd-'));
    const clientPort = await freePort();
    const peerPort = await freePort();
    etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    etcd = spawn(
      binary,
      [
        '--name', 'standin-test',
        '--data-dir', dataDir,
        '--listen-client-urls', etcdUrl,
        '--advertise-client-urls', etcdUrl,
        '--listen-peer-urls', peerUrl,
        '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', `standin-test=${peerUrl}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    etcd.stdout!.on('data', (chunk) => (etcdLog += chunk));
    etcd.stderr!.on('data', (chunk) => (etcdLog += chunk));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (etcd.exitCode !== null) throw new Error(`etcd exited with ${etcd.exitCode}:\n${etcdLog.slice(-2000)}`);
      try {
        const health = await fetch(`${etcdUrl}/health`);
        if (health.ok && ((await health.json()) as { health?: string }).health === 'true') break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy:\n${etcdLog.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    server = await start({ port: 0, host: '127.0.0.1', etcdUrl });
  });

  afterAll(async () => {
    await server?.close();
    if (etcd && etcd.exitCode === null) {
      const exited = new Promise((resolve) => etcd!.once('exit', resolve));
      etcd.kill('SIGTERM');
      await exited;
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  apiserverApiSuite(() => server!.url);

  it('keeps objects in etcd under /registry, with resourceVersion = the key mod_revision', async () => {
    const created = await call(server!.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'stored-in-etcd' } });
    expect(created.status).toBe(201);
    const range = await fetch(`${etcdUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('/registry/namespaces/stored-in-etcd').toString('base64') }),
    });
    const kv = ((await range.json()) as { kvs: Array<{ value: string; mod_revision: string }> }).kvs[0]!;
    expect(kv.mod_revision).toBe(created.body.metadata.resourceVersion);
    const stored = JSON.parse(Buffer.from(kv.value, 'base64').toString());
    expect(stored.metadata.name).toBe('stored-in-etcd');
    expect(stored.metadata.uid).toBe(created.body.metadata.uid);
    expect(stored.metadata).not.toHaveProperty('resourceVersion');
  });

  it('EtcdGatewayStore: conditional put, prefix list, conditional delete, prefix delete', async () => {
    const store = new EtcdGatewayStore(etcdUrl);
    await store.ping();
    const first = await store.putIf('/t/a', 'one', 0);
    expect(first).toBeGreaterThan(0);
    expect(await store.putIf('/t/a', 'again', 0)).toBeUndefined();
    expect(await store.putIf('/t/a', 'stale', first! - 1)).toBeUndefined();
    const second = await store.putIf('/t/a', 'two', first!);
    expect(second).toBeGreaterThan(first!);
    await store.putIf('/t/b', 'three', 0);
    await store.putIf('/u/c', 'other', 0);
    const listed = await store.list('/t/');
    expect(listed.items.map((kv) => [kv.key, kv.value])).toEqual([
      ['/t/a', 'two'],
      ['/t/b', 'three'],
    ]);
    expect(listed.revision).toBeGreaterThanOrEqual(second!);
    expect(await store.get('/t/a')).toEqual({ key: '/t/a', value: 'two', modRevision: second });
    expect(await store.get('/t/missing')).toBeUndefined();
    expect(await store.delete('/t/a', first)).toBe(false);
    expect(await store.delete('/t/a', second)).toBe(true);
    expect(await store.delete('/t/a')).toBe(false);
    expect(await store.deletePrefix('/t/')).toBe(1);
    expect((await store.list('/t/')).items).toEqual([]);
    expect((await store.list('/u/')).items).toHaveLength(1);
  });
});
