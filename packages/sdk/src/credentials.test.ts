/**
 * Fault tests (msw) for what a real server can't be made to produce: Vault answering with a
 * certificate that does not match the node's key, or one chaining to a CA other than the one its
 * ca_chain names. Each is a specific CertificateError problem, and nothing is written.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { EC, makeCa, makeLeaf, testdir, vaultErrors, vaultOk, type TestCa } from '../../../scripts/test-utils/src/index.js';
import { createVaultClient } from './client.js';
import { issueNodeCredentials } from './credentials.js';
import { isCertificateError, type CertificateError } from './errors.js';
import { silentLogger } from './logger.js';
import { startTokenRenewal } from './auth/token.js';

const ADDR = 'http://vault.test:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const vault = () => createVaultClient({ address: ADDR, token: 'hvs.TESTTOKENTESTTOKENTESTTOKEN', env: {}, logger: silentLogger, retry: { retries: 0 } });

/** Signs the CSR's public key with `ca`, with the node identity profile taken from the CSR. */
async function signCsrWith(ca: TestCa, csrPem: string, now = new Date()): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const san = new x509.SubjectAlternativeNameExtension(csr.getExtension('2.5.29.17')!.rawData);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '7e57',
    subject: csr.subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 3600_000),
    signingKey: ca.keys.privateKey,
    publicKey: await csr.publicKey.export(),
    signingAlgorithm: EC,
    extensions: [san, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth])],
  });
  return cert.toString('pem');
}

function signAnswer(certificate: string, caChain: string[]) {
  return vaultOk({ certificate, issuing_ca: caChain[0], ca_chain: caChain, serial_number: '7e:57', expiration: Math.floor(Date.now() / 1000) + 3600 });
}

async function failure(p: Promise<unknown>): Promise<CertificateError> {
  try {
    await p;
  } catch (e) {
    if (isCertificateError(e)) return e;
    throw e;
  }
  throw new Error('expected a CertificateError');
}

describe('issueNodeCredentials with a misbehaving Vault (msw)', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  const t = testdir();
  beforeAll(async () => {
    ca = await makeCa('vault root');
    otherCa = await makeCa('some other root');
  });
  afterAll(() => t.cleanup());

  it('a certificate that does not match the key → CertificateError key-mismatch, nothing written', async () => {
    // Vault "signs" but returns a certificate for some other key
    const foreign = await makeLeaf({ ca, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3600_000) });
    server.use(http.post(`${ADDR}/v1/pki/sign/node`, () => HttpResponse.json(signAnswer(foreign.certPem, [ca.pem]))));
    const dir = join(t.dir, 'mismatch');
    const e = await failure(issueNodeCredentials(vault(), { mount: 'pki', role: 'node', node: 'foo@127.0.0.1', dir }));
    expect(e.problem).toBe('key-mismatch');
    expect(e.message).toMatch(/does not match the private key/);
    expect(e.message).not.toMatch(/PRIVATE KEY/);
    expect(existsSync(join(dir, 'bundle.pem'))).toBe(false);
  });

  it('a chain to the wrong CA → CertificateError chain, nothing written', async () => {
    // the leaf is signed by otherCa, but ca_chain (and so the trust bundle) names `ca`
    server.use(
      http.post(`${ADDR}/v1/pki/sign/node`, async ({ request }) => {
        const { csr } = (await request.json()) as { csr: string };
        return HttpResponse.json(signAnswer(await signCsrWith(otherCa, csr), [ca.pem]));
      }),
    );
    const dir = join(t.dir, 'wrong-ca');
    const e = await failure(issueNodeCredentials(vault(), { mount: 'pki', role: 'node', node: 'foo@127.0.0.1', dir }));
    expect(e.problem).toBe('chain');
    expect(e.message).toMatch(/does not chain to the trusted CA bundle/);
    expect(existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : []).toEqual([]);
  });

  it('the same flow succeeds when the answer is consistent (control)', async () => {
    server.use(
      http.post(`${ADDR}/v1/pki/sign/node`, async ({ request }) => {
        const { csr } = (await request.json()) as { csr: string };
        return HttpResponse.json(signAnswer(await signCsrWith(ca, csr), [ca.pem]));
      }),
    );
    const dir = join(t.dir, 'ok');
    const r = await issueNodeCredentials(vault(), { mount: 'pki', role: 'node', node: 'foo@127.0.0.1', dir });
    expect(r.written.changed).toBe(true);
    expect(existsSync(join(dir, 'bundle.pem'))).toBe(true);
  });

  it('trust pinning: a consistent answer from another CA than ca.pem in use → trust-anchor, old files untouched; the rotation step (extraTrust) adopts it', async () => {
    const answerFrom = (from: TestCa) =>
      http.post(`${ADDR}/v1/pki/sign/node`, async ({ request }) => {
        const { csr } = (await request.json()) as { csr: string };
        return HttpResponse.json(signAnswer(await signCsrWith(from, csr), [from.pem]));
      });
    const dir = join(t.dir, 'pinned');
    server.use(answerFrom(ca));
    await issueNodeCredentials(vault(), { mount: 'pki', role: 'node', node: 'foo@127.0.0.1', dir });
    const before = [readFileSync(join(dir, 'bundle.pem'), 'utf8'), readFileSync(join(dir, 'ca.pem'), 'utf8')];
    // whoever answers as Vault now: a self-consistent chain to a root the node never trusted
    server.use(answerFrom(otherCa));
    const e = await failure(issueNodeCredentials(vault(), { mount: 'pki', role: 'node', node: 'foo@127.0.0.1', dir }));
    expect(e.problem).toBe('trust-anchor');
    expect(e.message).toMatch(/"CN=some other root".*not in, and not issued by, the trust set in use \("CN=vault root"\)/);
    expect([readFileSync(join(dir, 'bundle.pem'), 'utf8'), readFileSync(join(dir, 'ca.pem'), 'utf8')]).toEqual(before);
    // the documented rotation step: old + new issuing CA as extra anchors → adopted, both trusted (overlap)
    const r = await issueNodeCredentials(vault(), { mount: 'pki', role: 'node', node: 'foo@127.0.0.1', dir, extraTrust: [ca.pem, otherCa.pem] });
    expect(r.written.changed).toBe(true);
    const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
    expect([caPem.includes(otherCa.pem.trim()), caPem.includes(ca.pem.trim())]).toEqual([true, true]);
  });
});

describe('token renewal failures reported by the watcher (msw, real client)', () => {
  it('reports 5xx failures with backoff, then denied once Vault answers 403', async () => {
    let calls = 0;
    server.use(
      http.post(`${ADDR}/v1/auth/token/renew-self`, () => {
        calls++;
        if (calls <= 2) return HttpResponse.json(vaultErrors('internal error'), { status: 500 });
        if (calls === 3) return HttpResponse.error();
        return HttpResponse.json(vaultErrors('1 error occurred:\n\t* permission denied\n\n'), { status: 403 });
      }),
    );
    const errors: { name: string; failures: number; backoffMs: number }[] = [];
    const sleeps: number[] = [];
    let now = 0;
    const res = await startTokenRenewal({
      vault: vault(),
      leaseDurationSeconds: 3600,
      clock: { monotonicMs: () => now, sleep: async (ms) => void (sleeps.push(ms), (now += ms)) },
      random: () => 0.5,
      onError: (e, r) => errors.push({ name: e.name, ...r }),
    }).done;
    expect(res.reason).toBe('denied');
    expect(res.error?.name).toBe('VaultPermissionDeniedError');
    expect(res.error?.message).not.toContain('TESTTOKEN');
    expect(errors.map((e) => [e.name, e.failures])).toEqual([
      ['VaultHttpError', 1],
      ['VaultHttpError', 2],
      ['VaultNetworkError', 3],
    ]);
    expect(errors.map((e) => e.backoffMs)).toEqual([875, 1750, 3500]);
    expect(sleeps.every((s) => s > 0)).toBe(true);
    expect(calls).toBe(4); // renew-self is never retried by the client itself: one retry layer
  });
});
