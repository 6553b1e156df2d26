/**
 * API tests for the kube-apiserver stand-in, written against a URL so they run the same against an
 * in-process server, one backed by a real etcd, or a container. Names carry a random suffix, so
 * the suite can run again against a server that keeps its data.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

export function expectStatus(answer: Answer, code: number, reason: string, message?: string | RegExp): void {
  expect(answer.status, answer.text).toBe(code);
  expect(answer.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code });
  expect(typeof answer.body.message).toBe('string');
  if (message !== undefined) expect(answer.body.message).toMatch(message);
}

const CRD_PATH = '/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions';

/** A CRD like the ones pilot registers, for a group private to one suite run. */
export function crdBody(plural: string, group: string, kind: string, version = 'v1alpha2') {
  return {
    apiVersion: 'apiextensions.k8s.io/v1beta1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: { group, version, scope: 'Namespaced', names: { plural, kind, singular: kind.toLowerCase() } },
  };
}

export function apiserverApiSuite(url: () => string): void {
  const run = randomBytes(4).toString('hex');
  const get = (path: string) => call(url(), 'GET', path);
  const post = (path: string, body: unknown, type?: string) => call(url(), 'POST', path, body, type);
  const put = (path: string, body: unknown) => call(url(), 'PUT', path, body);
  const del = (path: string) => call(url(), 'DELETE', path);

  describe('health and version', () => {
    it('GET /healthz answers ok', async () => {
      const answer = await get('/healthz');
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('ok');
      expect(answer.headers.get('x-mesh-local-standin')).toBe('kube-apiserver');
    });

    it('GET /version names a 1.7 API server', async () => {
      const answer = await get('/version');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ major: '1', minor: '7' });
      expect(answer.body.gitVersion).toMatch(/^v1\.7\./);
    });

    it('answers an unknown path with a NotFound Status and PATCH with MethodNotAllowed', async () => {
      expectStatus(await get('/api/v1/pods'), 404, 'NotFound');
      expectStatus(await get('/nothing/here'), 404, 'NotFound');
      expectStatus(await call(url(), 'PATCH', '/api/v1/namespaces/default', {}), 405, 'MethodNotAllowed');
    });
  });

  describe('namespaces', () => {
    const ns = `suite-${run}`;

    it('lists the system namespaces in a NamespaceList', async () => {
      const answer = await get('/api/v1/namespaces');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ kind: 'NamespaceList', apiVersion: 'v1' });
      expect(answer.body.metadata.resourceVersion).toMatch(/^\d+$/);
      const names = answer.body.items.map((item: any) => item.metadata.name);
      expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));
      expect(answer.body.items.find((item: any) => item.metadata.name === 'default').status.phase).toBe('Active');
    });

    it('creates a namespace with uid, creationTimestamp and resourceVersion, once', async () => {
      const answer = await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body).toMatchObject({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: ns }, status: { phase: 'Active' } });
      expect(answer.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.body.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(new Date(answer.body.metadata.creationTimestamp).getTime()).toBeGreaterThan(Date.now() - 120_000);

      const again = await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      expectStatus(again, 409, 'AlreadyExists', `namespaces "${ns}" already exists`);
      expect(again.body.details).toMatchObject({ name: ns, kind: 'namespaces' });
    });

    it('gets a namespace and 404s one that does not exist', async () => {
      const answer = await get(`/api/v1/namespaces/${ns}`);
      expect(answer.status).toBe(200);
      expect(answer.body.metadata.name).toBe(ns);
      expectStatus(await get(`/api/v1/namespaces/missing-${run}`), 404, 'NotFound', `namespaces "missing-${run}" not found`);
    });

    it('accepts a YAML body like the config-init job posts', async () => {
      const name = `yaml-${run}`;
      const yaml = `# Generated by mesh-local. Namespace for Mixer config and CA secrets.\napiVersion: "v1"\nkind: "Namespace"\nmetadata:\n  name: "${name}"\n  labels:\n    dev.mesh-local.created-by: "config-init"\n`;
      const answer = await post('/api/v1/namespaces', yaml, 'application/yaml');
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body.metadata).toMatchObject({ name, labels: { 'dev.mesh-local.created-by': 'config-init' } });
      expectStatus(await post('/api/v1/namespaces', yaml, 'application/yaml'), 409, 'AlreadyExists');
      expect((await del(`/api/v1/namespaces/${name}`)).status).toBe(200);
    });

    it('refuses bodies it cannot read: 415 unknown type, 400 bad JSON, bad YAML, non-object', async () => {
      expectStatus(await post('/api/v1/namespaces', 'name=x', 'application/x-www-form-urlencoded'), 415, 'UnsupportedMediaType', /application\/yaml/);
      expectStatus(await post('/api/v1/namespaces', '{"metadata":', 'application/json'), 400, 'BadRequest', /JSON/);
      expectStatus(await post('/api/v1/namespaces', 'metadata: &a\n  name: x\n', 'application/yaml'), 400, 'BadRequest', /YAML/);
      expectStatus(await post('/api/v1/namespaces', '[1, 2]', 'application/json'), 400, 'BadRequest', /object/);
    });

    it('refuses a namespace without a name or with an invalid one (422 Invalid)', async () => {
      expectStatus(await post('/api/v1/namespaces', { metadata: {} }), 422, 'Invalid', /metadata\.name/);
      expectStatus(await post('/api/v1/namespaces', { metadata: { name: 'Not_Valid' } }), 422, 'Invalid', /metadata\.name/);
      expectStatus(await post('/api/v1/namespaces', { kind: 'Pod', metadata: { name: 'x' } }), 400, 'BadRequest', /kind/);
    });

    it('updates with the current resourceVersion and refuses a stale one (409 Conflict)', async () => {
      const current = (await get(`/api/v1/namespaces/${ns}`)).body;
      const updated = await put(`/api/v1/namespaces/${ns}`, { ...current, metadata: { ...current.metadata, labels: { team: 'a' } } });
      expect(updated.status, updated.text).toBe(200);
      expect(updated.body.metadata.labels).toEqual({ team: 'a' });
      expect(updated.body.metadata.uid).toBe(current.metadata.uid);
      expect(updated.body.metadata.creationTimestamp).toBe(current.metadata.creationTimestamp);
      expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(current.metadata.resourceVersion));

      const stale = await put(`/api/v1/namespaces/${ns}`, { ...current, metadata: { ...current.metadata, labels: { team: 'b' } } });
      expectStatus(stale, 409, 'Conflict', /has been modified/);
      expect((await get(`/api/v1/namespaces/${ns}`)).body.metadata.labels).toEqual({ team: 'a' });
    });

    it('refuses a PUT whose name differs from the URL (400) or whose target is missing (404)', async () => {
      const current = (await get(`/api/v1/namespaces/${ns}`)).body;
      expectStatus(await put(`/api/v1/namespaces/${ns}`, { ...current, metadata: { ...current.metadata, name: 'other' } }), 400, 'BadRequest', /does not match the name on the URL/);
      expectStatus(await put(`/api/v1/namespaces/missing-${run}`, { metadata: { name: `missing-${run}` } }), 404, 'NotFound');
    });

    it('deletes a namespace (200 Status Success), then 404s it', async () => {
      const answer = await del(`/api/v1/namespaces/${ns}`);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toMatchObject({ kind: 'Status', status: 'Success', details: { name: ns, kind: 'namespaces' } });
      expectStatus(await get(`/api/v1/namespaces/${ns}`), 404, 'NotFound');
      expectStatus(await del(`/api/v1/namespaces/${ns}`), 404, 'NotFound');
    });

    it('refuses to delete a system namespace (403 Forbidden)', async () => {
      expectStatus(await del('/api/v1/namespaces/default'), 403, 'Forbidden', /may not be deleted/);
      expect((await get('/api/v1/namespaces/default')).status).toBe(200);
    });
  });

  describe('CustomResourceDefinitions and their resources', () => {
    const group = `suite${run}.example.io`;
    const crdName = `routerules.${group}`;
    const base = `/apis/${group}/v1alpha2`;
    const ns = `crs-${run}`;
    const rule = (name: string, extra: Record<string, unknown> = {}) => ({
      apiVersion: `${group}/v1alpha2`,
      kind: 'RouteRule',
      metadata: { name, ...extra },
      spec: { destination: { name: 'reviews' }, precedence: 1, route: [{ labels: { version: 'v1' } }] },
    });

    it('serves no resources before their CRD exists (404)', async () => {
      expectStatus(await get(`${base}/namespaces/default/routerules`), 404, 'NotFound');
      expectStatus(await post(`${base}/namespaces/default/routerules`, rule('early')), 404, 'NotFound');
      expectStatus(await get(`${CRD_PATH}/${crdName}`), 404, 'NotFound', `customresourcedefinitions.apiextensions.k8s.io "${crdName}" not found`);
    });

    it('refuses a CRD whose name is not <plural>.<group> (422 Invalid)', async () => {
      const body = crdBody('routerules', group, 'RouteRule');
      body.metadata.name = `rules.${group}`;
      expectStatus(await post(CRD_PATH, body), 422, 'Invalid', /must be spec\.names\.plural\+"\."\+spec\.group/);
    });

    it('refuses CRDs with a missing group, kind or a non-Namespaced scope (422)', async () => {
      const noKind = crdBody('things', group, 'Thing') as any;
      delete noKind.spec.names.kind;
      expectStatus(await post(CRD_PATH, noKind), 422, 'Invalid', /spec\.names\.kind/);
      const cluster = crdBody('things', group, 'Thing') as any;
      cluster.spec.scope = 'Cluster';
      expectStatus(await post(CRD_PATH, cluster), 422, 'Invalid', /Namespaced/);
      const noDot = crdBody('things', 'nodot', 'Thing');
      expectStatus(await post(CRD_PATH, noDot), 422, 'Invalid', /spec\.group/);
    });

    it('creates a CRD once, marks it Established, lists and gets it', async () => {
      const answer = await post(CRD_PATH, crdBody('routerules', group, 'RouteRule'));
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body.metadata).toMatchObject({ name: crdName });
      expect(answer.body.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(answer.body.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
      expect(answer.body.status.acceptedNames).toMatchObject({ plural: 'routerules', kind: 'RouteRule', listKind: 'RouteRuleList' });
      expectStatus(await post(CRD_PATH, crdBody('routerules', group, 'RouteRule')), 409, 'AlreadyExists', `customresourcedefinitions.apiextensions.k8s.io "${crdName}" already exists`);

      const list = await get(CRD_PATH);
      expect(list.body).toMatchObject({ kind: 'CustomResourceDefinitionList', apiVersion: 'apiextensions.k8s.io/v1beta1' });
      expect(list.body.items.map((item: any) => item.metadata.name)).toContain(crdName);
      expect((await get(`${CRD_PATH}/${crdName}`)).body.spec.names.kind).toBe('RouteRule');
    });

    it('needs the namespace to exist for a namespaced create (404)', async () => {
      expectStatus(await post(`${base}/namespaces/${ns}/routerules`, rule('r1')), 404, 'NotFound', `namespaces "${ns}" not found`);
      expect((await post('/api/v1/namespaces', { metadata: { name: ns } })).status).toBe(201);
    });

    it('creates a resource with Kubernetes metadata, once', async () => {
      const answer = await post(`${base}/namespaces/${ns}/routerules`, rule('reviews-default'));
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body).toMatchObject({ apiVersion: `${group}/v1alpha2`, kind: 'RouteRule', metadata: { name: 'reviews-default', namespace: ns } });
      expect(answer.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.body.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(answer.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(answer.body.spec.route).toEqual([{ labels: { version: 'v1' } }]);
      const again = await post(`${base}/namespaces/${ns}/routerules`, rule('reviews-default'));
      expectStatus(again, 409, 'AlreadyExists', `routerules.${group} "reviews-default" already exists`);
      expect(again.body.details).toMatchObject({ name: 'reviews-default', group, kind: 'routerules' });
    });

    it('refuses a wrong kind, apiVersion or namespace in the body (400) and a missing kind', async () => {
      expectStatus(await post(`${base}/namespaces/${ns}/routerules`, { ...rule('x'), kind: 'VirtualService' }), 400, 'BadRequest', /kind/);
      expectStatus(await post(`${base}/namespaces/${ns}/routerules`, { ...rule('x'), apiVersion: 'config.istio.io/v1alpha2' }), 400, 'BadRequest', /API version/);
      expectStatus(await post(`${base}/namespaces/${ns}/routerules`, rule('x', { namespace: 'default' })), 400, 'BadRequest', /namespace/);
      const { kind: _kind, ...noKind } = rule('x');
      expectStatus(await post(`${base}/namespaces/${ns}/routerules`, noKind), 400, 'BadRequest', /Kind/);
    });

    it('accepts a YAML route rule', async () => {
      const yaml = [
        `apiVersion: ${group}/v1alpha2`,
        'kind: RouteRule',
        'metadata:',
        '  name: reviews-test-v2',
        'spec:',
        '  destination:',
        '    name: reviews',
        '  precedence: 2',
        '  match:',
        '    request:',
        '      headers:',
        '        cookie:',
        "          regex: '^(.*?;)?(user=jason)(;.*)?$'",
        '  route:',
        '  - labels:',
        '      version: v2',
        '',
      ].join('\n');
      const answer = await post(`${base}/namespaces/${ns}/routerules`, yaml, 'application/yaml');
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body.spec).toEqual({
        destination: { name: 'reviews' },
        precedence: 2,
        match: { request: { headers: { cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } } } },
        route: [{ labels: { version: 'v2' } }],
      });
    });

    it('gets a resource, 404s a missing one, and 404s a version the CRD does not serve', async () => {
      const answer = await get(`${base}/namespaces/${ns}/routerules/reviews-default`);
      expect(answer.status).toBe(200);
      expect(answer.body.metadata.name).toBe('reviews-default');
      expectStatus(await get(`${base}/namespaces/${ns}/routerules/nope`), 404, 'NotFound', `routerules.${group} "nope" not found`);
      expectStatus(await get(`${base}/namespaces/default/routerules/reviews-default`), 404, 'NotFound');
      expectStatus(await get(`/apis/${group}/v1/namespaces/${ns}/routerules`), 404, 'NotFound');
      expectStatus(await get(`${base}/namespaces/${ns}/destinationpolicies`), 404, 'NotFound');
    });

    it('lists per namespace and across namespaces', async () => {
      expect((await post(`${base}/namespaces/default/routerules`, rule('in-default'))).status).toBe(201);
      const inNs = await get(`${base}/namespaces/${ns}/routerules`);
      expect(inNs.status).toBe(200);
      expect(inNs.body).toMatchObject({ kind: 'RouteRuleList', apiVersion: `${group}/v1alpha2` });
      expect(inNs.body.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(inNs.body.items.map((item: any) => item.metadata.name).sort()).toEqual(['reviews-default', 'reviews-test-v2']);
      const all = await get(`${base}/routerules`);
      expect(all.body.kind).toBe('RouteRuleList');
      expect(all.body.items.map((item: any) => `${item.metadata.namespace}/${item.metadata.name}`).sort()).toEqual([
        `${ns}/reviews-default`,
        `${ns}/reviews-test-v2`,
        'default/in-default',
      ].sort());
    });

    it('updates only with the current resourceVersion: 422 without one, 409 with a stale one', async () => {
      const path = `${base}/namespaces/${ns}/routerules/reviews-default`;
      const current = (await get(path)).body;
      const { resourceVersion: _rv, ...withoutVersion } = current.metadata;
      expectStatus(await put(path, { ...current, metadata: withoutVersion }), 422, 'Invalid', /resourceVersion/);

      const changed = { ...current, spec: { ...current.spec, route: [{ labels: { version: 'v3' }, weight: 100 }] } };
      const updated = await put(path, changed);
      expect(updated.status, updated.text).toBe(200);
      expect(updated.body.spec.route).toEqual([{ labels: { version: 'v3' }, weight: 100 }]);
      expect(updated.body.metadata.uid).toBe(current.metadata.uid);
      expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(current.metadata.resourceVersion));

      expectStatus(await put(path, changed), 409, 'Conflict', `Operation cannot be fulfilled on routerules.${group} "reviews-default"`);
      expectStatus(await put(`${base}/namespaces/${ns}/routerules/nope`, rule('nope', { resourceVersion: '1' })), 404, 'NotFound');
      expect((await get(path)).body.spec.route[0].labels.version).toBe('v3');
    });

    it('deletes a resource (200 Status Success), then 404s it', async () => {
      const path = `${base}/namespaces/default/routerules/in-default`;
      const answer = await del(path);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'in-default', group, kind: 'routerules' } });
      expectStatus(await get(path), 404, 'NotFound');
      expectStatus(await del(path), 404, 'NotFound');
    });

    it('deleting a namespace deletes the resources in it', async () => {
      const other = `gone-${run}`;
      expect((await post('/api/v1/namespaces', { metadata: { name: other } })).status).toBe(201);
      expect((await post(`${base}/namespaces/${other}/routerules`, rule('doomed'))).status).toBe(201);
      expect((await del(`/api/v1/namespaces/${other}`)).status).toBe(200);
      expect((await post('/api/v1/namespaces', { metadata: { name: other } })).status).toBe(201);
      expect((await get(`${base}/namespaces/${other}/routerules`)).body.items).toEqual([]);
      expect((await del(`/api/v1/namespaces/${other}`)).status).toBe(200);
    });

    it('deleting the CRD stops serving its resources and deletes them', async () => {
      const answer = await del(`${CRD_PATH}/${crdName}`);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toMatchObject({ kind: 'Status', status: 'Success' });
      expectStatus(await get(`${base}/namespaces/${ns}/routerules`), 404, 'NotFound');
      expectStatus(await del(`${CRD_PATH}/${crdName}`), 404, 'NotFound');
      expect((await post(CRD_PATH, crdBody('routerules', group, 'RouteRule'))).status).toBe(201);
      expect((await get(`${base}/namespaces/${ns}/routerules`)).body.items).toEqual([]);
      expect((await del(`${CRD_PATH}/${crdName}`)).status).toBe(200);
      expect((await del(`/api/v1/namespaces/${ns}`)).status).toBe(200);
    });
  });
}
