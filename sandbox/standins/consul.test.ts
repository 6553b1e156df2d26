import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consulApiSuite } from './consul-suite.js';
import { parseRegistration, parseWait, start, type RunningConsul } from './consul.js';

let consul: RunningConsul;

beforeAll(async () => {
  consul = await start({ port: 0, host: '127.0.0.1', nodeName: 'consul-node', address: '172.28.0.3' });
});

afterAll(async () => {
  await consul.close();
});

consulApiSuite(() => consul.url);

describe('Consul stand-in specifics', () => {
  const put = (path: string, body: unknown) => fetch(`${consul.url}${path}`, { method: 'PUT', body: JSON.stringify(body) });

  it('reports its node address as the leader and marks its answers as a stand-in', async () => {
    const response = await fetch(`${consul.url}/v1/status/leader`);
    expect(await response.json()).toBe('172.28.0.3:8300');
    expect(response.headers.get('x-mesh-local-standin')).toBe('consul');
  });

  it('reads request fields without regard to case, as Go does, and defaults ID to Name', async () => {
    expect((await put('/v1/agent/service/register', { name: 'lowercase', port: 9080, tags: ['a'] })).status).toBe(200);
    const entries = (await (await fetch(`${consul.url}/v1/catalog/service/lowercase`)).json()) as Array<Record<string, unknown>>;
    expect(entries).toEqual([expect.objectContaining({ ServiceID: 'lowercase', ServiceName: 'lowercase', ServicePort: 9080, ServiceTags: ['a'], Node: 'consul-node' })]);
  });

  it('finds a service whatever the case of its name', async () => {
    await put('/v1/agent/service/register', { ID: 'mixed-1', Name: 'MixedCase', Port: 1 });
    const entries = (await (await fetch(`${consul.url}/v1/catalog/service/mixedcase`)).json()) as unknown[];
    expect(entries).toHaveLength(1);
  });

  it('lists its own "consul" service in the catalog', async () => {
    const entries = (await (await fetch(`${consul.url}/v1/catalog/service/consul`)).json()) as Array<Record<string, unknown>>;
    expect(entries).toEqual([expect.objectContaining({ ServiceID: 'consul', ServiceName: 'consul', ServicePort: 8300 })]);
  });

  it('answers errors as plain text with Consul messages', async () => {
    const response = await put('/v1/agent/service/register', { Port: 1 });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(await response.text()).toBe('Missing service name');
  });

  it('refuses a port that is not an integer and Meta values that are not strings', async () => {
    expect((await put('/v1/agent/service/register', { Name: 'p', Port: '9080' })).status).toBe(400);
    expect((await put('/v1/agent/service/register', { Name: 'p', Meta: { version: 1 } })).status).toBe(400);
    expect((await put('/v1/agent/service/register', { Name: 'p', Meta: { 'bad key': 'x' } })).status).toBe(400);
  });

  it('answers 500 "No path to datacenter" for another ?dc=', async () => {
    const response = await fetch(`${consul.url}/v1/catalog/services?dc=dc2`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('No path to datacenter');
    expect((await fetch(`${consul.url}/v1/catalog/services?dc=dc1`)).status).toBe(200);
  });

  it('holds a blocking query until the catalog changes', async () => {
    const first = await fetch(`${consul.url}/v1/catalog/services`);
    const index = Number(first.headers.get('x-consul-index'));
    const started = Date.now();
    const blocked = fetch(`${consul.url}/v1/catalog/services?index=${index}&wait=5s`);
    setTimeout(() => void put('/v1/agent/service/register', { ID: 'wake-1', Name: 'wake', Port: 1 }), 150);
    const response = await blocked;
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(Number(response.headers.get('x-consul-index'))).toBeGreaterThan(index);
    expect(await response.json()).toHaveProperty('wake');
  });

  it('ends a blocking query after ?wait= with the same index when nothing changes', async () => {
    const index = Number((await fetch(`${consul.url}/v1/catalog/services`)).headers.get('x-consul-index'));
    const started = Date.now();
    const response = await fetch(`${consul.url}/v1/health/service/nothing?index=${index}&wait=200ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(Number(response.headers.get('x-consul-index'))).toBe(index);
  });

  it('does not move the index when an identical registration is repeated', async () => {
    const registration = { ID: 'same-1', Name: 'same', Port: 1, Tags: ['x'], Meta: { a: 'b' } };
    await put('/v1/agent/service/register', registration);
    const before = (await fetch(`${consul.url}/v1/catalog/services`)).headers.get('x-consul-index');
    await put('/v1/agent/service/register', registration);
    const after = (await fetch(`${consul.url}/v1/catalog/services`)).headers.get('x-consul-index');
    expect(after).toBe(before);
  });
});

describe('parseWait', () => {
  it('reads Go durations and caps them at ten minutes', () => {
    expect(parseWait('10s')).toBe(10_000);
    expect(parseWait('1m30s')).toBe(90_000);
    expect(parseWait('250ms')).toBe(250);
    expect(parseWait(null)).toBe(300_000);
    expect(parseWait('2h')).toBe(600_000);
  });

  it('refuses anything else', () => {
    expect(() => parseWait('10')).toThrow('Invalid wait time');
    expect(() => parseWait('10s junk')).toThrow('Invalid wait time');
  });
});

describe('parseRegistration', () => {
  it('numbers the check IDs of several checks like Consul', () => {
    const service = parseRegistration({ Name: 'n', ID: 'i', Checks: [{ TTL: '1s' }, { TTL: '2s' }] });
    expect(service.checks.map((check) => check.CheckID)).toEqual(['service:i:1', 'service:i:2']);
  });
});
