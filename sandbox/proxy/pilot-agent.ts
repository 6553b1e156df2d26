/**
 * STAND-IN for Istio's pilot-agent (mesh-local sandbox), running mesh-local's Envoy stand-in
 * (./envoy.ts, TypeScript, not Envoy) in-process where the real agent would spawn Envoy. Like the
 * real `pilot-agent proxy`, it reads upstream's command line (parsed with that version's flag set,
 * so an unknown flag is refused as the real binary refuses it) and derives the proxy's service node
 * as pilot/cmd/pilot-agent/main.go @ 0.8.0 does: `--ip` or this namespace's first private IPv4
 * address, `--id`/`--domain` or the `--serviceregistry`'s defaults (Consul: `<ip>.service.consul`,
 * `service.consul`; Eureka: `<ip>`, ``), the node type from the positional (sidecar).
 *
 * The Envoy stand-in polls pilot at `--discoveryAddress` every `--discoveryRefreshDelay` for its
 * listeners, clusters, routes and SDS hosts, listens on 15001 where the init step's iptables rules
 * send every captured connection, answers Envoy's admin paths on 127.0.0.1:`--proxyAdminPort`, and
 * writes one access-log line per request on stdout, tagged with `--serviceCluster`. It runs as uid
 * 1337, whose own traffic the iptables rules let through.
 */
import { networkInterfaces } from 'node:os';
import { pathToFileURL } from 'node:url';
import { serviceNode, type ServiceRegistryName } from '../common/envoy-v1.js';
import { readUpstreamCommandLine, type UpstreamCommandLine } from '../common/upstream-cli.js';
import { startEnvoyStandin, type RunningEnvoyStandin } from './envoy.js';

export const PILOT_AGENT = '/usr/local/bin/pilot-agent';
/** Where istio-iptables.sh REDIRECTs every captured connection (Envoy's virtual listener). */
export const CAPTURE_PORT = 15001;

export interface AgentOptions {
  serviceCluster: string;
  /** `istio-pilot:15007` */
  discoveryAddress: string;
  serviceRegistry: ServiceRegistryName;
  /** `--ip`, when given. */
  ip?: string;
  id?: string;
  domain?: string;
  /** `sidecar` unless the positional says otherwise. */
  nodeType: string;
  adminPort: number;
  refreshDelayMs: number;
}

const REGISTRIES: readonly ServiceRegistryName[] = ['Consul', 'Eureka', 'Kubernetes'];

/** Reads `pilot-agent proxy ...` as upstream's sidecar templates start it; throws on what the stand-in cannot run. */
export function optionsFromCommandLine(commandLine: UpstreamCommandLine): AgentOptions {
  if (commandLine.subcommand !== 'proxy') throw new Error(`the stand-in runs 'pilot-agent proxy' only, not '${commandLine.subcommand || '(no subcommand)'}'`);
  const discoveryAddress = commandLine.string('discoveryAddress');
  if (!discoveryAddress) throw new Error('--discoveryAddress is empty');
  const registry = commandLine.string('serviceregistry') ?? 'Kubernetes';
  if (!REGISTRIES.includes(registry as ServiceRegistryName)) throw new Error(`--serviceregistry '${registry}' is not one of ${REGISTRIES.join(', ')}`);
  return {
    serviceCluster: commandLine.string('serviceCluster') || 'istio-proxy',
    discoveryAddress,
    serviceRegistry: registry as ServiceRegistryName,
    ip: commandLine.string('ip') || undefined,
    id: commandLine.string('id') || undefined,
    domain: commandLine.given('domain') ? (commandLine.string('domain') ?? '') : undefined,
    nodeType: commandLine.positionals[0] || 'sidecar',
    adminPort: commandLine.int('proxyAdminPort') ?? 15000,
    refreshDelayMs: commandLine.durationMs('discoveryRefreshDelay') || 1000,
  };
}

/** This namespace's own IPv4 addresses (the app's, since the sidecar shares its namespace). */
export function ownAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((address) => address !== undefined && address.family === 'IPv4' && !address.internal)
    .map((address) => address!.address);
}

/**
 * The proxy's service node, `type~ip~id~domain` (pilot-agent main.go @ 0.8.0): the flags when
 * given, else the registry's defaults for `ip` (see serviceNode). Without a private address pilot-
 * agent falls back to 127.0.0.1, as here.
 */
export function nodeOf(options: AgentOptions, addresses: string[]): string {
  const ip = options.ip ?? addresses[0] ?? '127.0.0.1';
  const defaults = serviceNode(options.serviceRegistry, ip).split('~');
  return [options.nodeType, ip, options.id ?? defaults[2], options.domain ?? defaults[3]].join('~');
}

async function run(options: AgentOptions): Promise<RunningEnvoyStandin> {
  const node = nodeOf(options, ownAddresses());
  console.log(`pilot-agent stand-in: cluster ${options.serviceCluster}; asking pilot at ${options.discoveryAddress} for this proxy's configuration (node ${node})`);
  return startEnvoyStandin({
    discoveryAddress: options.discoveryAddress,
    serviceCluster: options.serviceCluster,
    node,
    listenPort: CAPTURE_PORT,
    adminPort: options.adminPort,
    ownAddresses,
    log: (line) => console.log(line),
    pollIntervalMs: options.refreshDelayMs,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const commandLine = readUpstreamCommandLine('pilot-agent stand-in', PILOT_AGENT);
  Promise.resolve()
    .then(() => run(optionsFromCommandLine(commandLine)))
    .then(
      (proxy) => {
        const stop = () => void proxy.close().finally(() => process.exit(0));
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      },
      (error: unknown) => {
        console.error(`pilot-agent stand-in: cannot start: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
}
