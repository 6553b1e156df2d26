/**
 * The registrator's view of Docker: an interface, and its implementation over the Engine API on a
 * unix socket (unversioned paths, which the daemon serves at its own API version).
 */
import { existsSync } from 'node:fs';
import { isAbort, open, send, summarize } from './http.js';
import type { ContainerInspect } from './services.js';

/** One entry of `GET /containers/json`. */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  State?: string;
}

/** A container event, from `GET /events`. */
export interface DockerEvent {
  /** "start", "die", "stop", "destroy", ... */
  action: string;
  /** Container ID. */
  id: string;
  /** Container name, when the event carries it. */
  name?: string;
}

export interface DockerClient {
  /** Running containers. */
  listContainers(): Promise<ContainerSummary[]>;
  /** `undefined` when the container no longer exists. */
  inspectContainer(id: string): Promise<ContainerInspect | undefined>;
  /**
   * Subscribes to container start/die/stop/destroy events. Resolves once Docker accepted the
   * subscription; the iterable ends when the stream does and throws if it breaks or `signal` aborts.
   */
  events(signal: AbortSignal): Promise<AsyncIterable<DockerEvent>>;
}

export const EVENT_ACTIONS = ['start', 'die', 'stop', 'destroy'] as const;

export class DockerApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'DockerApiError';
  }
}

export class UnixSocketDockerClient implements DockerClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private url(path: string): string {
    return `http://docker${path}`;
  }

  async listContainers(): Promise<ContainerSummary[]> {
    const response = await send({ url: this.url('/containers/json'), socketPath: this.socketPath, timeoutMs: this.timeoutMs });
    if (response.status !== 200) throw new DockerApiError(`listing containers: ${summarize(response)}`, response.status);
    return JSON.parse(response.body) as ContainerSummary[];
  }

  async inspectContainer(id: string): Promise<ContainerInspect | undefined> {
    const response = await send({ url: this.url(`/containers/${encodeURIComponent(id)}/json`), socketPath: this.socketPath, timeoutMs: this.timeoutMs });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new DockerApiError(`inspecting ${id.slice(0, 12)}: ${summarize(response)}`, response.status);
    return JSON.parse(response.body) as ContainerInspect;
  }

  async events(signal: AbortSignal): Promise<AsyncIterable<DockerEvent>> {
    const filters = JSON.stringify({ type: ['container'], event: [...EVENT_ACTIONS] });
    const response = await open({
      url: this.url(`/events?filters=${encodeURIComponent(filters)}`),
      socketPath: this.socketPath,
      timeoutMs: this.timeoutMs,
      signal,
    });
    if (response.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      const status = response.statusCode ?? 0;
      throw new DockerApiError(`subscribing to events: ${summarize({ status, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') })}`, status);
    }
    response.setEncoding('utf8');
    return containerEvents(parseJsonLines(response), signal);
  }
}

/**
 * Splits a stream of newline-delimited JSON into values. A line that is not JSON is skipped, so one
 * bad line does not cost the subscription.
 */
export async function* parseJsonLines(chunks: AsyncIterable<string | Buffer>, onBadLine?: (line: string) => void): AsyncGenerator<unknown> {
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== '') {
        const value = parseLine(line, onBadLine);
        if (value !== undefined) yield value;
      }
      newline = buffer.indexOf('\n');
    }
  }
  const rest = buffer.trim();
  if (rest !== '') {
    const value = parseLine(rest, onBadLine);
    if (value !== undefined) yield value;
  }
}

function parseLine(line: string, onBadLine?: (line: string) => void): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    onBadLine?.(line);
    return undefined;
  }
}

/** Reads Docker's event documents (API 1.22+ `Type`/`Action`/`Actor`, older `status`/`id`). */
export function toDockerEvent(raw: unknown): DockerEvent | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const event = raw as { Type?: string; Action?: string; status?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
  if (event.Type !== undefined && event.Type !== 'container') return undefined;
  const action = event.Action ?? event.status;
  const id = event.Actor?.ID ?? event.id;
  if (!action || !id) return undefined;
  const name = event.Actor?.Attributes?.name;
  return name ? { action, id, name } : { action, id };
}

async function* containerEvents(values: AsyncIterable<unknown>, signal: AbortSignal): AsyncGenerator<DockerEvent> {
  try {
    for await (const value of values) {
      const event = toDockerEvent(value);
      if (event) yield event;
    }
  } catch (error) {
    // An abort surfaces as AbortError or, once the body is flowing, as "aborted" (ECONNRESET).
    if (signal.aborted || isAbort(error)) return;
    throw error;
  }
}

/**
 * Where the Docker socket is: DOCKER_SOCKET, else a unix:// DOCKER_HOST (what gliderlabs/registrator
 * reads), else the first of /var/run/docker.sock and /tmp/docker.sock (where upstream's compose files
 * mount it) that exists.
 */
export function resolveDockerSocket(env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync): string {
  if (env.DOCKER_SOCKET) return env.DOCKER_SOCKET;
  const host = env.DOCKER_HOST ?? '';
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  if (host !== '') throw new Error(`DOCKER_HOST=${host} is not a unix socket; set DOCKER_SOCKET to the socket path`);
  const candidates = ['/var/run/docker.sock', '/tmp/docker.sock'];
  return candidates.find((path) => exists(path)) ?? candidates[0]!;
}
