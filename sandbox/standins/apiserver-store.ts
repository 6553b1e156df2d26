/**
 * Storage behind the API server stand-in. Like kube-apiserver it keeps one etcd key per object and
 * uses the key's mod_revision as the object's resourceVersion, so conflicts are decided by etcd.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the last write to this key; the object's resourceVersion. */
  modRevision: number;
}

export interface KeyValueStore {
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key that starts with `prefix`, in key order, and the store revision they were read at. */
  list(prefix: string): Promise<{ items: KeyValue[]; revision: number }>;
  /**
   * Writes `value` only if the key's current mod revision is `expectedModRevision` (0: the key
   * must not exist). Returns the new revision, or undefined when the comparison failed.
   */
  putIf(key: string, value: string, expectedModRevision: number): Promise<number | undefined>;
  /** Deletes the key if it exists and (when given) still has that mod revision; says whether it did. */
  delete(key: string, expectedModRevision?: number): Promise<boolean>;
  /** Deletes every key under `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Resolves when the store answers; rejects with the reason otherwise. */
  ping(): Promise<void>;
}

/** The store did not answer or answered with an error; the API server reports 500. */
export class StoreUnavailableError extends Error {}

/** A process-local store with etcd's revision rules, for unit tests. */
export class MemoryStore implements KeyValueStore {
  private revision = 1;
  private readonly data = new Map<string, { value: string; modRevision: number }>();

  async get(key: string): Promise<KeyValue | undefined> {
    const entry = this.data.get(key);
    return entry && { key, ...entry };
  }

  async list(prefix: string): Promise<{ items: KeyValue[]; revision: number }> {
    const items = [...this.data.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, entry]) => ({ key, ...entry }));
    return { items, revision: this.revision };
  }

  async putIf(key: string, value: string, expectedModRevision: number): Promise<number | undefined> {
    const current = this.data.get(key)?.modRevision ?? 0;
    if (current !== expectedModRevision) return undefined;
    this.revision++;
    this.data.set(key, { value, modRevision: this.revision });
    return this.revision;
  }

  async delete(key: string, expectedModRevision?: number): Promise<boolean> {
    const entry = this.data.get(key);
    if (!entry) return false;
    if (expectedModRevision !== undefined && entry.modRevision !== expectedModRevision) return false;
    this.revision++;
    this.data.delete(key);
    return true;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = [...this.data.keys()].filter((key) => key.startsWith(prefix));
    if (keys.length > 0) this.revision++;
    for (const key of keys) this.data.delete(key);
    return keys.length;
  }

  async ping(): Promise<void> {}
}

interface EtcdKv {
  key: string;
  value?: string;
  mod_revision: string;
}

interface EtcdHeader {
  header?: { revision?: string };
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string | undefined) => Buffer.from(text ?? '', 'base64').toString('utf8');

/** etcd's range_end for "every key with this prefix": the prefix with its last byte incremented. */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let index = bytes.length - 1; index >= 0; index--) {
    if (bytes[index]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, index + 1));
      end[index]! += 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64'); // every key
}

/**
 * etcd v3 through its JSON gateway (grpc-gateway): POST `<url><apiPrefix>/kv/{range,txn,deleterange}`
 * with base64 keys and values. etcd 3.4 serves `/v3`; 3.3 also `/v3beta`; 3.2 only `/v3alpha`.
 * The gateway leaves out fields with default values (`succeeded: false`, `count: 0`, `kvs: []`).
 */
export class EtcdGatewayStore implements KeyValueStore {
  constructor(
    private readonly baseUrl: string,
    private readonly apiPrefix = '/v3',
    private readonly timeoutMs = 5000,
  ) {}

  private async call<T>(path: string, body: unknown): Promise<T & EtcdHeader> {
    const url = `${this.baseUrl.replace(/\/$/, '')}${this.apiPrefix}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new StoreUnavailableError(`etcd at ${this.baseUrl} did not answer: ${describe(error)}`);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new StoreUnavailableError(`etcd ${path} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
    try {
      return JSON.parse(text) as T & EtcdHeader;
    } catch {
      throw new StoreUnavailableError(`etcd ${path} answered something that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const answer = await this.call<{ kvs?: EtcdKv[] }>('/kv/range', { key: b64(key) });
    const kv = answer.kvs?.[0];
    return kv && { key, value: unb64(kv.value), modRevision: Number(kv.mod_revision) };
  }

  async list(prefix: string): Promise<{ items: KeyValue[]; revision: number }> {
    const answer = await this.call<{ kvs?: EtcdKv[] }>('/kv/range', {
      key: b64(prefix),
      range_end: prefixRangeEnd(prefix),
    });
    return {
      items: (answer.kvs ?? []).map((kv) => ({
        key: unb64(kv.key),
        value: unb64(kv.value),
        modRevision: Number(kv.mod_revision),
      })),
      revision: Number(answer.header?.revision ?? 0),
    };
  }

  async putIf(key: string, value: string, expectedModRevision: number): Promise<number | undefined> {
    const answer = await this.call<{ succeeded?: boolean }>('/kv/txn', {
      compare: [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(expectedModRevision) }],
      success: [{ request_put: { key: b64(key), value: b64(value) } }],
    });
    return answer.succeeded === true ? Number(answer.header?.revision) : undefined;
  }

  async delete(key: string, expectedModRevision?: number): Promise<boolean> {
    if (expectedModRevision === undefined) {
      const answer = await this.call<{ deleted?: string }>('/kv/deleterange', { key: b64(key) });
      return Number(answer.deleted ?? 0) > 0;
    }
    const answer = await this.call<{ succeeded?: boolean; responses?: Array<{ response_delete_range?: { deleted?: string } }> }>(
      '/kv/txn',
      {
        compare: [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(expectedModRevision) }],
        success: [{ request_delete_range: { key: b64(key) } }],
      },
    );
    return answer.succeeded === true && Number(answer.responses?.[0]?.response_delete_range?.deleted ?? 0) > 0;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const answer = await this.call<{ deleted?: string }>('/kv/deleterange', {
      key: b64(prefix),
      range_end: prefixRangeEnd(prefix),
    });
    return Number(answer.deleted ?? 0);
  }

  async ping(): Promise<void> {
    // A read through the same gateway path every request uses, so a wrong prefix shows here too.
    await this.call('/kv/range', { key: b64('/mesh-local-healthz'), count_only: true });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
