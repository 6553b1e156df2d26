/**
 * STAND-IN for Consul (mesh-local sandbox), not Consul. The real image cannot be pulled here, so this
 * program answers the slice of Consul's HTTP API that registration (registrator) and Istio Pilot's
 * Consul adapter use, from memory, as a single-node server in datacenter "dc1":
 *
 *   GET  /v1/status/leader                   "<node ip>:8300" (what compose health checks poll)
 *   GET  /v1/status/peers                    ["<node ip>:8300"]
 *   PUT  /v1/agent/service/register          {ID, Name, Tags, Address, Port, Meta, Check?, Checks?}
 *   PUT  /v1/agent/service/deregister/:id    200 even for an unknown id, as Consul 0.x–1.3 did
 *   GET  /v1/agent/services                  {id: AgentService}
 *   GET  /v1/catalog/services                {name: [tags]}, always with "consul": []
 *   GET  /v1/catalog/service/:name           [CatalogService]; ?tag= filters
 *   GET  /v1/health/service/:name            [{Node, Service, Checks}]; ?passing and ?tag= filter
 *
 * Consul behaviour it keeps: Consul's JSON field names and casing; request fields matched without
 * regard to case (Go's encoding/json does that); service names looked up without regard to case;
 * `?dc=` other than dc1 fails with 500 "No path to datacenter"; catalog and health answers carry
 * X-Consul-Index, X-Consul-LastContact and X-Consul-KnownLeader, because the Go client Pilot vendors
 * refuses an answer whose X-Consul-LastContact (and, before Consul 1.0, X-Consul-Index) does not parse;
 * `?index=&wait=` blocking queries; errors are plain text. Every check is "passing": there is no
 * health checking. Not served: KV, sessions, ACLs, DNS, the UI, other agents or datacenters.
 *
 * Command line: `consul agent ...` as the image's docker-entrypoint.sh passes it on, parsed with
 * consul 1.3.0's agent flag set: `-http-port` (8500), `-node` (the host name), `-advertise` (the
 * first non-loopback IPv4); a single server whatever `-server`/`-bootstrap` say.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { pathToFileURL } from 'node:url';
import { HttpError, Router, listen, readJson, sendJson, sendText, type Handler, type RunningServer, standinHandler, STANDIN_HEADER } from '../common/server.js';
import { runUpstreamProgram } from '../common/upstream-cli.js';

export { STANDIN_HEADER };
export const DATACENTER = 'dc1';
/** Consul's server RPC port, which /v1/status/leader reports. */
const SERVER_RPC_PORT = 8300;
/** Consul's default and maximum wait of a blocking query. */
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;
const META_KEY = /^[A-Za-z0-9_-]+$/;

export interface ConsulOptions {
  port: number;
  host?: string;
  /** Node name of this single-node "cluster"; defaults to the host name, as Consul does. */
  nodeName?: string;
  /** Node address; defaults to the first non-loopback IPv4 address. */
  address?: string;
}

interface ServiceCheck {
  CheckID: string;
  Name: string;
  Notes: string;
}

interface AgentService {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  EnableTagOverride: boolean;
  checks: ServiceCheck[];
  CreateIndex: number;
  ModifyIndex: number;
}

/** Index of the catalog, bumped on every change; blocking queries wait for it to move. */
class CatalogIndex {
  value = 10;
  private readonly waiters = new Set<() => void>();

  bump(): void {
    this.value += 1;
    this.releaseAll();
  }

  /** Resolves once the index is above `index`, or after `waitMs`. */
  waitBeyond(index: number, waitMs: number): Promise<void> {
    if (this.value > index) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.waiters.add(done);
    });
  }

  releaseAll(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export class ConsulState {
  readonly index = new CatalogIndex();
  private readonly services = new Map<string, AgentService>();
  readonly nodeId: string;

  constructor(
    readonly nodeName: string,
    readonly address: string,
  ) {
    // Consul node IDs are UUIDs; derive a stable one from the node name.
    const hex = createHash('sha256').update(nodeName).digest('hex');
    this.nodeId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  register(service: Omit<AgentService, 'CreateIndex' | 'ModifyIndex'>): void {
    const existing = this.services.get(service.ID);
    if (existing && sameService(existing, service)) return; // Consul's anti-entropy: nothing changed, no new index
    const index = this.index.value + 1;
    this.services.set(service.ID, { ...service, CreateIndex: existing?.CreateIndex ?? index, ModifyIndex: index });
    this.index.bump();
  }

  deregister(id: string): boolean {
    const removed = this.services.delete(id);
    if (removed) this.index.bump();
    return removed;
  }

  list(): AgentService[] {
    return [...this.services.values()].sort((a, b) => a.ID.localeCompare(b.ID));
  }

  /** Instances of a service, Consul's own "consul" service included, matched without regard to case. */
  instances(name: string): AgentService[] {
    const wanted = name.toLowerCase();
    return [this.consulService(), ...this.list()].filter((service) => service.Service.toLowerCase() === wanted);
  }

  /** The service every Consul server registers for itself. */
  consulService(): AgentService {
    return {
      ID: 'consul',
      Service: 'consul',
      Tags: [],
      Address: '',
      Port: SERVER_RPC_PORT,
      Meta: {},
      EnableTagOverride: false,
      checks: [],
      CreateIndex: 5,
      ModifyIndex: 5,
    };
  }

  get leader(): string {
    return `${this.address}:${SERVER_RPC_PORT}`;
  }
}

function sameService(a: Omit<AgentService, 'CreateIndex' | 'ModifyIndex'>, b: Omit<AgentService, 'CreateIndex' | 'ModifyIndex'>): boolean {
  return JSON.stringify(comparable(a)) === JSON.stringify(comparable(b));
}

function comparable(service: Omit<AgentService, 'CreateIndex' | 'ModifyIndex'>): unknown {
  const meta = Object.keys(service.Meta)
    .sort()
    .map((key) => [key, service.Meta[key]]);
  return [service.ID, service.Service, service.Tags, service.Address, service.Port, meta, service.EnableTagOverride, service.checks];
}

/** Reads a field the way Go's encoding/json does: exact name first, then any case. */
function field(body: Record<string, unknown>, name: string): unknown {
  if (name in body) return body[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(body)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function optionalString(body: Record<string, unknown>, name: string): string {
  const value = field(body, name);
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new HttpError(400, `Request decode failed: ${name} must be a string`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Turns a register request body into a service, with Consul's validation messages. */
export function parseRegistration(body: unknown): Omit<AgentService, 'CreateIndex' | 'ModifyIndex'> {
  if (!isObject(body)) throw new HttpError(400, 'Request decode failed: body must be a JSON object');
  const name = optionalString(body, 'Name');
  if (name === '') throw new HttpError(400, 'Missing service name');
  const id = optionalString(body, 'ID') || name;

  const rawTags = field(body, 'Tags') ?? [];
  if (!Array.isArray(rawTags) || rawTags.some((tag) => typeof tag !== 'string')) {
    throw new HttpError(400, 'Request decode failed: Tags must be a list of strings');
  }

  const rawPort = field(body, 'Port') ?? 0;
  if (typeof rawPort !== 'number' || !Number.isInteger(rawPort) || rawPort < 0 || rawPort > 65535) {
    throw new HttpError(400, 'Request decode failed: Port must be an integer from 0 to 65535');
  }

  const rawMeta = field(body, 'Meta') ?? {};
  if (!isObject(rawMeta)) throw new HttpError(400, 'Request decode failed: Meta must be an object');
  const meta: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawMeta)) {
    if (typeof value !== 'string') throw new HttpError(400, `Invalid Service Meta: value of key "${key}" is not a string`);
    if (!META_KEY.test(key)) throw new HttpError(400, `Invalid Service Meta: Key contains invalid characters: "${key}"`);
    if (key.startsWith('consul-')) throw new HttpError(400, `Invalid Service Meta: Key prefix 'consul-' is reserved for internal use`);
    meta[key] = value;
  }

  const checks: ServiceCheck[] = [];
  const check = field(body, 'Check');
  const checkList = field(body, 'Checks');
  const definitions = [...(isObject(check) ? [check] : []), ...(Array.isArray(checkList) ? checkList.filter(isObject) : [])];
  definitions.forEach((definition, position) => {
    const suffix = definitions.length > 1 ? `:${position + 1}` : '';
    checks.push({
      CheckID: optionalString(definition, 'CheckID') || optionalString(definition, 'ID') || `service:${id}${suffix}`,
      Name: optionalString(definition, 'Name') || `Service '${name}' check`,
      Notes: optionalString(definition, 'Notes'),
    });
  });

  return {
    ID: id,
    Service: name,
    Tags: rawTags as string[],
    Address: optionalString(body, 'Address'),
    Port: rawPort,
    Meta: meta,
    EnableTagOverride: field(body, 'EnableTagOverride') === true,
    checks,
  };
}

/** Go duration subset Consul accepts for `?wait=`: "10s", "1m30s", "500ms". */
export function parseWait(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_WAIT_MS;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of raw.matchAll(pattern)) {
    total += Number(match[1]) * (units[match[2] ?? ''] ?? 0);
    consumed += match[0].length;
  }
  if (consumed !== raw.length) throw new HttpError(400, 'Invalid wait time');
  return Math.min(total, MAX_WAIT_MS);
}

function queryHeaders(state: ConsulState): Record<string, string> {
  return {
    'X-Consul-Index': String(state.index.value),
    'X-Consul-LastContact': '0',
    'X-Consul-KnownLeader': 'true',
  };
}

/** Applies `?dc=` and the blocking-query parameters every read endpoint shares. */
async function beginQuery(state: ConsulState, request: IncomingMessage): Promise<URLSearchParams> {
  const query = new URL(request.url ?? '/', 'http://consul').searchParams;
  const dc = query.get('dc');
  if (dc && dc !== DATACENTER) throw new HttpError(500, 'No path to datacenter');
  const index = query.get('index');
  if (index !== null && index !== '') {
    const wanted = Number(index);
    if (!Number.isInteger(wanted) || wanted < 0) throw new HttpError(400, 'Invalid index');
    await state.index.waitBeyond(wanted, parseWait(query.get('wait')));
  }
  return query;
}

function matchesTags(service: AgentService, tags: string[]): boolean {
  return tags.every((tag) => service.Tags.includes(tag));
}

function catalogEntry(state: ConsulState, service: AgentService): Record<string, unknown> {
  return {
    ID: state.nodeId,
    Node: state.nodeName,
    Address: state.address,
    Datacenter: DATACENTER,
    TaggedAddresses: { lan: state.address, wan: state.address },
    NodeMeta: {},
    ServiceKind: '',
    ServiceID: service.ID,
    ServiceName: service.Service,
    ServiceTags: service.Tags,
    ServiceAddress: service.Address,
    ServiceWeights: { Passing: 1, Warning: 1 },
    ServiceMeta: service.Meta,
    ServicePort: service.Port,
    ServiceEnableTagOverride: service.EnableTagOverride,
    CreateIndex: service.CreateIndex,
    ModifyIndex: service.ModifyIndex,
  };
}

function healthEntry(state: ConsulState, service: AgentService): Record<string, unknown> {
  const check = (id: string, name: string, output: string, owner?: AgentService, notes = '') => ({
    Node: state.nodeName,
    CheckID: id,
    Name: name,
    Status: 'passing',
    Notes: notes,
    Output: output,
    ServiceID: owner?.ID ?? '',
    ServiceName: owner?.Service ?? '',
    ServiceTags: owner?.Tags ?? [],
    Definition: {},
    CreateIndex: owner?.CreateIndex ?? 5,
    ModifyIndex: owner?.ModifyIndex ?? 5,
  });
  return {
    Node: {
      ID: state.nodeId,
      Node: state.nodeName,
      Address: state.address,
      Datacenter: DATACENTER,
      TaggedAddresses: { lan: state.address, wan: state.address },
      Meta: {},
      CreateIndex: 5,
      ModifyIndex: 5,
    },
    Service: agentServiceJson(service),
    Checks: [
      check('serfHealth', 'Serf Health Status', 'Agent alive and reachable'),
      ...service.checks.map((c) => check(c.CheckID, c.Name, '', service, c.Notes)),
    ],
  };
}

function agentServiceJson(service: AgentService): Record<string, unknown> {
  return {
    ID: service.ID,
    Service: service.Service,
    Tags: service.Tags,
    Address: service.Address,
    Meta: service.Meta,
    Port: service.Port,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: service.EnableTagOverride,
    CreateIndex: service.CreateIndex,
    ModifyIndex: service.ModifyIndex,
  };
}

/** Consul answers errors as plain text, not JSON. */
function plain(handler: Handler): Handler {
  return async (request, response, params) => {
    try {
      await handler(request, response, params);
    } catch (error) {
      if (error instanceof HttpError && !response.headersSent) sendText(response, error.status, error.message);
      else throw error;
    }
  };
}

function sendEmpty(response: ServerResponse): void {
  response.writeHead(200, { 'content-length': 0 });
  response.end();
}

export function buildRouter(state: ConsulState): Router {
  const router = new Router();
  router.add(
    'GET',
    '/v1/status/leader',
    plain((_request, response) => sendJson(response, 200, state.leader)),
  );
  router.add(
    'GET',
    '/v1/status/peers',
    plain((_request, response) => sendJson(response, 200, [state.leader])),
  );
  router.add(
    'PUT',
    '/v1/agent/service/register',
    plain(async (request, response) => {
      state.register(parseRegistration(await readJson(request)));
      sendEmpty(response);
    }),
  );
  router.add(
    'PUT',
    '/v1/agent/service/deregister/:id',
    plain((_request, response, params) => {
      // Consul 0.x–1.3 logs "Service does not exist" and still answers 200 for an unknown id.
      state.deregister(params.id ?? '');
      sendEmpty(response);
    }),
  );
  router.add(
    'GET',
    '/v1/agent/services',
    plain((_request, response) => {
      const services: Record<string, unknown> = {};
      for (const service of state.list()) services[service.ID] = agentServiceJson(service);
      sendJson(response, 200, services);
    }),
  );
  router.add(
    'GET',
    '/v1/catalog/services',
    plain(async (request, response) => {
      await beginQuery(state, request);
      const names: Record<string, string[]> = { consul: [] };
      for (const service of state.list()) {
        const tags = new Set([...(names[service.Service] ?? []), ...service.Tags]);
        names[service.Service] = [...tags].sort();
      }
      sendJson(response, 200, names, queryHeaders(state));
    }),
  );
  router.add(
    'GET',
    '/v1/catalog/service/:name',
    plain(async (request, response, params) => {
      const query = await beginQuery(state, request);
      const tags = query.getAll('tag');
      const entries = state
        .instances(params.name ?? '')
        .filter((service) => matchesTags(service, tags))
        .map((service) => catalogEntry(state, service));
      sendJson(response, 200, entries, queryHeaders(state));
    }),
  );
  router.add(
    'GET',
    '/v1/health/service/:name',
    plain(async (request, response, params) => {
      const query = await beginQuery(state, request);
      const tags = query.getAll('tag');
      // `?passing` keeps instances whose checks all pass; every check here passes.
      const entries = state
        .instances(params.name ?? '')
        .filter((service) => matchesTags(service, tags))
        .map((service) => healthEntry(state, service));
      sendJson(response, 200, entries, queryHeaders(state));
    }),
  );
  return router;
}

/** The first non-internal IPv4 address, which is what a container's Consul advertises. */
export function defaultAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}

export interface RunningConsul extends RunningServer {
  state: ConsulState;
}

export async function start(options: ConsulOptions): Promise<RunningConsul> {
  const state = new ConsulState(options.nodeName || hostname(), options.address || defaultAddress());
  const router = buildRouter(state);
  const running = await listen(
    standinHandler('consul', router),
    options.port,
    options.host,
  );
  return {
    ...running,
    state,
    close: async () => {
      state.index.releaseAll(); // let blocking queries answer instead of holding the close
      await running.close();
    },
  };
}

/** Where upstream's consul image has the binary its docker-entrypoint.sh runs. */
export const CONSUL_BINARY = '/bin/consul';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runUpstreamProgram('consul stand-in', CONSUL_BINARY, async (commandLine) => {
    if (commandLine.subcommand !== 'agent') throw new Error(`the stand-in runs 'consul agent' only, not '${commandLine.subcommand}'`);
    return start({
      port: commandLine.int('http-port') || 8500,
      nodeName: commandLine.string('node') || undefined,
      address: commandLine.string('advertise') || undefined,
    });
  });
}
