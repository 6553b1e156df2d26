import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { readComposeYaml, writeComposeYaml } from '../common/compose-yaml.js';
import { LABELS, type ComposeDocument } from '../compose/compose-spec.js';
import { containerPorts, MESH_NETWORK_KEY, readLabels, type InjectionPolicy } from '../compose/inject.js';
import { GENERATED_MARKER } from '../compose/mesh-files.js';
import { POD_ROLE, podServiceNames } from '../compose/sidecar.js';
import { InterruptedError, isAbortError, PreflightError, ProjectNotRunningError, UsageError } from '../errors.js';
import { findIstioVersion } from '../model/istio-versions.js';
import { buildModel, type FlagValues } from '../model/settings.js';
import type { ProgressEvent, Reporter, ServiceSummary } from '../output/events.js';
import type { ComposeVariant, RunProcess } from '../runtime/compose-cli.js';
import type { ContainerInfo } from '../runtime/containers.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { ComposeCommandError } from '../errors.js';
import { injectCommand } from './inject.js';
import { injectSettings } from './inject-settings.js';
import { writeGeneratedFiles } from './output-files.js';
import { fetchGet, waitForMesh, type HttpGet } from './readiness.js';
import type { Console } from './render.js';
import { loadSettings } from './settings-source.js';

type Mapping = Record<string, unknown>;

/** Label on every service `deploy` starts: the mesh project it was deployed into. */
export const DEPLOYED_INTO_LABEL = 'dev.mesh-local.deployed-into';
/** Label naming the version route rules select (Kubernetes' `version` pod label); default DEFAULT_APP_VERSION. */
export const VERSION_LABEL = 'version';
/** Label naming the service in the registry when SERVICE_NAME is not set (Kubernetes' `app` label); default the Compose service. */
export const APP_LABEL = 'app';
export const DEFAULT_APP_VERSION = 'v1';

/**
 * The Compose project a deployed file runs under: `<mesh project>-<file name without extension>-<8 hex
 * of sha256(absolute path)>`, lowercased to the characters Compose accepts. Each file is a project
 * of its own, so `undeploy -f` removes exactly its containers and networks, never the mesh's or
 * another file's; the hash keeps two `docker-compose.yaml` in different folders apart.
 */
export function appsProjectName(meshProject: string, file: string): string {
  const stem = basename(file, extname(file)).toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '');
  const hash = createHash('sha256').update(resolve(file)).digest('hex').slice(0, 8);
  return `${meshProject}-${stem ? `${stem}-` : ''}${hash}`;
}

/** The injected file `deploy` writes next to its input, so the input's relative paths, `.env`, `extends` and `include` keep their meaning. */
export function deployedFilePath(input: string): string {
  return join(dirname(input), `.mesh-local.${basename(input)}`);
}

/** How an injected app is registered: its registry name and its version. */
export interface Registration {
  name: string;
  version: string;
}

/**
 * Adds what makes an injected document's apps mesh instances, as BookInfo's are (render.ts
 * `appWithSidecar`): on each pod the registrator settings `SERVICE_NAME` (the user's when set, else
 * the `app` label, else the Compose service), `SERVICE_TAGS: version|<version label, default v1>`,
 * `SERVICE_PROTOCOL: http` and `SERVICE_<port>_NAME` (registrator appends `-<port>` to a container
 * exposing several ports otherwise), and the registry name as an alias on the mesh network (the
 * name callers dial, as `reviews` is for BookInfo); on every service the role and the
 * DEPLOYED_INTO_LABEL label. Networks: each pod on the mesh network alone (meshNetworkOnly), the
 * file's own networks it leaves named in a notice, an external one refused (UsageError, exit 2,
 * naming file, service and network); a service without a sidecar joins the mesh network as well,
 * with SERVICE_IGNORE unless it sets SERVICE_* itself, and a notice. Pure: returns a new document,
 * the registrations by Compose service and the notices (one line each, for stderr).
 */
export function registerDeployed(
  document: Mapping,
  injected: readonly string[],
  meshProject: string,
  file: string,
): { document: Mapping; registrations: Record<string, Registration>; notices: string[] } {
  const notices: string[] = [];
  const services = { ...(document.services as Record<string, Mapping>) };
  const registrations: Record<string, Registration> = {};
  const podMembers = new Set(injected.flatMap((name) => Object.values(podServiceNames(name))));
  for (const [name, service] of Object.entries(services)) {
    if (podMembers.has(name)) continue;
    const labels = readLabels(service.labels, file, `services.${name}.labels`);
    if (!injected.includes(name)) {
      const meshDeclared = MESH_NETWORK_KEY in ((document.networks ?? {}) as Mapping);
      if (service.network_mode !== undefined || !meshDeclared) {
        if (!meshDeclared) notices.push(`${file}: services.${name} runs without a sidecar and, with no service injected, stays on the file's own networks, outside the mesh network`);
        services[name] = { ...service, labels: { ...labels, [LABELS.role]: 'app', [DEPLOYED_INTO_LABEL]: meshProject } };
        continue;
      }
      // Outside the mesh but on its network, as a pod without a sidecar is in Kubernetes: it and the
      // mesh's services reach each other by name. Not registered: registrator would name it after
      // its image, and a mesh service's sidecar would route to it as if it had one.
      const own = { ...labels, ...environmentOf(service.environment) };
      const ignore = Object.keys(own).some((key) => key.startsWith('SERVICE_')) ? {} : { SERVICE_IGNORE: '1' };
      services[name] = {
        ...service,
        labels: { ...labels, ...ignore, [LABELS.role]: 'app', [DEPLOYED_INTO_LABEL]: meshProject },
        networks: joinMesh(service.networks),
      };
      notices.push(
        `${file}: services.${name} runs without a sidecar: it joins the mesh network (it and the mesh's services reach each other by name) but is not registered, so route rules do not apply to it and a mesh service's sidecar sends it plain HTTP only on ports no mesh service uses`,
      );
      continue;
    }
    services[name] = { ...service, labels: { ...labels, [LABELS.role]: 'app', [DEPLOYED_INTO_LABEL]: meshProject } };
  }
  for (const app of injected) {
    const names = podServiceNames(app);
    const appLabels = readLabels(services[app]!.labels, file, `services.${app}.labels`);
    const appEnvironment = environmentOf(services[app]!.environment);
    const pod = services[names.pod]!;
    const podLabels = readLabels(pod.labels, file, `services.${names.pod}.labels`);
    // The user's own registrator settings (inject copied them to the pod) win; ours fill in the rest.
    const own = { ...appLabels, ...appEnvironment };
    const registryName = stringOr(own.SERVICE_NAME) ?? stringOr(appLabels[APP_LABEL]) ?? app;
    const version = stringOr(appLabels[VERSION_LABEL]) ?? DEFAULT_APP_VERSION;
    registrations[app] = { name: registryName, version };
    const registration: Record<string, string> = {
      SERVICE_NAME: registryName,
      SERVICE_TAGS: `version|${version}`,
      SERVICE_PROTOCOL: 'http',
    };
    for (const port of containerPorts(pod, file, `services.${names.pod}`)) registration[`SERVICE_${port}_NAME`] = registryName;
    const added = Object.fromEntries(Object.entries(registration).filter(([key]) => own[key] === undefined));
    services[names.pod] = {
      ...pod,
      labels: { ...podLabels, ...added, [DEPLOYED_INTO_LABEL]: meshProject },
      networks: meshNetworkOnly(pod.networks, registryName),
    };
    const dropped = Object.keys((pod.networks ?? {}) as Mapping).filter((network) => network !== MESH_NETWORK_KEY && network !== 'default');
    for (const network of dropped) {
      const definition = ((document.networks ?? {}) as Record<string, Mapping | null>)[network];
      if (definition?.external === true || (typeof definition?.external === 'object' && definition.external !== null)) {
        throw new UsageError(
          `${file}: services.${app}.networks.${network}: network ${network} is external; a deployed pod is on the mesh network only, so services outside this file could no longer reach ${app} on it; nothing was started`,
          { hint: `remove ${network} from services.${app}.networks (reach it through the mesh instead), or opt the service out with the label sidecar.istio.io/inject: "false"` },
        );
      }
    }
    if (dropped.length > 0) {
      notices.push(
        `${file}: services.${app} is on the mesh network instead of ${dropped.join(', ')} (its aliases move with it): every service of this file joins the mesh network, so names still resolve, but ${dropped.join(', ')} no longer keeps services apart`,
      );
    }
    for (const member of [names.init, names.proxy]) {
      const service = services[member]!;
      services[member] = { ...service, labels: { ...readLabels(service.labels, file, `services.${member}.labels`), [DEPLOYED_INTO_LABEL]: meshProject } };
    }
  }
  return { document: { ...document, services }, registrations, notices };
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Environment as a map from either Compose form; a bare `KEY` maps to null. */
function environmentOf(raw: unknown): Record<string, string | null> {
  if (Array.isArray(raw)) {
    return Object.fromEntries(raw.map((item) => String(item)).map((item) => (item.includes('=') ? [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)] : [item, null])));
  }
  if (typeof raw !== 'object' || raw === null) return {};
  return Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, value === null ? null : String(value)]));
}

/**
 * The pod on the mesh network alone, with every alias it had on its other networks plus the
 * registry name (the name callers dial, as `reviews` is for BookInfo). One network, because an
 * Istio 0.8 pod has one address: registrators register one (upstream's gliderlabs/registrator in
 * `-internal` mode the last of a range over the Go map NetworkSettings.Networks, bridge/util.go
 * `servicePort` @ 4322fe0, so at random among several), the sidecar's inbound listeners are bound to
 * that instance address (pilot/pkg/proxy/envoy/v1/config.go `buildInboundListeners` @ 0.8.0), and
 * Docker sends published ports to the network it picks as the gateway. Traffic reaching the pod on
 * another network's address would be refused by its sidecar.
 */
function meshNetworkOnly(raw: unknown, alias: string): Mapping {
  const networks = (raw ?? {}) as Record<string, Mapping | null>;
  const aliases = new Set<string>();
  for (const settings of Object.values(networks)) {
    if (Array.isArray(settings?.aliases)) for (const name of settings.aliases as string[]) aliases.add(name);
  }
  aliases.add(alias);
  return { [MESH_NETWORK_KEY]: { ...(networks[MESH_NETWORK_KEY] ?? {}), aliases: [...aliases] } };
}

/** A service's networks (either Compose form) plus the mesh network; none declared means `default`. */
function joinMesh(raw: unknown): Mapping {
  const entries: Array<[string, unknown]> =
    raw === undefined || raw === null ? [['default', null]] : Array.isArray(raw) ? raw.map((name) => [String(name), null]) : Object.entries(raw as Mapping);
  const networks = Object.fromEntries(entries);
  return MESH_NETWORK_KEY in networks ? networks : { ...networks, [MESH_NETWORK_KEY]: null };
}

/** A name held on the mesh network by an app deployed from a file: its Compose service, or its pod's registry name. */
export interface HeldName {
  name: string;
  /** The Compose project of the file that holds it. */
  project: string;
}

/**
 * The names apps deployed from other files hold on the mesh network: their Compose services, and
 * the registry names of their pods (SERVICE_NAME, label or environment, read by inspecting the pod).
 */
async function heldByDeployed(engine: DockerEngine, containers: readonly ContainerInfo[], signal: AbortSignal): Promise<HeldName[]> {
  const held: HeldName[] = [];
  for (const container of containers) {
    if (container.role !== POD_ROLE) {
      held.push({ name: container.service, project: container.project });
      continue;
    }
    const detail = (await engine.inspectContainer(container.id, signal).catch(() => undefined)) as { Config?: { Labels?: Record<string, string>; Env?: string[] } } | undefined;
    const fromEnv = detail?.Config?.Env?.find((item) => item.startsWith('SERVICE_NAME='))?.slice('SERVICE_NAME='.length);
    const registryName = fromEnv || detail?.Config?.Labels?.SERVICE_NAME;
    if (registryName) held.push({ name: registryName, project: container.project });
  }
  return held;
}

/** The names a prepared file holds, so the files of one `deploy` are checked against each other. */
function heldByPrepared(entry: Prepared): HeldName[] {
  return [...Object.keys(entry.document.services as Mapping), ...Object.values(entry.registrations).map((r) => r.name)].map((name) => ({ name, project: entry.appsProject }));
}

/**
 * Names a deployed service must not take: the mesh project's services, and the registry names of
 * its apps (`productpage` for `productpage-v1`), which are aliases on the mesh network.
 */
export function meshNames(containers: readonly ContainerInfo[]): Set<string> {
  const names = new Set<string>();
  for (const container of containers) {
    names.add(container.service);
    if (container.role === 'app') names.add(container.service.replace(/-v\d+$/, ''));
  }
  return names;
}

/** Host ports a document publishes: `{service, hostIp, port}` for every fixed host port (short and long syntax). */
export function publishedHostPorts(document: Mapping): Array<{ service: string; hostIp: string; port: number }> {
  const found: Array<{ service: string; hostIp: string; port: number }> = [];
  for (const [service, value] of Object.entries((document.services ?? {}) as Record<string, Mapping>)) {
    const ports = value?.ports;
    if (!Array.isArray(ports)) continue;
    for (const spec of ports) {
      if (typeof spec === 'object' && spec !== null) {
        const published = Number((spec as Mapping).published);
        const hostIp = typeof (spec as Mapping).host_ip === 'string' ? ((spec as Mapping).host_ip as string) : '0.0.0.0';
        if (Number.isInteger(published) && published > 0) found.push({ service, hostIp, port: published });
        continue;
      }
      if (typeof spec !== 'string' || spec.includes('$')) continue;
      // [ip:]host:container[/proto]; `ip::container` and `container` publish on any free port.
      const parts = spec.split('/')[0]!.split(':');
      if (parts.length < 2) continue;
      const host = parts.at(-2)!;
      const hostIp = parts.length >= 3 ? parts.slice(0, -2).join(':').replace(/^\[|\]$/g, '') : '0.0.0.0';
      const [low, high] = host.split('-').map(Number);
      if (low === undefined || !Number.isInteger(low) || low < 1) continue;
      for (let port = low; port <= (Number.isInteger(high) ? high! : low) && port - low < 1000; port++) found.push({ service, hostIp, port });
    }
  }
  return found;
}

/** Services Compose starts on `up`: those without profiles, or with one of COMPOSE_PROFILES. */
export function enabledServices(document: Mapping, env: Record<string, string | undefined>): string[] {
  const active = new Set((env.COMPOSE_PROFILES ?? '').split(',').map((name) => name.trim()).filter(Boolean));
  return Object.entries((document.services ?? {}) as Record<string, Mapping>)
    .filter(([, service]) => {
      const profiles = service?.profiles;
      return !Array.isArray(profiles) || profiles.length === 0 || profiles.some((profile) => active.has(String(profile)) || active.has('*'));
    })
    .map(([name]) => name);
}

export interface DeployInput {
  files: string[];
  policy: InjectionPolicy;
  flags: FlagValues & { config?: string };
}

export interface DeployDeps {
  engine: DockerEngine;
  compose: () => Promise<{ variant: ComposeVariant; run: RunProcess }>;
  reporter: Reporter;
  console: Console;
  cwd: string;
  env: Record<string, string | undefined>;
  isPortFree: (host: string, port: number) => Promise<boolean>;
  httpGet?: HttpGet;
  now?: () => number;
}

export interface DeployedFile {
  file: string;
  /** The Compose project it runs under (`status --project`, `logs --project` take it). */
  appsProject: string;
  composeFile: string;
  injected: string[];
  registrations: Record<string, Registration>;
  summary: ServiceSummary[];
}

interface Prepared {
  file: string;
  path: string;
  appsProject: string;
  composeFile: string;
  document: Mapping;
  injected: string[];
  registrations: Record<string, Registration>;
  services: string[];
}

/**
 * `mesh-local deploy`: each file is injected as `inject` does it (same policy table, the running
 * project's registry and Istio version), given registrations like BookInfo's, checked (names that
 * collide with the mesh's: UsageError, exit 2; taken host ports: PreflightError, exit 1; nothing
 * started either way), written next to its input (`.mesh-local.<name>`), started with the Compose
 * CLI as project `appsProjectName` with `--project-directory` the input's folder, and waited for
 * as `up` waits (readiness.ts): pod up, init exited 0, app healthy or running, proxy ready,
 * instance registered with its version. `signal` carries --timeout and Ctrl-C.
 */
export async function deployCommand(input: DeployInput, deps: DeployDeps, signal: AbortSignal): Promise<DeployedFile[]> {
  const now = deps.now ?? Date.now;
  const started = now();
  const context = { cwd: deps.cwd, env: deps.env, engine: () => deps.engine, signal };
  const running = await injectSettings(input.flags, context);
  if (running.message) deps.console.err(`${running.message}\n`);
  const { settings } = await loadSettings(running.flags, context);
  const model = buildModel(settings);
  const version = findIstioVersion(model.istioVersion)!;
  const meshContainers = await deps.engine.projectContainers(model.project, signal);
  const missing = ['pilot', model.registry].filter((component) => !meshContainers.some((c) => c.component === component && c.state === 'running'));
  if (missing.length > 0) throw new ProjectNotRunningError(model.project, missing);
  const taken = meshNames(meshContainers);
  // Apps other files deployed into this mesh hold their names on the mesh network too.
  const held = await heldByDeployed(deps.engine, await deps.engine.labelledContainers(DEPLOYED_INTO_LABEL, model.project, signal), signal);
  const notices: string[] = [];

  // Everything is read and checked before anything starts.
  const prepared: Prepared[] = [];
  for (const file of input.files) {
    const path = resolve(deps.cwd, file);
    const composeFile = deployedFilePath(path);
    const appsProject = appsProjectName(model.project, path);
    const quiet = { out: () => undefined, err: (text: string) => deps.console.err(text) };
    const result = await injectCommand({ file: path, policy: input.policy, output: composeFile, flags: input.flags, settings: running }, context, quiet);
    try {
      const registered = registerDeployed(result.document, result.injected, model.project, file);
      const { document, registrations } = registered;
      const services = Object.keys(document.services as Mapping);
      const wanted = [...services, ...Object.values(registrations).map((entry) => entry.name)];
      const clashes = wanted.filter((name) => taken.has(name));
      if (clashes.length > 0) {
        throw new UsageError(`${file}: service name${clashes.length > 1 ? 's' : ''} ${[...new Set(clashes)].join(', ')} already taken by the mesh of project ${model.project}; nothing was started`, {
          hint: 'rename the service (or its `app` label / SERVICE_NAME): on the mesh network every name resolves to one service',
        });
      }
      const others = new Map([...held.filter((entry) => entry.project !== appsProject), ...prepared.flatMap(heldByPrepared)].map((entry) => [entry.name, entry.project]));
      const shared = [...new Set(wanted.filter((name) => others.has(name)))];
      if (shared.length > 0) {
        const owners = [...new Set(shared.map((name) => `project ${others.get(name)!}`))];
        throw new UsageError(`${file}: service name${shared.length > 1 ? 's' : ''} ${shared.join(', ')} already taken by ${owners.join(', ')} deployed into project ${model.project}; nothing was started`, {
          hint: 'rename the service (or its `app` label / SERVICE_NAME), or undeploy the other file first: on the mesh network every name resolves to one service',
        });
      }
      notices.push(...registered.notices);
      const own = new Set((await deps.engine.projectContainers(appsProject, signal)).flatMap((container) => container.ports.map((port) => port.hostPort)));
      for (const entry of publishedHostPorts(document)) {
        if (own.has(entry.port)) continue;
        if (!(await deps.isPortFree(entry.hostIp, entry.port))) {
          // Inject moved the app's ports to its pod; the user wrote them on the app.
          const owner = result.injected.find((app) => podServiceNames(app).pod === entry.service) ?? entry.service;
          throw new PreflightError(`${file}: services.${owner} publishes host port ${entry.hostIp}:${entry.port}, which is already in use; nothing was started`, {
            hint: 'free the port, or publish another one (or none: "127.0.0.1::<container port>" picks a free one)',
          });
        }
      }
      prepared.push({ file, path, appsProject, composeFile, document, injected: result.injected, registrations, services: enabledServices(document, deps.env) });
    } catch (error) {
      await rm(composeFile, { force: true });
      throw error;
    }
  }
  for (const entry of prepared) {
    // Patched in the document inject wrote, so its YAML (comments, quoting) stays as inject made it.
    const written = await readComposeYaml(entry.composeFile);
    const text = writeComposeYaml(written, entry.document);
    const body = text.startsWith(GENERATED_MARKER) ? text.slice(text.indexOf('\n') + 1) : text;
    await writeGeneratedFiles(dirname(entry.composeFile), [
      { path: basename(entry.composeFile), content: `${GENERATED_MARKER} ${entry.file} deployed into the mesh of project ${model.project} as project ${entry.appsProject}.\n${body}`, mode: 0o644 },
    ]);
  }

  const emit = (event: ProgressEvent) => deps.reporter.emit(event);
  emit({ type: 'start', at: now(), project: model.project, services: prepared.flatMap((entry) => entry.services), imageSet: model.imageSet });
  for (const message of notices) emit({ type: 'notice', at: now(), message });
  const { variant, run } = await deps.compose();
  const outcome: DeployedFile[] = [];
  for (const entry of prepared) {
    emit({ type: 'notice', at: now(), message: `${entry.file}: project ${entry.appsProject}, file ${entry.composeFile}` });
    const composeAbort = new AbortController();
    const argv = [...variant.command, '--project-directory', dirname(entry.path), '-f', entry.composeFile, '-p', entry.appsProject, 'up', '-d', '--remove-orphans'];
    const starting = run(argv, { cwd: dirname(entry.path), signal: AbortSignal.any([signal, composeAbort.signal]) }).then((result) => {
      if (result.exitCode !== 0) throw new ComposeCommandError(argv, result.exitCode, result.stderr.trimEnd().split('\n').slice(-20).join('\n'));
    });
    starting.catch(() => undefined);
    try {
      const progress = await waitForMesh(
        {
          project: entry.appsProject,
          model: { ...model, apps: [] },
          version,
          document: entry.document as unknown as ComposeDocument,
          services: entry.services,
          gatewayCheck: false,
          starting,
          registrations: entry.registrations,
        },
        { engine: withRegistry(deps.engine, entry.appsProject, model.project), httpGet: deps.httpGet ?? fetchGet, emit, now },
        signal,
      );
      const roles = (service: string) => readLabels((entry.document.services as Record<string, Mapping>)[service]?.labels, entry.file, service)[LABELS.role];
      const summary = [...progress.values()]
        .filter((item) => roles(item.service) !== 'sidecar-init')
        .map((item): ServiceSummary => ({ service: item.service, state: item.state, endpoint: item.endpoint, ...(item.readyAt !== undefined ? { readyAfterMs: item.readyAt } : {}) }));
      outcome.push({ file: entry.file, appsProject: entry.appsProject, composeFile: entry.composeFile, injected: entry.injected, registrations: entry.registrations, summary });
    } catch (error) {
      composeAbort.abort();
      const failure = isAbortError(error) ? new InterruptedError('interrupted while waiting') : error;
      emit({ type: 'finish', at: now(), ok: false, summary: [], elapsedMs: now() - started, message: failure instanceof Error ? failure.message.split('\n')[0]! : String(failure) });
      deps.console.err(`${entry.file} is left as it is; remove it with: mesh-local undeploy -f ${entry.file} --project ${model.project}\n`);
      throw failure;
    }
  }
  emit({ type: 'finish', at: now(), ok: true, summary: outcome.flatMap((entry) => entry.summary), elapsedMs: now() - started });
  for (const entry of outcome) {
    const apps = Object.entries(entry.registrations).map(([service, r]) => `${service} (${r.name} ${r.version})`);
    deps.console.out(`deployed ${entry.file} as project ${entry.appsProject}${apps.length > 0 ? `: ${apps.join(', ')}` : ''}\n`);
  }
  return outcome;
}

/**
 * The engine as readiness sees a deployed project: its own containers, plus the mesh project's
 * registry (Consul, Eureka), whose published port the registration check asks.
 */
function withRegistry(engine: DockerEngine, appsProject: string, meshProject: string): Pick<DockerEngine, 'projectContainers' | 'containerLogs'> {
  return {
    containerLogs: (id, tail, signal) => engine.containerLogs(id, tail, signal),
    async projectContainers(project, signal) {
      const own = await engine.projectContainers(project, signal);
      if (project !== appsProject) return own;
      const mesh = await engine.projectContainers(meshProject, signal);
      return [...own, ...mesh.filter((container) => container.role === 'registry')];
    },
  };
}

export interface UndeployInput {
  files: string[];
  flags: FlagValues & { config?: string };
}

/**
 * `mesh-local undeploy`: removes each file's Compose project (containers, its own networks and
 * volumes, found by Compose's project label) and the file `deploy` wrote; the mesh project and
 * other deployed files are left running. A file never deployed is reported, not an error.
 */
export async function undeployCommand(input: UndeployInput, deps: Pick<DeployDeps, 'engine' | 'console' | 'cwd' | 'env'>, signal: AbortSignal): Promise<string[]> {
  const { settings } = await loadSettings(input.flags, { cwd: deps.cwd, env: deps.env });
  const removed: string[] = [];
  for (const file of input.files) {
    const path = resolve(deps.cwd, file);
    const appsProject = appsProjectName(settings.project, path);
    const containers = await deps.engine.projectContainers(appsProject, signal);
    if (containers.length > 0 && !containers.some((container) => container.project === appsProject)) continue;
    await deps.engine.removeProject(appsProject, { volumes: true }, signal);
    const generated = deployedFilePath(path);
    await removeGenerated(generated);
    deps.console.out(containers.length > 0 ? `undeployed ${file}: removed project ${appsProject} (${containers.length} containers)\n` : `${file} was not deployed (project ${appsProject} has no containers)\n`);
    if (containers.length > 0) removed.push(appsProject);
  }
  return removed;
}

/** Removes a file deploy wrote, never one it did not (no marker). */
async function removeGenerated(path: string): Promise<void> {
  try {
    const head = (await readFile(path, 'utf8')).split('\n', 2);
    if (head.some((line) => line.startsWith(GENERATED_MARKER))) await rm(path, { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
