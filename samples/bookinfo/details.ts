/**
 * BookInfo details (upstream: Ruby WEBrick). GET /details/<id> answers a fixed book record with the
 * id as an integer; a non-numeric id is a 400.
 */
import type { ServerResponse } from 'node:http';
import { envInt, Router, runMain, sendJson, type RunningServer } from '../../sandbox/common/server.js';
import { isMain, serve } from './common.js';

export interface StartOptions {
  port?: number;
  env?: NodeJS.ProcessEnv;
}

export function bookDetails(id: number): Record<string, unknown> {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

function answer(response: ServerResponse, raw: string): void {
  if (!/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    sendJson(response, 400, { error: 'please provide numeric product id' });
    return;
  }
  sendJson(response, 200, bookDetails(Number(raw)));
}

export function start(options: StartOptions = {}): Promise<RunningServer> {
  const router = new Router()
    .add('GET', '/health', (_request, response) => sendJson(response, 200, { status: 'Details is healthy' }))
    .add('GET', '/details', (_request, response) => answer(response, ''))
    .add('GET', '/details/:id', (_request, response, params) => answer(response, params.id ?? ''));
  return serve('details', router, options.port ?? 9080);
}

if (isMain(import.meta.url)) {
  runMain('details', () => start({ port: envInt(process.env, 'PORT', 9080), env: process.env }));
}
