/**
 * `inspectCertificate`: what `parseCertificate` returns, read with node:crypto's X509Certificate
 * instead of @peculiar/x509 (issue #16, footprint): for commands that only look at a certificate
 * (`vaultdist status`), loading @peculiar/x509 was most of their start-up time.
 *
 * Same fields and spellings as `parseCertificate` for the certificates vaultdist issues; the one
 * difference: `subject`/`issuer` come from OpenSSL's one-line form (`CN=a, O=b`), which can escape
 * special characters differently. Compare names from one function, never across the two.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { CertificateError } from '../errors.js';
import { splitPem } from '../pem.js';
import { findChainPath } from './chain-path.js';
import { normalizeSerial, type CertificateInfo } from './parse.js';

const EKU_SERVER = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT = '1.3.6.1.5.5.7.3.2';

/** `DNS:a, IP Address:1.2.3.4, URI:x` (values JSON-quoted when they hold separators) → [type, value][]. */
function sanEntries(text: string | undefined): [string, string][] {
  const out: [string, string][] = [];
  const re = /\s*([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/g;
  for (let m = re.exec(text ?? ''); m && m[0]; m = re.exec(text ?? '')) {
    const raw = m[2]!.trim();
    out.push([m[1]!.trim(), raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return out;
}

/** Parses one PEM or DER certificate with node:crypto. @throws CertificateError('parse') */
export function inspectCertificate(input: string | Uint8Array): CertificateInfo {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  } catch (e) {
    throw new CertificateError('parse', `not a valid X.509 certificate: ${(e as Error).message}`, { cause: e });
  }
  const san = sanEntries(cert.subjectAltName);
  const of = (type: string) => san.filter(([t]) => t === type).map(([, v]) => v);
  // node:crypto's keyUsage is the extended key usage OIDs (undefined without the extension)
  const eku = cert.keyUsage as string[] | undefined;
  const der = cert.raw;
  return {
    serial: normalizeSerial(cert.serialNumber),
    subject: cert.subject.split('\n').join(', '),
    issuer: cert.issuer.split('\n').join(', '),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    dns: of('DNS'),
    ips: of('IP Address'),
    uris: of('URI'),
    emails: of('email'),
    serverAuth: !eku || eku.includes(EKU_SERVER),
    clientAuth: !eku || eku.includes(EKU_CLIENT),
    isCa: cert.ca,
    fingerprint256: createHash('sha256').update(der).digest('hex'),
    spki: cert.publicKey.export({ type: 'spki', format: 'der' }),
    pem: `${cert.toString().trimEnd()}\n`,
  };
}

/** `child` is signed by `issuer` (names match, then the signature), as in `verifyChain`. */
function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  if (child.issuer !== issuer.subject) return false;
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

const oneLine = (name: string) => name.split('\n').join(', ');

/**
 * `verifyChain` (x509/validate.ts) with node:crypto, for commands that only look (`vaultdist doctor`):
 * the same path search (x509/chain-path.ts, shared with `verifyChain`). Resolves to the number of certificates on
 * the path (leaf first, anchor last).
 * @throws CertificateError('parse' | 'chain')
 */
export async function inspectChain(leafPem: string, chainPems: string[], trustPems: string[], now: Date): Promise<number> {
  const load = (pems: string[]) => pems.flatMap((p) => splitPem(p).filter((b) => b.label === 'CERTIFICATE')).map((b) => new X509Certificate(b.der));
  let leaf: X509Certificate;
  let chain: X509Certificate[];
  let trust: X509Certificate[];
  try {
    leaf = new X509Certificate(leafPem);
    chain = load(chainPems);
    trust = load(trustPems);
  } catch (e) {
    throw new CertificateError('parse', `cannot parse chain: ${(e as Error).message}`, { cause: e });
  }
  const path = await findChainPath(leaf, chain, trust, now, {
    same: (a, b) => a.raw.equals(b.raw),
    signedBy,
    validAt: (c, at) => at >= new Date(c.validFrom) && at <= new Date(c.validTo),
    subject: (c) => oneLine(c.subject),
    issuer: (c) => oneLine(c.issuer),
  });
  return path.length;
}
