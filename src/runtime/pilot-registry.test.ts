/**
 * pilotRegistry against a small HTTP server that answers as pilot 0.8's v1 discovery does
 * (discovery.go@0.8.0): `/v1/registration` lists service keys with hosts whose tags carry no
 * labels; `/v1/registration/<host>|<ports>|<labels>` filters instances by labels. The pilot
 * stand-in, which also puts labels in the list's tags, is used in test/route.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceFailedError } from '../errors.js';
import { pilotRegistry } from './pilot-registry.js';

interface Instance {
  hostname: string;
  port: string;
  ip: string;
  labels: Record<string, string>;
}

const INSTANCES: Instance[] = [
  { hostname: 'reviews.service.consul', port: 'http', ip: '10.0.0.1', labels: { version: 'v1' } },
  { hostname: 'reviews.service.consul', port: 'http', ip: '10.0.0.2', labels: { version: 'v2', team: 'books' } },
  { hostname: 'ratings.service.consul', port: 'http', ip: '10.0.0.3', labels: { version: 'v1' } },
];

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

/** Pilot 0.8's ListAllEndpoints and ListEndpoints over INSTANCES; records the paths asked. */
async function upstreamLikePilot(paths: string[], status = 200): Promise<string> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(request.url!);
    paths.push(path);
    response.writeHead(status, { 'content-type': 'application/json' });
    if (path === '/v1/registration') {
      const keys = [...new Set(INSTANCES.map((instance) => `${instance.hostname}|${instance.port}`))].sort();
      response.end(
        JSON.stringify(
          keys.map((key) => ({
            'service-key': key,
            hosts: INSTANCES.filter((instance) => `${instance.hostname}|${instance.port}` === key).map((instance) => ({ ip_address: instance.ip, port: 9080 })),
          })),
        ),
      );
      return;
    }
    const [hostname, ports = '', labels = ''] = path.slice('/v1/registration/'.length).split('|');
    const selector = Object.fromEntries(labels.split(',').filter(Boolean).map((pair) => pair.split('=')));
    const hosts = INSTANCES.filter(
      (instance) =>
        instance.hostname === hostname &&
        ports.split(',').includes(instance.port) &&
        Object.entries(selector).every(([key, value]) => instance.labels[key] === value),
    ).map((instance) => ({ ip_address: instance.ip, port: 9080 }));
    response.end(JSON.stringify({ hosts }));
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('pilotRegistry', () => {
  it('lists hostnames (the service key before the first |) and learns labels by asking for each selector the rules use, one entry per instance', async () => {
    const paths: string[] = [];
    const registry = pilotRegistry(await upstreamLikePilot(paths));
    const services = await registry([
      { hostname: 'reviews.service.consul', labels: { version: 'v2' } },
      { hostname: 'reviews.service.consul', labels: { version: 'v2' } },
      { hostname: 'reviews.service.consul', labels: { version: 'v4' } },
      { hostname: 'reviews.service.consul', labels: { team: 'books' } },
      { hostname: 'stars.service.consul', labels: { version: 'v1' } },
      { hostname: 'ratings.service.consul', labels: {} },
    ]);
    expect([...services.keys()]).toEqual(['ratings.service.consul', 'reviews.service.consul']);
    // The list's two tag-less instances; 10.0.0.2 answered both version=v2 and team=books.
    expect(services.get('reviews.service.consul')).toEqual([{}, { version: 'v2', team: 'books' }]);
    expect(services.get('ratings.service.consul')).toEqual([{}]);
    // One query per distinct selector of a known service; none for unknown services or empty selectors.
    expect(paths).toEqual([
      '/v1/registration',
      '/v1/registration/reviews.service.consul|http|version=v2',
      '/v1/registration/reviews.service.consul|http|version=v4',
      '/v1/registration/reviews.service.consul|http|team=books',
    ]);
  });

  it('keeps the labels the list gives (mesh-local pilot stand-in) and finds its URL lazily', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify([{ 'service-key': 'reviews|9080', hosts: [{ ip_address: '10.0.0.1', port: 9080, tags: { version: 'v1' } }] }]));
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const services = await pilotRegistry(async () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`)([]);
    expect(services).toEqual(new Map([['reviews', [{ version: 'v1' }]]]));
  });

  it('fails with ServiceFailedError (exit 1) on an error status, a shape it does not know, or no answer in time', async () => {
    await expect(pilotRegistry(await upstreamLikePilot([], 503))([])).rejects.toThrow(/^pilot at http:\/\/127\.0\.0\.1:\d+ answered \/v1\/registration with HTTP 503/);
    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const error = await pilotRegistry(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, { timeoutMs: 100 })([]).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ServiceFailedError);
    expect((error as Error).message).toMatch(/did not answer \/v1\/registration within 100 ms$/);
    const odd = createServer((_request, response) => response.end('{"hosts": []}'));
    servers.push(odd);
    await new Promise<void>((done) => odd.listen(0, '127.0.0.1', done));
    await expect(pilotRegistry(`http://127.0.0.1:${(odd.address() as AddressInfo).port}`)([])).rejects.toThrow(/something that is not a list/);
  });
});
