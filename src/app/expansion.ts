/**
 * `mesh-local expansion-config`: what a machine outside Compose (a VM, this host) needs to join the
 * running project's mesh, in the files and formats of Istio 0.8's mesh expansion
 * (install/tools/setupMeshEx.sh, install/tools/setupIstioVM.sh, tools/deb/sidecar.env,
 * tools/deb/istio-start.sh @0.8.0):
 *
 *   cluster.env    ISTIO_SERVICE_CIDR (the range the machine's sidecar intercepts: the mesh network's
 *                  subnet), ISTIO_SYSTEM_NAMESPACE, CONTROL_PLANE_AUTH_POLICY   -> /var/lib/istio/envoy/
 *   sidecar.env    ISTIO_SERVICE, ISTIO_NAMESPACE, ISTIO_INBOUND_PORTS, ISTIO_PILOT_PORT,
 *                  ISTIO_AGENT_FLAGS (--serviceregistry), ISTIO_SVC_IP when known -> /var/lib/istio/envoy/
 *   kubedns        dnsmasq `address=/<name>/<ip>` lines for istio-pilot, istio-mixer, istio-ca (and
 *                  upstream's istio-policy, istio-telemetry, istio-citadel, each also `.istio-system`)
 *                  and every service in the registry                          -> /etc/dnsmasq.d/
 *   root-cert.pem, cert-chain.pem, key.pem   the CA's root and a certificate and key for the
 *                  machine's service account                                    -> /etc/certs/
 *
 * Addresses are the containers' own on the mesh network: reachable from this host when the engine
 * runs on it (Linux), and from a machine routed to that network. Certificates come from the CA's
 * HTTP API as mesh-local's CA stand-in serves it (`GET /root-cert.pem`, `POST /certs`); the real
 * istio_ca 0.8 speaks only gRPC and keeps them in Kubernetes secrets `istio.<sa>` (setupMeshEx.sh
 * reads those with kubectl), which this setup has not.
 *
 * Every file begins with mesh-local's marker (PEM readers skip text before `-----BEGIN`), so a
 * second run replaces them and a file mesh-local did not write is never overwritten.
 */
import { GENERATED_MARKER, type RenderedFile } from '../compose/mesh-files.js';
import { ServiceFailedError } from '../errors.js';
import { deadline } from '../common/deadline.js';
import { ISTIO_SYSTEM_NAMESPACE } from '../model/istio-versions.js';
import type { ContainerInfo } from '../runtime/containers.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { RegistryRequestError, type ListedInstance, type MeshRegistry, type RegistryKind } from '../runtime/mesh-registry.js';
import { requiredEndpointsOf } from './endpoints.js';
import { writeGeneratedFiles } from './output-files.js';
import { SERVICE_ADDRESS_ROLE } from './register.js';
import type { Console } from './render.js';

export const DEFAULT_EXPANSION_DIR = 'mesh-expansion';
export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const DEFAULT_SERVICE_NAMESPACE = 'default';
/** istio-start.sh's ISTIO_SERVICE default @0.8.0. */
const DEFAULT_MACHINE_SERVICE = 'rawvm';
const CA_TIMEOUT_MS = 30_000;

export const EXPANSION_FILES = ['cluster.env', 'sidecar.env', 'kubedns', 'root-cert.pem', 'cert-chain.pem', 'key.pem'] as const;

/** Everything the files say, gathered from the running project. */
export interface ExpansionFacts {
  registry: RegistryKind;
  /** IPv4 subnets of the mesh network. */
  serviceCidrs: string[];
  pilot: { address: string; port: number };
  mixer: string;
  ca: string;
  /** Service name -> the address it resolves to on the mesh network. */
  services: Map<string, string>;
  /** The machine's service (ISTIO_SERVICE) and what `register` holds for it. */
  machine: { service: string; inboundPorts: number[]; ip?: string };
  namespace: string;
  certificates: { rootCert: string; certChain: string; privateKey: string };
}

/** Pure: the files for `facts`, paths relative to the output folder. */
export function expansionFiles(facts: ExpansionFacts): RenderedFile[] {
  const header = (text: string) => `${GENERATED_MARKER} ${text}`;
  const clusterEnv = [
    header('Mesh expansion: install as /var/lib/istio/envoy/cluster.env (setupMeshEx.sh generateClusterEnv, Istio 0.8).'),
    `ISTIO_SERVICE_CIDR=${facts.serviceCidrs.join(',')}`,
    `ISTIO_SYSTEM_NAMESPACE=${ISTIO_SYSTEM_NAMESPACE}`,
    // mesh-local's mesh config sets controlPlaneAuthPolicy NONE (compose/mesh-files.ts).
    'CONTROL_PLANE_AUTH_POLICY=NONE',
    '',
  ].join('\n');
  const registryFlag = facts.registry === 'consul' ? 'Consul' : 'Eureka';
  const sidecarEnv = [
    header('Mesh expansion: install as /var/lib/istio/envoy/sidecar.env (tools/deb/sidecar.env, Istio 0.8).'),
    `ISTIO_SERVICE=${facts.machine.service}`,
    `ISTIO_NAMESPACE=${facts.namespace}`,
    '# Ports of this machine whose inbound traffic goes through its sidecar (empty: none).',
    `ISTIO_INBOUND_PORTS=${facts.machine.inboundPorts.join(',')}`,
    ...(facts.machine.ip ? [`ISTIO_SVC_IP=${facts.machine.ip}`] : []),
    `ISTIO_PILOT_PORT=${facts.pilot.port}`,
    `ISTIO_AGENT_FLAGS="--serviceregistry ${registryFlag}"`,
    '',
  ].join('\n');
  const dns: string[] = [header('Mesh expansion: dnsmasq configuration, install in /etc/dnsmasq.d (setupMeshEx.sh generateDnsmasq, Istio 0.8).')];
  const controlPlane: Array<[string, string]> = [
    ['istio-pilot', facts.pilot.address],
    ['istio-mixer', facts.mixer],
    ['istio-policy', facts.mixer],
    ['istio-telemetry', facts.mixer],
    ['istio-ca', facts.ca],
    ['istio-citadel', facts.ca],
  ];
  for (const [name, address] of controlPlane) dns.push(`address=/${name}/${address}`, `address=/${name}.${ISTIO_SYSTEM_NAMESPACE}/${address}`);
  for (const [name, address] of [...facts.services].sort(([a], [b]) => a.localeCompare(b))) {
    dns.push(`address=/${name}/${address}`);
    if (facts.registry === 'consul') dns.push(`address=/${name}.service.consul/${address}`);
  }
  const pem = (text: string) => `${header('Mesh expansion: install in /etc/certs, owned by istio-proxy.')}\n${text.endsWith('\n') ? text : `${text}\n`}`;
  return [
    { path: 'cluster.env', content: clusterEnv, mode: 0o644 },
    { path: 'sidecar.env', content: sidecarEnv, mode: 0o644 },
    { path: 'kubedns', content: `${dns.join('\n')}\n`, mode: 0o644 },
    { path: 'root-cert.pem', content: pem(facts.certificates.rootCert), mode: 0o644 },
    { path: 'cert-chain.pem', content: pem(facts.certificates.certChain), mode: 0o644 },
    { path: 'key.pem', content: pem(facts.certificates.privateKey), mode: 0o600 },
  ];
}

/**
 * The address each registered service name resolves to, as the mesh's own callers see it: an
 * external service's service address container, else its lowest instance address (any instance
 * will do: the machine's sidecar routes by name).
 */
export function serviceAddresses(instances: readonly ListedInstance[], containers: readonly ContainerInfo[]): Map<string, string> {
  const out = new Map<string, string>();
  const byName = new Map<string, string[]>();
  for (const instance of instances) {
    // Consul lists itself as service `consul`: not a mesh service.
    if (instance.name === '' || instance.name === 'consul' || instance.ip === '') continue;
    byName.set(instance.name, [...(byName.get(instance.name) ?? []), instance.ip]);
  }
  for (const [name, ips] of byName) {
    const own = containers.find((container) => container.role === SERVICE_ADDRESS_ROLE && container.component === name && container.state === 'running');
    out.set(name, own?.addresses[0] ?? [...ips].sort(compareIp)[0]!);
  }
  return out;
}

function compareIp(a: string, b: string): number {
  const key = (ip: string) => ip.split('.').map((part) => part.padStart(3, '0')).join('.');
  return key(a).localeCompare(key(b));
}

export interface ExpansionRequest {
  project: string;
  outDir: string;
  serviceAccount: string;
  namespace: string;
  /** The machine's service, as registered with `register`: ISTIO_SERVICE and ISTIO_INBOUND_PORTS. */
  service?: string;
}

export interface ExpansionDeps {
  engine: Pick<DockerEngine, 'projectContainers' | 'projectNetworks' | 'inspectContainer'>;
  registryClient: (kind: RegistryKind, url: string) => MeshRegistry;
  console: Console;
}

/**
 * Gathers the facts from the running project and writes the files into `outDir`.
 * Errors: ProjectNotRunningError (exit 1) when the registry, pilot, mixer or CA is not running;
 * ServiceFailedError (exit 1) when the registry or the CA does not answer as expected;
 * OutputConflictError (exit 2) when a file there was not written by mesh-local.
 */
export async function expansionConfigCommand(request: ExpansionRequest, deps: ExpansionDeps, signal?: AbortSignal): Promise<string[]> {
  const { project } = request;
  const containers = await deps.engine.projectContainers(project, signal);
  const { registry: endpoint } = requiredEndpointsOf(containers, project, ['registry', 'pilot']);
  const component = (name: string) => {
    const found = containers.find((container) => container.component === name && container.state === 'running' && container.addresses.length > 0);
    if (!found) throw new ServiceFailedError(`project ${project} has no running ${name} with an address on the mesh network`, { hint: `see \`mesh-local status --project ${project}\`` });
    return found;
  };
  const pilot = component('pilot');
  const mixer = component('mixer');
  const ca = component('ca');
  const mesh = (await deps.engine.projectNetworks(project, signal)).find((network) => network.composeName === 'mesh');
  if (!mesh || mesh.subnets.length === 0) throw new ServiceFailedError(`project ${project} has no mesh network with an IPv4 subnet`);

  const registry = deps.registryClient(endpoint.kind, endpoint.url);
  let instances: ListedInstance[];
  try {
    instances = await registry.instances(signal);
  } catch (error) {
    if (error instanceof RegistryRequestError) throw new ServiceFailedError(error.message, { cause: error });
    throw error;
  }
  const machineInstances = request.service === undefined ? [] : instances.filter((instance) => instance.external && instance.name === request.service);
  if (request.service !== undefined && machineInstances.length === 0) {
    deps.console.err(`note: no instance of ${request.service} was registered with \`mesh-local register\`; ISTIO_INBOUND_PORTS is empty\n`);
  }
  const machineIps = [...new Set(machineInstances.map((instance) => instance.ip))];

  const caPort = await exposedPort(deps.engine, ca, signal);
  const caUrl = `http://${ca.addresses[0]}:${caPort}`;
  const certificates = await fetchCertificates(caUrl, request.serviceAccount, request.namespace, signal);

  const facts: ExpansionFacts = {
    registry: endpoint.kind,
    serviceCidrs: mesh.subnets.map((subnet) => subnet.subnet),
    // Pilot's published port is its discovery port (render.ts publishes only that one).
    pilot: { address: pilot.addresses[0]!, port: pilot.ports[0]?.containerPort ?? (await exposedPort(deps.engine, pilot, signal)) },
    mixer: mixer.addresses[0]!,
    ca: ca.addresses[0]!,
    services: serviceAddresses(instances, containers),
    machine: {
      service: request.service ?? DEFAULT_MACHINE_SERVICE,
      inboundPorts: [...new Set(machineInstances.map((instance) => instance.port))].sort((a, b) => a - b),
      ...(machineIps.length === 1 ? { ip: machineIps[0]! } : {}),
    },
    namespace: request.namespace,
    certificates,
  };
  const written = await writeGeneratedFiles(request.outDir, expansionFiles(facts));
  deps.console.out(
    `wrote ${written.length} files for project ${project} (${endpoint.kind}) to ${request.outDir}:\n${written.map((path) => `  ${path}`).join('\n')}\n` +
      `service account spiffe://cluster.local/ns/${request.namespace}/sa/${request.serviceAccount}; ISTIO_SERVICE_CIDR=${facts.serviceCidrs.join(',')}\n`,
  );
  return written;
}

/** The lowest TCP port a container exposes (the CA stand-in exposes only its --grpc-port). */
async function exposedPort(engine: Pick<DockerEngine, 'inspectContainer'>, container: ContainerInfo, signal?: AbortSignal): Promise<number> {
  const detail = (await engine.inspectContainer(container.id, signal)) as { Config?: { ExposedPorts?: Record<string, unknown> } };
  const ports = Object.keys(detail.Config?.ExposedPorts ?? {})
    // Compose v2 writes `8060`, the engine `8060/tcp`.
    .filter((key) => !key.includes('/') || key.endsWith('/tcp'))
    .map((key) => Number(key.split('/')[0]))
    .sort((a, b) => a - b);
  if (ports.length === 0) throw new ServiceFailedError(`${container.service} exposes no TCP port`);
  return ports[0]!;
}

/**
 * The CA's root and a certificate for `spiffe://cluster.local/ns/<namespace>/sa/<serviceAccount>`,
 * from the CA stand-in's HTTP API (sandbox/standins/ca.ts): `POST /certs` answers
 * {certChain, privateKey, rootCert}. Errors: ServiceFailedError naming the CA and what it answered.
 */
export async function fetchCertificates(caUrl: string, serviceAccount: string, namespace: string, signal?: AbortSignal): Promise<ExpansionFacts['certificates']> {
  const limit = deadline(CA_TIMEOUT_MS, signal);
  const hint = 'the certificates come from the CA stand-in of the sandbox image set; the real istio_ca 0.8 serves only gRPC and Kubernetes secrets';
  try {
    const response = await fetch(`${caUrl}/certs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ service: serviceAccount, namespace }),
      signal: limit.signal,
    });
    const text = await response.text();
    if (!response.ok) throw new ServiceFailedError(`the CA at ${caUrl} answered POST /certs with HTTP ${response.status}: ${text.trim().slice(0, 300)}`, { hint });
    let body: { certChain?: unknown; privateKey?: unknown; rootCert?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ServiceFailedError(`the CA at ${caUrl} answered POST /certs with something that is not JSON`, { hint });
    }
    const pem = (value: unknown, what: string) => {
      if (typeof value !== 'string' || !value.includes('-----BEGIN')) throw new ServiceFailedError(`the CA at ${caUrl} sent no PEM ${what}`, { hint });
      return value;
    };
    return { rootCert: pem(body.rootCert, 'root certificate'), certChain: pem(body.certChain, 'certificate chain'), privateKey: pem(body.privateKey, 'private key') };
  } catch (error) {
    if (error instanceof ServiceFailedError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw new ServiceFailedError(`the CA at ${caUrl} did not answer: ${limit.signal.aborted ? `no answer within ${CA_TIMEOUT_MS} ms` : error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`, {
      cause: error,
      hint,
    });
  } finally {
    limit.clear();
  }
}
