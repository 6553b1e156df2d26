/**
 * `route apply|list|get|delete` against real local servers: the API server stand-in (in-memory
 * store), the Consul or Eureka stand-in with BookInfo's instances registered as registrator does,
 * and the pilot stand-in between them, which registers the CRDs and serves /v1/registration.
 */
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../sandbox/standins/apiserver-store.js';
import { start as startApiServer, type RunningApiServer } from '../sandbox/standins/apiserver.js';
import { start as startConsul } from '../sandbox/standins/consul.js';
import { start as startEureka } from '../sandbox/standins/eureka.js';
import { start as startPilot } from '../sandbox/standins/pilot.js';
import type { RunningServer } from '../sandbox/common/server.js';
import {
  applyRules,
  deleteRules,
  formatApplied,
  formatRule,
  formatRuleTable,
  getRule,
  listRules,
  type RouteDeps,
  type RuleSummary,
} from '../src/app/route.js';
import { ConfigStoreError, ExitCode, NotFoundError, RuleValidationError, UsageError, exitCodeFor } from '../src/errors.js';
import { ISTIO_VERSIONS } from '../src/model/istio-versions.js';
import { parseYamlDocuments } from '../src/common/yaml-file.js';
import { ConfigStoreStatusError, HttpConfigStore, type ConfigStore } from '../src/runtime/config-store.js';
import { pilotRegistry } from '../src/runtime/pilot-registry.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
type Registry = 'consul' | 'eureka';

/** BookInfo's instances: app, version, address. */
const BOOKINFO: ReadonlyArray<[string, string, string]> = [
  ['productpage', 'v1', '172.30.0.10'],
  ['details', 'v1', '172.30.0.11'],
  ['ratings', 'v1', '172.30.0.12'],
  ['reviews', 'v1', '172.30.0.13'],
  ['reviews', 'v2', '172.30.0.14'],
  ['reviews', 'v3', '172.30.0.15'],
];

/** How a rule names a service in each registry (Pilot's hostnames). */
const host = (registry: Registry, app: string) => (registry === 'consul' ? `${app}.service.consul` : app);

interface Mesh {
  registry: Registry;
  apiserver: RunningApiServer;
  deps: RouteDeps;
  close(): Promise<void>;
}

async function register(registry: Registry, url: string): Promise<void> {
  for (const [app, version, address] of BOOKINFO) {
    // What registrator sends: Consul tags `version|v1`; Eureka metadata, hostName = the app.
    const response =
      registry === 'consul'
        ? await fetch(`${url}/v1/agent/service/register`, {
            method: 'PUT',
            body: JSON.stringify({ ID: `${app}-${version}`, Name: app, Tags: [`version|${version}`], Address: address, Port: 9080 }),
          })
        : await fetch(`${url}/eureka/v2/apps/${app.toUpperCase()}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              instance: {
                instanceId: `${app}-${version}`,
                hostName: app,
                app: app.toUpperCase(),
                ipAddr: address,
                status: 'UP',
                port: { $: 9080, '@enabled': 'true' },
                metadata: { version, 'istio.protocol': 'http' },
              },
            }),
          });
    expect(response.ok, `registering ${app} ${version}`).toBe(true);
  }
}

async function startMesh(registry: Registry): Promise<Mesh> {
  const apiserver = await startApiServer({ port: 0, host: '127.0.0.1', store: new MemoryStore() });
  const registryServer: RunningServer =
    registry === 'consul' ? await startConsul({ port: 0, host: '127.0.0.1', address: '127.0.0.1' }) : await startEureka({ port: 0, host: '127.0.0.1' });
  await register(registry, registryServer.url);
  const pilot = await startPilot({
    port: 0,
    host: '127.0.0.1',
    kubeApi: apiserver.url,
    registry,
    ...(registry === 'consul' ? { consulUrl: registryServer.url } : { eurekaUrl: registryServer.url }),
    crds: ISTIO_VERSIONS[0]!.pilot.crds,
  });
  return {
    registry,
    apiserver,
    deps: { store: new HttpConfigStore(apiserver.url, { timeoutMs: 5000 }), registry: pilotRegistry(pilot.url, { timeoutMs: 5000 }) },
    close: async () => {
      await pilot.close();
      await registryServer.close();
      await apiserver.close();
    },
  };
}

let dir: string;
let fileCount = 0;
/** Writes a rule file; documents are YAML text or objects (dumped as JSON, which is YAML). */
async function ruleFile(...documents: Array<string | object>): Promise<string> {
  const file = join(dir, `rules-${++fileCount}.yaml`);
  await writeFile(file, documents.map((doc) => (typeof doc === 'string' ? doc : JSON.stringify(doc))).join('\n---\n'));
  return file;
}

/** A store whose namespace check passes for every namespace: one deleted between the check and the write. */
function namespacesVanish(store: ConfigStore): ConfigStore {
  return Object.assign(Object.create(store) as ConfigStore, { namespaceExists: async () => true });
}

const routeRule = (name: string, spec: object, extra: object = {}) => ({
  apiVersion: 'config.istio.io/v1alpha2',
  kind: 'RouteRule',
  metadata: { name, ...extra },
  spec,
});

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mesh-local-route-'));
});

for (const registry of ['consul', 'eureka'] as const) {
  describe(`route use cases with ${registry}`, () => {
    let mesh: Mesh;
    beforeAll(async () => {
      mesh = await startMesh(registry);
    });
    afterAll(() => mesh?.close());
    beforeEach(async () => {
      await deleteRules({ all: true }, mesh.deps);
    });
    const list = () => listRules({}, mesh.deps);
    const reviews = (weights: Array<[string, number]>) => ({
      destination: { service: host(registry, 'reviews') },
      precedence: 1,
      route: weights.map(([version, weight]) => ({ labels: { version }, weight })),
    });

    it(`stores each samples/bookinfo/rules/${registry} scenario as it is written, and lists it`, async () => {
      const samples = join(repoRoot, 'samples/bookinfo/rules', registry);
      const files = (await readdir(samples)).filter((name) => name.endsWith('.yaml')).sort();
      expect(files).toHaveLength(7);
      for (const name of files) {
        await deleteRules({ all: true }, mesh.deps);
        const file = join(samples, name);
        const documents = parseYamlDocuments(await readFile(file, 'utf8'), file) as Array<{
          kind: string;
          metadata: { name: string };
          spec: { destination: { service: string }; precedence?: number };
        }>;
        const applied = await applyRules({ files: [file] }, mesh.deps);
        expect(applied.map((entry) => `${entry.kind}/${entry.name} ${entry.action}`), name).toEqual(
          documents.map((doc) => `${doc.kind}/${doc.metadata.name} created`),
        );
        const listed = await list();
        expect(listed.map((rule) => [rule.kind, rule.name, rule.namespace, rule.destination, rule.precedence]).sort(), name).toEqual(
          documents.map((doc) => [doc.kind, doc.metadata.name, 'default', doc.spec.destination.service, doc.spec.precedence]).sort(),
        );
        for (const doc of documents) {
          const stored = await getRule({ name: doc.metadata.name }, mesh.deps);
          expect(stored.spec, `${name}: ${doc.metadata.name}`).toEqual(doc.spec);
          expect(stored.metadata.resourceVersion).toBe(applied.find((entry) => entry.name === doc.metadata.name)!.resourceVersion);
        }
      }
    });

    it('re-applying says unchanged; a changed rule is replaced with a new resourceVersion', async () => {
      const first = await ruleFile(routeRule('reviews-default', reviews([['v1', 100]])));
      const [created] = await applyRules({ files: [first] }, mesh.deps);
      expect(created).toMatchObject({ kind: 'RouteRule', name: 'reviews-default', namespace: 'default', action: 'created', file: first, document: 1 });
      const [again] = await applyRules({ files: [first] }, mesh.deps);
      expect(again).toMatchObject({ action: 'unchanged', resourceVersion: created!.resourceVersion });
      expect(formatApplied([again!])).toBe('routerule/reviews-default unchanged\n');

      const changed = await ruleFile(routeRule('reviews-default', reviews([['v1', 50], ['v3', 50]])));
      const [replaced] = await applyRules({ files: [changed] }, mesh.deps);
      expect(replaced!.action).toBe('configured');
      expect(replaced!.resourceVersion).not.toBe(created!.resourceVersion);
      const stored = await getRule({ name: 'routerule/reviews-default' }, mesh.deps);
      expect(stored.metadata.resourceVersion).toBe(replaced!.resourceVersion);
      expect(stored.spec).toEqual(reviews([['v1', 50], ['v3', 50]]));
      expect((await list()).map((rule) => [rule.name, rule.resourceVersion])).toEqual([['reviews-default', replaced!.resourceVersion]]);
    });

    it('checks destinations with the hostnames Pilot gives this registry', async () => {
      const right = await ruleFile(routeRule('ratings-default', { destination: { service: host(registry, 'ratings') }, route: [{ labels: { version: 'v1' } }] }));
      expect((await applyRules({ files: [right] }, mesh.deps))[0]!.action).toBe('created');
      const otherForm = registry === 'consul' ? 'reviews' : 'reviews.service.consul';
      const wrong = await ruleFile(routeRule('reviews-default', { destination: { service: otherForm } }));
      const error = await thrown(applyRules({ files: [wrong] }, mesh.deps));
      expect(error).toBeInstanceOf(RuleValidationError);
      expect((error as RuleValidationError).issues).toEqual([
        expect.objectContaining({ file: wrong, document: 1, name: 'reviews-default', path: 'spec.destination', message: expect.stringContaining(`no service "${otherForm}"`) }),
      ]);
      expect((error as Error).message).toContain(host(registry, 'reviews'));
      expect((await list()).map((rule) => rule.name)).toEqual(['ratings-default']);
    });

    // Each rule of issue 9 §1; every one leaves the store exactly as it was.
    const badRules: Array<{ what: string; doc: () => object | string; path: string; message: RegExp }> = [
      { what: 'weights not summing to 100', doc: () => routeRule('r', reviews([['v1', 60], ['v3', 30]])), path: 'spec.route', message: /total 90 \(must total 100\)/ },
      { what: 'a weight that is not an integer', doc: () => routeRule('r', reviews([['v1', 50.5], ['v3', 49.5]])), path: 'spec.route[0].weight', message: /integer/ },
      { what: 'an unknown destination service', doc: () => routeRule('r', { destination: { service: host(registry, 'stars') } }), path: 'spec.destination', message: /no service/ },
      { what: 'an unknown version label', doc: () => routeRule('r', reviews([['v4', 100]])), path: 'spec.route[0].labels', message: /no instance of .*reviews.* has labels version=v4/ },
      {
        what: 'a fault percent above 100',
        doc: () => routeRule('r', { ...reviews([['v1', 100]]), httpFault: { abort: { percent: 150, httpStatus: 500 } } }),
        path: 'spec.httpFault.abort.percent',
        message: /150 is not in range 0\.\.100/,
      },
      {
        what: 'a duration that does not parse',
        doc: () => routeRule('r', { ...reviews([['v1', 100]]), httpFault: { delay: { percent: 100, fixedDelay: '7 seconds' } } }),
        path: 'spec.httpFault.delay.fixedDelay',
        message: /./,
      },
      { what: 'a precedence that is not an integer', doc: () => routeRule('r', { ...reviews([['v1', 100]]), precedence: 1.5 }), path: 'spec.precedence', message: /integer/ },
      {
        what: 'a header match with both exact and prefix',
        doc: () => routeRule('r', { ...reviews([['v2', 100]]), precedence: 2, match: { request: { headers: { cookie: { exact: 'a', prefix: 'b' } } } } }),
        path: 'spec.match.request.headers.cookie',
        message: /./,
      },
      {
        what: 'a header regex that does not compile',
        doc: () => routeRule('r', { ...reviews([['v2', 100]]), precedence: 2, match: { request: { headers: { cookie: { regex: '^(user=jason' } } } } }),
        path: 'spec.match.request.headers.cookie.regex',
        message: /./,
      },
      {
        what: 'a networking.istio.io/v1alpha3 document',
        doc: () => ({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'VirtualService', metadata: { name: 'r' }, spec: { hosts: ['reviews'] } }),
        path: 'apiVersion',
        message: /v1alpha2 RouteRule and DestinationPolicy only/,
      },
    ];
    for (const bad of badRules) {
      it(`refuses ${bad.what} (exit 2, naming file, document, field) and stores nothing`, async () => {
        const kept = await ruleFile(routeRule('reviews-default', reviews([['v1', 100]])));
        await applyRules({ files: [kept] }, mesh.deps);
        const before = await list();
        // The bad document comes second, after a good one, in a file after a good file.
        const good = await ruleFile(routeRule('details-default', { destination: { service: host(registry, 'details') }, route: [{ labels: { version: 'v1' } }] }));
        const file = await ruleFile(routeRule('ratings-default', { destination: { service: host(registry, 'ratings') } }), bad.doc());
        const error = await thrown(applyRules({ files: [good, file] }, mesh.deps));
        expect(error).toBeInstanceOf(RuleValidationError);
        expect(exitCodeFor(error)).toBe(ExitCode.usage);
        const issue = (error as RuleValidationError).issues[0]!;
        expect(issue).toMatchObject({ file, document: 2, name: 'r', path: bad.path });
        expect(issue.message).toMatch(bad.message);
        expect((error as Error).message).toContain(`${file}: document 2 (r): ${bad.path}: `);
        expect(await list()).toEqual(before);
      });
    }

    it('reports the problems of every file at once', async () => {
      const one = await ruleFile(routeRule('a', reviews([['v1', 60]])));
      const two = await ruleFile(routeRule('b', { ...reviews([['v1', 100]]), precedence: '1' }));
      const error = (await thrown(applyRules({ files: [one, two] }, mesh.deps))) as RuleValidationError;
      expect(error.issues.map((issue) => `${issue.file === one ? 'one' : 'two'} ${issue.path}`)).toEqual(['one spec.route', 'two spec.precedence']);
      // Registry problems come once every file reads well (that check asks Pilot); again all at once.
      const three = await ruleFile(routeRule('c', reviews([['v9', 100]])));
      const four = await ruleFile(routeRule('d', { destination: { service: host(registry, 'stars') } }));
      const registryError = (await thrown(applyRules({ files: [three, four] }, mesh.deps))) as RuleValidationError;
      expect(registryError.issues.map((issue) => `${issue.file === three ? 'three' : 'four'} ${issue.path}`)).toEqual([
        'three spec.route[0].labels',
        'four spec.destination',
      ]);
      expect(await list()).toEqual([]);
    });

    it('refuses a namespace the API server lacks, before writing anything (exit 2)', async () => {
      const file = await ruleFile(
        routeRule('reviews-default', reviews([['v1', 100]])),
        routeRule('ratings-default', { destination: { service: host(registry, 'ratings') } }, { namespace: 'nowhere' }),
      );
      const error = (await thrown(applyRules({ files: [file] }, mesh.deps))) as RuleValidationError;
      expect(error).toBeInstanceOf(RuleValidationError);
      expect(exitCodeFor(error)).toBe(ExitCode.usage);
      expect(error.issues.map((issue) => `${issue.document} ${issue.path}`)).toEqual(['2 metadata.namespace']);
      expect(error.message).toMatch(/namespace "nowhere" does not exist in the API server/);
      expect(await list()).toEqual([]);
    });

    it('puts back what it created when the API server refuses a later document', async () => {
      // The namespace `nowhere` goes away between the check and the write: the API server refuses
      // the second create with 404.
      const file = await ruleFile(
        routeRule('reviews-default', reviews([['v1', 100]])),
        routeRule('ratings-default', { destination: { service: host(registry, 'ratings') } }, { namespace: 'nowhere' }),
      );
      const error = await thrown(applyRules({ files: [file] }, { ...mesh.deps, store: namespacesVanish(mesh.deps.store) }));
      expect(error).toBeInstanceOf(ConfigStoreStatusError);
      expect(error).toMatchObject({ status: 404, reason: 'NotFound' });
      expect((error as Error).message).toMatch(/namespaces "nowhere" not found/);
      expect(exitCodeFor(error)).toBe(ExitCode.failure);
      expect(await list()).toEqual([]);
    });

    it('puts back the previous version of what it replaced when a later write fails', async () => {
      const original = await ruleFile(routeRule('reviews-default', reviews([['v1', 100]])));
      await applyRules({ files: [original] }, mesh.deps);
      const file = await ruleFile(
        routeRule('reviews-default', reviews([['v2', 100]])),
        routeRule('details-default', { destination: { service: host(registry, 'details') } }),
        routeRule('ratings-default', { destination: { service: host(registry, 'ratings') } }, { namespace: 'nowhere' }),
      );
      await thrown(applyRules({ files: [file] }, { ...mesh.deps, store: namespacesVanish(mesh.deps.store) }));
      const listed = await list();
      expect(listed.map((rule) => rule.name)).toEqual(['reviews-default']);
      expect((await getRule({ name: 'reviews-default' }, mesh.deps)).spec).toEqual(reviews([['v1', 100]]));
    });

    it('does not overwrite a change made by someone else since it read the object (409 Conflict)', async () => {
      const original = await ruleFile(routeRule('reviews-default', reviews([['v1', 100]])));
      await applyRules({ files: [original] }, mesh.deps);
      const other = new HttpConfigStore(mesh.apiserver.url);
      // A store that lets another writer in just before our replace reaches the API server.
      const racing: ConfigStore = Object.assign(Object.create(mesh.deps.store) as ConfigStore, {
        replace: async (...args: Parameters<ConfigStore['replace']>) => {
          const current = (await other.get('RouteRule', 'default', 'reviews-default'))!;
          await other.replace({ ...current, spec: reviews([['v3', 100]]) }, 'default');
          return mesh.deps.store.replace(...args);
        },
      });
      const file = await ruleFile(routeRule('reviews-default', reviews([['v2', 100]])));
      const error = await thrown(applyRules({ files: [file] }, { ...mesh.deps, store: racing }));
      expect(error).toMatchObject({ status: 409, reason: 'Conflict' });
      expect((error as Error).message).toMatch(/the object has been modified/);
      expect((await getRule({ name: 'reviews-default' }, mesh.deps)).spec).toEqual(reviews([['v3', 100]]));
    });

    it('says what it could not put back when someone else changed it in the meantime', async () => {
      const original = await ruleFile(routeRule('reviews-default', reviews([['v1', 100]])));
      await applyRules({ files: [original] }, mesh.deps);
      const other = new HttpConfigStore(mesh.apiserver.url);
      // Another writer changes reviews-default after this apply replaced it, before the failing create.
      const racing: ConfigStore = Object.assign(Object.create(namespacesVanish(mesh.deps.store)) as ConfigStore, {
        create: async (...args: Parameters<ConfigStore['create']>) => {
          const current = (await other.get('RouteRule', 'default', 'reviews-default'))!;
          await other.replace({ ...current, spec: reviews([['v3', 100]]) }, 'default');
          return mesh.deps.store.create(...args);
        },
      });
      const file = await ruleFile(
        routeRule('reviews-default', reviews([['v2', 100]])),
        routeRule('ratings-default', { destination: { service: host(registry, 'ratings') } }, { namespace: 'nowhere' }),
      );
      const error = await thrown(applyRules({ files: [file] }, { ...mesh.deps, store: racing }));
      expect(error).toBeInstanceOf(ConfigStoreError);
      expect((error as Error).message).toMatch(
        /namespaces "nowhere" not found\nputting back what this apply had written also failed, so some of it is still stored:\n {2}- routerule\/reviews-default \(replaced\): .*409 Conflict/,
      );
      expect((error as ConfigStoreError).hint).toBe('see what is stored with `mesh-local route list`');
      // The other writer's change stands.
      expect((await getRule({ name: 'reviews-default' }, mesh.deps)).spec).toEqual(reviews([['v3', 100]]));
    });

    it('uses --namespace, and refuses a document naming another namespace', async () => {
      const file = await ruleFile(routeRule('reviews-default', reviews([['v1', 100]]), { namespace: 'kube-public' }));
      const error = (await thrown(applyRules({ files: [file], namespace: 'default' }, mesh.deps))) as RuleValidationError;
      expect(error.issues).toEqual([expect.objectContaining({ path: 'metadata.namespace', message: expect.stringContaining('--namespace kube-public') })]);
      const [applied] = await applyRules({ files: [file] }, mesh.deps);
      expect(applied!.namespace).toBe('kube-public');
      expect(await list()).toEqual([]);
      expect((await listRules({ namespace: 'kube-public' }, mesh.deps)).map((rule) => rule.name)).toEqual(['reviews-default']);
      expect(await deleteRules({ name: 'reviews-default', namespace: 'kube-public' }, mesh.deps)).toEqual([
        { kind: 'RouteRule', name: 'reviews-default', namespace: 'kube-public' },
      ]);
    });

    it('gets, lists and deletes by name and all; a missing name is NotFound (exit 1)', async () => {
      const file = await ruleFile(
        routeRule('reviews-default', reviews([['v1', 100]])),
        routeRule('reviews-test-v2', { ...reviews([['v2', 100]]), precedence: 2 }),
        { apiVersion: 'config.istio.io/v1alpha2', kind: 'DestinationPolicy', metadata: { name: 'reviews-lb' }, spec: { destination: { service: host(registry, 'reviews') }, loadBalancing: { name: 'RANDOM' } } },
      );
      await applyRules({ files: [file] }, mesh.deps);
      const listed = await list();
      expect(listed.map((rule: RuleSummary) => `${rule.kind} ${rule.name} ${rule.precedence ?? '-'}`)).toEqual([
        'RouteRule reviews-default 1',
        'RouteRule reviews-test-v2 2',
        'DestinationPolicy reviews-lb -',
      ]);
      expect(listed[0]!.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const table = formatRuleTable(listed).split('\n');
      expect(table[0]).toMatch(/^KIND\s+NAME\s+NAMESPACE\s+DESTINATION\s+PRECEDENCE\s+RESOURCE-VERSION\s+CREATED$/);
      expect(table[1]).toMatch(new RegExp(`^RouteRule\\s+reviews-default\\s+default\\s+${host(registry, 'reviews').replace(/\./g, '\\.')}\\s+1\\s+\\d+\\s+\\S+Z$`));

      const policy = await getRule({ name: 'reviews-lb' }, mesh.deps);
      expect(policy).toMatchObject({ apiVersion: 'config.istio.io/v1alpha2', kind: 'DestinationPolicy', metadata: { name: 'reviews-lb', namespace: 'default' } });
      expect(load(formatRule(policy, 'yaml'))).toEqual(policy);
      expect(JSON.parse(formatRule(policy, 'json'))).toEqual(policy);

      expect(await deleteRules({ name: 'routerule/reviews-test-v2' }, mesh.deps)).toEqual([{ kind: 'RouteRule', name: 'reviews-test-v2', namespace: 'default' }]);
      const missing = await thrown(deleteRules({ name: 'reviews-test-v2' }, mesh.deps));
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(exitCodeFor(missing)).toBe(ExitCode.failure);
      expect((missing as Error).message).toBe('no RouteRule or DestinationPolicy named reviews-test-v2 in namespace default');
      expect((missing as NotFoundError).hint).toBe('see what is stored with `mesh-local route list`');
      // The hint lists what the command looked at: the user's project and namespace.
      const elsewhere = (await thrown(getRule({ name: 'reviews-test-v2', project: 'demo2', namespace: 'kube-public' }, mesh.deps))) as NotFoundError;
      expect(elsewhere.hint).toBe('see what is stored with `mesh-local route list --project demo2 --namespace kube-public`');
      expect(await thrown(getRule({ name: 'reviews-test-v2' }, mesh.deps))).toBeInstanceOf(NotFoundError);
      expect(await thrown(deleteRules({ name: 'destinationpolicy/reviews-default' }, mesh.deps))).toBeInstanceOf(NotFoundError);
      expect(await thrown(deleteRules({}, mesh.deps))).toBeInstanceOf(UsageError);

      expect((await deleteRules({ all: true }, mesh.deps)).map((object) => `${object.kind}/${object.name}`)).toEqual([
        'RouteRule/reviews-default',
        'DestinationPolicy/reviews-lb',
      ]);
      expect(await list()).toEqual([]);
      expect(await deleteRules({ all: true }, mesh.deps)).toEqual([]);
    });
  });
}

describe('route against an API server whose CRDs pilot has not registered', () => {
  let apiserver: RunningApiServer;
  let mesh: Mesh;
  beforeAll(async () => {
    apiserver = await startApiServer({ port: 0, host: '127.0.0.1', store: new MemoryStore() });
    mesh = await startMesh('consul');
  });
  afterAll(async () => {
    await apiserver?.close();
    await mesh?.close();
  });

  it('says so, names the CRD, and points at pilot and mesh-local status', async () => {
    const store = new HttpConfigStore(apiserver.url);
    const error = await thrown(listRules({}, { store }));
    expect(error).toBeInstanceOf(ConfigStoreError);
    expect((error as Error).message).toBe(
      `the API server at ${apiserver.url} has no CustomResourceDefinition routerules.config.istio.io, so it cannot store RouteRule objects yet`,
    );
    expect((error as ConfigStoreError).hint).toMatch(/pilot registers the CRDs when it starts.*mesh-local status/);

    const file = await ruleFile(routeRule('reviews-default', { destination: { service: 'reviews.service.consul' } }));
    const applyError = await thrown(applyRules({ files: [file] }, { store, registry: mesh.deps.registry }));
    expect((applyError as Error).message).toMatch(/no CustomResourceDefinition routerules\.config\.istio\.io/);
    const items = (await (await fetch(`${apiserver.url}/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions`)).json()) as { items: unknown[] };
    expect(items.items).toEqual([]);
  });
});
