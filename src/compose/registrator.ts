/**
 * The registrator and the Docker API it sees.
 *
 * Upstream's registrators watch every container of the engine (gliderlabs/registrator
 * bridge/bridge.go `Sync` lists with no filter; the ijsnellf fork's is the same file) and have no
 * flag to narrow that, so two projects on one engine registered each other's containers. They read
 * the engine's address from `DOCKER_HOST` (registrator.go, then go-dockerclient's
 * `NewClientFromEnv`); here it names the project's Docker API view (docker-api-view.ts), which
 * shows only this project's containers, read-only. Only the view mounts the engine's socket, and
 * it shares a network with the registrator alone: the apps on the mesh network cannot reach it.
 */
import { registratorImageKey, type ImageKey } from '../model/images.js';
import type { RegistryKind } from '../model/mesh.js';
import type { ComposeHealthcheck, ComposeService, DependsOnCondition, ServiceRole } from './compose-spec.js';
import { DOCKER_API_VIEW_DIR, DOCKER_API_VIEW_MOUNT, DOCKER_API_VIEW_PORT, DOCKER_API_VIEW_SCRIPT, DOCKER_API_VIEW_SERVICE } from './docker-api-view.js';
import { RESTART_POLICY } from './sidecar.js';

/**
 * The registrator's host name, fixed. Registrator's service IDs start with it
 * (`<hostname>:<container>:<port>`, bridge.go `newService`), and `-cleanup` removes dangling
 * registrations only when their ID carries its own `os.Hostname()` (bridge.go `Sync`). Left to
 * Docker, the host name is the container ID, so a recreated registrator neither replaced nor
 * removed what its predecessor had registered.
 */
export const REGISTRATOR_HOSTNAME = 'registrator';

/** The network the registrator shares with its Docker API view, and nothing else; no route out. */
export const DOCKER_API_NETWORK = 'docker-api';
export const DOCKER_API_NETWORKS: Record<string, Record<string, unknown>> = { [DOCKER_API_NETWORK]: { internal: true } };

/** What the renderer's context offers the builders here. */
export interface InfraBuilder {
  image(key: ImageKey): string;
  /** An infrastructure service: on the mesh network, hidden from the registrator (SERVICE_IGNORE). */
  infra(role: ServiceRole, component: string, service: ComposeService): ComposeService;
}

export interface RegistratorOptions {
  registry: RegistryKind;
  /** How long the registrator waits for the registry: healthy, or only started (Eureka). */
  registryCondition: DependsOnCondition;
  /** Upstream's command line for the image (its entrypoint is /bin/registrator). */
  args: string[];
}

/** `hostname` is a Compose service key docker-compose 1.29 accepts; the spec type lacks it. */
type ServiceWithHostname = ComposeService & { hostname: string };

/** The view answers on its own; the image's node is the only tool it needs (no curl or wget). */
const VIEW_HEALTHCHECK: ComposeHealthcheck = {
  test: [
    'CMD',
    'node',
    '-e',
    `require('http').get('http://127.0.0.1:${DOCKER_API_VIEW_PORT}/_ping', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))`,
  ],
  // The timing of every healthcheck mesh-local renders (healthchecks.ts).
  interval: '2s',
  timeout: '2s',
  retries: 60,
};

/** The registrator, and its Docker API view (the service DOCKER_API_VIEW_SERVICE). */
export function registratorServices(ctx: InfraBuilder, options: RegistratorOptions): { registrator: ComposeService; view: ComposeService } {
  const service: ServiceWithHostname = {
    image: ctx.image(registratorImageKey(options.registry)),
    hostname: REGISTRATOR_HOSTNAME,
    command: options.args,
    // Registrator sets unix:///tmp/docker.sock only when DOCKER_HOST is empty (registrator.go);
    // go-dockerclient makes tcp:// plain HTTP.
    environment: { DOCKER_HOST: `tcp://${DOCKER_API_VIEW_SERVICE}:${DOCKER_API_VIEW_PORT}` },
    cap_drop: ['ALL'],
    // Registrator exits for good when its event stream ends (`log.Fatal("Docker event loop
    // closed")`, registrator.go), as it does when the view restarts; it comes back and resyncs.
    restart: RESTART_POLICY,
    depends_on: {
      [options.registry]: { condition: options.registryCondition },
      // Registrator exits when it cannot list containers at start or its event stream ends.
      [DOCKER_API_VIEW_SERVICE]: { condition: 'service_healthy' },
    },
  };
  const registrator = ctx.infra('registrator', 'registrator', service);
  const view = ctx.infra('registrator', 'docker-api-view', {
    image: ctx.image('docker-api-view'),
    entrypoint: ['/bin/sh', DOCKER_API_VIEW_SCRIPT],
    // Reads the engine; never writes to it (the view refuses every write), nor needs a capability.
    volumes: ['/var/run/docker.sock:/var/run/docker.sock:ro', `./${DOCKER_API_VIEW_DIR}:${DOCKER_API_VIEW_MOUNT}:ro`],
    cap_drop: ['ALL'],
    restart: RESTART_POLICY,
    healthcheck: VIEW_HEALTHCHECK,
  });
  return {
    registrator: { ...registrator, networks: { ...registrator.networks, [DOCKER_API_NETWORK]: null } },
    view: { ...view, networks: { [DOCKER_API_NETWORK]: null } },
  };
}
