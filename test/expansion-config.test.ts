import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startCa } from '../sandbox/standins/ca.js';
import { GENERATED_MARKER } from '../src/compose/mesh-files.js';
import { ServiceFailedError } from '../src/errors.js';
import type { ContainerInfo } from '../src/runtime/containers.js';
import { expansionFiles, fetchCertificates, serviceAddresses, type ExpansionFacts } from '../src/app/expansion.js';
import { writeGeneratedFiles } from '../src/app/output-files.js';

const run = promisify(execFile);

const facts = (certificates: ExpansionFacts['certificates']): ExpansionFacts => ({
  registry: 'consul',
  serviceCidrs: ['172.20.0.0/16'],
  pilot: { address: '172.20.0.5', port: 15007 },
  mixer: '172.20.0.6',
  ca: '172.20.0.7',
  services: new Map([['reviews', '172.20.0.10'], ['hostsvc', '172.20.0.20']]),
  machine: { service: 'hostsvc', inboundPorts: [8090, 9090], ip: '172.20.0.1' },
  namespace: 'default',
  certificates,
});

describe('expansion-config files', () => {
  let dir: string;
  let ca: Awaited<ReturnType<typeof startCa>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'expansion-'));
    ca = await startCa({ port: 0, host: '127.0.0.1', caDir: join(dir, 'ca') });
  });
  afterAll(async () => {
    await ca.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes upstream names and formats; the PEM files, marker and all, verify with openssl', async () => {
    const certificates = await fetchCertificates(ca.url, 'hostsvc', 'default');
    const out = join(dir, 'out');
    await writeGeneratedFiles(out, expansionFiles(facts(certificates)));
    const read = (name: string) => readFile(join(out, name), 'utf8');
    expect(await read('cluster.env')).toContain('\nISTIO_SERVICE_CIDR=172.20.0.0/16\nISTIO_SYSTEM_NAMESPACE=istio-system\nCONTROL_PLANE_AUTH_POLICY=NONE\n');
    const sidecar = await read('sidecar.env');
    expect(sidecar).toContain('\nISTIO_INBOUND_PORTS=8090,9090\n');
    expect(sidecar).toContain('\nISTIO_AGENT_FLAGS="--serviceregistry Consul"\n');
    const dns = (await read('kubedns')).split('\n');
    expect(dns[0]!.startsWith(GENERATED_MARKER)).toBe(true);
    for (const line of ['address=/istio-pilot/172.20.0.5', 'address=/istio-pilot.istio-system/172.20.0.5', 'address=/istio-mixer/172.20.0.6', 'address=/istio-ca/172.20.0.7', 'address=/reviews/172.20.0.10', 'address=/reviews.service.consul/172.20.0.10']) {
      expect(dns).toContain(line);
    }
    const verified = await run('openssl', ['verify', '-CAfile', join(out, 'root-cert.pem'), join(out, 'cert-chain.pem')]);
    expect(verified.stdout).toContain(': OK');
    await run('openssl', ['pkey', '-in', join(out, 'key.pem'), '-noout']);
    // A second run replaces what mesh-local wrote.
    await writeGeneratedFiles(out, expansionFiles(facts(certificates)));
  });

  it('a CA that refuses the service account is a ServiceFailedError with its answer', async () => {
    await expect(fetchCertificates(ca.url, 'Bad_Name', 'default')).rejects.toThrow(ServiceFailedError);
    await expect(fetchCertificates(ca.url, 'Bad_Name', 'default')).rejects.toThrow(/HTTP 400/);
  });

  it('never overwrites a file it did not write', async () => {
    const out = join(dir, 'foreign');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'cluster.env'), 'ISTIO_SERVICE_CIDR=10.0.0.0/8\n');
    const certificates = { rootCert: '-----BEGIN X-----\n', certChain: '-----BEGIN X-----\n', privateKey: '-----BEGIN X-----\n' };
    await expect(writeGeneratedFiles(out, expansionFiles(facts(certificates)))).rejects.toThrow(/cluster.env exists and was not written by mesh-local/);
    expect(await readFile(join(out, 'cluster.env'), 'utf8')).toBe('ISTIO_SERVICE_CIDR=10.0.0.0/8\n');
  });
});

describe('serviceAddresses', () => {
  const container = (fields: Partial<ContainerInfo>): ContainerInfo =>
    ({ id: 'x', service: 's', project: 'p', role: undefined, component: undefined, sidecarFor: undefined, image: 'i', state: 'running', health: 'none', exitCode: undefined, restartCount: 0, createdAt: new Date(0), startedAt: undefined, ports: [], addresses: [], networkMode: 'p_mesh', ...fields }) as ContainerInfo;
  it('gives an external service its service address and others their lowest instance address', () => {
    const listed = [
      { id: 'a', name: 'reviews', ip: '172.20.0.12', port: 9080, labels: {}, external: false },
      { id: 'b', name: 'reviews', ip: '172.20.0.9', port: 9080, labels: {}, external: false },
      { id: 'c', name: 'hostsvc', ip: '172.20.0.1', port: 8090, labels: {}, external: true },
      { id: 'd', name: 'consul', ip: '172.20.0.2', port: 8300, labels: {}, external: false },
    ];
    const addresses = serviceAddresses(listed, [container({ role: 'service-address', component: 'hostsvc', addresses: ['172.20.0.30'] })]);
    expect([...addresses]).toEqual([['reviews', '172.20.0.9'], ['hostsvc', '172.20.0.30']]);
  });
});
