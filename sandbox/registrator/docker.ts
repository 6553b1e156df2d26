/**
 * The registrator's view of Docker: an interface, and its implementation over the Engine API on a
 * unix socket or over TCP, wherever DOCKER_HOST points (unversioned paths, which the daemon serves
 * at its own API version), as go-dockerclient's `NewClientFromEnv` reads it for registrator.
 */
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
  /** Running containers; `filters` as the Engine API takes them (`{status: ["running"]}`). */
  listContainers(filters?: Record<string, string[]>): Promise<ContainerSummary[]>;
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

/** Where the Engine API answers: a unix socket, or an HTTP base URL (`tcp://host:port`). */
export type DockerEndpoint = { socketPath: string } | { baseUrl: string };

export class EngineDockerClient implements DockerClient {
  private readonly socketPath: string | undefined;
  private readonly baseUrl: string;

  constructor(
    readonly endpoint: DockerEndpoint,
    private readonly timeoutMs = 10_000,
  ) {
    this.socketPath = 'socketPath' in endpoint ? endpoint.socketPath : undefined;
    this.baseUrl = 'baseUrl' in endpoint ? endpoint.baseUrl : 'http://docker';
  }

  private url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  async listContainers(filters?: Record<string, string[]>): Promise<ContainerSummary[]> {
    const query = filters ? `?filters=${encodeURIComponent(JSON.stringify(filters))}` : '';
    const response = await send({ url: this.url(`/containers/json${query}`), socketPath: this.socketPath, timeoutMs: this.timeoutMs });
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

/** Raised where go-dockerclient fails with ErrInvalidEndpoint, or for what this client lacks. */
export class DockerEndpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerEndpointError';
  }
}

/**
 * Where the Engine API is, as registrator finds it: DOCKER_HOST, which registrator.go sets to
 * unix:///tmp/docker.sock when it is empty, read by go-dockerclient (client.go `parseEndpoint`,
 * v1.2.0): no scheme means tcp://; tcp://host:port and http:// are plain HTTP (a port out of
 * range is an invalid endpoint); unix:// is a socket path. TLS (https://, DOCKER_TLS_VERIFY)
 * is not implemented here and refused. DOCKER_SOCKET, a socket path, overrides it all (tests).
 */
export function resolveDockerEndpoint(env: NodeJS.ProcessEnv): DockerEndpoint {
  if (env.DOCKER_SOCKET) return { socketPath: env.DOCKER_SOCKET };
  let host = env.DOCKER_HOST || 'unix:///tmp/docker.sock';
  if (!host.includes('://')) host = `tcp://${host}`;
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new DockerEndpointError('invalid endpoint');
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme === 'unix') return { socketPath: url.pathname };
  if (scheme === 'https' || ((scheme === 'tcp' || scheme === 'http') && env.DOCKER_TLS_VERIFY)) {
    throw new DockerEndpointError(`DOCKER_HOST=${host}: TLS to the Docker Engine is not implemented by mesh-local's registrator`);
  }
  if (scheme !== 'tcp' && scheme !== 'http') throw new DockerEndpointError('invalid endpoint');
  const port = url.port;
  // go-dockerclient turns tcp:// into http:// only with a port; without one every call fails.
  if (port === '' && scheme === 'tcp') throw new DockerEndpointError('unsupported protocol scheme "tcp"');
  // http:// without a port is HTTP's 80 (URL parsing already refuses a port above 65535).
  if (port !== '' && Number(port) < 1) throw new DockerEndpointError('invalid endpoint');
  return { baseUrl: `http://${url.hostname}${port === '' ? '' : `:${port}`}` };
}
