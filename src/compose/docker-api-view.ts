/**
 * The Docker API view: what one project's registrator sees of the Docker Engine.
 *
 * Upstream's registrators (gliderlabs/registrator, the ijsnellf fork) list every container of the
 * engine and follow every event (bridge/bridge.go `Sync`: `ListContainers` with no filter;
 * registrator.go: `AddEventListener`), and have no flag to narrow that down. Two projects on one
 * engine then register each other's containers. What they do offer is `DOCKER_HOST`, read by
 * go-dockerclient's `NewClientFromEnv`: pointed at this view instead of the engine's socket, they
 * see only their own project. The program is mesh-local's (plain Node.js, no dependencies) and runs
 * on the `node` image in both image sets, from a file the document mounts.
 *
 * What it serves, on port 2375 of a network only the registrator shares with it:
 * - `GET`/`HEAD /_ping` and `GET /version`, passed through;
 * - `GET /containers/json`: the engine's answer to the client's own query, less every container
 *   outside the view;
 * - `GET /containers/{id}/json`: the engine's answer for a container in the view, else 404
 *   `No such container`, as the engine says it (go-dockerclient makes that `NoSuchContainer`);
 * - `GET /events`: the engine's stream for the client's query, passed on event by event as it
 *   comes (never buffered), less events of other objects and of containers outside the view;
 * - everything else, and every other method: 403. The socket's `:ro` mount never stopped writes
 *   (a socket is not a file); this does.
 * Paths may carry an API version (`/v1.24/containers/json`), and are passed on with it.
 *
 * In the view: containers labelled with its own Compose project (the label Compose puts on every
 * container), and containers attached to one of the project's networks, directly or through the
 * network namespace they share (`network_mode: service:x`): apps another Compose file joined to
 * the mesh with `mesh-local inject`. The view finds its project on its own container, which it
 * finds in /proc/self/mountinfo (else by host name); a container without the label makes it exit
 * rather than serve the whole engine.
 */
import { FILES_DIR, GENERATED_MARKER, type RenderedFile } from './mesh-files.js';

export const DOCKER_API_VIEW_SERVICE = 'registrator-docker-api';
export const DOCKER_API_VIEW_PORT = 2375;
export const DOCKER_API_VIEW_DIR = `${FILES_DIR}/docker-api-view`;
export const DOCKER_API_VIEW_MOUNT = '/docker-api-view';
export const DOCKER_API_VIEW_SCRIPT = `${DOCKER_API_VIEW_MOUNT}/docker-api-view.sh`;

/**
 * The program, CommonJS for Node.js 18 (Debian bookworm's, in the sandbox image) and later.
 * `String.raw`: backslashes reach the file as written; the program uses no backticks or `${`.
 * Environment, for tests: DOCKER_API_VIEW_SOCKET (default /var/run/docker.sock),
 * DOCKER_API_VIEW_PORT (default 2375; 0 picks one, logged), DOCKER_API_VIEW_SELF (its own
 * container, when it does not run in one).
 */
export const DOCKER_API_VIEW_PROGRAM = String.raw`'use strict';
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');

const SOCKET = process.env.DOCKER_API_VIEW_SOCKET || '/var/run/docker.sock';
const PORT = Number(process.env.DOCKER_API_VIEW_PORT || '2375');
const PROJECT_LABEL = 'com.docker.compose.project';
// How long the project's network list is trusted before it is read again.
const NETWORKS_TTL_MS = 5000;
const ALLOWED = 'GET /_ping, /version, /containers/json, /containers/{id}/json, /events';
// Headers of the engine's answer that do not describe a body this program rewrites or streams.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

const view = { project: '', networks: new Map(), networksReadAt: 0, verdicts: new Map() };

function log(line) {
  console.log('docker-api-view: ' + line);
}

/** A request to the engine; resolves once its answer's headers arrive. */
function engine(method, path) {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: SOCKET, path: path, method: method, headers: { host: 'docker' } });
    request.once('response', resolve);
    request.once('error', reject);
    request.end();
  });
}

function readBody(message) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    message.on('data', (chunk) => chunks.push(chunk));
    message.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    message.once('error', reject);
  });
}

async function engineJson(path) {
  const answer = await engine('GET', path);
  const text = await readBody(answer);
  if (answer.statusCode !== 200) return { status: answer.statusCode, text: text };
  return { status: 200, text: text, value: JSON.parse(text) };
}

/** A container's inspect document; undefined when the engine has no such container. */
async function inspect(id) {
  const answer = await engineJson('/containers/' + encodeURIComponent(id) + '/json');
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error('inspecting ' + id + ': HTTP ' + answer.status + ' ' + answer.text.trim());
  return answer.value;
}

/** The networks labelled with the project (Compose labels those it creates), by ID. */
async function projectNetworks() {
  if (Date.now() - view.networksReadAt < NETWORKS_TTL_MS) return view.networks;
  const filters = encodeURIComponent(JSON.stringify({ label: [PROJECT_LABEL + '=' + view.project] }));
  const answer = await engineJson('/networks?filters=' + filters);
  if (answer.status !== 200) throw new Error('listing networks: HTTP ' + answer.status + ' ' + answer.text.trim());
  const networks = new Map(answer.value.map((network) => [network.Id, network.Name]));
  const changed = networks.size !== view.networks.size || [...networks.keys()].some((id) => !view.networks.has(id));
  // A container judged outside may be attached to a network that is new to the project.
  if (changed) for (const [id, inside] of view.verdicts) if (!inside) view.verdicts.delete(id);
  view.networks = networks;
  view.networksReadAt = Date.now();
  return networks;
}

/**
 * Whether a container (list entry or inspect document) is in the view: true or false, or the ID
 * of the container whose network namespace it shares, which decides for it.
 */
function ownVerdict(container, networks) {
  const labels = container.Labels || (container.Config && container.Config.Labels) || {};
  if (labels[PROJECT_LABEL] === view.project) return true;
  const attached = (container.NetworkSettings && container.NetworkSettings.Networks) || {};
  for (const name of Object.keys(attached)) {
    if (attached[name] && networks.has(attached[name].NetworkID)) return true;
  }
  const mode = (container.HostConfig && container.HostConfig.NetworkMode) || '';
  return mode.startsWith('container:') ? mode.slice('container:'.length) : false;
}

/** lookup(id) may find the namespace's owner without asking the engine (in a list being filtered). */
async function inView(container, lookup, depth) {
  const verdict = ownVerdict(container, await projectNetworks());
  if (typeof verdict !== 'string') return verdict;
  if ((depth || 0) >= 3) return false;
  const owner = (lookup && lookup(verdict)) || (await inspect(verdict));
  return owner ? inView(owner, lookup, (depth || 0) + 1) : false;
}

/** Events carry the container's labels; a container of another project is inspected once. */
async function eventInView(event) {
  const actor = event.Actor || {};
  const attributes = actor.Attributes || {};
  if (event.Type === 'network' && attributes.container) {
    // Attached or detached: judge the container again at its next event.
    view.verdicts.delete(attributes.container);
    return false;
  }
  if (event.Type !== undefined && event.Type !== 'container') return false;
  const id = actor.ID || event.id;
  if (!id) return false;
  let inside;
  if (attributes[PROJECT_LABEL] === view.project) inside = true;
  else if (view.verdicts.has(id)) inside = view.verdicts.get(id);
  else {
    const container = await inspect(id);
    inside = container ? await inView(container) : false;
    if (container) view.verdicts.set(id, inside);
  }
  if ((event.Action || event.status) === 'destroy') view.verdicts.delete(id);
  return inside;
}

function headersOf(answer) {
  const headers = {};
  for (const name of Object.keys(answer.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = answer.headers[name];
  return headers;
}

function relay(answer, response) {
  response.writeHead(answer.statusCode, Object.assign(headersOf(answer), answer.headers['content-length'] ? { 'content-length': answer.headers['content-length'] } : {}));
  answer.pipe(response);
}

function sendJson(response, status, value, headers) {
  const body = JSON.stringify(value) + '\n';
  response.writeHead(status, Object.assign({}, headers || {}, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }));
  response.end(body);
}

async function listContainers(target, response) {
  const answer = await engine('GET', target);
  if (answer.statusCode !== 200) return relay(answer, response);
  const all = JSON.parse(await readBody(answer));
  const lookup = (id) => all.find((container) => container.Id === id || (id.length >= 12 && container.Id.startsWith(id)));
  const visible = [];
  for (const container of all) {
    const inside = await inView(container, lookup);
    view.verdicts.set(container.Id, inside);
    if (inside) visible.push(container);
  }
  sendJson(response, 200, visible, headersOf(answer));
}

async function inspectContainer(target, id, response) {
  const answer = await engine('GET', target);
  if (answer.statusCode !== 200) return relay(answer, response);
  const text = await readBody(answer);
  const container = JSON.parse(text);
  const inside = await inView(container);
  view.verdicts.set(container.Id, inside);
  if (!inside) return sendJson(response, 404, { message: 'No such container: ' + id });
  response.writeHead(200, Object.assign(headersOf(answer), { 'content-length': Buffer.byteLength(text) }));
  response.end(text);
}

async function followEvents(target, response) {
  const answer = await engine('GET', target);
  if (answer.statusCode !== 200) return relay(answer, response);
  response.writeHead(200, headersOf(answer));
  response.flushHeaders();
  let buffer = '';
  let queue = Promise.resolve();
  // One at a time, in the engine's order; an event waits only for the inspect its container needs.
  const forward = (line) => {
    queue = queue.then(async () => {
      let event;
      try {
        event = JSON.parse(line);
      } catch (error) {
        return;
      }
      const inside = await eventInView(event).catch((error) => {
        log('event dropped, its container could not be judged: ' + error.message);
        return false;
      });
      if (inside) response.write(line + '\n');
    });
  };
  answer.setEncoding('utf8');
  answer.on('data', (chunk) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== '') forward(line);
    }
  });
  answer.once('end', () => {
    if (buffer.trim() !== '') forward(buffer.trim());
    queue.then(() => response.end());
  });
  answer.once('close', () => {
    if (!answer.complete) response.destroy();
  });
  response.once('close', () => answer.destroy());
}

async function handle(request, response) {
  const url = new URL(request.url || '/', 'http://view');
  // What is checked is what is passed on: the path as URL parsing normalised it.
  const target = url.pathname + url.search;
  const path = url.pathname.replace(/^\/v[0-9]+(\.[0-9]+)*(?=\/)/, '');
  const inspected = /^\/containers\/([^/]+)\/json$/.exec(path);
  if (request.method === 'HEAD' && path === '/_ping') return relay(await engine('HEAD', target), response);
  if (request.method === 'GET') {
    if (path === '/_ping' || path === '/version') return relay(await engine('GET', target), response);
    if (path === '/containers/json') return listContainers(target, response);
    if (inspected) return inspectContainer(target, decodeURIComponent(inspected[1]), response);
    if (path === '/events') return followEvents(target, response);
  }
  sendJson(response, 403, { message: 'mesh-local docker-api-view: ' + request.method + ' ' + path + ' is not served; read-only, for registrator: ' + ALLOWED });
}

/** Its own container: from the engine's bind mounts (/etc/hostname and the like), else the host name. */
function ownContainerId() {
  if (process.env.DOCKER_API_VIEW_SELF) return process.env.DOCKER_API_VIEW_SELF;
  try {
    const match = /\/containers\/([0-9a-f]{64})\//.exec(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    if (match) return match[1];
  } catch (error) {
    // No /proc: fall back to the host name, which Docker sets to the short container ID.
  }
  return os.hostname();
}

async function main() {
  const self = ownContainerId();
  const own = await inspect(self);
  if (!own) throw new Error('cannot find its own container (' + self + ') through ' + SOCKET);
  const project = (own.Config && own.Config.Labels && own.Config.Labels[PROJECT_LABEL]) || '';
  if (project === '') throw new Error('its container ' + own.Name + ' has no ' + PROJECT_LABEL + ' label (not started by Compose); refusing to serve the whole engine');
  view.project = project;
  const networks = await projectNetworks();
  // go-dockerclient's hijacked /events request carries an empty Host header (Go writes one
  // even then); a client that sends none is served too.
  const server = http.createServer({ requireHostHeader: false, requestTimeout: 0 }, (request, response) => {
    handle(request, response).catch((error) => {
      log(request.method + ' ' + request.url + ': ' + error.message);
      if (!response.headersSent) sendJson(response, 500, { message: 'mesh-local docker-api-view: ' + error.message });
      else response.destroy();
    });
  });
  server.listen(PORT, () => {
    log('serving project ' + project + ' (and containers on its networks ' + [...networks.values()].join(', ') + ') read-only on port ' + server.address().port);
  });
}

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
main().catch((error) => {
  console.error('docker-api-view: ' + error.message);
  process.exit(1);
});
`;

const DELIMITER = 'MESH_LOCAL_DOCKER_API_VIEW';

/**
 * A shell script, so that it can carry the generated-file marker (mesh-local never overwrites a
 * file without it; JavaScript cannot start a line with `#` after the first): it hands the
 * program to Node.js on standard input.
 */
export function dockerApiViewFile(): RenderedFile {
  const content = `#!/bin/sh
${GENERATED_MARKER} The registrator's Docker API: read-only, only this project's containers.
exec node - <<'${DELIMITER}'
${DOCKER_API_VIEW_PROGRAM}${DELIMITER}
`;
  return { path: `${DOCKER_API_VIEW_DIR}/docker-api-view.sh`, content, mode: 0o755 };
}
