import { parseFamiliarName } from '@swimlane/docker-reference';
import { isIP } from 'node:net';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { bookinfoApps } from './bookinfo.js';
import { IMAGE_SETS, SANDBOX_MISSING_ADDONS, sandboxTable, type ImageSetName } from './image-sets.js';
import { IMAGE_KEYS, resolveImages, type ImageKey } from './images.js';
import { DEFAULT_ISTIO_VERSION, findIstioVersion, supportedVersions } from './istio-versions.js';
import {
  ADDONS,
  HOST_PORT_NAMES,
  REGISTRIES,
  instanceName,
  type AddonName,
  type AppService,
  type HostPortName,
  type HostPorts,
  type MeshModel,
  type RegistryKind,
} from './mesh.js';

/**
 * Settings come from four layers, later ones winning: defaults < config file (`mesh-local.yaml`)
 * < environment (`MESH_LOCAL_*`) < command-line flags. Maps (`images`, `ports`) merge key by key.
 */
export interface Settings {
  project: string;
  registry: RegistryKind;
  istioVersion: string;
  addons: AddonName[];
  mtls: boolean;
  bookinfo: boolean;
  hostAddress: string;
  imageSet: ImageSetName;
  imageMirror: string | undefined;
  images: Partial<Record<ImageKey, string>>;
  ports: HostPorts;
  /** Extra app services, from the config file only. */
  apps: AppService[];
}

export const DEFAULT_CONFIG_FILE = 'mesh-local.yaml';
export const CONFIG_FILE_ENV = 'MESH_LOCAL_CONFIG';

export const DEFAULT_HOST_PORTS: HostPorts = {
  apiserver: 8080,
  pilot: 8081,
  consul: 8500,
  eureka: 8082,
  gateway: 9081,
  prometheus: 9090,
  grafana: 3000,
  zipkin: 9411,
  servicegraph: 8088,
};

export function defaultSettings(): Settings {
  return {
    project: 'mesh-local',
    registry: 'consul',
    istioVersion: DEFAULT_ISTIO_VERSION,
    addons: [],
    mtls: false,
    bookinfo: false,
    hostAddress: '127.0.0.1',
    imageSet: 'upstream',
    imageMirror: undefined,
    images: {},
    ports: { ...DEFAULT_HOST_PORTS },
    apps: [],
  };
}

/** Flag values as the CLI parsed them, before validation. */
export interface FlagValues {
  project?: string;
  registry?: string;
  istioVersion?: string;
  addons?: string;
  mtls?: boolean;
  bookinfo?: boolean;
  hostAddress?: string;
  imageSet?: string;
  imageMirror?: string;
  image?: string[];
  port?: string[];
}

export interface SettingsInput {
  file?: { path: string; data: unknown };
  env: Record<string, string | undefined>;
  flags: FlagValues;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

type ScalarName =
  | 'project'
  | 'registry'
  | 'istioVersion'
  | 'addons'
  | 'mtls'
  | 'bookinfo'
  | 'hostAddress'
  | 'imageSet'
  | 'imageMirror';

interface ScalarSpec {
  env: string;
  flag: string;
  parse(raw: unknown): Parsed<unknown>;
}

/** One row per scalar setting: where it can come from and how it is checked. */
export const SCALAR_SETTINGS: Record<ScalarName, ScalarSpec> = {
  project: { env: 'MESH_LOCAL_PROJECT', flag: '--project', parse: parseProjectName },
  registry: { env: 'MESH_LOCAL_REGISTRY', flag: '--registry', parse: (raw) => oneOf(raw, REGISTRIES) },
  istioVersion: {
    env: 'MESH_LOCAL_ISTIO_VERSION',
    flag: '--istio-version',
    parse: (raw) => oneOf(typeof raw === 'number' ? String(raw) : raw, supportedVersions()),
  },
  addons: { env: 'MESH_LOCAL_ADDONS', flag: '--addons', parse: parseAddons },
  mtls: { env: 'MESH_LOCAL_MTLS', flag: '--mtls', parse: parseBoolean },
  bookinfo: { env: 'MESH_LOCAL_BOOKINFO', flag: '--bookinfo', parse: parseBoolean },
  hostAddress: { env: 'MESH_LOCAL_HOST_ADDRESS', flag: '--host-address', parse: parseHostAddress },
  imageSet: { env: 'MESH_LOCAL_IMAGE_SET', flag: '--images', parse: (raw) => oneOf(raw, IMAGE_SETS) },
  imageMirror: { env: 'MESH_LOCAL_IMAGE_MIRROR', flag: '--image-mirror', parse: parseMirror },
};

interface MapSpec<K extends string> {
  env: string;
  flag: string;
  keys: readonly K[];
  parseValue(raw: unknown): Parsed<unknown>;
}

export const MAP_SETTINGS = {
  images: { env: 'MESH_LOCAL_IMAGES', flag: '--image', keys: IMAGE_KEYS, parseValue: parseImageReference },
  ports: { env: 'MESH_LOCAL_PORTS', flag: '--port', keys: HOST_PORT_NAMES, parseValue: parseHostPort },
} satisfies { images: MapSpec<ImageKey>; ports: MapSpec<HostPortName> };

const FILE_KEYS = [...Object.keys(SCALAR_SETTINGS), ...Object.keys(MAP_SETTINGS), 'apps'];

/** A value and where it came from, e.g. `{ value: 'eureka', source: '--registry' }`. */
interface Sourced {
  value: unknown;
  source: string;
}

export interface ResolvedSettings {
  settings: Settings;
  /** Where each setting that is not a default came from; for `--help`-style explanations and tests. */
  sources: Record<string, string>;
  warnings: string[];
}

/** Merges the layers and validates the result; throws one ConfigError listing every problem. */
export function resolveSettings(input: SettingsInput): ResolvedSettings {
  const issues: ConfigIssue[] = [];
  const settings = defaultSettings();
  const sources: Record<string, string> = {};
  const fileData = readFileLayer(input.file, issues);

  for (const [name, spec] of Object.entries(SCALAR_SETTINGS) as [ScalarName, ScalarSpec][]) {
    const layers: (Sourced | undefined)[] = [
      fileData && name in fileData ? { value: fileData[name], source: input.file!.path } : undefined,
      input.env[spec.env] !== undefined && input.env[spec.env] !== ''
        ? { value: input.env[spec.env], source: spec.env }
        : undefined,
      flagValue(input.flags, name, spec.flag),
    ];
    const winner = layers.filter((layer) => layer !== undefined).at(-1);
    if (!winner) continue;
    const parsed = spec.parse(winner.value);
    if (!parsed.ok) {
      issues.push({ path: name, message: parsed.message, source: winner.source });
      continue;
    }
    (settings as unknown as Record<string, unknown>)[name] = parsed.value;
    sources[name] = winner.source;
  }

  for (const [name, spec] of Object.entries(MAP_SETTINGS) as ['images' | 'ports', MapSpec<string>][]) {
    const entries: { key: string; value: unknown; source: string }[] = [];
    if (fileData && name in fileData) {
      const raw = fileData[name];
      if (isPlainObject(raw)) {
        for (const [key, value] of Object.entries(raw)) entries.push({ key, value, source: input.file!.path });
      } else if (raw !== null && raw !== undefined) {
        issues.push({ path: name, message: `expected a mapping of NAME: VALUE, found ${describeType(raw)}`, source: input.file!.path });
      }
    }
    const envRaw = input.env[spec.env];
    if (envRaw) entries.push(...splitPairs(envRaw, spec.env, `${name}`, issues));
    const flagRaw = name === 'images' ? input.flags.image : input.flags.port;
    for (const pair of flagRaw ?? []) entries.push(...splitPairs(pair, spec.flag, name, issues));

    const target = settings[name] as Record<string, unknown>;
    for (const entry of entries) {
      if (!spec.keys.includes(entry.key)) {
        issues.push({
          path: `${name}.${entry.key}`,
          message: `unknown name; valid names: ${spec.keys.join(', ')}`,
          source: entry.source,
        });
        continue;
      }
      const parsed = spec.parseValue(entry.value);
      if (!parsed.ok) {
        issues.push({ path: `${name}.${entry.key}`, message: parsed.message, source: entry.source });
        continue;
      }
      target[entry.key] = parsed.value;
      sources[`${name}.${entry.key}`] = entry.source;
    }
  }

  if (fileData && 'apps' in fileData) {
    settings.apps = parseApps(fileData.apps, input.file!.path, issues);
    sources.apps = input.file!.path;
  }

  const warnings = applyRules(settings, sources, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return { settings, sources, warnings };
}

/** Cross-setting rules; they see only values that parsed. Returns warnings, pushes errors. */
function applyRules(settings: Settings, sources: Record<string, string>, issues: ConfigIssue[]): string[] {
  const warnings: string[] = [];
  if (settings.mtls) {
    issues.push({
      path: 'mtls',
      message:
        'mutual TLS is not available in the Compose stacks: outside Kubernetes no node agent delivers ' +
        "the CA's certificates to the sidecars; leave mtls off",
      source: sources.mtls,
    });
  }
  if (settings.imageSet === 'sandbox') {
    const missing = settings.addons.filter((addon) => (SANDBOX_MISSING_ADDONS as readonly string[]).includes(addon));
    if (missing.length > 0) {
      settings.addons = settings.addons.filter((addon) => !missing.includes(addon));
      warnings.push(
        `the sandbox image set has no ${missing.join(', ')}: no reachable source ships them and mesh-local does not fake them; left out` +
          (missing.includes('zipkin') ? ' (without zipkin, Mixer and the sidecars are not told to send traces)' : ''),
      );
    }
  }
  for (const addon of ['grafana', 'servicegraph'] as const) {
    if (settings.addons.includes(addon) && !settings.addons.includes('prometheus')) {
      settings.addons = ['prometheus', ...settings.addons];
      warnings.push(`${addon} reads its data from prometheus, so prometheus was added to the addons`);
    }
  }
  const published = publishedPortNames(settings);
  const byPort = new Map<number, HostPortName[]>();
  for (const name of published) {
    // 0 lets the engine pick a free port, so it never conflicts.
    if (settings.ports[name] !== 0) byPort.set(settings.ports[name], [...(byPort.get(settings.ports[name]) ?? []), name]);
  }
  for (const [port, names] of byPort) {
    if (names.length > 1) {
      issues.push({ path: `ports.${names[1]}`, message: `host port ${port} is also used by ports.${names[0]}` });
    }
  }
  return warnings;
}

/** The host ports a stack with these settings publishes. */
export function publishedPortNames(settings: Pick<Settings, 'registry' | 'addons' | 'bookinfo' | 'apps'>): HostPortName[] {
  const names: HostPortName[] = ['apiserver', 'pilot', settings.registry];
  if (settings.bookinfo || settings.apps.some((app) => app.gateway)) names.push('gateway');
  for (const addon of settings.addons) names.push(addon);
  return names;
}

/** Turns validated settings into the mesh model the renderer takes. */
export function buildModel(settings: Settings): MeshModel {
  const version = findIstioVersion(settings.istioVersion);
  if (!version) throw new ConfigError([{ path: 'istioVersion', message: `unsupported version ${settings.istioVersion}` }]);
  // Sandbox images are built locally, so the registry mirror does not apply to them.
  const images =
    settings.imageSet === 'sandbox'
      ? resolveImages(sandboxTable(version.images), { overrides: settings.images })
      : resolveImages(version.images, { mirror: settings.imageMirror, overrides: settings.images });
  const bookinfo = settings.bookinfo
    ? bookinfoApps().map((app) => ({ ...app, image: images[app.image as ImageKey] }))
    : [];
  const apps = [...bookinfo, ...settings.apps];
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const app of apps) {
    const name = instanceName(app);
    if (seen.has(name)) issues.push({ path: 'apps', message: `${name} is defined twice` });
    seen.add(name);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    project: settings.project,
    istioVersion: version.version,
    imageSet: settings.imageSet,
    registry: settings.registry,
    addons: ADDONS.filter((addon) => settings.addons.includes(addon)),
    mtls: settings.mtls,
    hostAddress: settings.hostAddress,
    hostPorts: settings.ports,
    images,
    apps,
  };
}

function readFileLayer(file: SettingsInput['file'], issues: ConfigIssue[]): Record<string, unknown> | undefined {
  if (!file || file.data === null || file.data === undefined) return undefined;
  if (!isPlainObject(file.data)) {
    issues.push({ path: '(top level)', message: `expected a mapping of settings, found ${describeType(file.data)}`, source: file.path });
    return undefined;
  }
  for (const key of Object.keys(file.data)) {
    if (!FILE_KEYS.includes(key)) {
      issues.push({ path: key, message: `unknown setting; valid settings: ${FILE_KEYS.join(', ')}`, source: file.path });
    }
  }
  return file.data;
}

function flagValue(flags: FlagValues, name: ScalarName, flag: string): Sourced | undefined {
  const value = flags[name];
  return value === undefined ? undefined : { value, source: flag };
}

/** `a=1,b=2` (env) or `a=1` (one flag) into entries. */
function splitPairs(raw: string, source: string, path: string, issues: ConfigIssue[]) {
  const entries: { key: string; value: unknown; source: string }[] = [];
  for (const part of raw.split(',').map((item) => item.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) {
      issues.push({ path, message: `expected NAME=VALUE, found '${part}'`, source });
      continue;
    }
    entries.push({ key: part.slice(0, eq).trim(), value: part.slice(eq + 1).trim(), source });
  }
  return entries;
}

function parseApps(raw: unknown, source: string, issues: ConfigIssue[]): AppService[] {
  if (!Array.isArray(raw)) {
    issues.push({ path: 'apps', message: `expected a list of apps, found ${describeType(raw)}`, source });
    return [];
  }
  const apps: AppService[] = [];
  raw.forEach((entry, index) => {
    const path = `apps[${index}]`;
    if (!isPlainObject(entry)) {
      issues.push({ path, message: `expected a mapping with name, version, image, ports; found ${describeType(entry)}`, source });
      return;
    }
    const before = issues.length;
    const name = entry.name;
    const version = entry.version ?? 'v1';
    if (typeof name !== 'string' || !DNS_LABEL.test(name)) {
      issues.push({ path: `${path}.name`, message: 'expected a lower-case DNS label like "reviews"', source });
    }
    if (typeof version !== 'string' || !DNS_LABEL.test(version)) {
      issues.push({ path: `${path}.version`, message: 'expected a label like "v1"', source });
    }
    const image = parseImageReference(entry.image);
    if (!image.ok) issues.push({ path: `${path}.image`, message: image.message, source });
    const ports = Array.isArray(entry.ports) ? entry.ports.map(parsePort) : [parsePort(entry.ports)];
    const badPort = ports.find((port) => !port.ok);
    if (entry.ports !== undefined && badPort && !badPort.ok) {
      issues.push({ path: `${path}.ports`, message: badPort.message, source });
    }
    const environment = entry.environment ?? {};
    if (!isPlainObject(environment) || !Object.values(environment).every((value) => typeof value === 'string')) {
      issues.push({ path: `${path}.environment`, message: 'expected a mapping of NAME: "string value"', source });
    }
    if (issues.length > before) return;
    apps.push({
      name: name as string,
      version: version as string,
      image: (image as { value: string }).value,
      ports: entry.ports === undefined ? [] : ports.map((port) => (port as { value: number }).value),
      environment: environment as Record<string, string>,
    });
  });
  return apps;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function parseProjectName(raw: unknown): Parsed<string> {
  if (typeof raw !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(raw)) {
    return fail('expected lower-case letters, digits, "-" and "_", starting with a letter or digit (a Compose project name)');
  }
  return ok(raw);
}

function oneOf<T extends string>(raw: unknown, choices: readonly T[]): Parsed<T> {
  if (typeof raw === 'string' && (choices as readonly string[]).includes(raw)) return ok(raw as T);
  return fail(`'${String(raw)}' is not one of: ${choices.join(', ')}`);
}

function parseAddons(raw: unknown): Parsed<AddonName[]> {
  const items = typeof raw === 'string' ? raw.split(',').map((item) => item.trim()).filter(Boolean) : raw;
  if (!Array.isArray(items)) return fail(`expected a list of addons (${ADDONS.join(', ')})`);
  const unknown = items.filter((item) => !(ADDONS as readonly unknown[]).includes(item));
  if (unknown.length > 0) return fail(`unknown addon ${unknown.map(String).join(', ')}; valid addons: ${ADDONS.join(', ')}`);
  return ok([...new Set(items as AddonName[])]);
}

function parseBoolean(raw: unknown): Parsed<boolean> {
  if (typeof raw === 'boolean') return ok(raw);
  if (typeof raw === 'string') {
    const lower = raw.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(lower)) return ok(true);
    if (['false', '0', 'no', 'off'].includes(lower)) return ok(false);
  }
  return fail(`expected true or false, found '${String(raw)}'`);
}

function parseHostAddress(raw: unknown): Parsed<string> {
  if (typeof raw === 'string' && isIP(raw) !== 0) return ok(raw);
  return fail(`expected an IP address such as 127.0.0.1, found '${String(raw)}'`);
}

function parseMirror(raw: unknown): Parsed<string> {
  if (typeof raw === 'string' && /^[a-zA-Z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?\/?$/.test(raw)) return ok(raw);
  return fail(`expected a registry host with an optional path, such as mirror.local:5000, found '${String(raw)}'`);
}

/**
 * An image reference as Docker reads it (distribution/reference's grammar, with Docker's messages,
 * through @swimlane/docker-reference): `UPPER:tag` or `a:b:c` would only fail at `up`, when the
 * engine refuses to pull them.
 */
function parseImageReference(raw: unknown): Parsed<string> {
  if (typeof raw !== 'string') return fail(`expected an image reference such as docker.io/istio/pilot:0.8.0, found ${describeType(raw)}`);
  try {
    parseFamiliarName(raw);
    return ok(raw);
  } catch (error) {
    return fail(`'${raw}' is not an image reference (${error instanceof Error ? error.message : String(error)}); expected one such as docker.io/istio/pilot:0.8.0`);
  }
}

function parsePort(raw: unknown): Parsed<number> {
  const port = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) return ok(port);
  return fail(`expected a port number between 1 and 65535, found '${String(raw)}'`);
}

/** A host port, or 0 for "any free port" (the engine picks one at start). */
function parseHostPort(raw: unknown): Parsed<number> {
  if (raw === 0 || raw === '0') return ok(0);
  const port = parsePort(raw);
  return port.ok ? port : fail(`expected a port number between 1 and 65535, or 0 for any free port, found '${String(raw)}'`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

