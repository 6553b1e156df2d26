/**
 * API tests for the Istio CA stand-in. Certificates are checked with the real `openssl verify`
 * and Node's X509 parser, so the suite needs `openssl` on the machine that runs it.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs openssl; resolves with exit code and output instead of rejecting. */
export function openssl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('openssl', args, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `openssl verify -CAfile root chain` on PEM text. */
export async function opensslVerify(rootPem: string, chainPem: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ca-suite-'));
  try {
    await writeFile(join(dir, 'root.pem'), rootPem);
    await writeFile(join(dir, 'chain.pem'), chainPem);
    return await openssl(['verify', '-CAfile', join(dir, 'root.pem'), join(dir, 'chain.pem')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function opensslSan(certPem: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ca-suite-'));
  try {
    await writeFile(join(dir, 'cert.pem'), certPem);
    const result = await openssl(['x509', '-in', join(dir, 'cert.pem'), '-noout', '-ext', 'subjectAltName']);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function caApiSuite(url: () => string): void {
  const requestCert = (body: unknown, type = 'application/json') =>
    fetch(`${url()}/certs`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  describe('Istio CA stand-in API', () => {
    it('answers /health', async () => {
      const response = await fetch(`${url()}/health`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-mesh-local-standin')).toBe('istio-ca');
      expect(await response.json()).toMatchObject({ status: 'SERVING' });
    });

    it('serves a self-signed RSA 2048 root CA named "mesh-local sandbox root"', async () => {
      const response = await fetch(`${url()}/root-cert.pem`);
      expect(response.status).toBe(200);
      const pem = await response.text();
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
      const root = new X509Certificate(pem);
      expect(root.subject).toContain('CN=mesh-local sandbox root');
      expect(root.issuer).toBe(root.subject);
      expect(root.ca).toBe(true);
      expect(root.verify(root.publicKey)).toBe(true);
      expect(root.publicKey.asymmetricKeyType).toBe('rsa');
      expect(root.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      const verified = await opensslVerify(pem, pem);
      expect(verified.code, verified.stderr).toBe(0);
    });

    it('issues a certificate that openssl verifies against the root, with the SPIFFE SAN', async () => {
      const response = await requestCert({ service: 'reviews', namespace: 'default' });
      expect(response.status).toBe(200);
      const issued = (await response.json()) as { certChain: string; privateKey: string; rootCert: string };
      expect(Object.keys(issued).sort()).toEqual(['certChain', 'privateKey', 'rootCert']);
      expect(issued.rootCert).toBe(await (await fetch(`${url()}/root-cert.pem`)).text());

      const verified = await opensslVerify(issued.rootCert, issued.certChain);
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/chain\.pem: OK/);

      expect(await opensslSan(issued.certChain)).toMatch(/URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews\s*$/);
      const leaf = new X509Certificate(issued.certChain);
      expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/default/sa/reviews');
      expect(leaf.ca).toBe(false);
      expect(leaf.checkIssued(new X509Certificate(issued.rootCert))).toBe(true);
      expect(leaf.checkPrivateKey(createPrivateKey(issued.privateKey))).toBe(true);
      expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(Date.now() + 24 * 3600 * 1000);
    });

    it('issues a fresh key and serial each time, for the namespace asked (default when omitted)', async () => {
      const first = (await (await requestCert({ service: 'ratings', namespace: 'istio-system' })).json()) as any;
      const second = (await (await requestCert({ service: 'ratings' })).json()) as any;
      expect(new X509Certificate(first.certChain).subjectAltName).toBe('URI:spiffe://cluster.local/ns/istio-system/sa/ratings');
      expect(new X509Certificate(second.certChain).subjectAltName).toBe('URI:spiffe://cluster.local/ns/default/sa/ratings');
      expect(new X509Certificate(first.certChain).serialNumber).not.toBe(new X509Certificate(second.certChain).serialNumber);
      expect(first.privateKey).not.toBe(second.privateKey);
    });

    it('refuses service and namespace names that are not DNS labels (400)', async () => {
      const bad: unknown[] = [
        {},
        { service: '' },
        { service: 'Reviews' },
        { service: '../etc' },
        { service: 'a b' },
        { service: 'x\nsubjectAltName = DNS:evil' },
        { service: 'x,URI:spiffe://evil' },
        { service: 'a'.repeat(64) },
        { service: 42 },
        { service: 'reviews', namespace: 'Default' },
        { service: 'reviews', namespace: '' },
        [],
      ];
      for (const body of bad) {
        const response = await requestCert(body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(((await response.json()) as { error: string }).error).toMatch(/DNS label|JSON object/);
      }
      expect((await requestCert('{"service":')).status).toBe(400);
      expect((await fetch(`${url()}/certs`)).status).toBe(405);
    });
  });
}
