import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEndpoints } from '../src/app/endpoints.js';
import type { RegistryKind } from '../src/model/mesh.js';
import { dockerodeEngine } from '../src/runtime/docker-engine.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { execIn } from './support/docker.js';
import { ANY_PORTS, testProjects } from './support/projects.js';

/**
 * Mesh expansion end to end (issue 10 §3), on the real engine with the sandbox set, once per
 * registry: a process on this host, registered with `register` at the mesh network's gateway
 * address, is reached by name from productpage's container through its sidecar; `unregister`
 * takes it out of pilot's view; `expansion-config` writes files with the stack's real addresses and
 * a certificate that verifies against the CA's root.
 */

const run = promisify(execFile);
const projectFor = testProjects();
const docker = new Docker();
const engine = dockerodeEngine(docker);

interface PilotRegistration {
  'service-key': string;
  hosts: Array<{ ip_address: string; port: number }>;
}

/** `KEY=VALUE` lines of an env file, comments and blank lines left out; throws on any other line. */
function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new Error(`not KEY=VALUE: ${line}`);
    values[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
  }
  return values;
}

describe.each<RegistryKind>(['consul', 'eureka'])('mesh expansion with %s (sandbox set, real engine)', (registry) => {
  const project = projectFor(`expansion-${registry}`);
  const common = ['--project', project];
  let cwd: string;
  let server: Server;
  let port: number;
  let gateway: string;
  let subnet: string;

  const cli = (args: string[]) => runCli([...args, ...common], { cwd });

  async function pilotRegistrations(): Promise<PilotRegistration[]> {
    const { pilot } = await requireEndpoints(engine, project, ['pilot']);
    return (await (await fetch(`${pilot}/v1/registration`)).json()) as PilotRegistration[];
  }

  async function productpage(): Promise<Docker.Container> {
    const [found] = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=productpage-v1'] } });
    expect(found, 'productpage-v1 container').toBeDefined();
    return docker.getContainer(found!.Id);
  }

  beforeAll(async () => {
    cwd = await temporaryDirectory(`expansion-${registry}`);
    server = createServer((request, response) => response.end(`hello from the host, ${request.headers.host}`));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    port = (server.address() as AddressInfo).port;
    const up = await runCli(['up', '--registry', registry, '--istio-version', '0.8.0', '--images', 'sandbox', ...common, ...ANY_PORTS], { cwd });
    expect(up.code, up.stderr).toBe(0);
    const bookinfo = await cli(['bookinfo']);
    expect(bookinfo.code, bookinfo.stderr).toBe(0);
    const mesh = (await engine.projectNetworks(project)).find((network) => network.composeName === 'mesh');
    gateway = mesh!.subnets[0]!.gateway!;
    subnet = mesh!.subnets[0]!.subnet;
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  }, 300_000);

  afterAll(async () => {
    await runCli(['down', '--volumes', ...common], { cwd });
    await new Promise((resolve) => server.close(resolve));
  }, 120_000);

  it('refuses a bad name, address, port or port name with exit 2, and a project that is not up with exit 1', async () => {
    for (const args of [
      ['Host_Svc', gateway, String(port)],
      ['hostsvc', '300.1.2.3', String(port)],
      ['hostsvc', '127.0.0.1', String(port)],
      ['hostsvc', gateway, '70000'],
      ['hostsvc', gateway, '0'],
      ['hostsvc', gateway, `web:${port}`],
    ]) {
      const refused = await cli(['register', ...args]);
      expect(refused.code, `${args.join(' ')}: ${refused.stderr}`).toBe(2);
    }
    const bad = await cli(['register', 'hostsvc', gateway, `web:${port}`]);
    expect(bad.stderr).toContain('protocol');
    const notUp = await runCli(['register', 'hostsvc', gateway, String(port), '--project', `${project}-absent`], { cwd });
    expect(notUp.code, notUp.stderr).toBe(1);
    expect(notUp.stderr).toContain('mesh-local up');
  });

  it('register: productpage reaches the host process by name through its sidecar; pilot lists it with its version', async () => {
    const registered = await cli(['register', 'hostsvc', gateway, `http:${port}`, '--app-version', 'v7']);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toContain(`registered hostsvc at ${gateway}`);
    const listed = (await pilotRegistrations()).find((entry) => entry['service-key'].split('|')[0] === (registry === 'consul' ? 'hostsvc.service.consul' : 'hostsvc'));
    expect(listed?.hosts).toContainEqual(expect.objectContaining({ ip_address: gateway, port }));
    // The sidecar routes by the Host header; its access log names the cluster it chose.
    const body = await execIn(await productpage(), ['curl', '-sS', '--max-time', '10', `http://hostsvc:${port}/`]);
    expect(body).toBe(`hello from the host, hostsvc:${port}`);
    const proxyLog = await cli(['logs', 'productpage-v1', '--sidecar', '--tail', '50']);
    expect(proxyLog.stdout).toMatch(new RegExp(`host=hostsvc:${port} `));
    // Registering NAME at IP again replaces it: still one instance.
    const again = await cli(['register', 'hostsvc', gateway, `http:${port}`, '--app-version', 'v7']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('replaced hostsvc');
    const hosts = (await pilotRegistrations()).filter((entry) => entry['service-key'].startsWith('hostsvc')).flatMap((entry) => entry.hosts);
    expect(hosts.filter((host) => host.ip_address === gateway && host.port === port)).toHaveLength(1);
  });

  it('expansion-config writes every file with the running stack addresses and a certificate the root verifies', async () => {
    const out = join(cwd, 'vm1');
    const written = await cli(['expansion-config', '-o', out, '--service', 'hostsvc', '--service-account', 'hostsvc']);
    expect(written.code, written.stderr).toBe(0);
    const containers = await engine.projectContainers(project);
    const addressOf = (component: string) => containers.find((container) => container.component === component)!.addresses[0]!;

    const cluster = parseEnvFile(await readFile(join(out, 'cluster.env'), 'utf8'));
    expect(cluster).toEqual({ ISTIO_SERVICE_CIDR: subnet, ISTIO_SYSTEM_NAMESPACE: 'istio-system', CONTROL_PLANE_AUTH_POLICY: 'NONE' });
    const sidecar = parseEnvFile(await readFile(join(out, 'sidecar.env'), 'utf8'));
    expect(sidecar).toMatchObject({ ISTIO_SERVICE: 'hostsvc', ISTIO_INBOUND_PORTS: String(port), ISTIO_SVC_IP: gateway, ISTIO_PILOT_PORT: '15007' });
    expect(sidecar.ISTIO_AGENT_FLAGS).toBe(`--serviceregistry ${registry === 'consul' ? 'Consul' : 'Eureka'}`);

    const dns = new Map<string, string>();
    for (const line of (await readFile(join(out, 'kubedns'), 'utf8')).split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^address=\/([a-z0-9.-]+)\/(\d+\.\d+\.\d+\.\d+)$/.exec(line);
      expect(match, line).not.toBeNull();
      dns.set(match![1]!, match![2]!);
    }
    expect(dns.get('istio-pilot')).toBe(addressOf('pilot'));
    expect(dns.get('istio-pilot.istio-system')).toBe(addressOf('pilot'));
    expect(dns.get('istio-mixer')).toBe(addressOf('mixer'));
    expect(dns.get('istio-ca')).toBe(addressOf('ca'));
    const reviews = containers.filter((container) => container.role === 'pod' && container.service.startsWith('reviews')).flatMap((container) => container.addresses);
    expect(reviews).toContain(dns.get('reviews'));
    expect(dns.get('hostsvc')).toBe(containers.find((container) => container.role === 'service-address' && container.component === 'hostsvc')?.addresses[0]);
    if (registry === 'consul') expect(dns.get('reviews.service.consul')).toBe(dns.get('reviews'));

    // Pilot answers at the address and port the files give a machine.
    const answer = await fetch(`http://${dns.get('istio-pilot')}:${sidecar.ISTIO_PILOT_PORT}/v1/registration`);
    expect(answer.status).toBe(200);

    const verified = await run('openssl', ['verify', '-CAfile', join(out, 'root-cert.pem'), join(out, 'cert-chain.pem')]);
    expect(verified.stdout).toContain(': OK');
    const san = await run('openssl', ['x509', '-in', join(out, 'cert-chain.pem'), '-noout', '-ext', 'subjectAltName']);
    expect(san.stdout).toContain('URI:spiffe://cluster.local/ns/default/sa/hostsvc');
    const certKey = await run('openssl', ['x509', '-in', join(out, 'cert-chain.pem'), '-noout', '-pubkey']);
    const ownKey = await run('openssl', ['pkey', '-in', join(out, 'key.pem'), '-pubout']);
    expect(ownKey.stdout).toBe(certKey.stdout);

    // A second run replaces its own files; a file it did not write is left alone (exit 2).
    expect((await cli(['expansion-config', '-o', out])).code).toBe(0);
    const foreign = join(cwd, 'foreign');
    await mkdir(foreign, { recursive: true });
    await writeFile(join(foreign, 'kubedns'), 'server=/example/10.0.0.1\n');
    const refused = await cli(['expansion-config', '-o', foreign]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('kubedns');
    expect(await readFile(join(foreign, 'kubedns'), 'utf8')).toBe('server=/example/10.0.0.1\n');
  });

  it('unregister removes it from pilot and the mesh network; a second unregister is exit 1', async () => {
    const removed = await cli(['unregister', 'hostsvc', gateway]);
    expect(removed.code, removed.stderr).toBe(0);
    const hosts = (await pilotRegistrations()).filter((entry) => entry['service-key'].startsWith('hostsvc')).flatMap((entry) => entry.hosts);
    expect(hosts).toEqual([]);
    const containers = await engine.projectContainers(project);
    expect(containers.filter((container) => container.role === 'service-address')).toEqual([]);
    await expect(execIn(await productpage(), ['curl', '-sS', '--max-time', '5', `http://hostsvc:${port}/`])).rejects.toThrow();
    const again = await cli(['unregister', 'hostsvc', gateway]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no instance of hostsvc at ${gateway}`);
  });
});
