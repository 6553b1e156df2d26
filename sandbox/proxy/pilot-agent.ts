/**
 * STAND-IN for Istio's pilot-agent (mesh-local sandbox), with Debian's nginx in Envoy's place.
 * Like the real `pilot-agent proxy`, it is the sidecar's parent process: it reads upstream's
 * command line (parsed with that version's flag set, so an unknown flag is refused as the real
 * binary refuses it), asks pilot at `--discoveryAddress` which service instances live at this
 * network namespace's address (`GET /v1/registration`, every second, as Envoy v1 polled pilot),
 * and runs the proxy with that configuration, reloading it when the answer changes.
 *
 * The proxy (nginx, uid 1337) listens on 15001, where the init step's iptables rules send every
 * captured connection: one that arrived for this namespace's own address is inbound and goes to
 * the app on 127.0.0.1:<its first registered port>; one redirected from the app's own outgoing
 * traffic arrives for 127.0.0.1 and goes to its original destination by Host. Every request is one
 * access-log line on stdout, tagged with `--serviceCluster`. 127.0.0.1:15000 answers where
 * Envoy's admin port would. It takes no route rules: pilot computes none here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { pathToFileURL } from 'node:url';
import { readUpstreamCommandLine, type UpstreamCommandLine } from '../common/upstream-cli.js';

export const PILOT_AGENT = '/usr/local/bin/pilot-agent';
const TEMPLATE = '/etc/mesh-local/nginx.conf.template';
const RUN_DIR = '/tmp/nginx';
const POLL_MS = 1000;

export interface AgentOptions {
  serviceCluster: string;
  /** `istio-pilot:15007` */
  discoveryAddress: string;
}

/** Reads `pilot-agent proxy ...` as upstream's sidecar templates start it. */
export function optionsFromCommandLine(commandLine: UpstreamCommandLine): AgentOptions {
  if (commandLine.subcommand !== 'proxy') throw new Error(`the stand-in runs 'pilot-agent proxy' only, not '${commandLine.subcommand || '(no subcommand)'}'`);
  const discoveryAddress = commandLine.string('discoveryAddress');
  if (!discoveryAddress) throw new Error('--discoveryAddress is empty');
  return { serviceCluster: commandLine.string('serviceCluster') || 'istio-proxy', discoveryAddress };
}

interface Registration {
  'service-key': string;
  hosts: { ip_address: string; port: number }[];
}

/** Ports of the instances pilot lists at one of `addresses`, sorted, each once. */
export function inboundPorts(registrations: Registration[], addresses: string[]): number[] {
  const ports = new Set<number>();
  for (const registration of registrations) {
    for (const host of registration.hosts ?? []) if (addresses.includes(host.ip_address)) ports.add(host.port);
  }
  return [...ports].sort((a, b) => a - b);
}

/** This namespace's own IPv4 addresses (the app's, since the sidecar shares its namespace). */
export function ownAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((address) => address !== undefined && address.family === 'IPv4' && !address.internal)
    .map((address) => address!.address);
}

/** nginx's configuration for a cluster and the app port (`undefined`: inbound answers 503). */
export function nginxConfig(template: string, cluster: string, appPort: number | undefined): string {
  return template
    .replaceAll('@CLUSTER@', cluster)
    .replaceAll('@INBOUND@', appPort === undefined ? 'no-listener' : `127.0.0.1:${appPort}`);
}

async function fetchRegistrations(discoveryAddress: string): Promise<Registration[]> {
  const response = await fetch(`http://${discoveryAddress}/v1/registration`, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new Error(`pilot answered HTTP ${response.status}`);
  return (await response.json()) as Registration[];
}

async function run(options: AgentOptions): Promise<void> {
  const template = await readFile(TEMPLATE, 'utf8');
  await mkdir(RUN_DIR, { recursive: true });
  const configFile = `${RUN_DIR}/nginx.conf`;
  let appPort: number | undefined;
  console.log(`pilot-agent stand-in: cluster ${options.serviceCluster}; asking pilot at ${options.discoveryAddress} for this address's instances`);
  let lastProblem = '';
  const lookup = async (): Promise<number[] | undefined> => {
    try {
      const ports = inboundPorts(await fetchRegistrations(options.discoveryAddress), ownAddresses());
      lastProblem = '';
      return ports;
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error);
      // One line per distinct problem, as Envoy logs a failing fetch, not one per poll.
      if (problem !== lastProblem) console.error(`pilot-agent stand-in: cannot fetch from pilot at ${options.discoveryAddress} (retrying): ${problem}`);
      lastProblem = problem;
      return undefined;
    }
  };
  const describe = (ports: number[]) =>
    `pilot-agent stand-in: inbound ${ports[0] === undefined ? 'none yet (pilot lists no instance at this address)' : `to 127.0.0.1:${ports[0]}`}${ports.length > 1 ? ` (first of ${ports.join(', ')})` : ''}`;
  // The first answer goes into nginx's first configuration: a reload signal sent before nginx has
  // set up its handlers would kill it.
  const first = (await lookup()) ?? [];
  appPort = first[0];
  await writeFile(configFile, nginxConfig(template, options.serviceCluster, appPort));
  console.log(describe(first));

  const nginx: ChildProcess = spawn('nginx', ['-c', configFile, '-e', '/dev/stderr', '-g', 'daemon off;'], { stdio: 'inherit' });
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopping = true;
      nginx.kill('SIGTERM');
    });
  }
  nginx.once('exit', (code, signal) => {
    if (!stopping) console.error(`pilot-agent stand-in: the proxy exited (${signal ?? `code ${code}`})`);
    process.exit(stopping ? 0 : (code ?? 1));
  });

  setInterval(() => {
    void lookup().then(async (ports) => {
      if (ports === undefined || ports[0] === appPort) return;
      appPort = ports[0];
      await writeFile(configFile, nginxConfig(template, options.serviceCluster, appPort));
      nginx.kill('SIGHUP'); // nginx re-reads its configuration without dropping connections
      console.log(describe(ports));
    });
  }, POLL_MS);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Not runMain: the stand-in lives as long as its nginx child, not as a server of its own.
  const commandLine = readUpstreamCommandLine('pilot-agent stand-in', PILOT_AGENT);
  Promise.resolve()
    .then(() => run(optionsFromCommandLine(commandLine)))
    .catch((error: unknown) => {
      console.error(`pilot-agent stand-in: cannot start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
}
