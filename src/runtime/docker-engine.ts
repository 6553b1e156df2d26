import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { DockerUnreachableError, ImageBuildError } from '../errors.js';

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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
