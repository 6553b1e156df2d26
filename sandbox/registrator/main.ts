/**
 * mesh-local's registrator: registers running containers' services in Consul or Eureka and keeps
 * them there while the containers run. It is mesh-local's own component, not a stand-in: it talks
 * to the real Docker Engine API and to the registries' real HTTP APIs, so it works with the sandbox
 * stand-ins and with real Consul and Eureka alike, and it accepts the command lines upstream's
 * compose files gave gliderlabs/registrator (see config.ts).
 *
 * Command line: upstream's (`/bin/registrator [options] <registry URI>`), parsed with the flag set
 * of the registrator image this one stands in for (see config.ts). Environment: DOCKER_HOST as
 * registrator reads it (unix:// or tcp://, unix:///tmp/docker.sock when empty); for tests,
 * DOCKER_SOCKET (a socket path, overriding it), HEARTBEAT_SECONDS and RESYNC_SECONDS where the
 * flags are not given.
 */
import { hostname as osHostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { runMain } from '../common/server.js';
import { ConfigError, createBackend, parseConfig, type RegistratorConfig } from './config.js';
import { EngineDockerClient, type DockerClient } from './docker.js';
import type { RegistryBackend } from './registry.js';
import { startRegistrator, type RunningRegistrator } from './registrator.js';

export interface MainOptions {
  /** The configuration, already read (else it is read from argv and env). */
  config?: RegistratorConfig;
  /** Arguments after the program name; defaults to process.argv. */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Defaults to the host name (in a container, its short ID), as registrator uses. */
  hostname?: string;
  /** Replace the Docker Engine client or the registry backend (tests). */
  docker?: DockerClient;
  backend?: RegistryBackend;
  log?: (line: string) => void;
}

export async function start(options: MainOptions = {}): Promise<RunningRegistrator> {
  const config = options.config ?? parseConfig(options.argv ?? process.argv.slice(2), options.env ?? process.env);
  return startRegistrator({
    docker: options.docker ?? new EngineDockerClient(config.docker),
    backend: options.backend ?? createBackend(config),
    hostname: options.hostname ?? osHostname(),
    resyncMs: config.resyncMs,
    heartbeatMs: config.heartbeatMs,
    explicit: config.explicit,
    cleanup: config.cleanup,
    forceTags: config.forceTags,
    retryAttempts: config.retryAttempts,
    retryIntervalMs: config.retryIntervalMs,
    log: options.log,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let config: RegistratorConfig;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    // Refused as registrator refuses it: the message and its exit code (Go's flag package: 2).
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(error instanceof ConfigError ? error.exitCode : 1);
  }
  runMain('registrator', async () => {
    const running = await start({ config });
    running.ended.catch((error: unknown) => {
      // Go's log.Fatal: the message, exit 1.
      console.error(`registrator: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
    return running;
  });
}
