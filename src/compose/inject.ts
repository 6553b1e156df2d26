import { posix } from 'node:path';
import { InputShapeError } from '../errors.js';
import { describeType } from '../model/settings.js';
import { LABELS, type ComposeService } from './compose-spec.js';
import { podAppSettings, podServiceNames, podServices, type SidecarSettings } from './sidecar.js';

/** Istio's injection policy (the `istio-sidecar-injector` config's `policy`). */
export const INJECTION_POLICIES = ['enabled', 'disabled', 'off'] as const;
export type InjectionPolicy = (typeof INJECTION_POLICIES)[number];

/** Per-service opt-in/opt-out, the Compose counterpart of the pod annotation. */
export const INJECT_LABEL = 'sidecar.istio.io/inject';
/** Name of the external network entry added to injected files. */
export const MESH_NETWORK_KEY = 'istio-mesh';

export interface InjectOptions {
  policy: InjectionPolicy;
  sidecar: Omit<SidecarSettings, 'pilotCondition'>;
  /**
   * Name of the running mesh's network (`<project>_mesh`), joined by every injected app so its
   * sidecar reaches pilot; `null` leaves networks alone.
   */
  meshNetwork: string | null;
  /**
   * What Compose makes of each service (after `extends`, profiles and interpolation), by service
   * name; a service without an entry is read from the document as written.
   */
  facts?: Readonly<Record<string, ServiceFacts>>;
}

/**
 * A service's effective settings as Compose reads them (src/app/compose-facts.ts gathers them
 * from `docker compose config --format json`, or from mesh-local's own reading without a v2 CLI).
 */
export interface ServiceFacts {
  /** Container ports (`ports[].target` and `expose`), ascending: the inbound ports to capture. */
  ports: number[];
  networkMode?: string | undefined;
  profiles?: string[] | undefined;
  /** Labels, values as strings. */
  labels: Record<string, string>;
  /** `deploy.replicas` or `scale` when set, with the field Compose read it from (`deploy.replicas`, `scale`). */
  replicas?: { field: string; count: number } | undefined;
  /**
   * A network setting (`ports`, `networks`, `hostname`...) the service inherits through `extends`,
   * with the base that defines it: the app would keep it next to `network_mode: service:<pod>`
   * (Compose merges `extends` and cannot drop an inherited list except with v2's `!reset`, which v1
   * does not read), so such a service is refused.
   */
  inheritedNetwork?: { field: string; base: string } | undefined;
}

export interface SkippedService {
  service: string;
  reason: string;
}

export interface InjectResult {
  document: Record<string, unknown>;
  injected: string[];
  /** Services that wanted a sidecar but cannot take one, with the reason (shown as warnings). */
  skipped: SkippedService[];
}

type Mapping = Record<string, unknown>;

/**
 * Keys Docker refuses on a container that joins another's network namespace, or that describe the
 * namespace itself: the pod takes them over from the app. `sysctls` moves only its `net.*` entries.
 */
export const POD_NETWORK_KEYS = [
  'network_mode',
  'networks',
  'ports',
  'expose',
  'hostname',
  'domainname',
  'dns',
  'dns_opt',
  'dns_search',
  'extra_hosts',
  'mac_address',
  'links',
  'external_links',
] as const;

/**
 * Puts every app the policy selects into a pod: a pause service that owns the app's network
 * (`POD_NETWORK_KEYS` and its registrator `SERVICE_*` settings), an init and a proxy service, and
 * the app itself, which keeps its name and joins the pod's namespace. Pure, and idempotent:
 * injecting an injected document returns an equal document. Existing values, including `x-`
 * fields, profiles, build sections and values that came from anchors, are kept as they are;
 * only the services that get a pod are replaced by copies.
 */
export function injectSidecars(input: unknown, file: string, options: InjectOptions): InjectResult {
  const document = requireMapping(input, file, '(top level)', 'a mapping with a services key');
  const services = requireMapping(document.services, file, 'services', 'a mapping of service names to services');
  const result: InjectResult = { document: { ...document }, injected: [], skipped: [] };
  if (options.policy === 'off') return result;

  const output: Mapping = { ...services };
  let joinedMeshNetwork = false;
  const extendedBy = sameFileBases(services);
  for (const [name, value] of Object.entries(services)) {
    const service = requireMapping(value, file, `services.${name}`, 'a mapping');
    const facts = options.facts?.[name];
    const written = readLabels(service.labels, file, `services.${name}.labels`);
    if (written[LABELS.sidecarFor] !== undefined) continue; // one of ours
    // An opt-out inherited through `extends` or given by a variable counts as Compose reads it.
    const labels = facts?.labels ?? written;
    if (!wantsSidecar(options.policy, labels[INJECT_LABEL])) continue;

    const names = podServiceNames(name);
    if (service.network_mode !== undefined && typeof service.network_mode !== 'string') {
      throw new InputShapeError(file, `services.${name}.network_mode`, 'a string', describeType(service.network_mode));
    }
    const networkMode = facts ? facts.networkMode : (service.network_mode as string | undefined);
    const existing = [names.pod, names.init, names.proxy].filter((member) => member in services);
    if (existing.length > 0) {
      const ours = existing.length === 3 && existing.every((member) => isPodMemberOf(services[member], name)) && networkMode === `service:${names.pod}`;
      if (!ours) {
        result.skipped.push({ service: name, reason: `a service named ${existing.join(' and ')} already exists` });
        continue;
      }
      checkReplicas(service, facts, name, names.pod, file);
      // Only a pod of ours is known to exist here; a clash may have taken any one name.
      if (options.meshNetwork) joinedMeshNetwork ||= hasNetwork(services[names.pod] as Mapping, MESH_NETWORK_KEY);
      continue;
    }
    const reason = extendedBy.has(name)
      ? `services.${extendedBy.get(name)} extends it, and Compose v1 cannot extend a service with network_mode: service:${names.pod}`
      : networkModeObstacle(networkMode, options.meshNetwork);
    if (reason) {
      result.skipped.push({ service: name, reason });
      continue;
    }
    checkReplicas(service, facts, name, names.pod, file);
    if (facts?.inheritedNetwork) {
      const { field, base } = facts.inheritedNetwork;
      throw new InputShapeError(
        file,
        `services.${name}.extends`,
        'a base without network settings for a service that gets a sidecar',
        `${field} inherited from ${base}: the app would keep it next to network_mode: service:${names.pod} ` +
          `(Compose merges extends and only v2's !reset could drop it); move ${field} from the base into services.${name}, ` +
          `or label the service ${INJECT_LABEL}: "false"`,
      );
    }

    const ports = facts?.ports ?? containerPorts(service, file, `services.${name}`);
    const profiles = facts ? facts.profiles : readProfiles(service.profiles, file, `services.${name}.profiles`);
    const { app, network } = splitNetwork(service, name, file, `services.${name}`);
    const joined = options.meshNetwork ? joinNetwork(network, MESH_NETWORK_KEY, file, `services.${name}.networks`) : network;
    const pod = podServices(
      { service: name, ports, ...(profiles ? { profiles } : {}), network: withAlias(joined, name, file, `services.${name}.networks`) },
      { ...options.sidecar, pilotCondition: undefined },
    );
    if (options.meshNetwork) joinedMeshNetwork = true;
    Object.assign(output, pod);
    output[name] = joinPod(app, name, pod[names.proxy]!, file, `services.${name}`);
    result.injected.push(name);
  }

  result.document.services = output;
  if (options.meshNetwork && joinedMeshNetwork) {
    const networks = document.networks === undefined || document.networks === null
      ? {}
      : requireMapping(document.networks, file, 'networks', 'a mapping of network names');
    if (!(MESH_NETWORK_KEY in networks)) {
      result.document.networks = { ...networks, [MESH_NETWORK_KEY]: { external: true, name: options.meshNetwork } };
    }
  }
  return result;
}

/**
 * Splits a service into what stays with the app and what its pod takes: `POD_NETWORK_KEYS`,
 * `net.*` sysctls, and the registrator's `SERVICE_*` settings, which are copied (the app keeps its
 * environment as it was; a label tells registrators to ignore the app itself).
 */
function splitNetwork(service: Mapping, name: string, file: string, path: string): { app: Mapping; network: Mapping } {
  const app: Mapping = { ...service };
  const network: Mapping = {};
  for (const key of POD_NETWORK_KEYS) {
    if (key in app) {
      network[key] = app[key];
      delete app[key];
    }
  }
  const sysctls = app.sysctls;
  if (sysctls !== undefined && sysctls !== null) {
    const { pod, rest } = splitSysctls(sysctls, file, `${path}.sysctls`);
    if (pod !== undefined) network.sysctls = pod;
    if (rest === undefined) delete app.sysctls;
    else app.sysctls = rest;
  }
  const environment = registratorSettings(readEnvironment(service.environment, file, `${path}.environment`));
  if (Object.keys(environment).length > 0) network.environment = environment;
  const labels = registratorSettings(readLabels(service.labels, file, `${path}.labels`));
  // Registrator names a service after its container's image when SERVICE_NAME is not set, which
  // would now be the pause image: the pod is named after the app's image instead.
  // Registrator takes an empty value as unset (bridge/util.go `mapDefault`); a bare `SERVICE_NAME`
  // in the environment (null: Compose takes it from the shell) may well be set.
  const named = environment.SERVICE_NAME === null || !!environment.SERVICE_NAME || !!labels.SERVICE_NAME;
  if (!named) labels.SERVICE_NAME = registratorDefaultName(service.image, name);
  if (Object.keys(labels).length > 0) network.labels = labels;
  return { app, network };
}

/**
 * The name registrator gives a container without SERVICE_NAME: its image's last path element
 * without the tag (gliderlabs/registrator bridge.go `newService`:
 * `strings.Split(path.Base(container.Config.Image), ":")[0]`). A service with only a `build`
 * gets an image name from Compose that depends on the project; its service name stands in.
 */
export function registratorDefaultName(image: unknown, service: string): string {
  if (typeof image !== 'string' || image === '') return service;
  return posix.basename(image).split(':')[0]!;
}

/**
 * Gives the pod the app's service name as an alias on each of its networks: Compose names a
 * container after its service on every network it joins, and the app, which joins the pod's
 * namespace, no longer joins any. Without it, `http://web:8080` from a neighbour would not resolve.
 * A pod on Docker's default bridge (`network_mode: bridge`) has no DNS to add to.
 */
function withAlias(network: Mapping, alias: string, file: string, path: string): Mapping {
  if (network.network_mode !== undefined) return network;
  const networks = network.networks === undefined || network.networks === null ? ['default'] : network.networks;
  const entries: Array<[string, unknown]> = Array.isArray(networks)
    ? networks.map((name) => [String(name), null])
    : Object.entries(requireMapping(networks, file, path, 'a list or a mapping of networks'));
  const aliased = entries.map(([name, settings]): [string, unknown] => {
    const current = settings === null || settings === undefined ? {} : requireMapping(settings, file, `${path}.${name}`, 'a mapping or nothing');
    const aliases = current.aliases === undefined || current.aliases === null ? [] : current.aliases;
    if (!Array.isArray(aliases)) throw new InputShapeError(file, `${path}.${name}.aliases`, 'a list of names', describeType(aliases));
    return [name, { ...current, aliases: aliases.includes(alias) ? aliases : [...aliases, alias] }];
  });
  return { ...network, networks: Object.fromEntries(aliased) };
}

/** The app in its pod: its own settings, the pod's namespace, and a start after its proxy. */
function joinPod(app: Mapping, name: string, proxy: ComposeService, file: string, path: string): Mapping {
  const join = podAppSettings(name, proxy);
  return {
    ...app,
    network_mode: join.network_mode,
    labels: addLabels(app.labels, join.labels),
    depends_on: { ...readDependsOn(app.depends_on, file, `${path}.depends_on`), ...join.depends_on },
  };
}

/** `depends_on` in its long form, from either Compose form. */
function readDependsOn(raw: unknown, file: string, path: string): Mapping {
  if (raw === undefined || raw === null) return {};
  if (Array.isArray(raw)) {
    const long: Mapping = {};
    for (const item of raw) {
      if (typeof item !== 'string') throw new InputShapeError(file, path, 'a list of service names', `an item that is ${describeType(item)}`);
      long[item] = { condition: 'service_started' };
    }
    return long;
  }
  return requireMapping(raw, file, path, 'a list of service names or a mapping');
}

/** Adds labels in the form the service already uses (a list stays a list). */
function addLabels(raw: unknown, extra: Record<string, string>): unknown {
  if (Array.isArray(raw)) {
    const keys = new Set(raw.map((item) => String(item).split('=')[0]));
    return [...raw, ...Object.entries(extra).filter(([key]) => !keys.has(key)).map(([key, value]) => `${key}=${value}`)];
  }
  const labels = typeof raw === 'object' && raw !== null ? (raw as Mapping) : {};
  return { ...labels, ...extra };
}

/** Environment as a map, from either Compose form; a bare `KEY` (taken from the shell) maps to null. */
function readEnvironment(raw: unknown, file: string, path: string): Record<string, string | null> {
  if (raw === undefined || raw === null) return {};
  if (Array.isArray(raw)) {
    const environment: Record<string, string | null> = {};
    for (const item of raw) {
      if (typeof item !== 'string') throw new InputShapeError(file, path, 'a list of "KEY=value" strings', `an item that is ${describeType(item)}`);
      const eq = item.indexOf('=');
      if (eq === -1) environment[item] = null;
      else environment[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return environment;
  }
  if (typeof raw === 'object') {
    const environment: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(raw)) environment[key] = value === null ? null : String(value);
    return environment;
  }
  throw new InputShapeError(file, path, 'a mapping or a list of "KEY=value" strings', describeType(raw));
}

/**
 * Registrator settings (`SERVICE_NAME`, `SERVICE_9080_TAGS`...). A `SERVICE_IGNORE` the user set
 * goes with them: the pod now registers the instance, so it must stay hidden when the app was.
 */
function registratorSettings<T>(values: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(values).filter(([key]) => key.startsWith('SERVICE_')));
}

/** `net.*` sysctls belong to the network namespace, which the pod owns. */
function splitSysctls(raw: unknown, file: string, path: string): { pod: unknown; rest: unknown } {
  const isNet = (key: string) => key.startsWith('net.');
  if (Array.isArray(raw)) {
    const pod = raw.filter((item) => isNet(String(item)));
    const rest = raw.filter((item) => !isNet(String(item)));
    return { pod: pod.length > 0 ? pod : undefined, rest: rest.length > 0 ? rest : undefined };
  }
  const entries = Object.entries(requireMapping(raw, file, path, 'a mapping or a list of sysctls'));
  const pod = entries.filter(([key]) => isNet(key));
  const rest = entries.filter(([key]) => !isNet(key));
  return { pod: pod.length > 0 ? Object.fromEntries(pod) : undefined, rest: rest.length > 0 ? Object.fromEntries(rest) : undefined };
}

/** Label values that opt in, as Istio's injector reads its annotation (case-insensitive). */
const OPT_IN = new Set(['y', 'yes', 'true', 'on']);

/**
 * The policy table. An absent or empty label follows the policy (`enabled` injects, `disabled`
 * does not); any other value decides by itself: y/yes/true/on inject, everything else does not.
 */
export function wantsSidecar(policy: InjectionPolicy, label: string | undefined): boolean {
  if (policy === 'off') return false;
  if (label === undefined || label === '') return policy === 'enabled';
  return OPT_IN.has(label.toLowerCase());
}

function networkModeObstacle(networkMode: string | undefined, meshNetwork: string | null): string | undefined {
  if (networkMode === undefined) return undefined;
  if (networkMode === 'bridge' || networkMode === 'default') {
    // Compose refuses `networks` next to any `network_mode`, so the app cannot join the mesh.
    return meshNetwork
      ? `network_mode is ${networkMode}: it cannot also join the mesh network ${meshNetwork}; remove network_mode or use --no-mesh-network`
      : undefined;
  }
  if (networkMode === 'host') {
    return 'network_mode is host: iptables rules would capture the whole host\'s traffic';
  }
  if (networkMode === 'none') return 'network_mode is none: it has no network to capture';
  if (networkMode.startsWith('service:') || networkMode.startsWith('container:')) {
    return `network_mode is ${networkMode}: it shares another's network namespace, which gets the sidecar`;
  }
  // Any other value names a network (Docker's `--network NAME`): as for bridge, Compose refuses
  // `networks` next to it, so the pod could not also join the mesh network.
  return meshNetwork
    ? `network_mode is ${networkMode}: it cannot also join the mesh network ${meshNetwork}; use networks: [${networkMode}] instead, or --no-mesh-network`
    : undefined;
}

/** Services that another service of the same document extends, with the first such service. */
function sameFileBases(services: Mapping): Map<string, string> {
  const bases = new Map<string, string>();
  for (const [name, value] of Object.entries(services)) {
    const extendsOf = typeof value === 'object' && value !== null ? (value as Mapping).extends : undefined;
    const base = typeof extendsOf === 'string' ? extendsOf
      : typeof extendsOf === 'object' && extendsOf !== null && (extendsOf as Mapping).file === undefined ? (extendsOf as Mapping).service
      : undefined;
    if (typeof base === 'string' && !bases.has(base)) bases.set(base, name);
  }
  return bases;
}

/** requireOneReplica on Compose's own count when known, else on the document. */
function checkReplicas(service: Mapping, facts: ServiceFacts | undefined, name: string, pod: string, file: string): void {
  if (!facts) return requireOneReplica(service, name, pod, file);
  if (facts.replicas && facts.replicas.count > 1) {
    throw new InputShapeError(file, `services.${name}.${facts.replicas.field}`, '0 or 1 for a service that gets a sidecar', replicaReason(String(facts.replicas.count), pod));
  }
}

function replicaReason(found: string, pod: string): string {
  return (
    `${found}: a pod per replica is not expressible in one Compose service (network_mode: service:${pod} names one container), ` +
    `so the other replicas would run outside the mesh; label the service ${INJECT_LABEL}: "false" to leave it out of the mesh`
  );
}

/**
 * Refuses an app Compose would run more than once (`deploy.replicas`, or `scale`, which Compose
 * v1 and v2 both read): its pod is one container, and `network_mode: service:<pod>` names that one
 * container, so the replicas could not each have their own pod and sidecar; a pod per replica is
 * not expressible in one Compose service. 0 and 1 are fine. A count given as `${VAR:-N}` counts
 * with its default; one that cannot be known here (`${VAR}`) is refused too, rather than risk
 * replicas outside the mesh. Throws InputShapeError (exit 2) naming the file, service and field.
 */
function requireOneReplica(service: Mapping, name: string, pod: string, file: string): void {
  const deploy = service.deploy;
  if (deploy !== undefined && deploy !== null && (typeof deploy !== 'object' || Array.isArray(deploy))) {
    throw new InputShapeError(file, `services.${name}.deploy`, 'a mapping', describeType(deploy));
  }
  const fields: Array<[string, unknown]> = [
    [`services.${name}.deploy.replicas`, (deploy as Mapping | null | undefined)?.replicas],
    [`services.${name}.scale`, service.scale],
  ];
  for (const [path, raw] of fields) {
    if (raw === undefined || raw === null) continue;
    const count = replicaCount(raw);
    if (count !== undefined && count <= 1) continue;
    const found = count === undefined ? `${describeType(raw)}, a count inject cannot know` : String(count);
    throw new InputShapeError(file, path, '0 or 1 for a service that gets a sidecar', replicaReason(found, pod));
  }
}

/** A replica count: an integer, its decimal string, or `${VAR:-N}`/`${VAR-N}` with its default; else undefined. */
function replicaCount(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim().replace(/^\$\{[A-Za-z_][A-Za-z0-9_]*:?-(\d+)\}$/, '$1');
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Labels as a map, from either Compose form (`{k: v}` or `["k=v"]`); values become strings. */
export function readLabels(raw: unknown, file: string, path: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (Array.isArray(raw)) {
    const labels: Record<string, string> = {};
    for (const item of raw) {
      if (typeof item !== 'string') throw new InputShapeError(file, path, 'a list of "key=value" strings', `an item that is ${describeType(item)}`);
      const eq = item.indexOf('=');
      if (eq === -1) labels[item] = '';
      else labels[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return labels;
  }
  if (typeof raw === 'object') {
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) labels[key] = value === null ? '' : String(value);
    return labels;
  }
  throw new InputShapeError(file, path, 'a mapping or a list of "key=value" strings', describeType(raw));
}

/** Container ports from `expose` and `ports` (short and long syntax), for inbound capture. */
export function containerPorts(service: Mapping, file: string, path: string): number[] {
  const found = new Set<number>();
  const add = (spec: unknown, where: string) => {
    if (typeof spec === 'number') return void found.add(spec);
    if (typeof spec === 'object' && spec !== null && 'target' in spec) {
      const target = Number((spec as Mapping).target);
      if (Number.isInteger(target)) found.add(target);
      return;
    }
    if (typeof spec !== 'string') throw new InputShapeError(file, where, 'a list of port strings or numbers', describeType(spec));
    // [ip:][host:]container[/proto]; a container range "8000-8002" counts each port. An
    // interpolated port counts with its default (`${PORT:-3000}`), or not at all without one.
    const resolved = spec.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}/g, '$1');
    if (resolved.includes('$')) return;
    const container = resolved.split('/')[0]!.split(':').at(-1)!;
    const [low, high] = container.split('-').map(Number);
    if (low === undefined || !Number.isInteger(low) || low < 1) return;
    for (let port = low; port <= (Number.isInteger(high) ? high! : low) && port - low < 1000; port++) found.add(port);
  };
  for (const key of ['expose', 'ports'] as const) {
    const value = service[key];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) throw new InputShapeError(file, `${path}.${key}`, 'a list', describeType(value));
    value.forEach((spec) => add(spec, `${path}.${key}`));
  }
  return [...found].sort((a, b) => a - b);
}

function readProfiles(raw: unknown, file: string, path: string): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) return raw;
  throw new InputShapeError(file, path, 'a list of profile names', describeType(raw));
}

function joinNetwork(service: Mapping, network: string, file: string, path: string): Mapping {
  const networks = service.networks;
  if (networks === undefined || networks === null) {
    // Naming any network drops the implicit `default`, so it is listed explicitly.
    return { ...service, networks: ['default', network] };
  }
  if (Array.isArray(networks)) {
    return networks.includes(network) ? service : { ...service, networks: [...networks, network] };
  }
  if (typeof networks === 'object') {
    return network in networks ? service : { ...service, networks: { ...networks, [network]: null } };
  }
  throw new InputShapeError(file, path, 'a list or a mapping of networks', describeType(networks));
}

function hasNetwork(service: Mapping, network: string): boolean {
  const networks = service.networks;
  if (Array.isArray(networks)) return networks.includes(network);
  return typeof networks === 'object' && networks !== null && network in networks;
}

function isPodMemberOf(service: unknown, app: string): boolean {
  if (typeof service !== 'object' || service === null) return false;
  const labels = (service as Mapping).labels;
  return typeof labels === 'object' && labels !== null && (labels as Mapping)[LABELS.sidecarFor] === app;
}

function requireMapping(value: unknown, file: string, path: string, expected: string): Mapping {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Mapping;
  throw new InputShapeError(file, path, expected, describeType(value));
}
