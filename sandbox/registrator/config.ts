/**
 * Command line and environment. The command line is upstream's: it is parsed with the Go flag set
 * of the registrator image this sandbox image stands in for (gliderlabs/registrator:master for
 * Consul, the ijsnellf fork for Eureka; MESH_LOCAL_STANDS_IN names it), so a flag upstream lacks is
 * refused with Go's message, and upstream's defaults hold: `-resync` 0 (off), `-retry-attempts` 0
 * (one ping), `-ttl-refresh`/`-ttl` 0 (no heartbeats, the registry's lease), e.g.
 *   -internal -retry-attempts=-1 -resync=5 -cleanup consul://consul:8500
 *   -internal -retry-attempts=-1 -ttl-refresh=30 -ttl=90 -resync=5 -cleanup eureka://eureka:8080/eureka/v2
 * Flags upstream has but this registrator does not implement (-ip, -useIpFromLabel, ...) are
 * refused by name rather than ignored. Tests may shorten the periods with HEARTBEAT_SECONDS and
 * RESYNC_SECONDS (fractional seconds), which apply only where the flag is not given.
 */
import { CommandLineError } from '../../src/model/upstream/command-line.js';
import { parseUpstreamCommandLine } from '../common/upstream-cli.js';
import { ConsulBackend } from './consul-backend.js';
import { DockerEndpointError, resolveDockerEndpoint, type DockerEndpoint } from './docker.js';
import { EurekaBackend } from './eureka-backend.js';
import type { RegistryBackend } from './registry.js';

export type RegistryTarget = { kind: 'consul'; baseUrl: string } | { kind: 'eureka'; baseUrl: string };

export interface RegistratorConfig {
  registry: RegistryTarget;
  /** DOCKER_HOST as registrator and go-dockerclient read it (see docker.ts). */
  docker: DockerEndpoint;
  /** 0: no heartbeats (upstream's default without -ttl-refresh). */
  heartbeatMs: number;
  /** 0: no periodic resync (upstream's default without -resync). */
  resyncMs: number;
  /** Eureka lease asked for (`-ttl`); 0 leaves the registry's default. */
  ttlSeconds: number;
  retryAttempts: number;
  retryIntervalMs: number;
  explicit: boolean;
  /** `-cleanup`: each sync also removes registrations of vanished containers and dangling ones. */
  cleanup: boolean;
  forceTags: string[];
}

/** Where upstream's registrator images have the binary (their ENTRYPOINT). */
export const REGISTRATOR_BINARY = '/bin/registrator';

export const USAGE = 'usage: registrator [options] <registry URI>   (consul://host:8500 | eureka://host:8080/eureka/v2)';

export class ConfigError extends Error {
  constructor(
    message: string,
    /** Go's flag package exits 2 on a bad command line; registrator's own checks exit 1 (log.Fatal). */
    readonly exitCode = 1,
  ) {
    super(`${message}\n${USAGE}`);
    this.name = 'ConfigError';
  }
}

/** The flags this registrator honours; every other flag of upstream's set is refused by name. */
const IMPLEMENTED = new Set(['internal', 'explicit', 'cleanup', 'deregister', 'resync', 'retry-attempts', 'retry-interval', 'ttl', 'ttl-refresh', 'tags', 'help']);

/** Seconds from a test override when the flag is absent; fractional values allowed there. */
function seconds(flagSeconds: number | undefined, env: NodeJS.ProcessEnv, envName: string): number {
  if (flagSeconds !== undefined) return flagSeconds;
  const raw = env[envName];
  if (raw === undefined || raw === '') return 0;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) throw new ConfigError(`${envName} must be a non-negative number of seconds, got '${raw}'`);
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

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): RegistratorConfig {
  let commandLine;
  try {
    commandLine = parseUpstreamCommandLine(REGISTRATOR_BINARY, argv, env);
  } catch (error) {
    if (error instanceof CommandLineError) throw new ConfigError(error.message, error.exitCode);
    throw error;
  }
  const unsupported = [...commandLine.parsed.flags.keys()].filter((name) => !IMPLEMENTED.has(name));
  if (unsupported.length > 0) {
    throw new ConfigError(`-${unsupported[0]} is a flag of ${commandLine.reference} that mesh-local's registrator does not implement`);
  }
  if (commandLine.given('internal') && !commandLine.bool('internal')) {
    throw new ConfigError('only -internal mode is supported: services are registered with their container IP and exposed port');
  }
  const deregister = commandLine.string('deregister');
  if (deregister !== undefined && deregister !== 'always') {
    throw new ConfigError(`-deregister=${deregister} is not supported: services are always deregistered when their container stops`);
  }
  // registrator.go's own checks, with its wording.
  const ttl = commandLine.int('ttl') ?? 0;
  const ttlRefresh = commandLine.int('ttl-refresh') ?? 0;
  if ((ttl === 0) !== (ttlRefresh === 0)) throw new ConfigError('-ttl and -ttl-refresh must be specified together or not at all');
  if (ttl > 0 && ttl <= ttlRefresh) throw new ConfigError('-ttl must be greater than -ttl-refresh');
  const retryIntervalMs = commandLine.int('retry-interval') ?? 2000;
  if (retryIntervalMs <= 0) throw new ConfigError('-retry-interval must be greater than 0');

  let docker: DockerEndpoint;
  try {
    docker = resolveDockerEndpoint(env);
  } catch (error) {
    // registrator.go: assert(err) after NewClientFromEnv, a log.Fatal.
    if (error instanceof DockerEndpointError) throw new ConfigError(error.message);
    throw error;
  }

  return {
    registry: parseRegistryUri(commandLine.positionals[0]!),
    docker,
    heartbeatMs: seconds(commandLine.given('ttl-refresh') ? ttlRefresh : undefined, env, 'HEARTBEAT_SECONDS') * 1000,
    resyncMs: seconds(commandLine.given('resync') ? commandLine.int('resync') : undefined, env, 'RESYNC_SECONDS') * 1000,
    ttlSeconds: ttl,
    retryAttempts: commandLine.int('retry-attempts') ?? 0,
    retryIntervalMs,
    explicit: commandLine.bool('explicit'),
    cleanup: commandLine.bool('cleanup'),
    forceTags: (commandLine.string('tags') ?? '')
      .split(',')
      .map((tag) => tag.trim())
      .filter((tag) => tag !== ''),
  };
}

export function createBackend(config: RegistratorConfig): RegistryBackend {
  if (config.registry.kind === 'consul') return new ConsulBackend(config.registry.baseUrl);
  return new EurekaBackend(config.registry.baseUrl, {
    renewalIntervalSecs: Math.max(1, Math.round(config.heartbeatMs / 1000)),
    // Eureka's own default lease when -ttl is not given.
    durationSecs: config.ttlSeconds || 90,
  });
}
