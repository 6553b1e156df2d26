import type { IstioVersion } from '../model/istio-versions.js';
import type { RegistryKind } from '../model/mesh.js';
import { LABELS, type ComposeService, type DependsOnCondition } from './compose-spec.js';
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

export interface SidecarTarget {
  /** Compose service whose network namespace the sidecar joins. */
  service: string;
  /** Ports the app listens on; inbound capture covers them. */
  ports: number[];
  /** The app's Compose profiles: its sidecars must be enabled exactly when it is. */
  profiles?: string[];
}

export interface SidecarSettings {
  version: IstioVersion;
  registry: RegistryKind;
  images: { proxyInit: string; proxy: string };
  tracing: boolean;
  /**
   * How the proxy waits for pilot (`service_healthy` where pilot's image can check itself), when
   * pilot is in the same Compose document; `undefined` adds no `depends_on` on pilot.
   */
  pilotCondition: DependsOnCondition | undefined;
}

export function sidecarServiceNames(service: string): { init: string; proxy: string } {
  return { init: `${service}-istio-init`, proxy: `${service}-istio-proxy` };
}

export function discoveryAddress(version: IstioVersion): string {
  return `${PILOT_SERVICE}:${version.pilot.discoveryPort}`;
}

/**
 * The init and proxy services for one app. Both join the app's network namespace with
 * `network_mode: service:<app>` (never a container name, which Compose v1 and v2 spell differently);
 * the proxy starts only after the init step exited 0.
 */
export function sidecarServices(
  target: SidecarTarget,
  settings: SidecarSettings,
): Record<string, ComposeService> {
  const names = sidecarServiceNames(target.service);
  const networkMode = `service:${target.service}`;
  const profiles = target.profiles && target.profiles.length > 0 ? { profiles: [...target.profiles] } : {};
  const init: ComposeService = {
    image: settings.images.proxyInit,
    ...initProcess(settings.version, target.ports),
    network_mode: networkMode,
    ...profiles,
    cap_add: ['NET_ADMIN'],
    restart: 'no',
    environment: { SERVICE_IGNORE: '1' },
    labels: {
      [LABELS.role]: 'sidecar-init',
      [LABELS.component]: 'istio-init',
      [LABELS.sidecarFor]: target.service,
    },
    depends_on: { [target.service]: { condition: 'service_started' } },
  };
  const proxy: ComposeService = {
    image: settings.images.proxy,
    user: String(PROXY_UID),
    entrypoint: [PILOT_AGENT],
    command: proxyArgs(settings, target.service),
    ...proxyHealthcheck(settings.version),
    network_mode: networkMode,
    ...profiles,
    environment: { SERVICE_IGNORE: '1' },
    labels: {
      [LABELS.role]: 'sidecar-proxy',
      [LABELS.component]: 'istio-proxy',
      [LABELS.sidecarFor]: target.service,
    },
    depends_on: {
      [names.init]: { condition: 'service_completed_successfully' },
      ...(settings.pilotCondition ? { [PILOT_SERVICE]: { condition: settings.pilotCondition } } : {}),
    },
  };
  return { [names.init]: init, [names.proxy]: proxy };
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
