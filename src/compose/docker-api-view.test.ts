/**
 * The Docker API view as it is mounted: the rendered script run by `sh` (which hands the program to
 * node), in front of a fake Docker Engine API on a unix socket that records every request.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dockerApiViewFile } from './docker-api-view.js';

const PROJECT = 'alpha';
const PROJECT_LABEL = 'com.docker.compose.project';
const ALPHA_NET = 'n-alpha-mesh';
const BETA_NET = 'n-beta-mesh';

interface Container {
  Id: string;
  Name: string;
  Config: { Labels: Record<string, string> };
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, { NetworkID: string }> };
}

function container(id: string, project: string, options: { networks?: Record<string, string>; mode?: string } = {}): Container {
  const networks = options.networks ?? { [`${project}_mesh`]: project === PROJECT ? ALPHA_NET : BETA_NET };
  return {
    Id: id.padEnd(64, '0'),
    Name: `/${project}-${id}-1`,
    Config: { Labels: { [PROJECT_LABEL]: project, 'com.docker.compose.service': id } },
    HostConfig: { NetworkMode: options.mode ?? Object.keys(networks)[0] ?? 'default' },
    NetworkSettings: { Networks: Object.fromEntries(Object.entries(networks).map(([name, NetworkID]) => [name, { NetworkID }])) },
  };
}

/** The containers of the tests: the view itself, its project's app, and another project's. */
const self = container('view', PROJECT);
const alphaApp = container('a1', PROJECT);
const betaApp = container('b1', 'beta');
/** Another project's pod joined to alpha's mesh network (`mesh-local inject`), and its app in the pod's namespace. */
const injectedPod = container('c1', 'gamma', { networks: { alpha_mesh: ALPHA_NET, gamma_default: 'n-gamma' } });
const injectedApp = container('c2', 'gamma', { networks: {}, mode: `container:${injectedPod.Id}` });
/** Shares beta's namespace: outside. */
const betaSidecar = container('b2', 'beta', { networks: {}, mode: `container:${betaApp.Id}` });

class FakeEngine {
  readonly requests: string[] = [];
  readonly containers = new Map<string, Container>();
  private readonly streams = new Set<ServerResponse>();
  constructor(private readonly server: Server) {}

  static async start(socketPath: string): Promise<FakeEngine> {
    const server = createServer();
    const engine = new FakeEngine(server);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => engine.handle(request, response));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return engine;
  }

  put(...containers: Container[]): void {
    for (const entry of containers) this.containers.set(entry.Id, entry);
  }

  event(event: Record<string, unknown>): void {
    for (const stream of this.streams) stream.write(`${JSON.stringify(event)}\n`);
  }

  containerEvent(action: string, entry: Container): void {
    this.event({ status: action, id: entry.Id, Type: 'container', Action: action, Actor: { ID: entry.Id, Attributes: { ...entry.Config.Labels, name: entry.Name.slice(1) } }, time: 1 });
  }

  get openStreams(): number {
    return this.streams.size;
  }

  endStreams(): void {
    for (const stream of this.streams) stream.end();
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests.push(`${request.method} ${request.url}`);
    const url = new URL(request.url ?? '/', 'http://docker');
    const path = url.pathname.replace(/^\/v[0-9.]+(?=\/)/, '');
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'api-version': '1.41' });
      response.end(`${JSON.stringify(value)}\n`);
    };
    if (path === '/_ping') {
      response.writeHead(200, { 'content-type': 'text/plain', 'api-version': '1.41' });
      return void response.end(request.method === 'HEAD' ? undefined : 'OK');
    }
    if (path === '/version') return json(200, { ApiVersion: '1.41', Version: '20.10.24' });
    if (path === '/networks') {
      const wanted = (JSON.parse(url.searchParams.get('filters') ?? '{}') as { label?: string[] }).label ?? [];
      const networks = [
        { Id: ALPHA_NET, Name: 'alpha_mesh', Labels: { [PROJECT_LABEL]: 'alpha' } },
        { Id: BETA_NET, Name: 'beta_mesh', Labels: { [PROJECT_LABEL]: 'beta' } },
      ];
      return json(200, networks.filter((network) => wanted.every((label) => `${PROJECT_LABEL}=${network.Labels[PROJECT_LABEL]}` === label)));
    }
    if (path === '/containers/json') {
      return json(200, [...this.containers.values()].map((entry) => ({
        Id: entry.Id,
        Names: [entry.Name],
        Labels: entry.Config.Labels,
        HostConfig: entry.HostConfig,
        NetworkSettings: entry.NetworkSettings,
      })));
    }
    const inspected = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (inspected) {
      const id = decodeURIComponent(inspected[1]!);
      const found = [...this.containers.values()].find((entry) => entry.Id === id || entry.Id.startsWith(id) || entry.Name === `/${id}`);
      return found ? json(200, found) : json(404, { message: `No such container: ${id}` });
    }
    if (path === '/events') {
      response.writeHead(200, { 'content-type': 'application/json', 'api-version': '1.41' });
      response.flushHeaders();
      this.streams.add(response);
      response.on('close', () => this.streams.delete(response));
      return;
    }
    json(500, { message: `the fake engine does not serve ${request.method} ${path}` });
  }

  async close(): Promise<void> {
    for (const stream of this.streams) stream.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let dir: string;
let engine: FakeEngine;
let children: ChildProcess[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'docker-api-view-'));
  engine = await FakeEngine.start(join(dir, 'docker.sock'));
  engine.put(self, alphaApp, betaApp, injectedPod, injectedApp, betaSidecar);
  children = [];
});

afterEach(async () => {
  for (const child of children) child.kill('SIGTERM');
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

/** Starts the rendered script on port 0; resolves with its URL once it serves. */
async function startView(selfId = self.Id): Promise<string> {
  const file = dockerApiViewFile();
  const script = join(dir, 'docker-api-view.sh');
  await writeFile(script, file.content, { mode: file.mode });
  const child = spawn('sh', [script], {
    env: { ...process.env, DOCKER_API_VIEW_SOCKET: join(dir, 'docker.sock'), DOCKER_API_VIEW_PORT: '0', DOCKER_API_VIEW_SELF: selfId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const port = /read-only on port (\d+)/.exec(output)?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`the view exited with ${code}: ${output}`)));
  });
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

const ids = (body: string) => (JSON.parse(body) as Array<{ Id: string }>).map((entry) => entry.Id);

describe('the Docker API view', () => {
  it('lists the containers of its project and of other projects joined to its networks, with the client\'s own query', async () => {
    const view = await startView();
    const query = `filters=${encodeURIComponent(JSON.stringify({ status: ['created', 'restarting', 'running', 'paused'] }))}`;
    const listed = await get(`${view}/containers/json?${query}`);
    expect(listed.status).toBe(200);
    expect(ids(listed.body)).toEqual([self.Id, alphaApp.Id, injectedPod.Id, injectedApp.Id]);
    expect(engine.requests).toContain(`GET /containers/json?${query}`);
    // go-dockerclient's ListContainers with no options asks `/containers/json?`.
    expect(ids((await get(`${view}/containers/json?`)).body)).toEqual([self.Id, alphaApp.Id, injectedPod.Id, injectedApp.Id]);
  });

  it('inspects a container in the view as the engine answers, and says no such container for any other', async () => {
    const view = await startView();
    const own = await get(`${view}/containers/${alphaApp.Id}/json`);
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body)).toEqual(alphaApp);
    expect((await get(`${view}/containers/${injectedApp.Id.slice(0, 12)}/json`)).status).toBe(200);
    for (const foreign of [betaApp, betaSidecar]) {
      const answer = await get(`${view}/containers/${foreign.Id}/json`);
      expect(answer).toEqual({ status: 404, body: `{"message":"No such container: ${foreign.Id}"}\n`, type: 'application/json' });
    }
    // By name, as the engine also accepts: the same rule.
    expect((await get(`${view}/containers/beta-b1-1/json`)).status).toBe(404);
    expect((await get(`${view}/containers/alpha-a1-1/json`)).status).toBe(200);
    expect(await get(`${view}/containers/nothing/json`)).toMatchObject({ status: 404, body: expect.stringContaining('No such container: nothing') });
  });

  it('takes paths with an API version and passes them on with it', async () => {
    const view = await startView();
    expect(ids((await get(`${view}/v1.24/containers/json`)).body)).toContain(alphaApp.Id);
    expect((await get(`${view}/v1.41/containers/${betaApp.Id}/json`)).status).toBe(404);
    expect((await get(`${view}/v1.24/_ping`)).body).toBe('OK');
    expect(JSON.parse((await get(`${view}/v1.24/version`)).body)).toMatchObject({ ApiVersion: '1.41' });
    expect(engine.requests).toEqual(expect.arrayContaining(['GET /v1.24/containers/json', `GET /v1.41/containers/${betaApp.Id}/json`, 'GET /v1.24/_ping', 'GET /v1.24/version']));
  });

  it('refuses every write and every call registrator does not make, without asking the engine', async () => {
    const view = await startView();
    const before = engine.requests.length;
    const refused: Array<[string, string]> = [
      ['POST', '/containers/create'],
      ['POST', `/v1.41/containers/${alphaApp.Id}/stop`],
      ['DELETE', `/containers/${alphaApp.Id}`],
      ['PUT', `/containers/${alphaApp.Id}/archive`],
      ['POST', `/containers/${alphaApp.Id}/json`],
      ['POST', '/events'],
      ['GET', '/info'],
      ['GET', '/images/json'],
      ['GET', `/containers/${alphaApp.Id}/logs`],
      ['GET', '/containers/../images/json'],
      ['GET', '/networks'],
    ];
    for (const [method, path] of refused) {
      const answer = await get(`${view}${path}`, { method });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body).toContain('read-only, for registrator');
    }
    expect(engine.requests.slice(before)).toEqual([]);
    const head = await fetch(`${view}/_ping`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('passes events on one by one as they come, less other projects\' containers and other objects', async () => {
    const view = await startView();
    const response = await new Promise<IncomingMessage>((resolve, reject) => httpRequest(`${view}/events?since=5`, resolve).on('error', reject).end());
    expect(response.statusCode).toBe(200);
    expect(engine.requests).toContain('GET /events?since=5');
    const lines = readLines(response);

    engine.containerEvent('start', alphaApp);
    // Received while the stream stays open: nothing is held back.
    expect(await lines.next()).toMatchObject({ Action: 'start', id: alphaApp.Id });

    engine.containerEvent('start', betaApp);
    engine.event({ Type: 'network', Action: 'connect', Actor: { ID: BETA_NET, Attributes: { container: betaApp.Id, name: 'beta_mesh' } }, time: 1 });
    engine.event({ Type: 'image', Action: 'pull', Actor: { ID: 'busybox:latest', Attributes: {} }, time: 1 });
    engine.containerEvent('start', injectedApp);
    engine.containerEvent('die', betaSidecar);
    engine.containerEvent('die', injectedApp);
    engine.containerEvent('die', alphaApp);
    expect(await lines.next()).toMatchObject({ Action: 'start', id: injectedApp.Id });
    expect(await lines.next()).toMatchObject({ Action: 'die', id: injectedApp.Id });
    expect(await lines.next()).toMatchObject({ Action: 'die', id: alphaApp.Id });
    // The other project's container was inspected once; the injected app's verdict was kept.
    expect(engine.requests.filter((line) => line.startsWith(`GET /containers/${injectedApp.Id}/json`))).toHaveLength(1);
    expect(engine.requests.filter((line) => line.startsWith(`GET /containers/${alphaApp.Id}/json`))).toHaveLength(0);

    engine.endStreams();
    expect(await lines.next()).toBeUndefined();
  });

  it("serves go-dockerclient's hijacked /events request, whose Host header is empty", async () => {
    const view = await startView();
    const { port } = new URL(view);
    const socket = connect(Number(port), '127.0.0.1');
    // What Go's httputil.ClientConn writes for http.NewRequest("GET", "/events", nil) (go-dockerclient event.go).
    socket.write('GET /events HTTP/1.1\r\nHost: \r\nUser-Agent: Go-http-client/1.1\r\n\r\n');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    await waitUntil(() => engine.openStreams === 1);
    engine.containerEvent('start', alphaApp);
    await waitUntil(() => received.includes(alphaApp.Id));
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received.toLowerCase()).toContain('transfer-encoding: chunked');
    socket.destroy();
    await waitUntil(() => engine.openStreams === 0);
  });

  it('exits rather than serve the whole engine when its own container has no project label', async () => {
    const loose = { ...container('loose', PROJECT), Config: { Labels: {} } };
    engine.put(loose);
    await expect(startView(loose.Id)).rejects.toThrow(/exited with 1: .*no com\.docker\.compose\.project label \(not started by Compose\); refusing to serve the whole engine/);
  });
});

/**
 * go-dockerclient's own requests, replayed with Go's net/http as go-dockerclient v1.2.0 (the
 * version gliderlabs/registrator locks) makes them: `ListContainers` (`c.do` on
 * `/containers/json?` + its query), `InspectContainer`, and `eventHijack` (a raw connection, an
 * `httputil.ClientConn`, a json.Decoder on the body). Needs Go (Debian's golang-go), which
 * `make test` installs (scripts/ensure-test-tools.sh): without it the test fails, never skips.
 */
describe("go-dockerclient's calls through the view, made by Go's HTTP client", () => {
  it('lists, inspects and follows events as the registrator does', async () => {
    expect(spawnSync('go', ['version']).status, 'no Go toolchain: scripts/ensure-test-tools.sh installs golang-go').toBe(0);
    const view = await startView();
    const program = join(dir, 'replay.go');
    await writeFile(program, GO_REPLAY);
    const child = spawn('go', ['run', program, new URL(view).host, alphaApp.Id, betaApp.Id], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GO111MODULE: 'off' } });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk) => (output += chunk.toString()));
    await waitUntil(() => engine.openStreams === 1, 120_000);
    engine.containerEvent('start', betaApp);
    engine.containerEvent('start', alphaApp);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(output).toContain('list: 4');
    expect(output).toContain('list non-exited: 4');
    expect(output).toContain(`inspect own: 200 /alpha-a1-1`);
    expect(output).toContain('inspect other: 404');
    expect(output).toContain(`event: start ${alphaApp.Id}`);
    expect(code, output).toBe(0);
  }, 180_000);
});

const GO_REPLAY = `package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

type event struct {
	Status string
	ID     string
	Time   int64
}

func main() {
	host, own, other := os.Args[1], os.Args[2], os.Args[3]
	client := &http.Client{}
	get := func(path string) *http.Response {
		response, err := client.Get("http://" + host + path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		return response
	}
	var listed []map[string]interface{}
	response := get("/containers/json?")
	json.NewDecoder(response.Body).Decode(&listed)
	fmt.Println("list:", len(listed))
	query := url.Values{}
	filters, _ := json.Marshal(map[string][]string{"status": {"created", "restarting", "running", "paused"}})
	query.Add("filters", string(filters))
	response = get("/containers/json?" + query.Encode())
	json.NewDecoder(response.Body).Decode(&listed)
	fmt.Println("list non-exited:", len(listed))
	var inspected struct{ Name string }
	response = get("/containers/" + own + "/json")
	json.NewDecoder(response.Body).Decode(&inspected)
	fmt.Println("inspect own:", response.StatusCode, inspected.Name)
	fmt.Println("inspect other:", get("/containers/"+other+"/json").StatusCode)

	dial, err := net.Dial("tcp", host)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	conn := httputil.NewClientConn(dial, nil)
	request, _ := http.NewRequest("GET", "/events", nil)
	res, err := conn.Do(request)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	decoder := json.NewDecoder(res.Body)
	var e event
	if err := decoder.Decode(&e); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("event:", e.Status, e.ID)
}
`;

function readLines(response: IncomingMessage): { next(): Promise<Record<string, unknown> | undefined> } {
  const queue: string[] = [];
  const waiting: Array<(line: string | undefined) => void> = [];
  let buffer = '';
  let ended = false;
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else queue.push(line);
    }
  });
  response.on('end', () => {
    ended = true;
    for (const waiter of waiting.splice(0)) waiter(undefined);
  });
  return {
    next: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no event line within 5 s')), 5000);
        const settle = (line: string | undefined) => {
          clearTimeout(timer);
          resolve(line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>));
        };
        const line = queue.shift();
        if (line !== undefined) settle(line);
        else if (ended) settle(undefined);
        else waiting.push(settle);
      }),
  };
}

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
