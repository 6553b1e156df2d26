/**
 * The little HTTP kit every sandbox program (BookInfo, stand-ins, registrator) shares. Node's own
 * http module only: the images run Debian's Node.js with no npm packages installed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

export type Params = Record<string, string>;
export type Handler = (request: IncomingMessage, response: ServerResponse, params: Params) => unknown;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

/** Method + path routing; `:name` matches one path segment, a trailing `*` the rest. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        if (segment === '*') {
          names.push('rest');
          return '(.*)';
        }
        if (segment.startsWith(':')) {
          names.push(segment.slice(1));
          return '([^/]+)';
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method, pattern: new RegExp(`^${source}/?$`), names, handler });
    return this;
  }

  /** Answers 404 for an unknown path and 405 for a known path with another method. */
  readonly handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== request.method) continue;
      const params: Params = {};
      route.names.forEach((name, index) => (params[name] = match[index + 1] ?? ''));
      try {
        await route.handler(request, response, params);
      } catch (error) {
        if (!response.headersSent) {
          const status = error instanceof HttpError ? error.status : 500;
          sendJson(response, status, { error: error instanceof Error ? error.message : String(error) });
        } else {
          response.destroy();
        }
      }
      return;
    }
    sendJson(response, pathMatched ? 405 : 404, { error: pathMatched ? 'method not allowed' : 'not found' });
  };
}

/** Thrown by handlers to answer with a status and `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function sendText(response: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** Reads a request body, refusing more than `limitBytes` with 413. */
export async function readBody(request: IncomingMessage, limitBytes = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new HttpError(413, `request body over ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJson<T = unknown>(request: IncomingMessage, limitBytes?: number): Promise<T> {
  const text = await readBody(request, limitBytes);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/** Every answer of a stand-in carries this header, naming what it stands in for. */
export const STANDIN_HEADER = 'x-mesh-local-standin';

/** A router's handler that marks each answer as a stand-in's (`x-mesh-local-standin: consul`). */
export function standinHandler(standsInFor: string, router: Router): Router['handle'] {
  return (request, response) => {
    response.setHeader(STANDIN_HEADER, standsInFor);
    return router.handle(request, response);
  };
}

/** Starts a server; port 0 picks a free port (tests). */
export function listen(handler: Router['handle'], port: number, host = '0.0.0.0'): Promise<RunningServer> {
  const server: Server = createServer((request, response) => void handler(request, response));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = (server.address() as AddressInfo).port;
      resolve({
        port: actual,
        url: `http://127.0.0.1:${actual}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Reads an integer from the environment, with a default. */
export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got '${raw}'`);
  return value;
}

/**
 * Entry-point helper: starts the program, logs one line when it listens, and closes cleanly on
 * SIGTERM/SIGINT (docker stop) with exit code 0; a failure to start exits 1 with the reason.
 */
export function runMain(name: string, start: () => Promise<{ close(): Promise<void>; port?: number }>): void {
  start().then(
    (running) => {
      console.log(`${name}: ready${running.port ? ` on port ${running.port}` : ''}`);
      const stop = () => {
        running.close().finally(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (error: unknown) => {
      console.error(`${name}: cannot start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
