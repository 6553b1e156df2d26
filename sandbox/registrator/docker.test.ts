import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineDockerClient, parseJsonLines, toDockerEvent, type DockerEvent } from './docker.js';
import { FakeDocker } from './fake-docker.js';
import type { ContainerInspect } from './services.js';

function fixture(name: string): ContainerInspect {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as ContainerInspect;
}

async function collect<T>(values: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of values) out.push(value);
  return out;
}

async function* chunks(...parts: string[]): AsyncGenerator<string> {
  for (const part of parts) yield part;
}

describe('parseJsonLines', () => {
  it('joins documents split across chunks and splits chunks holding several', async () => {
    expect(await collect(parseJsonLines(chunks('{"a":', '1}\n{"b":2}\n{"c"', ':3}')))).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('skips lines that are not JSON and reports them', async () => {
    const bad: string[] = [];
    expect(await collect(parseJsonLines(chunks('nope\n{"ok":true}\n\n'), (line) => bad.push(line)))).toEqual([{ ok: true }]);
    expect(bad).toEqual(['nope']);
  });
});

describe('toDockerEvent', () => {
  it('reads API 1.22+ events', () => {
    expect(toDockerEvent({ Type: 'container', Action: 'die', Actor: { ID: 'abc', Attributes: { name: 'x-1', exitCode: '0' } }, status: 'die', id: 'abc' })).toEqual({
      action: 'die',
      id: 'abc',
      name: 'x-1',
    });
  });

  it('reads pre-1.22 events and ignores other object types', () => {
    expect(toDockerEvent({ status: 'start', id: 'abc', from: 'img', time: 1 })).toEqual({ action: 'start', id: 'abc' });
    expect(toDockerEvent({ Type: 'network', Action: 'connect', Actor: { ID: 'n' } })).toBeUndefined();
    expect(toDockerEvent('nonsense')).toBeUndefined();
  });
});

describe('EngineDockerClient against a fake Docker API', () => {
  let tmp: string;
  let docker: FakeDocker;
  let client: EngineDockerClient;

  beforeEach(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'docker-client-test-'));
    docker = await FakeDocker.start(join(tmp, 'docker.sock'));
    client = new EngineDockerClient({ socketPath: docker.socketPath });
  });

  afterEach(async () => {
    await docker.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('lists running containers and inspects one; an unknown one is undefined', async () => {
    const details = fixture('consul-details-v1');
    docker.put(details);
    expect((await client.listContainers()).map((container) => container.Id)).toEqual([details.Id]);
    expect((await client.inspectContainer(details.Id))?.Name).toBe('/consul-details-v1-1');
    expect(await client.inspectContainer('0000')).toBeUndefined();
    expect(docker.requests).toEqual(['GET /containers/json', `GET /containers/${details.Id}/json`, 'GET /containers/0000/json']);
  });

  it('lists with filters as the Engine API takes them', async () => {
    await client.listContainers({ status: ['created', 'running'] });
    expect(docker.requests).toEqual(['GET /containers/json']);
    expect(docker.listQueries).toEqual([JSON.stringify({ status: ['created', 'running'] })]);
  });

  it('speaks to an Engine API over TCP (DOCKER_HOST=tcp://...) the same way', async () => {
    const tcp = await FakeDocker.start(0);
    try {
      const details = fixture('consul-details-v1');
      tcp.put(details);
      const overTcp = new EngineDockerClient({ baseUrl: `http://127.0.0.1:${tcp.port}` });
      expect((await overTcp.listContainers()).map((container) => container.Id)).toEqual([details.Id]);
      expect((await overTcp.inspectContainer(details.Id))?.Name).toBe('/consul-details-v1-1');
      const events = await overTcp.events(new AbortController().signal);
      const reading = collect(events);
      tcp.startContainer(fixture('consul-reviews-v2'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      tcp.endEventStreams();
      expect((await reading).map((event) => event.action)).toEqual(['start']);
    } finally {
      await tcp.close();
    }
  });

  it('raises a Docker API error with the status for a failing call', async () => {
    docker.failListing = true;
    await expect(client.listContainers()).rejects.toMatchObject({ name: 'DockerApiError', status: 500, message: expect.stringContaining('listing is broken today') });
  });

  it('streams container events until the stream ends', async () => {
    const controller = new AbortController();
    const events = await client.events(controller.signal);
    const received: DockerEvent[] = [];
    const reading = (async () => {
      for await (const event of events) received.push(event);
    })();
    const details = fixture('consul-details-v1');
    docker.startContainer(details);
    docker.stopContainer(details.Id, { stop: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    docker.endEventStreams();
    await reading;
    expect(received).toEqual([
      { action: 'start', id: details.Id, name: 'consul-details-v1-1' },
      { action: 'die', id: details.Id, name: 'consul-details-v1-1' },
      { action: 'stop', id: details.Id, name: 'consul-details-v1-1' },
    ]);
  });

  it('ends the stream quietly when aborted', async () => {
    const controller = new AbortController();
    const events = await client.events(controller.signal);
    const reading = collect(events);
    controller.abort();
    await expect(reading).resolves.toEqual([]);
  });

  it('fails to subscribe when nothing listens on the socket', async () => {
    const missing = new EngineDockerClient({ socketPath: join(tmp, 'nothing.sock') });
    await expect(missing.events(new AbortController().signal)).rejects.toThrow(/unix:.*nothing\.sock\/events: connect ENOENT/);
  });
});
