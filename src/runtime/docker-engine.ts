import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerUnreachableError, ImageBuildError, ProjectRemovalError } from '../errors.js';
import { deadline } from '../common/deadline.js';
import { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, type ContainerInfo } from './containers.js';

/** What mesh-local needs from the Docker Engine; tests pass fakes, the CLI passes `dockerodeEngine`. */
export interface DockerEngine {
  /** Resolves with the engine's version; rejects with DockerUnreachableError. */
  version(signal?: AbortSignal): Promise<string>;
  imageExists(reference: string, signal?: AbortSignal): Promise<boolean>;
  tagImage(source: string, target: string): Promise<void>;
  /** Builds `dockerfile` (a path inside `contextDir`) as `tag`; every output line goes to `onLine`. */
  buildImage(request: BuildRequest, onLine: (line: string) => void, signal?: AbortSignal): Promise<BuildOutcome>;
  /** `docker import`: a root filesystem tar stream becomes an image. */
  importImage(tarStream: Readable, tag: string, signal?: AbortSignal): Promise<void>;
  /** Pulls an image; rejects when the registry does not answer or refuses. */
  pullImage(reference: string, onProgress: (line: string) => void, signal?: AbortSignal): Promise<void>;
  /** Every container of a Compose project, running or not, found by the project label. */
  projectContainers(project: string, signal?: AbortSignal): Promise<ContainerInfo[]>;
  /**
   * Every container, running or not, carrying label `key` with `value` (`docker ps -a --filter
   * label=key=value`), whatever its Compose project: `deploy`'s apps by `dev.mesh-local.deployed-into`.
   */
  labelledContainers(key: string, value: string, signal?: AbortSignal): Promise<ContainerInfo[]>;
  /** The raw `docker inspect` document, for diagnostics. */
  inspectContainer(id: string, signal?: AbortSignal): Promise<unknown>;
  /** The last `tail` lines of a container's stdout and stderr. */
  containerLogs(id: string, tail: number | 'all', signal?: AbortSignal): Promise<string>;
  /** Follows a container's logs until the signal aborts or the container stops. */
  followLogs(id: string, tail: number | 'all', onText: (text: string) => void, signal?: AbortSignal): Promise<void>;
  /** Stops and removes containers by ID (`docker rm -f`); one already gone is no error. */
  removeContainers(ids: string[], signal?: AbortSignal): Promise<void>;
  /** Removes every container, network and (optionally) volume carrying the project label. */
  removeProject(project: string, options: { volumes: boolean }, signal?: AbortSignal): Promise<ProjectResources>;
  /** What carries the project label now. */
  projectResources(project: string, signal?: AbortSignal): Promise<ProjectResources>;
  /** The project's networks (found by its Compose label) with their IPv4 subnets and gateways. */
  projectNetworks(project: string, signal?: AbortSignal): Promise<NetworkInfo[]>;
  /** `docker run -d` on one network with aliases; resolves with the new container's ID. */
  runContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string>;
}

export interface NetworkInfo {
  /** The engine's name, `<project>_mesh`. */
  name: string;
  /** The network's key in the Compose file (`com.docker.compose.network`), e.g. `mesh`. */
  composeName: string | undefined;
  /** IPv4 ranges from the network's IPAM configuration, e.g. {subnet: "172.20.0.0/16", gateway: "172.20.0.1"}. */
  subnets: Array<{ subnet: string; gateway: string | undefined }>;
}

export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  env?: Record<string, string>;
  /** The network to join (its engine name) and the DNS aliases there. */
  network: string;
  aliases: string[];
  /** Docker restart policy name, e.g. `unless-stopped`. */
  restart?: string;
}

export interface ProjectResources {
  containers: string[];
  networks: string[];
  volumes: string[];
}

export interface BuildRequest {
  contextDir: string;
  /** Files and folders of the context to send, relative to `contextDir`. */
  contextEntries: string[];
  dockerfile: string;
  tag: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface BuildOutcome {
  /** Every build step came from the cache. */
  cached: boolean;
}

interface BuildStreamEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * The Engine through dockerode. dockerode resolves DOCKER_HOST, TLS and the default socket itself;
 * no global socket timeout is set, so long builds are limited by the caller's signal only.
 */
export function dockerodeEngine(docker: Docker = new Docker()): DockerEngine {
  const host = process.env.DOCKER_HOST ?? 'the default Docker socket';
  const unreachable = (error: unknown) =>
    new DockerUnreachableError(`cannot reach the Docker Engine at ${host}: ${messageOf(error)}`, {
      cause: error,
      hint: 'start Docker (make engine does it on Debian as root) or point DOCKER_HOST at a running engine',
    });

  /** Containers matching one label filter, inspected (one removed meanwhile is left out). */
  const containersLabelled = async (filter: string, signal?: AbortSignal): Promise<ContainerInfo[]> => {
    let summaries: Docker.ContainerInfo[];
    try {
      summaries = await docker.listContainers({ all: true, filters: { label: [filter] }, abortSignal: signal } as object);
    } catch (error) {
      throw unreachable(error);
    }
    const details = await Promise.all(
      summaries.map((summary) =>
        docker
          .getContainer(summary.Id)
          .inspect({ abortSignal: signal } as object)
          .catch((error: { statusCode?: number }) => (error.statusCode === 404 ? undefined : Promise.reject(error))),
      ),
    );
    return details.filter((detail) => detail !== undefined).map(toContainerInfo);
  };
  /** Containers, networks and volumes carrying the project's Compose label. */
  const listProject = async (project: string, signal?: AbortSignal) => {
    const filters = { label: [`${COMPOSE_PROJECT_LABEL}=${project}`] };
    try {
      const [containers, networks, { Volumes }] = await Promise.all([
        docker.listContainers({ all: true, filters, abortSignal: signal } as object),
        docker.listNetworks({ filters, abortSignal: signal } as object),
        docker.listVolumes({ filters, abortSignal: signal } as object),
      ]);
      return { containers, networks, volumes: Volumes ?? [] };
    } catch (error) {
      // An aborted call is the caller's Ctrl-C, not an engine that went away.
      if (signal?.aborted || (error as { statusCode?: number }).statusCode !== undefined) throw error;
      throw unreachable(error);
    }
  };

  /**
   * Removes a network; an endpoint still attached (a container without the project's label that
   * `docker network connect` added, or one whose removal the engine is still finishing) makes the
   * engine refuse with "has active endpoints". Those endpoints are disconnected with force, as
   * `docker network disconnect -f` does, and the removal retried until `until` (a deadline) aborts.
   */
  const removeNetwork = async (id: string, until: AbortSignal) => {
    const network = docker.getNetwork(id);
    // When the deadline ends the retries, the engine's last refusal says more than "aborted".
    let refusal: unknown;
    for (;;) {
      try {
        await network.remove({ abortSignal: until } as object);
        return;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return;
        if (until.aborted) throw refusal ?? error;
        refusal = error;
        // Whatever fails in between, the next removal attempt (or the deadline) decides. Network
        // inspect takes no abort signal in dockerode; it is a quick local call.
        const info = (await network.inspect().catch((inspectError: { statusCode?: number }) =>
          inspectError.statusCode === 404 ? 'gone' : undefined,
        )) as Docker.NetworkInspectInfo | 'gone' | undefined;
        if (info === 'gone') return;
        for (const [endpoint, attached] of Object.entries(info?.Containers ?? {})) {
          // A stale endpoint is listed as `ep-<id>`; the engine finds it by its name.
          const container = endpoint.startsWith('ep-') ? (attached.Name ?? endpoint) : endpoint;
          await network.disconnect({ Container: container, Force: true, abortSignal: until } as object).catch(() => undefined);
        }
        await sleep(REMOVAL_RETRY_MS, undefined, { signal: until }).catch(() => undefined);
      }
    }
  };

  /** removeProject until `until` aborts; `signal` alone is the caller's Ctrl-C. */
  const removeWithin = async (project: string, options: { volumes: boolean }, until: AbortSignal, signal?: AbortSignal) => {
    const failures: string[] = [];
    // Ctrl-C stops the removal as itself; only the removal's own deadline becomes a failure here.
    const failed = (what: string) => (error: unknown) => {
      if (signal?.aborted) throw signal.reason;
      failures.push(`${what}: ${firstLineOf(error)}`);
    };
    const { containers, networks } = await listProject(project, signal);
    await Promise.all(
      containers.map((container) =>
        docker
          .getContainer(container.Id)
          .remove({ force: true, v: options.volumes, abortSignal: until } as object)
          .catch(ignoreStatus(404, 409))
          .catch(failed(`container ${container.Labels[COMPOSE_SERVICE_LABEL] ?? container.Id.slice(0, 12)}`)),
      ),
    );
    // A container another call is removing (409 above) holds its network until it is gone.
    for (;;) {
      const left = (await listProject(project, signal)).containers;
      if (left.length === 0 || failures.length > 0) break;
      if (until.aborted) {
        failed(`containers ${resourceNames({ containers: left, networks: [], volumes: [] }).containers.join(', ')}`)(new Error('still there'));
        break;
      }
      await sleep(REMOVAL_RETRY_MS, undefined, { signal: until }).catch(() => undefined);
    }
    for (const network of networks) await removeNetwork(network.Id, until).catch(failed(`network ${network.Name}`));
    if (options.volumes) {
      for (const volume of (await listProject(project, signal)).volumes) {
        await docker.getVolume(volume.Name).remove({ abortSignal: until } as object).catch(ignoreStatus(404)).catch(failed(`volume ${volume.Name}`));
      }
    }
    if (failures.length > 0) {
      throw new ProjectRemovalError(`project ${project}: could not remove ${failures.join('; ')}`, {
        hint: `see \`docker ps -a --filter label=${COMPOSE_PROJECT_LABEL}=${project}\` and \`docker network ls\`; running down again retries`,
      });
    }
    return resourceNames({ containers, networks, volumes: [] });
  };

  return {
    async version(signal) {
      try {
        // dockerode forwards `abortSignal` on every call; its typings omit the options argument here.
        const version = docker.version as unknown as (options: object) => Promise<Docker.DockerVersion>;
        return (await version.call(docker, { abortSignal: signal })).Version;
      } catch (error) {
        throw unreachable(error);
      }
    },

    async imageExists(reference, signal) {
      try {
        await docker.getImage(reference).inspect({ abortSignal: signal } as object);
        return true;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return false;
        if ((error as { statusCode?: number }).statusCode === undefined) throw unreachable(error);
        throw error;
      }
    },

    async tagImage(source, target) {
      const colon = target.lastIndexOf(':');
      const [repo, tag] = colon > target.lastIndexOf('/') ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'latest'];
      await docker.getImage(source).tag({ repo, tag });
    },

    async buildImage(request, onLine, signal) {
      const stream = await docker.buildImage(
        { context: request.contextDir, src: request.contextEntries },
        {
          t: request.tag,
          dockerfile: request.dockerfile,
          buildargs: request.buildArgs,
          labels: request.labels,
          rm: true,
          forcerm: true,
          abortSignal: signal,
        } as Docker.ImageBuildOptions,
      );
      // The classic builder prints "Using cache" for every cached step except FROM and the ARGs
      // before it; the build was cached when every other step did.
      let stepsThatCache = 0;
      let cachedSteps = 0;
      let fromSeen = false;
      await followStream(stream, (event: BuildStreamEvent) => {
        // Build errors arrive in-band, as an event in a 200 response.
        if (event.error) throw new ImageBuildError(request.tag, event.errorDetail?.message ?? event.error);
        for (const line of (event.stream ?? '').split('\n')) {
          if (!line.trim()) continue;
          const step = /^Step \d+\/\d+ : (\w+)/.exec(line);
          if (step) {
            const instruction = step[1]!.toUpperCase();
            if (instruction === 'FROM') fromSeen = true;
            else if (instruction !== 'ARG' || fromSeen) stepsThatCache++;
          }
          if (line.includes('Using cache')) cachedSteps++;
          onLine(line);
        }
      });
      return { cached: cachedSteps === stepsThatCache };
    },

    async pullImage(reference, onProgress, signal) {
      const stream = (await docker.pull(reference, { abortSignal: signal } as object)) as NodeJS.ReadableStream;
      await followStream(stream, (event: BuildStreamEvent & { id?: string; progress?: string }) => {
        // Pull errors, like build errors, arrive in-band.
        if (event.error) throw new Error(event.errorDetail?.message ?? event.error);
        if (event.status) onProgress(`${event.id ? `${event.id}: ` : ''}${event.status}${event.progress ? ` ${event.progress}` : ''}`);
      });
    },

    projectContainers(project, signal) {
      return containersLabelled(`${COMPOSE_PROJECT_LABEL}=${project}`, signal);
    },

    labelledContainers(key, value, signal) {
      return containersLabelled(`${key}=${value}`, signal);
    },

    async inspectContainer(id, signal) {
      return docker.getContainer(id).inspect({ abortSignal: signal } as object);
    },

    async containerLogs(id, tail, signal) {
      const output = (await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, tail, abortSignal: signal } as object)) as unknown as Buffer;
      return demultiplex(output);
    },

    async followLogs(id, tail, onText, signal) {
      const stream = (await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: true, tail, abortSignal: signal } as object)) as unknown as Readable;
      await new Promise<void>((resolve, reject) => {
        let pending = Buffer.alloc(0);
        stream.on('data', (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk]);
          // Frames: 8-byte header (stream, 0, 0, 0, size) then the payload.
          while (pending.length >= 8) {
            const size = pending.readUInt32BE(4);
            if (pending.length < 8 + size) break;
            onText(pending.subarray(8, 8 + size).toString('utf8'));
            pending = pending.subarray(8 + size);
          }
        });
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', (error: Error) => (error.name === 'AbortError' ? resolve() : reject(error)));
      });
    },

    async removeProject(project, options, signal) {
      const removal = deadline(REMOVAL_TIMEOUT_MS, signal);
      try {
        return await removeWithin(project, options, removal.signal, signal);
      } finally {
        removal.clear();
      }
    },

    async removeContainers(ids, signal) {
      await Promise.all(
        ids.map((id) =>
          docker
            .getContainer(id)
            .remove({ force: true, abortSignal: signal } as object)
            .catch((error: { statusCode?: number }) => (error.statusCode === 404 ? undefined : Promise.reject(error))),
        ),
      );
    },

    async projectResources(project, signal) {
      return resourceNames(await listProject(project, signal));
    },

    async projectNetworks(project, signal) {
      const { networks } = await listProject(project, signal);
      return networks.map((network) => ({
        name: network.Name,
        composeName: network.Labels?.['com.docker.compose.network'],
        subnets: (network.IPAM?.Config ?? [])
          .filter((config) => config.Subnet !== undefined && !config.Subnet.includes(':'))
          .map((config) => ({ subnet: config.Subnet!, gateway: config.Gateway })),
      }));
    },

    async runContainer(spec, signal) {
      const container = await docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Labels: spec.labels,
        Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
        HostConfig: { NetworkMode: spec.network, ...(spec.restart ? { RestartPolicy: { Name: spec.restart } } : {}) },
        NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: spec.aliases } } },
        abortSignal: signal,
      } as Docker.ContainerCreateOptions);
      try {
        await container.start({ abortSignal: signal } as object);
      } catch (error) {
        await container.remove({ force: true }).catch(() => undefined);
        throw error;
      }
      return container.id;
    },

    async importImage(tarStream, tag, signal) {
      const colon = tag.lastIndexOf(':');
      const stream = await docker.importImage(tarStream, {
        repo: tag.slice(0, colon),
        tag: tag.slice(colon + 1),
        abortSignal: signal,
      } as object);
      await followStream(stream, (event: BuildStreamEvent) => {
        if (event.error) throw new ImageBuildError(tag, event.errorDetail?.message ?? event.error);
      });
    },
  };
}

/** Reads a stream of JSON messages (one per line), rejecting on the first in-band error. */
function followStream<T>(stream: NodeJS.ReadableStream, onEvent: (event: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      reject(error);
      (stream as Readable).destroy?.();
    };
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        try {
          onEvent(JSON.parse(line) as T);
        } catch (error) {
          fail(error instanceof SyntaxError ? new Error(`unreadable Engine message: ${line}`) : error);
          return;
        }
      }
    });
    stream.on('error', fail);
    stream.on('end', () => {
      if (failed) return;
      if (buffered.trim()) {
        try {
          onEvent(JSON.parse(buffered) as T);
        } catch (error) {
          return fail(error);
        }
      }
      resolve();
    });
  });
}

function resourceNames(listed: { containers: Docker.ContainerInfo[]; networks: Docker.NetworkInspectInfo[]; volumes: Docker.VolumeInspectInfo[] }): ProjectResources {
  return {
    containers: listed.containers.map((container) => container.Labels[COMPOSE_SERVICE_LABEL] ?? container.Id.slice(0, 12)),
    networks: listed.networks.map((network) => network.Name),
    volumes: listed.volumes.map((volume) => volume.Name),
  };
}

/** How long `removeProject` keeps retrying what the engine is still letting go of, and how often. */
const REMOVAL_TIMEOUT_MS = 30_000;
const REMOVAL_RETRY_MS = 250;

/** Expected answers of a removal (already gone, already being removed) are not failures. */
function ignoreStatus(...codes: number[]) {
  return (error: { statusCode?: number }) => {
    if (error.statusCode !== undefined && codes.includes(error.statusCode)) return undefined;
    throw error;
  };
}

function toContainerInfo(detail: Docker.ContainerInspectInfo): ContainerInfo {
  const labels = detail.Config.Labels ?? {};
  const ports = Object.entries(detail.NetworkSettings.Ports ?? {}).flatMap(([key, bindings]) =>
    (bindings ?? []).map((binding) => ({
      containerPort: Number(key.split('/')[0]),
      hostIp: binding.HostIp,
      hostPort: Number(binding.HostPort),
    })),
  );
  const health = (detail.State as { Health?: { Status?: string } }).Health?.Status;
  const started = detail.State.StartedAt && !detail.State.StartedAt.startsWith('0001') ? new Date(detail.State.StartedAt) : undefined;
  return {
    id: detail.Id,
    service: labels[COMPOSE_SERVICE_LABEL] ?? detail.Name.replace(/^\//, ''),
    project: labels[COMPOSE_PROJECT_LABEL] ?? '',
    role: labels['dev.mesh-local.role'],
    component: labels['dev.mesh-local.component'],
    sidecarFor: labels['dev.mesh-local.sidecar-for'],
    image: detail.Config.Image,
    state: (detail.State.Status as ContainerInfo['state']) ?? 'created',
    health: health === 'healthy' || health === 'unhealthy' || health === 'starting' ? health : 'none',
    exitCode: detail.State.Status === 'exited' || detail.State.Status === 'dead' ? detail.State.ExitCode : undefined,
    restartCount: detail.RestartCount ?? 0,
    createdAt: new Date(detail.Created),
    startedAt: started,
    ports,
    addresses: Object.values(detail.NetworkSettings.Networks ?? {})
      .map((network) => network.IPAddress)
      .filter((address) => address !== ''),
    networkMode: detail.HostConfig?.NetworkMode ?? '',
  };
}

/** Docker's multiplexed log stream: an 8-byte header before each frame (none with a TTY). */
export function demultiplex(buffer: Buffer): string {
  let offset = 0;
  let text = '';
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    text += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return offset === 0 ? buffer.toString('utf8') : text;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** dockerode's `(HTTP code 403) unexpected - ` prefix and anything after the first line left out. */
function firstLineOf(error: unknown): string {
  return messageOf(error).split('\n')[0]!.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}
