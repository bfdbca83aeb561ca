/**
 * Shared test utilities (house style §15): a certificate factory with fixed validity and explicit
 * "now", realistic Vault envelopes for msw handlers, and temp dirs.
 */
import 'reflect-metadata';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';

export const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export function pemOf(der: ArrayBuffer, label: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

export interface TestCa {
  cert: x509.X509Certificate;
  pem: string;
  keys: CryptoKeyPair;
}

/** A self-signed CA valid from `notBefore` to `notAfter` (defaults: 2020-01-01 .. 2040-01-01). */
export async function makeCa(cn = 'test root', notBefore = new Date(Date.UTC(2020, 0, 1)), notAfter = new Date(Date.UTC(2040, 0, 1))): Promise<TestCa> {
  const keys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a',
    name: `CN=${cn}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { cert, pem: cert.toString('pem') + '\n', keys };
}

export interface LeafOptions {
  ca: TestCa;
  serial?: string;
  cn?: string;
  dns?: string[];
  ips?: string[];
  uris?: string[];
  notBefore?: Date;
  notAfter?: Date;
  ekus?: string[];
  /** Sign a certificate for this key instead of a fresh one. */
  keys?: CryptoKeyPair;
}

export interface TestLeaf {
  certPem: string;
  keyPem: string;
  keys: CryptoKeyPair;
  serial: string;
}

/** A leaf signed by `ca` with the node identity profile by default. */
export async function makeLeaf(o: LeafOptions): Promise<TestLeaf> {
  const keys = o.keys ?? ((await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair);
  const serial = o.serial ?? '1234';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${o.cn ?? '127.0.0.1'}`,
    issuer: o.ca.cert.subject,
    notBefore: o.notBefore ?? new Date(Date.UTC(2025, 0, 1)),
    notAfter: o.notAfter ?? new Date(Date.UTC(2035, 0, 1)),
    signingKey: o.ca.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        ...(o.dns ?? ['127.0.0.1']).map((value) => ({ type: 'dns' as const, value })),
        ...(o.ips ?? ['127.0.0.1']).map((value) => ({ type: 'ip' as const, value })),
        ...(o.uris ?? ['erlang://foo@127.0.0.1']).map((value) => ({ type: 'url' as const, value })),
      ]),
      new x509.ExtendedKeyUsageExtension(o.ekus ?? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: pemOf(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'), keys, serial };
}

/** A temp dir and its cleanup (call in afterEach). */
export function testdir(prefix = 'vaultdist-unit-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * An RSA private key for tests that need one but do not test key generation: generated once per
 * machine and kept in the repository's ignored .cache/test-keys/ (RSA-3072 generation alone takes
 * 1–3 s, most of a unit run's CPU). Regenerated if the cached file does not parse.
 */
export function cachedRsaKey(bits: 2048 | 3072): KeyObject {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '.cache', 'test-keys', `rsa-${bits}.pem`);
  try {
    const key = createPrivateKey(readFileSync(file));
    if (key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === bits) return key;
  } catch {
    // not cached yet, or unreadable: make it
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  renameSync(tmp, file);
  return privateKey;
}

/** A realistic Vault success envelope. */
export function vaultOk(data: unknown, extra: { warnings?: string[] | null; auth?: unknown; wrap_info?: unknown } = {}) {
  return {
    request_id: '6d1f0a0e-5f6b-2a44-90b3-2f9f1a6a3c11',
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: extra.wrap_info ?? null,
    warnings: extra.warnings ?? null,
    auth: extra.auth ?? null,
  };
}

/** A realistic Vault error envelope. */
export function vaultErrors(...errors: string[]) {
  return { errors };
}

export const PERMISSION_DENIED = '1 error occurred:\n\t* permission denied\n\n';

/**
 * Seeded PRNG (mulberry32: small, fast, good enough for test inputs and simulations), so a failing
 * property test or a benchmark run can be reproduced from its seed. `next()` is in [0, 1), which also
 * makes it a `Random` port for the agent's schedule code.
 */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick, bool: (p = 0.5) => next() < p };
}
export type Rng = ReturnType<typeof prng>;
