import { createPublicKey } from 'node:crypto';
import * as x509 from './peculiar.js'; // loaded on first use (issue #16)
import { CertificateError } from '../errors.js';
import { nodeIdentityUri, type NodeName } from '../node-name.js';
import { parseCertificate, type CertificateInfo } from './parse.js';
import { splitPem } from '../pem.js';
import { findChainPath } from './chain-path.js';

/** Options of `validateCredentials`: key, leaf, chain, trust anchors, the node and "now". */
export interface ValidateCredentialsOptions {
  /** PEM private key (PKCS#8 or SEC1/PKCS#1). */
  keyPem: string;
  /** PEM leaf certificate. */
  certPem: string;
  /** Intermediates sent with the leaf (issuing CA first). */
  chainPems: string[];
  /** Trust anchors the peers use (the CA bundle file). */
  trustPems: string[];
  /** When given, the SANs must cover this node (DNS host, IP for IP hosts, URI identity). */
  node?: NodeName | undefined;
  /** Wall-clock "now". @default new Date() */
  now?: Date | undefined;
  /** Allowed clock skew for notBefore. @default 60_000 */
  skewMs?: number | undefined;
  /** Minimum time left before notAfter. @default 0 */
  minRemainingMs?: number | undefined;
}

/** Compares the public half of `keyPem` with the certificate's SubjectPublicKeyInfo. */
export function keyMatchesCertificate(keyPem: string, cert: CertificateInfo): boolean {
  let spki: Buffer;
  try {
    spki = createPublicKey(keyPem).export({ type: 'spki', format: 'der' }) as Buffer;
  } catch (e) {
    throw new CertificateError('parse', `not a valid private key: ${(e as Error).message}`, { cause: e });
  }
  return spki.equals(cert.spki);
}

async function signedBy(child: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  if (child.issuer !== issuer.subject) return false;
  try {
    return await child.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

/**
 * Verifies that `leaf` chains through `chain` to one of `trust`, checking signatures and the validity
 * of every certificate on the path at `now`. Returns the path (leaf first, anchor last).
 */
export async function verifyChain(leafPem: string, chainPems: string[], trustPems: string[], now: Date): Promise<x509.X509Certificate[]> {
  const load = (pems: string[]) => pems.flatMap((p) => splitPem(p).filter((b) => b.label === 'CERTIFICATE')).map((b) => new x509.X509Certificate(new Uint8Array(b.der)));
  let leaf: x509.X509Certificate;
  let chain: x509.X509Certificate[];
  let trust: x509.X509Certificate[];
  try {
    leaf = new x509.X509Certificate(leafPem);
    chain = load(chainPems);
    trust = load(trustPems);
  } catch (e) {
    throw new CertificateError('parse', `cannot parse chain: ${(e as Error).message}`, { cause: e });
  }
  return findChainPath(leaf, chain, trust, now, {
    same: (a, b) => a.rawData.byteLength === b.rawData.byteLength && Buffer.from(a.rawData).equals(Buffer.from(b.rawData)),
    signedBy,
    validAt: (c, at) => at >= c.notBefore && at <= c.notAfter,
    subject: (c) => c.subject,
    issuer: (c) => c.issuer,
  });
}

/**
 * Validates a credential set before anything is written (key ↔ cert, chain → trust bundle, SANs,
 * EKU, validity window). Returns the parsed leaf.
 * @throws CertificateError with `problem` naming what failed.
 */
export async function validateCredentials(o: ValidateCredentialsOptions): Promise<CertificateInfo> {
  const now = o.now ?? new Date();
  const skew = o.skewMs ?? 60_000;
  const leaf = parseCertificate(o.certPem);
  if (!keyMatchesCertificate(o.keyPem, leaf)) {
    throw new CertificateError('key-mismatch', `certificate ${leaf.serial} does not match the private key`);
  }
  await verifyChain(leaf.pem, o.chainPems, o.trustPems, now);
  if (now.getTime() + skew < leaf.notBefore.getTime()) {
    throw new CertificateError('not-yet-valid', `certificate ${leaf.serial} is not valid before ${leaf.notBefore.toISOString()}`);
  }
  if (now >= leaf.notAfter) {
    throw new CertificateError('expired', `certificate ${leaf.serial} expired at ${leaf.notAfter.toISOString()}`);
  }
  const min = o.minRemainingMs ?? 0;
  if (leaf.notAfter.getTime() - now.getTime() < min) {
    throw new CertificateError(
      'lifetime',
      `certificate ${leaf.serial} has ${Math.round((leaf.notAfter.getTime() - now.getTime()) / 1000)} s left, less than the required ${Math.round(min / 1000)} s`,
    );
  }
  if (!leaf.serverAuth || !leaf.clientAuth) {
    throw new CertificateError('eku', `certificate ${leaf.serial} needs both serverAuth and clientAuth (every node is TLS server and client)`);
  }
  if (o.node) {
    const n = o.node;
    const missing: string[] = [];
    if (!leaf.dns.map((d) => d.toLowerCase()).includes(n.host.toLowerCase())) missing.push(`DNS:${n.host}`);
    if (n.hostKind !== 'dns' && !leaf.ips.includes(n.host)) missing.push(`IP:${n.host}`);
    const uri = nodeIdentityUri(n);
    if (!leaf.uris.includes(uri)) missing.push(`URI:${uri}`);
    if (missing.length) {
      throw new CertificateError('san', `certificate ${leaf.serial} does not cover node ${n.full}: missing ${missing.join(', ')}`);
    }
  }
  return leaf;
}
