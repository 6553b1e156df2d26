/**
 * Helpers the four BookInfo services share: request logging, the header set Istio 0.x asks apps to
 * propagate, and upstream calls with a timeout. Node built-ins only (global fetch, AbortSignal.timeout).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { listen, sendJson, type Router, type RunningServer } from '../../sandbox/common/server.js';

/** Tracing headers Envoy/Zipkin need copied from the inbound request to every outbound call. */
export const TRACING_HEADERS = [
  'x-request-id',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'x-ot-span-context',
] as const;

/** Parses a Cookie header into name -> raw (undecoded) value; the first occurrence of a name wins. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    const name = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    if (name && !(name in cookies)) cookies[name] = value;
  }
  return cookies;
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The headers to send downstream: `Cookie: user=<value>` when the caller has a non-empty `user`
 * cookie (Istio 0.x route rules match on it) plus whichever tracing headers the caller sent.
 */
export function forwardHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const user = parseCookies(headerValue(request, 'cookie')).user;
  if (user) headers.cookie = `user=${user}`;
  for (const name of TRACING_HEADERS) {
    const value = headerValue(request, name);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

export interface Upstream {
  /** HTTP status, or undefined when the call failed (refused, timed out, reset). */
  status?: number;
  /** Parsed JSON body, or undefined when there was none or it was not JSON. */
  json?: unknown;
  /** Why the call failed, when it did. */
  failure?: string;
}

/** GET `url` with a timeout covering the whole exchange (connect, headers and body). Never throws. */
export async function getJson(url: string, headers: Record<string, string>, timeoutMs: number): Promise<Upstream> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  } catch (error) {
    const failure =
      error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
        ? `timed out after ${timeoutMs} ms`
        : error instanceof Error
          ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}`
          : String(error);
    return { failure };
  }
}

/** Removes a trailing slash so `${base}/path` never doubles it. */
export function baseUrl(value: string | undefined, fallback: string): string {
  const chosen = value === undefined || value === '' ? fallback : value;
  return chosen.replace(/\/+$/, '');
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Starts `router` on `port`, logging one line per request (`<name> <METHOD> <path> <status> <ms>ms`)
 * and answering 400 for a path that cannot be decoded instead of letting the router throw.
 */
export function serve(name: string, router: Router, port: number): Promise<RunningServer> {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const started = performance.now();
    response.once('close', () => {
      const ms = (performance.now() - started).toFixed(1);
      const status = response.writableFinished ? String(response.statusCode) : 'aborted';
      console.log(`${name} ${request.method ?? '-'} ${request.url ?? '-'} ${status} ${ms}ms`);
    });
    try {
      await router.handle(request, response);
    } catch (error) {
      if (!response.headersSent) {
        sendJson(response, 400, { error: error instanceof Error ? error.message : String(error) });
      } else {
        response.destroy();
      }
    }
  };
  return listen(handle, port);
}

/** True when the module whose `import.meta.url` is given is the program node was started with. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  return moduleUrl === pathToFileURL(entry).href;
}
