/**
 * Command line and environment, compatible with the way upstream's compose files start
 * gliderlabs/registrator: `registrator [flags] <registry URI>`, flags in Go's style (`-flag`,
 * `--flag`, `-flag=value`, `-flag value`), e.g.
 *   -internal -retry-attempts=-1 consul://consul:8500
 *   -internal -retry-attempts=-1 -ttl-refresh=30 -ttl=90 eureka://eureka:8080/eureka/v2
 * A flag wins over its environment variable, which wins over the default. Durations in seconds may
 * be fractional (tests use short ones).
 */
import { ConsulBackend } from './consul-backend.js';
import { resolveDockerSocket } from './docker.js';
import { EurekaBackend } from './eureka-backend.js';
import type { RegistryBackend } from './registry.js';

export type RegistryTarget = { kind: 'consul'; baseUrl: string } | { kind: 'eureka'; baseUrl: string };

export interface RegistratorConfig {
  registry: RegistryTarget;
  dockerSocket: string;
  heartbeatMs: number;
  /** 0: no periodic resync. */
  resyncMs: number;
  /** Eureka lease asked for (`-ttl`). */
  ttlSeconds: number;
  retryAttempts: number;
  retryIntervalMs: number;
  explicit: boolean;
  forceTags: string[];
}

export const USAGE =
  'usage: registrator [-internal] [-explicit] [-retry-attempts=N] [-retry-interval=MS] [-resync=S] [-ttl=S] [-ttl-refresh=S] [-tags=a,b] ' +
  '(consul://host:8500 | eureka://host:8080/eureka/v2)';

export class ConfigError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
    this.name = 'ConfigError';
  }
}

const BOOLEAN_FLAGS = new Set(['internal', 'explicit', 'cleanup']);
const VALUE_FLAGS = new Set(['retry-attempts', 'retry-interval', 'resync', 'ttl', 'ttl-refresh', 'tags', 'deregister']);

/** Splits Go-style flags from the positional arguments; flags end at the first positional or `--`. */
export function parseFlags(argv: string[]): { flags: Map<string, string>; positional: string[] } {
  const flags = new Map<string, string>();
  let index = 0;
  for (; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    if (arg === '--') {
      index += 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const equals = body.indexOf('=');
    const name = equals < 0 ? body : body.slice(0, equals);
    if (BOOLEAN_FLAGS.has(name)) {
      flags.set(name, equals < 0 ? 'true' : body.slice(equals + 1));
    } else if (VALUE_FLAGS.has(name)) {
      if (equals >= 0) flags.set(name, body.slice(equals + 1));
      else {
        const value = argv[index + 1];
        if (value === undefined) throw new ConfigError(`flag -${name} needs a value`);
        flags.set(name, value);
        index += 1;
      }
    } else {
      throw new ConfigError(`unknown flag ${arg}`);
    }
  }
  return { flags, positional: argv.slice(index) };
}

function parseBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (['true', '1', 't', 'TRUE', 'True'].includes(value)) return true;
  if (['false', '0', 'f', 'FALSE', 'False'].includes(value)) return false;
  throw new ConfigError(`-${name} must be true or false, got '${value}'`);
}

function parseInteger(name: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number)) throw new ConfigError(`${name} must be an integer, got '${value}'`);
  return number;
}

/** Seconds from a flag, else an environment variable, else a default; `allowZero` for "off". */
function seconds(flag: string | undefined, flagName: string, env: NodeJS.ProcessEnv, envName: string, fallback: number, allowZero = false): number {
  const [source, raw] = flag !== undefined ? [`-${flagName}`, flag] : env[envName] ? [envName, env[envName] as string] : [undefined, undefined];
  if (source === undefined || raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) {
    throw new ConfigError(`${source} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, got '${raw}'`);
  }
  return value;
}

/** `consul://consul:8500` -> http://consul:8500; `eureka://eureka:8080/eureka/v2` -> http://eureka:8080/eureka/v2. */
export function parseRegistryUri(raw: string): RegistryTarget {
  let uri: URL;
  try {
    uri = new URL(raw);
  } catch {
    throw new ConfigError(`registry URI '${raw}' is not a URI`);
  }
  const scheme = uri.protocol.replace(/:$/, '');
  if (!uri.hostname) throw new ConfigError(`registry URI '${raw}' has no host`);
  if (scheme === 'consul') {
    return { kind: 'consul', baseUrl: `http://${uri.hostname}:${uri.port || '8500'}` };
  }
  if (scheme === 'eureka') {
    const path = uri.pathname.replace(/\/+$/, '') || '/eureka/v2';
    return { kind: 'eureka', baseUrl: `http://${uri.hostname}:${uri.port || '8080'}${path}` };
  }
  throw new ConfigError(`unsupported registry '${scheme}://' (this registrator speaks consul:// and eureka://)`);
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv, exists?: (path: string) => boolean): RegistratorConfig {
  const { flags, positional } = parseFlags(argv);
  if (positional.length !== 1) {
    throw new ConfigError(positional.length === 0 ? 'missing the registry URI' : `expected one registry URI, got: ${positional.join(' ')}`);
  }
  if (flags.has('internal') && !parseBoolean('internal', flags.get('internal'))) {
    throw new ConfigError('only -internal mode is supported: services are registered with their container IP and exposed port');
  }
  parseBoolean('cleanup', flags.get('cleanup')); // accepted for compatibility; reconciling always cleans up
  const deregister = flags.get('deregister');
  if (deregister !== undefined && deregister !== 'always') {
    throw new ConfigError(`-deregister=${deregister} is not supported: services are always deregistered when their container stops`);
  }

  const retryAttempts = flags.has('retry-attempts') ? parseInteger('-retry-attempts', flags.get('retry-attempts') as string) : -1;
  const retryIntervalMs = flags.has('retry-interval') ? parseInteger('-retry-interval', flags.get('retry-interval') as string) : 2000;
  if (retryIntervalMs <= 0) throw new ConfigError('-retry-interval must be a positive number of milliseconds');

  const heartbeatSeconds = seconds(flags.get('ttl-refresh'), 'ttl-refresh', env, 'HEARTBEAT_SECONDS', 30);
  const resyncSeconds = seconds(flags.get('resync'), 'resync', env, 'RESYNC_SECONDS', 30, true);
  const ttlSeconds = flags.has('ttl') ? parseInteger('-ttl', flags.get('ttl') as string) : 90;
  if (ttlSeconds <= 0) throw new ConfigError('-ttl must be a positive number of seconds');

  const tags = flags.get('tags') ?? '';
  return {
    registry: parseRegistryUri(positional[0] as string),
    dockerSocket: resolveDockerSocket(env, exists),
    heartbeatMs: heartbeatSeconds * 1000,
    resyncMs: resyncSeconds * 1000,
    ttlSeconds,
    retryAttempts,
    retryIntervalMs,
    explicit: parseBoolean('explicit', flags.get('explicit')),
    forceTags: tags
      .split(',')
      .map((tag) => tag.trim())
      .filter((tag) => tag !== ''),
  };
}

export function createBackend(config: RegistratorConfig): RegistryBackend {
  if (config.registry.kind === 'consul') return new ConsulBackend(config.registry.baseUrl);
  return new EurekaBackend(config.registry.baseUrl, {
    renewalIntervalSecs: Math.max(1, Math.round(config.heartbeatMs / 1000)),
    durationSecs: config.ttlSeconds,
  });
}
