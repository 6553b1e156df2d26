import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { readComposeYaml } from '../common/compose-yaml.js';
import { POD_NETWORK_KEYS, containerPorts, readLabels, type ServiceFacts } from '../compose/inject.js';
import { InputShapeError, MeshLocalError, UsageError } from '../errors.js';
import { describeType } from '../model/settings.js';
import type { ComposeConfigReader } from '../runtime/compose-cli.js';

/**
 * What Compose makes of an `inject` input, gathered outside the pure transform (which takes it as
 * `InjectOptions.facts`).
 *
 * With a Compose v2 CLI, the facts are Compose's own: `docker compose --profile '*' config
 * --format json` of the input, run in the input's folder with the caller's environment
 * (compose-cli.ts `effectiveConfig`). Compose v2.26 prints there, for each service of every
 * profile, after `include:`, `extends` (same file or `file:`) and interpolation (`.env` of the
 * project folder, then the environment, which wins): `ports` in long syntax with `target` a number,
 * `expose` as strings, `network_mode`, `profiles`, `labels` as a mapping of strings, `scale` and
 * `deploy.replicas` as numbers. Services that `include:` brings in are listed there but not in the
 * user's document.
 *
 * Without a v2 CLI (none, or MESH_LOCAL_COMPOSE=v1), or when v2 rejects the file, mesh-local reads
 * the document itself: `.env` + environment interpolation of the fields above (`$$`, `$X`, `${X}`,
 * `${X:-d}`, `${X-d}`, `${X:?e}`, `${X?e}`, as compose-go's template package); `include:` and
 * `extends` are refused (exit 2), since agreeing with Compose's merge rules would take a second
 * loader.
 */
export interface ComposeFacts {
  services: Record<string, ServiceFacts>;
  /** Services that come from `include:` files: not in the user's document, so not injected. */
  included: string[];
  /** Where the facts come from, for one line on stderr when it is not Compose v2. */
  notice: string | undefined;
}

type Mapping = Record<string, unknown>;

export interface ComposeFactsInput {
  /** The input file, absolute. */
  path: string;
  /** As shown to the user (errors name it). */
  file: string;
  /** The input as readComposeYaml read it. */
  document: Mapping;
  /** Variables for interpolation, laid over the process environment by the CLI client. */
  env: Readonly<Record<string, string | undefined>>;
  /** A Compose CLI, or undefined when none runs. */
  reader: ComposeConfigReader | undefined;
  signal?: AbortSignal | undefined;
}

/** The facts of every service; errors are MeshLocalErrors naming file, service and field. */
export async function gatherComposeFacts(input: ComposeFactsInput): Promise<ComposeFacts> {
  const own = mapping(input.document.services);
  const inherited = await inheritedNetwork(input.path, own);
  if (input.reader?.variant.major === 2) {
    let config: unknown;
    let rejected: string | undefined;
    try {
      config = await input.reader.effectiveConfig(
        input.path,
        { projectDirectory: dirname(input.path), project: 'mesh-local-inject', env: input.env },
        input.signal,
      );
    } catch (error) {
      if (input.signal?.aborted || !(error instanceof MeshLocalError)) throw error;
      rejected = error.message.split('\n').slice(1).join(' ').trim() || error.message;
    }
    if (rejected === undefined) {
      const services = mapping(mapping(config).services);
      const facts: Record<string, ServiceFacts> = {};
      for (const [name, raw] of Object.entries(services)) {
        facts[name] = { ...factsOfEffective(mapping(raw)), ...(inherited[name] ? { inheritedNetwork: inherited[name] } : {}) };
      }
      return { services: facts, included: Object.keys(services).filter((name) => !(name in own)), notice: undefined };
    }
    return ownReading(input, own, inherited, `notice: docker compose config rejected ${input.file} (${rejected}); inject reads it as mesh-local does\n`);
  }
  const why = input.reader ? `Compose ${input.reader.variant.version} cannot print a project as JSON` : 'no Compose CLI runs here';
  return ownReading(input, own, inherited, `notice: ${why}; inject reads ${input.file} as mesh-local does (interpolation of .env and the environment; no include or extends)\n`);
}

/** A service of `config --format json`, as facts. */
function factsOfEffective(service: Mapping): ServiceFacts {
  const ports = new Set<number>();
  for (const port of Array.isArray(service.ports) ? service.ports : []) {
    const target = Number(mapping(port).target);
    if (Number.isInteger(target) && target > 0) ports.add(target);
  }
  for (const spec of Array.isArray(service.expose) ? service.expose : []) {
    // `expose` keeps what was written after interpolation: "9000", "9000/udp", "9000-9002".
    const [low, high] = String(spec).split('/')[0]!.split('-').map(Number);
    if (low === undefined || !Number.isInteger(low) || low < 1) continue;
    for (let port = low; port <= (Number.isInteger(high) ? high! : low) && port - low < 1000; port++) ports.add(port);
  }
  const labels = Object.fromEntries(Object.entries(mapping(service.labels)).map(([key, value]) => [key, value === null ? '' : String(value)]));
  const replicasValue = mapping(service.deploy).replicas;
  const replicas = typeof replicasValue === 'number' ? { field: 'deploy.replicas', count: replicasValue }
    : typeof service.scale === 'number' ? { field: 'scale', count: service.scale }
    : undefined;
  return {
    ports: [...ports].sort((a, b) => a - b),
    networkMode: typeof service.network_mode === 'string' ? service.network_mode : undefined,
    profiles: Array.isArray(service.profiles) ? service.profiles.map(String) : undefined,
    labels,
    replicas,
  };
}

async function ownReading(input: ComposeFactsInput, own: Mapping, inherited: Record<string, ServiceFacts['inheritedNetwork']>, notice: string): Promise<ComposeFacts> {
  if (input.document.include !== undefined && input.document.include !== null) {
    throw new InputShapeError(input.file, 'include', 'read by a Compose v2 CLI (`docker compose`)', `include: ${needsV2(input.reader)}`);
  }
  for (const [name, raw] of Object.entries(own)) {
    if (mapping(raw).extends !== undefined) {
      throw new InputShapeError(input.file, `services.${name}.extends`, 'read by a Compose v2 CLI (`docker compose`)', `extends: ${needsV2(input.reader)}`);
    }
  }
  const variables = { ...(await readDotEnv(join(dirname(input.path), '.env'))), ...definedOnly(input.env) };
  const facts: Record<string, ServiceFacts> = {};
  for (const [name, raw] of Object.entries(own)) {
    const service = mapping(raw);
    const at = (field: string) => `services.${name}.${field}`;
    const resolved: Mapping = {};
    for (const key of ['ports', 'expose', 'labels', 'network_mode', 'profiles', 'scale', 'deploy'] as const) {
      if (service[key] !== undefined) resolved[key] = interpolateValue(service[key], variables, input.file, at(key));
    }
    const replicas = replicaFact(resolved, input.file, name);
    facts[name] = {
      ports: containerPorts(resolved, input.file, `services.${name}`),
      networkMode: typeof resolved.network_mode === 'string' ? resolved.network_mode : undefined,
      profiles: Array.isArray(resolved.profiles) ? resolved.profiles.map(String) : undefined,
      labels: readLabels(resolved.labels, input.file, at('labels')),
      replicas,
      ...(inherited[name] ? { inheritedNetwork: inherited[name] } : {}),
    };
  }
  return { services: facts, included: [], notice };
}

function needsV2(reader: ComposeConfigReader | undefined): string {
  const found = reader ? `Compose ${reader.variant.version} (\`${reader.variant.command.join(' ')}\`) is the Compose CLI chosen` : 'no Compose CLI runs here';
  return `${found}; inject follows include and extends only as Compose v2 reads them (install the v2 plugin, or unset MESH_LOCAL_COMPOSE)`;
}

function replicaFact(service: Mapping, file: string, name: string): ServiceFacts['replicas'] {
  const count = (raw: unknown, field: string) => {
    if (raw === undefined || raw === null) return undefined;
    const text = String(raw).trim();
    if (typeof raw === 'number' || /^\d+$/.test(text)) return { field, count: Number(text) };
    throw new InputShapeError(file, `services.${name}.${field}`, 'a whole number', describeType(raw));
  };
  return count(mapping(service.deploy).replicas, 'deploy.replicas') ?? count(service.scale, 'scale');
}

/**
 * Compose's interpolation (compose-go template.Substitute) of every string in `value`. Unset
 * without a default is empty, as Compose (which warns); `${X:?e}` / `${X?e}` unset is an error.
 */
export function interpolate(text: string, variables: Readonly<Record<string, string>>, file: string, path: string): string {
  return text.replace(
    /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\})/g,
    (whole, dollar: string | undefined, bare: string | undefined, name: string | undefined, operator: string | undefined, argument: string | undefined) => {
      if (dollar) return '$';
      if (bare) return variables[bare] ?? '';
      const value = variables[name!];
      if (operator === undefined) return value ?? '';
      const unset = operator.startsWith(':') ? value === undefined || value === '' : value === undefined;
      if (operator.endsWith('-')) return unset ? interpolate(argument ?? '', variables, file, path) : value!;
      if (unset) throw new InputShapeError(file, path, `a value with ${name} set`, `${whole}: ${argument || `${name} is not set`}`);
      return value!;
    },
  );
}

function interpolateValue(value: unknown, variables: Readonly<Record<string, string>>, file: string, path: string): unknown {
  if (typeof value === 'string') return interpolate(value, variables, file, path);
  if (Array.isArray(value)) return value.map((item) => interpolateValue(item, variables, file, path));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateValue(item, variables, file, `${path}.${key}`)]));
  }
  return value;
}

/**
 * A `.env` file as compose-go's dotenv reads the common forms: `KEY=value`, `export KEY=value`,
 * `# comments`, `'single'` (literal) and `"double"` quotes (`\n`, `\"`, `\\`), and ` #` comments
 * after unquoted values. No file: no variables.
 */
export async function readDotEnv(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const variables: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const raw = match[2]!;
    if (raw.startsWith("'")) variables[match[1]!] = raw.slice(1, raw.indexOf("'", 1) === -1 ? undefined : raw.indexOf("'", 1));
    else if (raw.startsWith('"')) {
      const body = /^"((?:[^"\\]|\\.)*)"/.exec(raw)?.[1] ?? raw.slice(1);
      variables[match[1]!] = body.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
    } else variables[match[1]!] = raw.replace(/\s+#.*$/, '').trim();
  }
  return variables;
}

/**
 * For each service with `extends`, the first network setting (a POD_NETWORK_KEYS entry other than
 * `network_mode`, which the injected app overrides) that a base along its chain defines, read from
 * the files as written (`extends.file` relative to the file that names it). Bases that cannot be
 * read are left to Compose, which reports them.
 */
async function inheritedNetwork(path: string, services: Mapping): Promise<Record<string, ServiceFacts['inheritedNetwork']>> {
  const found: Record<string, ServiceFacts['inheritedNetwork']> = {};
  const files = new Map<string, Mapping | undefined>([[path, services]]);
  const servicesOf = async (file: string) => {
    if (!files.has(file)) {
      const read = await readComposeYaml(file).catch(() => undefined);
      files.set(file, read ? mapping(mapping(read.value).services) : undefined);
    }
    return files.get(file);
  };
  for (const name of Object.keys(services)) {
    let file = path;
    let service = mapping(services[name]);
    const seen = new Set<string>();
    for (let extendsOf = service.extends; extendsOf !== undefined && extendsOf !== null; extendsOf = service.extends) {
      const spec = typeof extendsOf === 'string' ? { service: extendsOf } : mapping(extendsOf);
      if (typeof spec.file === 'string') file = resolve(dirname(file), spec.file);
      const base = String(spec.service);
      if (seen.has(`${file}#${base}`)) break;
      seen.add(`${file}#${base}`);
      const baseService = (await servicesOf(file))?.[base];
      if (baseService === undefined) break;
      service = mapping(baseService);
      const field = POD_NETWORK_KEYS.find((key) => key !== 'network_mode' && service[key] !== undefined && service[key] !== null);
      if (field) {
        found[name] = { field, base: `services.${base} of ${file === path ? 'the same file' : relative(dirname(path), file) || file}` };
        break;
      }
    }
  }
  return found;
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function mapping(value: unknown): Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Mapping) : {};
}
