/**
 * STAND-IN for Netflix Eureka 1.x (mesh-local sandbox), not Eureka. The real image
 * (netflixoss/eureka:1.3.1) cannot be pulled here, so this program answers the slice of Eureka's
 * `/eureka/v2` REST API that registration (registrator) and Istio Pilot's Eureka adapter use, from
 * memory:
 *
 *   POST   /eureka/v2/apps/:app         {"instance": {...}} -> 204
 *   PUT    /eureka/v2/apps/:app/:id     heartbeat -> 200, 404 when unknown (the client then re-registers)
 *   DELETE /eureka/v2/apps/:app/:id     -> 200, 404 when unknown
 *   GET    /eureka/v2/apps              {"applications": {"versions__delta", "apps__hashcode", "application": [...]}}
 *   GET    /eureka/v2/apps/:app         {"application": {"name", "instance": [...]}}, 404 when unknown
 *   GET    /eureka/v2/apps/:app/:id     {"instance": {...}}, 404 when unknown
 *
 * Eureka behaviour it keeps: application names are upper-cased; an instance's id is its instanceId,
 * else its hostName; `application` and `instance` are always lists; `port.$` is a JSON number and
 * `@enabled` a string (Pilot's Go client reads exactly that); metadata values are strings, an empty
 * map is `{"@class": "java.util.Collections$EmptyMap"}`; an instance's lease lasts its
 * `leaseInfo.durationInSecs` or LEASE_SECONDS, and one that is not renewed in time is dropped.
 * Unlike Eureka it drops an expired lease at once (no 60 s eviction task, no self-preservation).
 *
 * Representation: JSON only. A request whose Accept header asks for XML and not JSON gets 406, and
 * a body sent as XML gets 415; an absent or wildcard Accept header gets JSON (Eureka would answer
 * XML there). GET /eureka/v2/apps doubles as the health check, as upstream polled it.
 *
 * Command line: upstream's image CMD, `/tomcat/bin/catalina.sh run`; Tomcat's port 8080. Environment
 * of the image: LEASE_SECONDS (90); MESH_LOCAL_EUREKA_START_DELAY_MS (0) keeps the port closed for
 * that long first, as a slow Tomcat start does (tests of registration against a late registry).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError, Router, envInt, listen, readJson, sendJson, sendText, type Handler, type RunningServer, standinHandler, STANDIN_HEADER } from '../common/server.js';
import { runUpstreamProgram } from '../common/upstream-cli.js';

export { STANDIN_HEADER };
const BASE = '/eureka/v2';
const DEFAULT_PORT = 7001;
const DEFAULT_SECURE_PORT = 7002;
const EMPTY_METADATA = { '@class': 'java.util.Collections$EmptyMap' };
const DEFAULT_DATA_CENTER = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };

export interface EurekaOptions {
  port: number;
  host?: string;
  /** Lease of an instance that does not say its own; Eureka's default is 90 s. */
  leaseSeconds?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface PortInfo {
  number: number;
  enabled: boolean;
}

interface StoredInstance {
  id: string;
  app: string;
  hostName: string;
  ipAddr: string;
  status: string;
  port: PortInfo;
  securePort: PortInfo;
  metadata: Record<string, string>;
  /** Other fields the registrant sent (vipAddress, homePageUrl, dataCenterInfo, ...), echoed back. */
  extra: Record<string, unknown>;
  renewalIntervalSecs: number;
  durationMs: number;
  registeredAt: number;
  lastRenewal: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Reads `{"$": 9080, "@enabled": "true"}`; Eureka clients send the number as a number or a string. */
function parsePort(value: unknown, fallback: PortInfo, name: string): PortInfo {
  if (value === undefined || value === null) return fallback;
  const raw = isObject(value) ? value.$ : value;
  const number = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > 65535) {
    throw new HttpError(400, `${name}.$ must be a port number`);
  }
  const enabled = isObject(value) ? value['@enabled'] : undefined;
  return { number, enabled: enabled === undefined ? fallback.enabled : String(enabled) === 'true' };
}

const KNOWN_FIELDS = new Set(['instanceId', 'hostName', 'app', 'ipAddr', 'status', 'port', 'securePort', 'metadata', 'leaseInfo']);

export class EurekaRegistry {
  private readonly apps = new Map<string, Map<string, StoredInstance>>();

  constructor(
    private readonly defaultLeaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  register(appFromPath: string, body: unknown): void {
    if (!isObject(body) || !isObject(body.instance)) throw new HttpError(400, 'body must be {"instance": {...}}');
    const instance = body.instance;
    const app = (text(instance.app) || appFromPath).toUpperCase();
    if (app !== appFromPath.toUpperCase()) throw new HttpError(400, `Mismatched appName, expecting ${appFromPath.toUpperCase()} but was ${app}`);
    const hostName = text(instance.hostName);
    if (!hostName) throw new HttpError(400, 'Missing hostname');
    const ipAddr = text(instance.ipAddr);
    if (!ipAddr) throw new HttpError(400, 'Missing ip address');
    const id = text(instance.instanceId) || hostName;

    const metadata: Record<string, string> = {};
    if (isObject(instance.metadata)) {
      for (const [key, value] of Object.entries(instance.metadata)) {
        const asText = text(value);
        if (asText !== undefined) metadata[key] = asText;
      }
    }
    const lease = isObject(instance.leaseInfo) ? instance.leaseInfo : {};
    const duration = Number(lease.durationInSecs);
    const renewal = Number(lease.renewalIntervalInSecs);
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(instance)) if (!KNOWN_FIELDS.has(key)) extra[key] = value;

    const now = this.now();
    const instances = this.apps.get(app) ?? new Map<string, StoredInstance>();
    instances.set(id, {
      id,
      app,
      hostName,
      ipAddr,
      status: text(instance.status) || 'UP',
      port: parsePort(instance.port, { number: DEFAULT_PORT, enabled: true }, 'port'),
      securePort: parsePort(instance.securePort, { number: DEFAULT_SECURE_PORT, enabled: false }, 'securePort'),
      metadata,
      extra,
      renewalIntervalSecs: renewal > 0 ? renewal : 30,
      durationMs: duration > 0 ? duration * 1000 : this.defaultLeaseMs,
      registeredAt: now,
      lastRenewal: now,
    });
    this.apps.set(app, instances);
  }

  /** Heartbeat: renews the lease; false when the instance is unknown (or its lease ran out). */
  renew(app: string, id: string): boolean {
    const instance = this.find(app, id);
    if (!instance) return false;
    instance.lastRenewal = this.now();
    return true;
  }

  cancel(app: string, id: string): boolean {
    this.evictExpired();
    const instances = this.apps.get(app.toUpperCase());
    const removed = instances?.delete(id) ?? false;
    if (instances && instances.size === 0) this.apps.delete(app.toUpperCase());
    return removed;
  }

  find(app: string, id: string): StoredInstance | undefined {
    this.evictExpired();
    return this.apps.get(app.toUpperCase())?.get(id);
  }

  application(app: string): StoredInstance[] | undefined {
    this.evictExpired();
    const instances = this.apps.get(app.toUpperCase());
    return instances ? [...instances.values()] : undefined;
  }

  applications(): Array<[string, StoredInstance[]]> {
    this.evictExpired();
    return [...this.apps.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, instances]) => [name, [...instances.values()]]);
  }

  /** Drops instances whose lease was not renewed in time. */
  evictExpired(): void {
    const now = this.now();
    for (const [app, instances] of this.apps) {
      for (const [id, instance] of instances) if (now - instance.lastRenewal > instance.durationMs) instances.delete(id);
      if (instances.size === 0) this.apps.delete(app);
    }
  }
}

export function instanceJson(instance: StoredInstance): Record<string, unknown> {
  return {
    ...instance.extra,
    instanceId: instance.id,
    hostName: instance.hostName,
    app: instance.app,
    ipAddr: instance.ipAddr,
    status: instance.status,
    overriddenstatus: 'UNKNOWN',
    port: { $: instance.port.number, '@enabled': String(instance.port.enabled) },
    securePort: { $: instance.securePort.number, '@enabled': String(instance.securePort.enabled) },
    countryId: 1,
    dataCenterInfo: instance.extra.dataCenterInfo ?? DEFAULT_DATA_CENTER,
    leaseInfo: {
      renewalIntervalInSecs: instance.renewalIntervalSecs,
      durationInSecs: Math.round(instance.durationMs / 1000),
      registrationTimestamp: instance.registeredAt,
      lastRenewalTimestamp: instance.lastRenewal,
      evictionTimestamp: 0,
      serviceUpTimestamp: instance.registeredAt,
    },
    metadata: Object.keys(instance.metadata).length > 0 ? instance.metadata : EMPTY_METADATA,
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: String(instance.registeredAt),
    lastDirtyTimestamp: String(instance.registeredAt),
    actionType: 'ADDED',
  };
}

/** Eureka's apps hash code: each status with its count, e.g. "DOWN_1_UP_3_". */
export function appsHashCode(instances: StoredInstance[]): string {
  const counts = new Map<string, number>();
  for (const instance of instances) counts.set(instance.status, (counts.get(instance.status) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}_${count}_`)
    .join('');
}

/** JSON unless the client asked for XML only. */
function negotiate(request: IncomingMessage): void {
  const accept = (request.headers.accept ?? '').toLowerCase();
  if (accept.includes('xml') && !accept.includes('json')) {
    throw new HttpError(406, 'this Eureka stand-in answers application/json only');
  }
}

function requireJsonBody(request: IncomingMessage): void {
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('xml')) throw new HttpError(415, 'this Eureka stand-in reads application/json only');
}

/** Eureka answers errors with a status and, at most, a short text. */
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

function sendStatus(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'content-length': 0 });
  response.end();
}

export function buildRouter(registry: EurekaRegistry): Router {
  const router = new Router();
  router.add(
    'GET',
    `${BASE}/apps`,
    plain((request, response) => {
      negotiate(request);
      const apps = registry.applications();
      sendJson(response, 200, {
        applications: {
          versions__delta: '1',
          apps__hashcode: appsHashCode(apps.flatMap(([, instances]) => instances)),
          application: apps.map(([name, instances]) => ({ name, instance: instances.map(instanceJson) })),
        },
      });
    }),
  );
  router.add(
    'POST',
    `${BASE}/apps/:app`,
    plain(async (request, response, params) => {
      requireJsonBody(request);
      registry.register(params.app ?? '', await readJson(request));
      sendStatus(response, 204);
    }),
  );
  router.add(
    'GET',
    `${BASE}/apps/:app`,
    plain((request, response, params) => {
      negotiate(request);
      const instances = registry.application(params.app ?? '');
      if (!instances) return sendStatus(response, 404);
      sendJson(response, 200, { application: { name: (params.app ?? '').toUpperCase(), instance: instances.map(instanceJson) } });
    }),
  );
  router.add(
    'PUT',
    `${BASE}/apps/:app/:id`,
    plain((_request, response, params) => sendStatus(response, registry.renew(params.app ?? '', params.id ?? '') ? 200 : 404)),
  );
  router.add(
    'DELETE',
    `${BASE}/apps/:app/:id`,
    plain((_request, response, params) => sendStatus(response, registry.cancel(params.app ?? '', params.id ?? '') ? 200 : 404)),
  );
  router.add(
    'GET',
    `${BASE}/apps/:app/:id`,
    plain((request, response, params) => {
      negotiate(request);
      const instance = registry.find(params.app ?? '', params.id ?? '');
      if (!instance) return sendStatus(response, 404);
      sendJson(response, 200, { instance: instanceJson(instance) });
    }),
  );
  return router;
}

export interface RunningEureka extends RunningServer {
  registry: EurekaRegistry;
}

export async function start(options: EurekaOptions): Promise<RunningEureka> {
  const registry = new EurekaRegistry((options.leaseSeconds ?? 90) * 1000, options.now);
  const router = buildRouter(registry);
  const running = await listen(
    standinHandler('eureka', router),
    options.port,
    options.host,
  );
  return { ...running, registry };
}

/** What upstream's eureka image runs: Tomcat's start script (`catalina.sh run`), which serves 8080. */
export const CATALINA = '/tomcat/bin/catalina.sh';
const TOMCAT_PORT = 8080;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runUpstreamProgram('eureka stand-in', CATALINA, async (commandLine) => {
    if (commandLine.positionals[0] !== 'run') throw new Error(`the stand-in runs 'catalina.sh run' only, not '${commandLine.positionals.join(' ')}'`);
    const delayMs = envInt(process.env, 'MESH_LOCAL_EUREKA_START_DELAY_MS', 0);
    if (delayMs > 0) {
      console.log(`eureka stand-in: starting in ${delayMs} ms (MESH_LOCAL_EUREKA_START_DELAY_MS)`);
      await sleep(delayMs);
    }
    return start({ port: TOMCAT_PORT, leaseSeconds: envInt(process.env, 'LEASE_SECONDS', 90) });
  });
}
