/**
 * STAND-IN for the Istio CA (istio-ca / citadel; mesh-local sandbox). The real images cannot be
 * pulled here. Like `istio_ca --self-signed-ca=true` it makes a self-signed root at start and
 * issues workload certificates whose only identity is the SPIFFE URI SAN
 * `spiffe://cluster.local/ns/<namespace>/sa/<service account>`, with real keys and signatures made
 * by `openssl`. It speaks plain HTTP+JSON instead of the CA's gRPC CSR API, keeps its root in
 * CA_DIR instead of a Kubernetes secret, and writes no `istio.<sa>` secrets; no sidecar in this
 * flow consumes its certificates.
 *
 * Command line: upstream's `istio_ca --self-signed-ca ...` (the image's entrypoint), parsed with that
 * version's flag set; `--grpc-port` is where it listens. Environment of the image: CA_DIR
 * (/var/lib/istio-ca), CERT_TTL_DAYS (90).
 * HTTP: `GET /health`, `GET /root-cert.pem`, `POST /certs` with {"service", "namespace"}.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HttpError, Router, envInt, listen, readJson, sendJson, sendText, type RunningServer, standinHandler } from '../common/server.js';
import { runUpstreamProgram } from '../common/upstream-cli.js';

export const ROOT_COMMON_NAME = 'mesh-local sandbox root';
export const TRUST_DOMAIN = 'cluster.local';

/** Runs openssl with an argument list (no shell); resolves with stdout, rejects with stderr. */
export type OpenSsl = (args: string[], options?: { cwd?: string; input?: string }) => Promise<string>;

export const runOpenSsl: OpenSsl = (args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { cwd: options.cwd, timeout: 30_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`openssl ${args[0]} failed: ${String(stderr || error.message).trim()}`));
      else resolve(stdout);
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });

export interface RootCa {
  certPath: string;
  keyPath: string;
  certPem: string;
}

export interface IssuedCertificate {
  certChain: string;
  privateKey: string;
  rootCert: string;
}

const ROOT_CONFIG = `[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_root

[dn]
O = mesh-local
CN = ${ROOT_COMMON_NAME}

[v3_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Creates the self-signed root in `dir`, or reuses the one an earlier start left there. */
export async function ensureRootCa(dir: string, openssl: OpenSsl = runOpenSsl): Promise<RootCa> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, 'root-cert.pem');
  const keyPath = join(dir, 'root-key.pem');
  if (!((await exists(certPath)) && (await exists(keyPath)))) {
    const configPath = join(dir, 'root.cnf');
    await writeFile(configPath, ROOT_CONFIG);
    await openssl([
      'req', '-x509', '-config', configPath,
      '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-keyout', keyPath, '-out', certPath,
    ]);
  }
  return { certPath, keyPath, certPem: await readFile(certPath, 'utf8') };
}

/** Kubernetes names: a DNS-1123 label. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateName(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 63 || !NAME.test(value)) {
    throw new HttpError(
      400,
      `${what} must be a lower-case DNS label (a-z, 0-9, '-', at most 63 characters), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function spiffeId(namespace: string, serviceAccount: string): string {
  return `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Issues a leaf certificate for a service account, signed by the root. */
export async function issueCertificate(
  root: RootCa,
  service: string,
  namespace: string,
  options: { openssl?: OpenSsl; ttlDays?: number } = {},
): Promise<IssuedCertificate> {
  const openssl = options.openssl ?? runOpenSsl;
  // Names are validated: nothing but [a-z0-9-] reaches the extension file.
  validateName('service', service);
  validateName('namespace', namespace);
  const work = await mkdtemp(join(tmpdir(), 'istio-ca-'));
  try {
    const keyPath = join(work, 'key.pem');
    const csrPath = join(work, 'csr.pem');
    const certPath = join(work, 'cert.pem');
    const extPath = join(work, 'ext.cnf');
    await writeFile(
      extPath,
      `[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = critical, URI:${spiffeId(namespace, service)}
authorityKeyIdentifier = keyid
`,
    );
    await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/O=mesh-local', '-keyout', keyPath, '-out', csrPath]);
    const serial = randomBytes(16);
    serial[0] = serial[0]! & 0x7f;
    await openssl([
      'x509', '-req', '-in', csrPath,
      '-CA', root.certPath, '-CAkey', root.keyPath, '-set_serial', `0x${serial.toString('hex')}`,
      '-days', String(options.ttlDays ?? 90), '-sha256',
      '-extfile', extPath, '-extensions', 'v3_leaf',
      '-out', certPath,
    ]);
    return {
      certChain: await readFile(certPath, 'utf8'),
      privateKey: await readFile(keyPath, 'utf8'),
      rootCert: root.certPem,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface CaOptions {
  port: number;
  host?: string;
  caDir: string;
  ttlDays?: number;
  openssl?: OpenSsl;
}

export interface RunningCa extends RunningServer {
  root: RootCa;
}

export async function start(options: CaOptions): Promise<RunningCa> {
  const openssl = options.openssl ?? runOpenSsl;
  const root = await ensureRootCa(options.caDir, openssl);
  let issued = 0;

  const router = new Router();
  router.add('GET', '/health', (_request, response) => sendJson(response, 200, { status: 'SERVING', issued }));
  router.add('GET', '/root-cert.pem', (_request, response) => sendText(response, 200, root.certPem, 'application/x-pem-file'));
  router.add('POST', '/certs', async (request, response) => {
    const body = await readJson<Record<string, unknown>>(request, 16 * 1024);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpError(400, 'body must be a JSON object like {"service": "reviews", "namespace": "default"}');
    }
    const service = validateName('service', body.service);
    const namespace = body.namespace === undefined ? 'default' : validateName('namespace', body.namespace);
    const certificate = await issueCertificate(root, service, namespace, { openssl, ttlDays: options.ttlDays });
    issued++;
    sendJson(response, 200, certificate);
  });

  const running = await listen(
    standinHandler('istio-ca', router),
    options.port,
    options.host,
  );
  return { ...running, root };
}

/** The path upstream's istio-ca and citadel images run (their ENTRYPOINT). */
export const ISTIO_CA = '/usr/local/bin/istio_ca';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runUpstreamProgram('istio_ca stand-in', ISTIO_CA, async (commandLine) => {
    // Only the self-signed mode exists here: there is no upstream CA to plug in.
    if (!commandLine.bool('self-signed-ca')) throw new Error('only --self-signed-ca is supported by the stand-in');
    return start({
      port: commandLine.int('grpc-port')!,
      caDir: process.env.CA_DIR || '/var/lib/istio-ca',
      ttlDays: envInt(process.env, 'CERT_TTL_DAYS', 90),
    });
  });
}
