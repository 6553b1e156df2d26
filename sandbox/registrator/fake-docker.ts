/**
 * A fake Docker Engine API on a unix socket (or a TCP port), for tests: it serves `GET /containers/json`
 * (running containers, or those whose status a `status` filter names),
 * `GET /containers/:id/json` and a streamed `GET /events` from containers the test adds, and writes
 * events the way dockerd does (one JSON document per line, the connection held open).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { Router, sendJson } from '../common/server.js';
import type { ContainerInspect } from './services.js';

export class FakeDocker {
  private readonly containers = new Map<string, ContainerInspect>();
  private readonly streams = new Set<ServerResponse>();
  /** Event subscriptions received, and the `filters` each asked for. */
  readonly subscriptions: string[] = [];
  /** Requests received, as "METHOD /path". */
  readonly requests: string[] = [];
  /** The `filters` of each container listing ('' without). */
  readonly listQueries: string[] = [];
  /** When set, `/containers/json` fails with 500 (a daemon in trouble). */
  failListing = false;

  /** The TCP port, when started on one. */
  port = 0;

  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
  ) {}

  /** On a unix socket path, or on a TCP port of 127.0.0.1 (0: any free one). */
  static async start(where: string | number): Promise<FakeDocker> {
    const router = new Router();
    const server = createServer();
    const fake = new FakeDocker(server, typeof where === 'string' ? where : '');
    router.add('GET', '/containers/json', (request, response) => {
      const filters = new URL(request.url ?? '/', 'http://docker').searchParams.get('filters') ?? '';
      fake.listQueries.push(filters);
      if (fake.failListing) return sendJson(response, 500, { message: 'listing is broken today' });
      const statuses = filters ? (JSON.parse(filters) as { status?: string[] }).status : undefined;
      const listed = [...fake.containers.values()].filter((c) =>
        statuses ? statuses.includes(c.State?.Status ?? 'running') : c.State?.Running !== false,
      );
      sendJson(response, 200, listed.map(summary));
    });
    router.add('GET', '/containers/:id/json', (_request, response, params) => {
      const container = fake.find(params.id ?? '');
      if (!container) return sendJson(response, 404, { message: `No such container: ${params.id}` });
      sendJson(response, 200, container);
    });
    router.add('GET', '/events', (request, response) => {
      fake.subscriptions.push(new URL(request.url ?? '/', 'http://docker').searchParams.get('filters') ?? '');
      response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      response.flushHeaders();
      fake.streams.add(response);
      response.on('close', () => fake.streams.delete(response));
    });
    server.on('request', (request, response) => {
      fake.requests.push(`${request.method} ${new URL(request.url ?? '/', 'http://docker').pathname}`);
      void router.handle(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (typeof where === 'string') server.listen(where, () => resolve());
      else server.listen(where, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address && typeof address === 'object') fake.port = address.port;
    return fake;
  }

  private find(idOrName: string): ContainerInspect | undefined {
    return this.containers.get(idOrName) ?? [...this.containers.values()].find((c) => c.Id.startsWith(idOrName) || c.Name === `/${idOrName}`);
  }

  /** Adds (or replaces) a container without an event, as if it was running before. */
  put(container: ContainerInspect): void {
    this.containers.set(container.Id, container);
  }

  /** Removes a container without an event. */
  delete(id: string): void {
    this.containers.delete(id);
  }

  /** Adds a container and announces its start. */
  startContainer(container: ContainerInspect): void {
    this.put(container);
    this.emit('start', container);
  }

  /** Marks a container exited and announces `die` (then `stop` when `stop` is true, as `docker stop` does). */
  stopContainer(id: string, options: { stop?: boolean } = {}): void {
    const container = this.containers.get(id);
    if (!container) throw new Error(`no container ${id}`);
    container.State = { ...(container.State ?? {}), Running: false, Status: 'exited' };
    this.emit('die', container);
    if (options.stop) this.emit('stop', container);
  }

  emit(action: string, container: ContainerInspect): void {
    const time = Math.floor(Date.now() / 1000);
    const event = {
      status: action,
      id: container.Id,
      from: container.Config.Image,
      Type: 'container',
      Action: action,
      Actor: { ID: container.Id, Attributes: { image: container.Config.Image, name: container.Name.replace(/^\//, '') } },
      scope: 'local',
      time,
      timeNano: Date.now() * 1_000_000,
    };
    for (const stream of this.streams) stream.write(`${JSON.stringify(event)}\n`);
  }

  /** Writes raw bytes to every event stream (for split or broken lines). */
  writeRaw(text: string): void {
    for (const stream of this.streams) stream.write(text);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Ends every event stream, as a daemon restart would. */
  endEventStreams(): void {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
  }

  async close(): Promise<void> {
    this.endEventStreams();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function summary(container: ContainerInspect): Record<string, unknown> {
  return {
    Id: container.Id,
    Names: [container.Name],
    Image: container.Config.Image,
    Command: '',
    Created: 1715677950,
    Ports: [],
    Labels: container.Config.Labels ?? {},
    State: 'running',
    Status: 'Up 2 minutes',
    HostConfig: { NetworkMode: container.HostConfig?.NetworkMode ?? 'default' },
  };
}
