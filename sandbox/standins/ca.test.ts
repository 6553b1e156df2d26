import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caApiSuite, opensslVerify } from './ca-suite.js';
import { ensureRootCa, issueCertificate, runOpenSsl, spiffeId, start, type RunningCa } from './ca.js';

describe('Istio CA stand-in', () => {
  let dir: string;
  let ca: RunningCa;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ca-test-'));
    ca = await start({ port: 0, host: '127.0.0.1', caDir: join(dir, 'ca') });
  });
  afterAll(async () => {
    await ca?.close();
    await rm(dir, { recursive: true, force: true });
  });

  caApiSuite(() => ca.url);

  it('keeps the root in CA_DIR, private to its owner, and reuses it on the next start', async () => {
    const caDir = join(dir, 'ca');
    expect((await stat(caDir)).mode & 0o077).toBe(0);
    expect(await readFile(join(caDir, 'root-cert.pem'), 'utf8')).toBe(ca.root.certPem);
    const again = await start({ port: 0, host: '127.0.0.1', caDir });
    try {
      expect(again.root.certPem).toBe(ca.root.certPem);
    } finally {
      await again.close();
    }
  });

  it('a certificate from another root does not verify against this one', async () => {
    const otherRoot = await ensureRootCa(join(dir, 'other'));
    expect(otherRoot.certPem).not.toBe(ca.root.certPem);
    const foreign = await issueCertificate(otherRoot, 'reviews', 'default');
    const verified = await opensslVerify(ca.root.certPem, foreign.certChain);
    expect(verified.code).not.toBe(0);
    expect(verified.stderr + verified.stdout).toMatch(/unable to get local issuer certificate/);
    expect((await opensslVerify(otherRoot.certPem, foreign.certChain)).code).toBe(0);
  });

  it('issueCertificate refuses names that are not DNS labels before openssl sees them', async () => {
    let called = false;
    const spy = async (args: string[]) => {
      called = true;
      return runOpenSsl(args);
    };
    await expect(issueCertificate(ca.root, 'bad name', 'default', { openssl: spy })).rejects.toThrow(/DNS label/);
    expect(called).toBe(false);
  });

  it('honours the certificate lifetime', async () => {
    const issued = await issueCertificate(ca.root, 'details', 'default', { ttlDays: 2 });
    const leaf = new X509Certificate(issued.certChain);
    const lifetime = new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime();
    expect(lifetime).toBe(2 * 24 * 3600 * 1000);
  });

  it('names identities in the cluster.local trust domain', () => {
    expect(spiffeId('default', 'reviews')).toBe('spiffe://cluster.local/ns/default/sa/reviews');
  });
});

describe('Istio CA stand-in start-up', () => {
  it('rejects when openssl fails, with its message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ca-test-'));
    try {
      const failing = async () => {
        throw new Error('openssl req failed: no entropy');
      };
      await expect(start({ port: 0, caDir: join(dir, 'ca'), openssl: failing })).rejects.toThrow(/no entropy/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runOpenSsl reports openssl errors', async () => {
    await expect(runOpenSsl(['x509', '-in', '/nonexistent/cert.pem', '-noout'])).rejects.toThrow(/openssl x509 failed/);
  });
});
