import type { IstioVersion } from '../model/istio-versions.js';
import type { RegistryKind } from '../model/mesh.js';
import { LABELS, type ComposeService, type DependsOnCondition, type ServiceRole } from './compose-spec.js';
import { httpHealthcheck } from './healthchecks.js';

/** Port the proxy's redirect listener takes all captured traffic on. */
export const REDIRECT_PORT = 15001;
/** The proxy runs as this uid; the init rules let its own traffic pass uncaptured. */
export const PROXY_UID = 1337;
/** Compose service name of pilot; sidecars reach it by this name on the mesh network. */
export const PILOT_SERVICE = 'istio-pilot';
export const ZIPKIN_ADDRESS = 'zipkin:9411';
/** Envoy's admin port inside the app's namespace (127.0.0.1 only). */
export const PROXY_ADMIN_PORT = 15000;
/** Writable for uid 1337 in proxy_debug, unlike /etc/istio/proxy. */
const PROXY_CONFIG_PATH = '/var/lib/istio';
const PILOT_AGENT = '/usr/local/bin/pilot-agent';

/** Role label of the pod's namespace holder. */
export const POD_ROLE: ServiceRole = 'pod';

export interface PodTarget {
  /** The app's Compose service: keeps its name, so `logs`, `exec` and `depends_on` on it still work. */
  service: string;
  /** Ports the app listens on; inbound capture covers them. */
  ports: number[];
  /** The app's Compose profiles: its pod must be enabled exactly when it is. */
  profiles?: string[];
  /**
   * What the pod takes over from the app, because Docker refuses it next to a shared network
   * namespace or because it belongs to the namespace: networks and aliases, published and exposed
   * ports, hostname, DNS settings, extra hosts, MAC address, net.* sysctls, and the registrator's
   * `SERVICE_*` settings (so the instance is registered at the pod's address).
   */
  network: Partial<ComposeService> & Record<string, unknown>;
}

export interface SidecarSettings {
  version: IstioVersion;
  registry: RegistryKind;
  images: { pause: string; proxyInit: string; proxy: string };
  tracing: boolean;
  /**
   * How the proxy waits for pilot (`service_healthy` where pilot's image can check itself), when
   * pilot is in the same Compose document; `undefined` adds no `depends_on` on pilot.
   */
  pilotCondition: DependsOnCondition | undefined;
}

export function podServiceNames(service: string): { pod: string; init: string; proxy: string } {
  return { pod: `${service}-pod`, init: `${service}-istio-init`, proxy: `${service}-istio-proxy` };
}

export function discoveryAddress(version: IstioVersion): string {
  return `${PILOT_SERVICE}:${version.pilot.discoveryPort}`;
}

/** Brings a crashed app or proxy back, into the same namespace; `docker stop` and `down` still stop it. */
export const RESTART_POLICY = 'unless-stopped';

/**
 * The pod of one app instance, as Kubernetes builds one: a pause container that owns the network
 * namespace (everything in `target.network`), the init step that installs the capture rules in
 * it, and the proxy. Each joins the pod with `network_mode: service:<pod>` (never a container
 * name, which Compose v1 and v2 spell differently). Because the namespace belongs to the pod, an
 * app or proxy that restarts rejoins it, rules and all. Start order: pod, then init (exit 0), then
 * the proxy; `podAppSettings` makes the app wait for the proxy.
 */
export function podServices(target: PodTarget, settings: SidecarSettings): Record<string, ComposeService> {
  const names = podServiceNames(target.service);
  const networkMode = `service:${names.pod}`;
  const profiles = target.profiles && target.profiles.length > 0 ? { profiles: [...target.profiles] } : {};
  const memberOf = (role: string, component: string) => ({
    [LABELS.role]: role,
    [LABELS.component]: component,
    [LABELS.sidecarFor]: target.service,
  });
  const pod: ComposeService = {
    image: settings.images.pause,
    ...target.network,
    ...profiles,
    restart: RESTART_POLICY,
    labels: { ...(target.network.labels ?? {}), ...memberOf(POD_ROLE, 'pause') },
  };
  const init: ComposeService = {
    image: settings.images.proxyInit,
    ...initProcess(settings.version, target.ports),
    network_mode: networkMode,
    ...profiles,
    cap_add: ['NET_ADMIN'],
    restart: 'no',
    labels: { ...memberOf('sidecar-init', 'istio-init'), ...REGISTRATOR_IGNORES },
    depends_on: { [names.pod]: { condition: 'service_started' } },
  };
  const proxy: ComposeService = {
    image: settings.images.proxy,
    user: String(PROXY_UID),
    entrypoint: [PILOT_AGENT],
    command: proxyArgs(settings, target.service),
    ...proxyHealthcheck(settings.version),
    network_mode: networkMode,
    ...profiles,
    restart: RESTART_POLICY,
    labels: { ...memberOf('sidecar-proxy', 'istio-proxy'), ...REGISTRATOR_IGNORES },
    depends_on: {
      [names.init]: { condition: 'service_completed_successfully' },
      ...(settings.pilotCondition ? { [PILOT_SERVICE]: { condition: settings.pilotCondition } } : {}),
    },
  };
  return { [names.pod]: pod, [names.init]: init, [names.proxy]: proxy };
}

/**
 * Registrators read `SERVICE_*` from labels as well as the environment (gliderlabs/registrator
 * bridge/util.go `serviceMetaData`); a label keeps the containers' environment as it was. Every
 * pod member but the pod is ignored: it shares the pod's address, and the pod registers it.
 */
export const REGISTRATOR_IGNORES: Readonly<Record<string, string>> = { SERVICE_IGNORE: '1' };

/**
 * What an app needs to join its pod: the shared namespace, the ignore label, and `depends_on`
 * so that it starts only once its traffic is captured and its proxy runs (what later Istio
 * releases call holding the application until the proxy starts).
 */
export function podAppSettings(
  service: string,
  proxy: ComposeService,
): { network_mode: string; depends_on: Record<string, { condition: DependsOnCondition }>; labels: Record<string, string> } {
  const names = podServiceNames(service);
  return {
    network_mode: `service:${names.pod}`,
    labels: { ...REGISTRATOR_IGNORES },
    depends_on: {
      [names.pod]: { condition: 'service_started' },
      [names.init]: { condition: 'service_completed_successfully' },
      [names.proxy]: { condition: proxy.healthcheck ? 'service_healthy' : 'service_started' },
    },
  };
}

/** Envoy's admin port answers once the proxy runs; checked only where the image has curl or wget. */
function proxyHealthcheck(version: IstioVersion): Pick<ComposeService, 'healthcheck'> {
  const healthcheck = httpHealthcheck(version, 'proxy', `http://127.0.0.1:${PROXY_ADMIN_PORT}/server_info`);
  return healthcheck ? { healthcheck: { ...healthcheck, retries: 30 } } : {};
}

/** pilot-agent arguments; the discovery address is always explicit (upstream's default drifted). */
export function proxyArgs(settings: SidecarSettings, serviceCluster: string): string[] {
  const { version } = settings;
  return [
    'proxy',
    ...(version.proxy.hasVerbosityFlag ? ['-v', '2'] : []),
    '--serviceregistry',
    settings.registry === 'consul' ? 'Consul' : 'Eureka',
    '--serviceCluster',
    serviceCluster,
    '--discoveryAddress',
    discoveryAddress(version),
    '--configPath',
    PROXY_CONFIG_PATH,
    ...(settings.tracing ? ['--zipkinAddress', ZIPKIN_ADDRESS] : []),
  ];
}

/**
 * Entrypoint and arguments of the init step, so that it captures inbound and outbound TCP, lets
 * uid 1337 through, and can run again without failing.
 */
export function initProcess(
  version: IstioVersion,
  appPorts: number[],
): Pick<ComposeService, 'entrypoint' | 'command'> {
  const base = ['-p', String(REDIRECT_PORT), '-u', String(PROXY_UID)];
  if (version.init.script === 'istio-iptables') {
    // This script captures nothing unless told to: -i for outbound, -b for inbound (istio/istio#13984).
    // It flushes its own chains first, so it is idempotent as it is.
    const inbound = appPorts.length > 0 ? ['-b', appPorts.join(',')] : [];
    return { command: [...base, '-m', 'REDIRECT', '-i', '*', ...inbound] };
  }
  // prepare_proxy.sh captures everything but fails with "Chain already exists" when re-run
  // (istio/istio#2605): drop its chains first, keeping Docker's own nat rules for embedded DNS.
  // `$$` is Compose's escape for a literal `$`.
  const script = `iptables-save -t nat | grep -v ISTIO_ | iptables-restore; exec ${version.init.scriptPath} "$$@"`;
  return { entrypoint: ['/bin/sh', '-c', script, 'istio-init'], command: base };
}
