/**
 * Istio's config store outside Kubernetes: the API server's custom-resource REST endpoints for
 * `config.istio.io/v1alpha2` RouteRule and DestinationPolicy objects, as istioctl 0.6-0.8 used them
 * through pilot's CRD client (pilot/pkg/config/kube/crd/client.go@0.8.0):
 *
 *   GET    /apis/config.istio.io/v1alpha2/namespaces/<ns>/<plural>           list
 *   GET    /apis/config.istio.io/v1alpha2/namespaces/<ns>/<plural>/<name>    get (404: absent)
 *   POST   /apis/config.istio.io/v1alpha2/namespaces/<ns>/<plural>           create (409 AlreadyExists)
 *   PUT    /apis/config.istio.io/v1alpha2/namespaces/<ns>/<plural>/<name>    replace; the body carries
 *          metadata.resourceVersion of the object it replaces (409 Conflict when it changed since)
 *   DELETE /apis/config.istio.io/v1alpha2/namespaces/<ns>/<plural>/<name>    delete
 *
 * Plurals are pilot's schema plurals without dashes (`route-rules` -> `routerules`,
 * pilot/pkg/model/config.go and crd/conversion.go `ResourceName` @0.8.0). The CRDs are registered by
 * pilot when it starts, not by us.
 */
import { deadline } from '../common/deadline.js';
import { ConfigStoreError, isAbortError } from '../errors.js';
import { RULE_API_VERSION, type RuleKind } from '../model/route-rules.js';

export const CONFIG_GROUP = 'config.istio.io';
export const CONFIG_VERSION = 'v1alpha2';

/** The REST plural of each kind (the CRD is `<plural>.config.istio.io`). */
export const CONFIG_PLURALS: Readonly<Record<RuleKind, string>> = {
  RouteRule: 'routerules',
  DestinationPolicy: 'destinationpolicies',
};

/** Kubernetes object metadata as the API server returns it; fields we do not use are kept as they come. */
export interface ConfigMetadata {
  name: string;
  namespace?: string;
  /** Opaque; sent back on replace for optimistic concurrency. */
  resourceVersion?: string;
  uid?: string;
  /** RFC 3339, seconds precision (`2018-06-01T10:00:00Z`). */
  creationTimestamp?: string;
  [field: string]: unknown;
}

/** A RouteRule or DestinationPolicy custom resource; `spec` is the rule's spec as written. */
export interface ConfigObject {
  apiVersion: string;
  kind: RuleKind;
  metadata: ConfigMetadata;
  spec: Record<string, unknown>;
}

/** A stored object: the API server has set its namespace and resourceVersion. */
export interface StoredConfig extends ConfigObject {
  metadata: ConfigMetadata & { namespace: string; resourceVersion: string };
}

/**
 * The store route commands read and write. Every call takes an AbortSignal (Ctrl-C) on top of the
 * implementation's own per-request timeout. Failures are ConfigStoreError (ConfigStoreStatusError
 * when the API server answered with an error status).
 */
export interface ConfigStore {
  /** Where the objects are kept, for messages (`http://127.0.0.1:8080`). */
  readonly location: string;
  /** Fails with a ConfigStoreError naming the CRD and the remedy when one of `kinds` is not registered. */
  checkRegistered(kinds: readonly RuleKind[], signal?: AbortSignal): Promise<void>;
  /** The objects of `kind` in `namespace`, sorted by name. */
  list(kind: RuleKind, namespace: string, signal?: AbortSignal): Promise<StoredConfig[]>;
  /** The object, or undefined when there is none of that name. */
  get(kind: RuleKind, namespace: string, name: string, signal?: AbortSignal): Promise<StoredConfig | undefined>;
  /** Creates; a 409 AlreadyExists when the name is taken. */
  create(object: ConfigObject, namespace: string, signal?: AbortSignal): Promise<StoredConfig>;
  /** Replaces the object whose resourceVersion is `object.metadata.resourceVersion`; 409 Conflict when it changed since. */
  replace(object: ConfigObject & { metadata: { resourceVersion: string } }, namespace: string, signal?: AbortSignal): Promise<StoredConfig>;
  /** Deletes; a 404 when there is none of that name. */
  delete(kind: RuleKind, namespace: string, name: string, signal?: AbortSignal): Promise<void>;
  /** Whether the namespace exists (`GET /api/v1/namespaces/<ns>`; 404: it does not). */
  namespaceExists(namespace: string, signal?: AbortSignal): Promise<boolean>;
}

/** The API server answered with an error status; `reason` and the message are its `Status` object's. */
export class ConfigStoreStatusError extends ConfigStoreError {
  constructor(
    readonly status: number,
    /** Kubernetes `Status.reason`: NotFound, AlreadyExists, Conflict, Invalid, BadRequest... */
    readonly reason: string,
    message: string,
    options: { hint?: string } = {},
  ) {
    super(message, options);
  }
}

export const DEFAULT_CONFIG_STORE_TIMEOUT_MS = 10_000;

const CRD_PATH = '/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions';

/**
 * The config store behind a kube-apiserver (or mesh-local's stand-in for it) at `apiserver`, a base
 * URL or a function that finds it on first use (the CLI looks it up in Docker only once the rule
 * files have been read). Each request is given up after `timeoutMs`.
 */
export class HttpConfigStore implements ConfigStore {
  private base: string | undefined;
  private resolve: (() => Promise<string>) | undefined;

  constructor(
    apiserver: string | (() => Promise<string>),
    private readonly options: { timeoutMs?: number } = {},
  ) {
    if (typeof apiserver === 'string') this.base = apiserver.replace(/\/+$/, '');
    else this.resolve = apiserver;
  }

  get location(): string {
    return this.base ?? 'the API server';
  }

  private async baseUrl(): Promise<string> {
    if (this.base === undefined) this.base = (await this.resolve!()).replace(/\/+$/, '');
    return this.base;
  }

  private async request(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<{ status: number; body: unknown }> {
    const base = await this.baseUrl();
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_CONFIG_STORE_TIMEOUT_MS;
    const { signal: requestSignal, clear } = deadline(timeoutMs, signal);
    const what = `${method} ${path}`;
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: requestSignal,
      });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (response.status >= 400) {
        const status = isRecord(parsed) && parsed.kind === 'Status' ? parsed : undefined;
        const reason = typeof status?.reason === 'string' ? status.reason : response.statusText || 'Unknown';
        const message = typeof status?.message === 'string' ? status.message : text.trim().slice(0, 300) || '(no message)';
        throw new ConfigStoreStatusError(response.status, reason, `the API server at ${base} answered ${what} with ${response.status} ${reason}: ${message}`);
      }
      if (!isRecord(parsed)) throw new ConfigStoreError(`the API server at ${base} answered ${what} with something that is not a JSON object`);
      return { status: response.status, body: parsed };
    } catch (error) {
      if (error instanceof ConfigStoreError) throw error;
      // Ctrl-C: the caller's abort, not a store failure.
      if (signal?.aborted) throw signal.reason ?? error;
      if (requestSignal.aborted) {
        throw new ConfigStoreError(`the API server at ${base} did not answer ${what} within ${timeoutMs} ms`, { cause: error });
      }
      if (isAbortError(error)) throw error;
      throw new ConfigStoreError(`cannot reach the API server at ${base} (${what}): ${describe(error)}`, {
        cause: error,
        hint: 'check that the project is up with `mesh-local status`',
      });
    } finally {
      clear();
    }
  }

  private itemsPath(kind: RuleKind, namespace: string): string {
    return `/apis/${CONFIG_GROUP}/${CONFIG_VERSION}/namespaces/${encodeURIComponent(namespace)}/${CONFIG_PLURALS[kind]}`;
  }

  async checkRegistered(kinds: readonly RuleKind[], signal?: AbortSignal): Promise<void> {
    for (const kind of kinds) {
      const crd = `${CONFIG_PLURALS[kind]}.${CONFIG_GROUP}`;
      try {
        await this.request('GET', `${CRD_PATH}/${crd}`, undefined, signal);
      } catch (error) {
        if (error instanceof ConfigStoreStatusError && error.status === 404) {
          throw new ConfigStoreStatusError(
            404,
            error.reason,
            `the API server at ${this.location} has no CustomResourceDefinition ${crd}, so it cannot store ${kind} objects yet`,
            { hint: 'pilot registers the CRDs when it starts; check that istio-pilot is running and ready with `mesh-local status`' },
          );
        }
        throw error;
      }
    }
  }

  async list(kind: RuleKind, namespace: string, signal?: AbortSignal): Promise<StoredConfig[]> {
    const { body } = await this.request('GET', this.itemsPath(kind, namespace), undefined, signal);
    const items = (body as { items?: unknown }).items;
    if (items !== undefined && items !== null && !Array.isArray(items)) {
      throw new ConfigStoreError(`the API server at ${this.location} answered a list of ${CONFIG_PLURALS[kind]} without an items list`);
    }
    return ((items ?? []) as unknown[])
      .map((item) => this.stored(item, kind))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  async get(kind: RuleKind, namespace: string, name: string, signal?: AbortSignal): Promise<StoredConfig | undefined> {
    try {
      const { body } = await this.request('GET', `${this.itemsPath(kind, namespace)}/${encodeURIComponent(name)}`, undefined, signal);
      return this.stored(body, kind);
    } catch (error) {
      if (error instanceof ConfigStoreStatusError && error.status === 404 && error.reason === 'NotFound') return undefined;
      throw error;
    }
  }

  async create(object: ConfigObject, namespace: string, signal?: AbortSignal): Promise<StoredConfig> {
    const { body } = await this.request('POST', this.itemsPath(object.kind, namespace), object, signal);
    return this.stored(body, object.kind);
  }

  async replace(
    object: ConfigObject & { metadata: { resourceVersion: string } },
    namespace: string,
    signal?: AbortSignal,
  ): Promise<StoredConfig> {
    const path = `${this.itemsPath(object.kind, namespace)}/${encodeURIComponent(object.metadata.name)}`;
    const { body } = await this.request('PUT', path, object, signal);
    return this.stored(body, object.kind);
  }

  async delete(kind: RuleKind, namespace: string, name: string, signal?: AbortSignal): Promise<void> {
    await this.request('DELETE', `${this.itemsPath(kind, namespace)}/${encodeURIComponent(name)}`, undefined, signal);
  }

  async namespaceExists(namespace: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}`, undefined, signal);
      return true;
    } catch (error) {
      if (error instanceof ConfigStoreStatusError && error.status === 404) return false;
      throw error;
    }
  }

  /** Checks the parts of an answer we rely on. */
  private stored(value: unknown, kind: RuleKind): StoredConfig {
    const metadata = isRecord(value) ? value.metadata : undefined;
    if (
      !isRecord(value) ||
      !isRecord(metadata) ||
      typeof metadata.name !== 'string' ||
      typeof metadata.namespace !== 'string' ||
      typeof metadata.resourceVersion !== 'string'
    ) {
      throw new ConfigStoreError(`the API server at ${this.location} answered with a ${kind} without metadata.name, namespace and resourceVersion`);
    }
    return {
      ...value,
      apiVersion: typeof value.apiVersion === 'string' ? value.apiVersion : RULE_API_VERSION,
      kind,
      spec: isRecord(value.spec) ? value.spec : {},
    } as StoredConfig;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
