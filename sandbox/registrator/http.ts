/**
 * A small HTTP client over node:http, for a TCP URL or a unix socket (the Docker Engine API).
 * node:http rather than fetch: fetch cannot dial a unix socket, and one client for both keeps the
 * timeout and error handling in one place.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface RequestOptions {
  method?: string;
  /** `http://host:port/path?query`; with `socketPath` only the path and query are used. */
  url: string;
  socketPath?: string;
  headers?: Record<string, string>;
  /** A JSON body; sets content-type. */
  json?: unknown;
  /** Idle timeout of the connection; a long-lived stream passes 0. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Raised for transport failures (refused, timed out); an HTTP error status is a normal response. */
export class TransportError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'TransportError';
  }
}

/** Sends a request and resolves once the response headers arrive, leaving the body to the caller. */
export function open(options: RequestOptions): Promise<IncomingMessage> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const target = describeTarget(options);
  return new Promise((resolve, reject) => {
    const request = httpRequest(options.url, {
      method: options.method ?? 'GET',
      headers,
      socketPath: options.socketPath,
      signal: options.signal,
    });
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (timeoutMs > 0) {
      request.setTimeout(timeoutMs, () => request.destroy(new TransportError(`${target}: no answer within ${timeoutMs} ms`)));
    }
    request.once('response', (response) => {
      // The idle timeout guards the exchange; a streamed body (Docker events) may then be quiet for long.
      if (timeoutMs > 0) request.setTimeout(0);
      resolve(response);
    });
    request.once('error', (error) => {
      reject(error instanceof TransportError || isAbort(error) ? error : new TransportError(`${target}: ${error.message}`, error));
    });
    request.end(body);
  });
}

/** Sends a request and reads the whole response body. */
export async function send(options: RequestOptions): Promise<HttpResponse> {
  const response = await open(options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timer = timeoutMs > 0 ? setTimeout(() => response.destroy(new TransportError(`${describeTarget(options)}: body not read within ${timeoutMs} ms`)), timeoutMs) : undefined;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR');
}

function describeTarget(options: RequestOptions): string {
  const method = options.method ?? 'GET';
  if (options.socketPath) {
    const url = new URL(options.url);
    return `${method} unix:${options.socketPath}${url.pathname}`;
  }
  return `${method} ${options.url}`;
}

/** The first line of an error body, for log lines. */
export function summarize(response: HttpResponse): string {
  const text = response.body.trim().split('\n')[0] ?? '';
  return `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
}
