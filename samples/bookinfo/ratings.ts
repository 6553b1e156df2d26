/**
 * BookInfo ratings v1 (upstream: Node httpdispatcher). GET /ratings/<id> answers two fixed ratings;
 * the id is read like JavaScript's parseInt, so only a NaN id is a 400.
 */
import type { ServerResponse } from 'node:http';
import { envInt, Router, runMain, sendJson, type RunningServer } from '../../sandbox/common/server.js';
import { isMain, serve } from './common.js';

export interface StartOptions {
  port?: number;
  env?: NodeJS.ProcessEnv;
}

export const FIXED_RATINGS = { Reviewer1: 5, Reviewer2: 4 } as const;

function answer(response: ServerResponse, raw: string): void {
  const id = parseInt(raw, 10);
  if (Number.isNaN(id)) {
    sendJson(response, 400, { error: 'please provide numeric product ID' });
    return;
  }
  sendJson(response, 200, { id, ratings: { ...FIXED_RATINGS } });
}

export function start(options: StartOptions = {}): Promise<RunningServer> {
  const router = new Router()
    .add('GET', '/health', (_request, response) => sendJson(response, 200, { status: 'Ratings is healthy' }))
    .add('GET', '/ratings', (_request, response) => answer(response, ''))
    .add('GET', '/ratings/:id', (_request, response, params) => answer(response, params.id ?? ''));
  return serve('ratings', router, options.port ?? 9080);
}

if (isMain(import.meta.url)) {
  runMain('ratings', () => start({ port: envInt(process.env, 'PORT', 9080), env: process.env }));
}
