/**
 * STAND-IN for kube-apiserver's insecure port (mesh-local sandbox). The real image
 * (gcr.io/google_containers/kube-apiserver-amd64) cannot be pulled here, so this program serves
 * the part of the Kubernetes REST API Istio's non-Kubernetes setup uses: namespaces,
 * CustomResourceDefinitions (apiextensions.k8s.io/v1beta1) and the namespaced custom resources
 * they define, stored in a REAL etcd through etcd v3's JSON gateway.
 *
 * Kubernetes rules it keeps: resourceVersion is the etcd key's mod revision; uid and
 * creationTimestamp are set on create; errors are `Status` objects (AlreadyExists 409, NotFound
 * 404, Conflict 409 on a stale resourceVersion, Invalid 422, BadRequest 400); a namespaced create
 * needs its namespace; deleting a CRD deletes its resources, deleting a namespace deletes what is
 * in it. Not served: watches, label selectors, PATCH, discovery, core kinds other than Namespace,
 * cluster-scoped custom resources, authentication (the insecure port had none either).
 *
 * Command line: upstream's `kube-apiserver ...`, parsed with kube-apiserver 1.7.3's flags:
 * `--insecure-port` and `--insecure-bind-address` are where it listens, the first of
 * `--etcd-servers` is the etcd it uses, `--etcd-prefix` prefixes its keys. Environment of the
 * image: ETCD_API_PREFIX (/v3; etcd 3.2 needs /v3alpha).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { HttpError, Router, listen, readBody, sendJson, sendText, type Params, type RunningServer, standinHandler, STANDIN_HEADER } from '../common/server.js';
import { runUpstreamProgram } from '../common/upstream-cli.js';
import { EtcdGatewayStore, StoreUnavailableError, type KeyValue, type KeyValueStore } from './apiserver-store.js';
import { YamlSubsetError, parseYamlSubset } from './apiserver-yaml.js';

export { STANDIN_HEADER };
/** Namespaces a fresh kube-apiserver creates; they may not be deleted. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public'];
const CRD_GROUP = 'apiextensions.k8s.io';
const CRD_VERSION = 'v1beta1';
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface ApiServerOptions {
  port: number;
  host?: string;
  /** Where objects live; defaults to etcd's gateway at `etcdUrl`. */
  store?: KeyValueStore;
  etcdUrl?: string;
  etcdApiPrefix?: string;
  /** Prefix of every key this server writes (kube-apiserver's `--etcd-prefix`). */
  keyPrefix?: string;
  /** Delay between attempts to create the system namespaces while etcd is not answering. */
  bootstrapRetryMs?: number;
}

type KubeObject = Record<string, unknown> & { metadata: Metadata };
interface Metadata extends Record<string, unknown> {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  selfLink?: string;
}

/** A Kubernetes `Status` failure; handlers throw it and `wrap` answers with it. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** What the API server knows about one kind of object: where it lives and what it is called. */
interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  namespaced: boolean;
  /** `namespaces` or `routerules.config.istio.io`, as Kubernetes names a resource in messages. */
  qualified: string;
}

const NAMESPACES: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  namespaced: false,
  qualified: 'namespaces',
};

const CRDS: ResourceType = {
  group: CRD_GROUP,
  version: CRD_VERSION,
  kind: 'CustomResourceDefinition',
  listKind: 'CustomResourceDefinitionList',
  plural: 'customresourcedefinitions',
  namespaced: false,
  qualified: `customresourcedefinitions.${CRD_GROUP}`,
};

const groupVersion = (type: ResourceType) => (type.group ? `${type.group}/${type.version}` : type.version);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class ApiServer {
  private bootstrapped = false;

  constructor(
    readonly store: KeyValueStore,
    private readonly root = '/registry',
  ) {}

  // ---- keys -------------------------------------------------------------------------------

  private typePrefix(type: ResourceType): string {
    if (type === NAMESPACES) return `${this.root}/namespaces/`;
    if (type === CRDS) return `${this.root}/${CRD_GROUP}/customresourcedefinitions/`;
    return `${this.root}/${type.group}/${type.plural}/`;
  }

  private listPrefix(type: ResourceType, namespace?: string): string {
    return namespace === undefined ? this.typePrefix(type) : `${this.typePrefix(type)}${namespace}/`;
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return type.namespaced ? `${this.typePrefix(type)}${namespace}/${name}` : `${this.typePrefix(type)}${name}`;
  }

  private selfLink(type: ResourceType, namespace?: string, name?: string): string {
    const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
    const ns = type.namespaced && namespace !== undefined ? `/namespaces/${namespace}` : '';
    return `${base}${ns}/${type.plural}${name === undefined ? '' : `/${name}`}`;
  }

  // ---- bootstrap and health ---------------------------------------------------------------

  /** Creates the system namespaces once; safe to call again (and concurrently). */
  async bootstrap(): Promise<void> {
    if (this.bootstrapped) return;
    for (const name of SYSTEM_NAMESPACES) {
      const object = this.newObject(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, undefined);
      // 0: only if absent; an existing one (from an earlier run) is kept as it is.
      await this.store.putIf(this.key(NAMESPACES, undefined, name), JSON.stringify(object), 0);
    }
    this.bootstrapped = true;
  }

  async healthy(): Promise<void> {
    await this.store.ping();
    await this.bootstrap();
  }

  // ---- generic operations -----------------------------------------------------------------

  private decode(type: ResourceType, kv: KeyValue): KubeObject {
    const object = JSON.parse(kv.value) as KubeObject;
    object.metadata.resourceVersion = String(kv.modRevision);
    object.metadata.selfLink = this.selfLink(type, object.metadata.namespace, object.metadata.name);
    return object;
  }

  private encode(object: KubeObject): string {
    const { resourceVersion: _version, selfLink: _link, ...metadata } = object.metadata;
    return JSON.stringify({ ...object, metadata });
  }

  private notFound(type: ResourceType, name: string): StatusError {
    return new StatusError(404, 'NotFound', `${type.qualified} "${name}" not found`, {
      name,
      ...(type.group ? { group: type.group } : {}),
      kind: type.plural,
    });
  }

  async list(type: ResourceType, namespace?: string): Promise<Record<string, unknown>> {
    const { items, revision } = await this.store.list(this.listPrefix(type, namespace));
    return {
      kind: type.listKind,
      apiVersion: groupVersion(type),
      metadata: { selfLink: this.selfLink(type, namespace), resourceVersion: String(revision) },
      items: items.map((kv) => this.decode(type, kv)),
    };
  }

  async get(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.store.get(this.key(type, namespace, name));
    if (!kv) throw this.notFound(type, name);
    return this.decode(type, kv);
  }

  /** Checks the parts every write shares: kind, apiVersion, name and namespace. */
  private validate(type: ResourceType, body: Record<string, unknown>, namespace: string | undefined): KubeObject {
    const expectedVersion = groupVersion(type);
    if (body.apiVersion === undefined || body.apiVersion === '') {
      if (type === NAMESPACES) body.apiVersion = expectedVersion;
      else throw new StatusError(400, 'BadRequest', `Object 'apiVersion' is missing; expected '${expectedVersion}'`);
    }
    if (body.kind === undefined || body.kind === '') {
      if (type === NAMESPACES) body.kind = type.kind;
      else throw new StatusError(400, 'BadRequest', `Object 'Kind' is missing; expected '${type.kind}'`);
    }
    if (body.apiVersion !== expectedVersion) {
      throw new StatusError(
        400,
        'BadRequest',
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expectedVersion})`,
      );
    }
    if (body.kind !== type.kind) {
      throw new StatusError(400, 'BadRequest', `the kind in the data (${String(body.kind)}) does not match the expected kind (${type.kind})`);
    }
    const metadata = body.metadata;
    if (metadata === undefined || metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw this.invalid(type, '', 'metadata: Required value: an object with a name is required');
    }
    const meta = metadata as Metadata;
    if (typeof meta.name !== 'string' || meta.name === '') {
      throw this.invalid(type, '', 'metadata.name: Required value: name or generateName is required');
    }
    const pattern = type === NAMESPACES ? DNS_LABEL : DNS_SUBDOMAIN;
    if (!pattern.test(meta.name) || meta.name.length > (type === NAMESPACES ? 63 : 253)) {
      throw this.invalid(
        type,
        meta.name,
        `metadata.name: Invalid value: "${meta.name}": must consist of lower case alphanumeric characters, '-'${type === NAMESPACES ? '' : " or '.'"}, and must start and end with an alphanumeric character`,
      );
    }
    if (type.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw new StatusError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = namespace;
    } else if (meta.namespace !== undefined && meta.namespace !== '') {
      throw new StatusError(400, 'BadRequest', `${type.kind} is not namespaced; metadata.namespace must be empty`);
    } else {
      delete meta.namespace;
    }
    return body as KubeObject;
  }

  private invalid(type: ResourceType, name: string, cause: string): StatusError {
    return new StatusError(422, 'Invalid', `${type.group ? `${type.kind}.${type.group}` : type.kind} "${name}" is invalid: ${cause}`, {
      name,
      ...(type.group ? { group: type.group } : {}),
      kind: type.kind,
    });
  }

  private newObject(type: ResourceType, body: Record<string, unknown>, namespace: string | undefined): KubeObject {
    const object = body as KubeObject;
    object.metadata = {
      ...object.metadata,
      ...(type.namespaced ? { namespace } : {}),
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    delete object.metadata.resourceVersion;
    delete object.metadata.selfLink;
    if (type === NAMESPACES) {
      object.spec = { finalizers: ['kubernetes'], ...(object.spec as object | undefined) };
      object.status = { phase: 'Active' };
    }
    return object;
  }

  async create(type: ResourceType, namespace: string | undefined, body: Record<string, unknown>): Promise<KubeObject> {
    const validated = this.validate(type, body, namespace);
    if (type.namespaced) await this.get(NAMESPACES, undefined, namespace!);
    if (type === CRDS) this.prepareCrd(validated);
    const object = this.newObject(type, validated, namespace);
    const name = object.metadata.name!;
    const revision = await this.store.putIf(this.key(type, namespace, name), this.encode(object), 0);
    if (revision === undefined) {
      throw new StatusError(409, 'AlreadyExists', `${type.qualified} "${name}" already exists`, {
        name,
        ...(type.group ? { group: type.group } : {}),
        kind: type.plural,
      });
    }
    return this.decode(type, { key: '', value: this.encode(object), modRevision: revision });
  }

  async update(type: ResourceType, namespace: string | undefined, name: string, body: Record<string, unknown>): Promise<KubeObject> {
    const key = this.key(type, namespace, name);
    const stored = await this.store.get(key);
    if (!stored) throw this.notFound(type, name);
    const object = this.validate(type, body, namespace);
    if (object.metadata.name !== name) {
      throw new StatusError(
        400,
        'BadRequest',
        `the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const sent = object.metadata.resourceVersion;
    let expected = stored.modRevision;
    if (sent === undefined || sent === '') {
      // Kubernetes lets core kinds like Namespace update unconditionally; custom resources not.
      if (type !== NAMESPACES) {
        throw this.invalid(type, name, 'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update');
      }
    } else if (String(sent) !== String(stored.modRevision)) {
      throw this.conflict(type, name);
    } else {
      expected = Number(sent);
    }
    const previous = JSON.parse(stored.value) as KubeObject;
    object.metadata.uid = previous.metadata.uid;
    object.metadata.creationTimestamp = previous.metadata.creationTimestamp;
    if (type === NAMESPACES) object.status = previous.status;
    const revision = await this.store.putIf(key, this.encode(object), expected);
    if (revision === undefined) throw this.conflict(type, name);
    return this.decode(type, { key, value: this.encode(object), modRevision: revision });
  }

  private conflict(type: ResourceType, name: string): StatusError {
    return new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${type.qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, ...(type.group ? { group: type.group } : {}), kind: type.plural },
    );
  }

  async remove(type: ResourceType, namespace: string | undefined, name: string): Promise<Record<string, unknown>> {
    if (type === NAMESPACES && SYSTEM_NAMESPACES.includes(name)) {
      throw new StatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, {
        name,
        kind: 'namespaces',
      });
    }
    const key = this.key(type, namespace, name);
    const stored = await this.store.get(key);
    if (!stored) throw this.notFound(type, name);
    const object = this.decode(type, stored);
    if (!(await this.store.delete(key, stored.modRevision))) throw this.conflict(type, name);
    // What Kubernetes' namespace controller and CRD finalizer do later, done at once.
    if (type === NAMESPACES) {
      for (const crd of (await this.list(CRDS)).items as KubeObject[]) {
        await this.store.deletePrefix(this.listPrefix(crdResourceType(crd), name));
      }
    } else if (type === CRDS) {
      await this.store.deletePrefix(this.typePrefix(crdResourceType(object)));
    }
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, ...(type.group ? { group: type.group } : {}), kind: type.plural, uid: object.metadata.uid },
    };
  }

  // ---- CustomResourceDefinitions ----------------------------------------------------------

  private prepareCrd(crd: KubeObject): void {
    const name = crd.metadata.name!;
    const fail = (cause: string) => this.invalid(CRDS, name, cause);
    const spec = crd.spec as Record<string, unknown> | undefined;
    if (!spec || typeof spec !== 'object') throw fail('spec: Required value');
    const group = spec.group;
    if (typeof group !== 'string' || !DNS_SUBDOMAIN.test(group) || !group.includes('.')) {
      throw fail(`spec.group: Invalid value: ${JSON.stringify(group)}: should be a domain with at least one dot`);
    }
    const versions = servedVersions(spec);
    if (versions.length === 0 || !versions.every((version) => DNS_LABEL.test(version))) {
      throw fail('spec.version: Required value: a DNS label like v1alpha2');
    }
    const names = spec.names as Record<string, unknown> | undefined;
    if (!names || typeof names !== 'object') throw fail('spec.names: Required value');
    if (typeof names.plural !== 'string' || !DNS_LABEL.test(names.plural)) {
      throw fail(`spec.names.plural: Invalid value: ${JSON.stringify(names.plural)}: a lower-case DNS label is required`);
    }
    if (typeof names.kind !== 'string' || names.kind === '') throw fail('spec.names.kind: Required value');
    if (name !== `${names.plural}.${group}`) {
      throw fail(`metadata.name: Invalid value: "${name}": must be spec.names.plural+"."+spec.group`);
    }
    if (spec.scope !== 'Namespaced') {
      throw fail(
        `spec.scope: Unsupported value: ${JSON.stringify(spec.scope)}: this API server stand-in serves "Namespaced" custom resources only`,
      );
    }
    const accepted = {
      ...names,
      singular: typeof names.singular === 'string' && names.singular ? names.singular : names.kind.toLowerCase(),
      listKind: typeof names.listKind === 'string' && names.listKind ? names.listKind : `${names.kind}List`,
    };
    crd.status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
      acceptedNames: accepted,
    };
  }

  /** The resource type a stored CRD defines, if it serves `version`. */
  async customType(group: string, version: string, plural: string): Promise<ResourceType> {
    const kv = await this.store.get(this.key(CRDS, undefined, `${plural}.${group}`));
    const crd = kv && (JSON.parse(kv.value) as KubeObject);
    if (!crd || !servedVersions(crd.spec as Record<string, unknown>).includes(version)) {
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {
        ...(group ? { group } : {}),
        kind: plural,
      });
    }
    return { ...crdResourceType(crd), version };
  }
}

function servedVersions(spec: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (typeof spec.version === 'string' && spec.version) out.push(spec.version);
  if (Array.isArray(spec.versions)) {
    for (const entry of spec.versions as Array<Record<string, unknown>>) {
      if (entry && typeof entry.name === 'string' && entry.served !== false && !out.includes(entry.name)) out.push(entry.name);
    }
  }
  return out;
}

function crdResourceType(crd: KubeObject): ResourceType {
  const spec = crd.spec as { group: string; names: { plural: string; kind: string; listKind?: string } } & Record<string, unknown>;
  return {
    group: spec.group,
    version: servedVersions(spec)[0]!,
    kind: spec.names.kind,
    listKind: spec.names.listKind || `${spec.names.kind}List`,
    plural: spec.names.plural,
    namespaced: true,
    qualified: `${spec.names.plural}.${spec.group}`,
  };
}

// ---- HTTP -----------------------------------------------------------------------------------

const JSON_TYPES = new Set(['', 'application/json']);
const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

/** Reads a JSON or YAML request body into an object. */
export async function readObject(request: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const isJson = JSON_TYPES.has(type);
  if (!isJson && !YAML_TYPES.has(type)) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format (${type}) - accepted media types include: application/json, application/yaml`,
    );
  }
  let text: string;
  try {
    text = await readBody(request, MAX_BODY_BYTES);
  } catch (error) {
    if (error instanceof HttpError && error.status === 413) throw new StatusError(413, 'RequestEntityTooLarge', error.message);
    throw error;
  }
  let value: unknown;
  try {
    value = isJson ? JSON.parse(text) : parseYamlSubset(text);
  } catch (error) {
    const reason = error instanceof YamlSubsetError ? `YAML not understood: ${error.message}` : 'the body is not valid JSON';
    throw new StatusError(400, 'BadRequest', reason);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StatusError(400, 'BadRequest', 'the body must be one object (a mapping)');
  }
  return value as Record<string, unknown>;
}

type KubeHandler = (request: IncomingMessage, params: Params) => Promise<{ status: number; body: unknown }>;

function wrap(handler: KubeHandler) {
  return async (request: IncomingMessage, response: ServerResponse, params: Params) => {
    try {
      const { status, body } = await handler(request, params);
      sendJson(response, status, body);
    } catch (error) {
      sendStatusError(response, error);
    }
  };
}

function sendStatusError(response: ServerResponse, error: unknown): void {
  let failure: StatusError;
  if (error instanceof StatusError) failure = error;
  else if (error instanceof StoreUnavailableError) failure = new StatusError(500, 'InternalError', `etcd: ${error.message}`);
  else failure = new StatusError(500, 'InternalError', error instanceof Error ? error.message : String(error));
  sendJson(response, failure.code, failure.toStatus());
}

export function buildRouter(server: ApiServer): Router {
  const router = new Router();
  const ok = (body: unknown) => ({ status: 200, body });
  const created = (body: unknown) => ({ status: 201, body });

  router.add('GET', '/healthz', async (_request, response) => {
    try {
      await server.healthy();
      sendText(response, 200, 'ok');
    } catch (error) {
      sendText(response, 500, `[-]etcd failed: ${error instanceof Error ? error.message : String(error)}\nhealthz check failed\n`);
    }
  });
  router.add('GET', '/version', (_request, response) =>
    sendJson(response, 200, {
      major: '1',
      minor: '7',
      gitVersion: 'v1.7.3-mesh-local-standin',
      gitCommit: 'mesh-local-standin',
      gitTreeState: 'clean',
      buildDate: '1970-01-01T00:00:00Z',
      goVersion: 'none (Node.js stand-in)',
      compiler: 'none',
      platform: `${process.platform}/${process.arch}`,
    }),
  );

  // Namespaces.
  router.add('GET', '/api/v1/namespaces', wrap(async () => ok(await server.list(NAMESPACES))));
  router.add('POST', '/api/v1/namespaces', wrap(async (request) => created(await server.create(NAMESPACES, undefined, await readObject(request)))));
  router.add('GET', '/api/v1/namespaces/:name', wrap(async (_request, { name }) => ok(await server.get(NAMESPACES, undefined, name!))));
  router.add(
    'PUT',
    '/api/v1/namespaces/:name',
    wrap(async (request, { name }) => ok(await server.update(NAMESPACES, undefined, name!, await readObject(request)))),
  );
  router.add('DELETE', '/api/v1/namespaces/:name', wrap(async (_request, { name }) => ok(await server.remove(NAMESPACES, undefined, name!))));

  // CustomResourceDefinitions.
  const crdPath = `/apis/${CRD_GROUP}/${CRD_VERSION}/customresourcedefinitions`;
  router.add('GET', crdPath, wrap(async () => ok(await server.list(CRDS))));
  router.add('POST', crdPath, wrap(async (request) => created(await server.create(CRDS, undefined, await readObject(request)))));
  router.add('GET', `${crdPath}/:name`, wrap(async (_request, { name }) => ok(await server.get(CRDS, undefined, name!))));
  router.add('DELETE', `${crdPath}/:name`, wrap(async (_request, { name }) => ok(await server.remove(CRDS, undefined, name!))));

  // Custom resources of every CRD that exists.
  const items = '/apis/:group/:version/namespaces/:ns/:plural';
  const typeOf = (params: Params) => server.customType(params.group!, params.version!, params.plural!);
  router.add('GET', '/apis/:group/:version/:plural', wrap(async (_request, params) => ok(await server.list(await typeOf(params)))));
  router.add('GET', items, wrap(async (_request, params) => ok(await server.list(await typeOf(params), params.ns))));
  router.add(
    'POST',
    items,
    wrap(async (request, params) => created(await server.create(await typeOf(params), params.ns, await readObject(request)))),
  );
  router.add('GET', `${items}/:name`, wrap(async (_request, params) => ok(await server.get(await typeOf(params), params.ns, params.name!))));
  router.add(
    'PUT',
    `${items}/:name`,
    wrap(async (request, params) => ok(await server.update(await typeOf(params), params.ns, params.name!, await readObject(request)))),
  );
  router.add(
    'DELETE',
    `${items}/:name`,
    wrap(async (_request, params) => ok(await server.remove(await typeOf(params), params.ns, params.name!))),
  );

  // Everything else: a Kubernetes-style 404 (or 405 for a method no route has).
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']) {
    router.add(method, '/*', (_request, response) => {
      const known = ['GET', 'POST', 'PUT', 'DELETE'].includes(method);
      sendStatusError(
        response,
        known
          ? new StatusError(404, 'NotFound', 'the server could not find the requested resource')
          : new StatusError(405, 'MethodNotAllowed', `${method} is not supported by this API server stand-in`),
      );
    });
  }
  return router;
}

export interface RunningApiServer extends RunningServer {
  api: ApiServer;
}

export async function start(options: ApiServerOptions): Promise<RunningApiServer> {
  const store = options.store ?? new EtcdGatewayStore(options.etcdUrl ?? 'http://etcd:2379', options.etcdApiPrefix ?? '/v3');
  const api = new ApiServer(store, options.keyPrefix ?? '/registry');
  const router = buildRouter(api);
  const running = await listen(
    standinHandler('kube-apiserver', router),
    options.port,
    options.host,
  );
  // Like kube-apiserver, come up while etcd may still be starting; /healthz says when it is usable.
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const retryMs = options.bootstrapRetryMs ?? 1000;
  let lastReason = '';
  const attempt = () => {
    api.bootstrap().catch((error: unknown) => {
      if (stopped) return;
      const reason = error instanceof Error ? error.message : String(error);
      // One line per distinct reason, not one per retry.
      if (reason !== lastReason) console.error(`apiserver stand-in: etcd not usable yet (retrying): ${reason}`);
      lastReason = reason;
      timer = setTimeout(attempt, retryMs);
      timer.unref();
    });
  };
  attempt();
  return {
    ...running,
    api,
    close: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.close();
    },
  };
}

/** Where upstream's image has the binary (its command names it; no ENTRYPOINT). */
export const KUBE_APISERVER = '/usr/local/bin/kube-apiserver';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runUpstreamProgram('kube-apiserver stand-in', KUBE_APISERVER, async (commandLine) => {
    const [etcdUrl] = commandLine.list('etcd-servers');
    if (!etcdUrl) throw new Error('--etcd-servers must be set');
    // The stand-in serves only what the insecure port served (Istio 0.x used nothing else).
    const port = commandLine.int('insecure-port');
    if (!port) throw new Error('--insecure-port must be set: the stand-in serves no secure port');
    return start({
      port,
      host: commandLine.string('insecure-bind-address') || '127.0.0.1',
      etcdUrl,
      etcdApiPrefix: process.env.ETCD_API_PREFIX || '/v3',
      keyPrefix: commandLine.string('etcd-prefix') || '/registry',
    });
  });
}
