import { InputShapeError } from '../errors.js';
import { describeType } from '../model/settings.js';
import { LABELS } from './compose-spec.js';
import { sidecarServiceNames, sidecarServices, type SidecarSettings } from './sidecar.js';

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
 * Adds an init and a proxy service for every app the policy selects. Pure, and idempotent:
 * injecting an injected document returns an equal document. Existing values, including `x-`
 * fields, profiles, build sections and values that came from anchors, are kept as they are;
 * services are replaced by copies only where a network is added.
 */
export function injectSidecars(input: unknown, file: string, options: InjectOptions): InjectResult {
  const document = requireMapping(input, file, '(top level)', 'a mapping with a services key');
  const services = requireMapping(document.services, file, 'services', 'a mapping of service names to services');
  const result: InjectResult = { document: { ...document }, injected: [], skipped: [] };
  if (options.policy === 'off') return result;

  const output: Mapping = { ...services };
  let joinedMeshNetwork = false;
  for (const [name, value] of Object.entries(services)) {
    const service = requireMapping(value, file, `services.${name}`, 'a mapping');
    const labels = readLabels(service.labels, file, `services.${name}.labels`);
    if (labels[LABELS.sidecarFor] !== undefined) continue; // one of ours
    if (!wantsSidecar(options.policy, labels[INJECT_LABEL])) continue;

    const networkMode = service.network_mode;
    if (networkMode !== undefined && typeof networkMode !== 'string') {
      throw new InputShapeError(file, `services.${name}.network_mode`, 'a string', describeType(networkMode));
    }
    const reason = networkModeObstacle(networkMode, options.meshNetwork);
    if (reason) {
      result.skipped.push({ service: name, reason });
      continue;
    }

    const names = sidecarServiceNames(name);
    const existing = [names.init, names.proxy].filter((sidecar) => sidecar in services);
    if (existing.length > 0) {
      const ours = existing.every((sidecar) => isSidecarOf(services[sidecar], name));
      if (!ours) {
        result.skipped.push({ service: name, reason: `a service named ${existing.join(' and ')} already exists` });
      }
      if (options.meshNetwork) joinedMeshNetwork ||= hasNetwork(service, MESH_NETWORK_KEY);
      continue;
    }

    const ports = containerPorts(service, file, `services.${name}`);
    const profiles = readProfiles(service.profiles, file, `services.${name}.profiles`);
    Object.assign(output, sidecarServices({ service: name, ports, profiles }, { ...options.sidecar, pilotCondition: undefined }));
    if (options.meshNetwork) {
      output[name] = joinNetwork(service, MESH_NETWORK_KEY, file, `services.${name}.networks`);
      joinedMeshNetwork = true;
    }
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
  return undefined;
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

function isSidecarOf(service: unknown, app: string): boolean {
  if (typeof service !== 'object' || service === null) return false;
  const labels = (service as Mapping).labels;
  return typeof labels === 'object' && labels !== null && (labels as Mapping)[LABELS.sidecarFor] === app;
}

function requireMapping(value: unknown, file: string, path: string, expected: string): Mapping {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Mapping;
  throw new InputShapeError(file, path, expected, describeType(value));
}
