import { createHash } from 'node:crypto';
import * as x509 from './peculiar.js'; // loaded on first use (issue #16)
import { CertificateError } from '../errors.js';

const EKU_SERVER = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT = '1.3.6.1.5.5.7.3.2';

/** What vaultdist needs to know about a certificate. */
export interface CertificateInfo {
  /** Lowercase colon-separated hex, as Vault prints serials. */
  serial: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  dns: string[];
  ips: string[];
  uris: string[];
  emails: string[];
  serverAuth: boolean;
  clientAuth: boolean;
  isCa: boolean;
  /** SHA-256 of the DER, hex. */
  fingerprint256: string;
  /** DER of the SubjectPublicKeyInfo. */
  spki: Buffer;
  pem: string;
}

/** Normalises any serial spelling (Node's uppercase hex, Vault's colon hex, decimal-free) to Vault's form. */
export function normalizeSerial(serial: string): string {
  let hex = serial.replace(/[:\s-]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) throw new CertificateError('parse', `not a hex serial: ${JSON.stringify(serial)}`);
  hex = hex.replace(/^0+(?=.)/, '');
  if (hex.length % 2) hex = `0${hex}`;
  return hex.match(/../g)!.join(':');
}

/** Parses one PEM or DER certificate. @throws CertificateError('parse') */
export function parseCertificate(input: string | Uint8Array): CertificateInfo {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(typeof input === 'string' ? input : new Uint8Array(input));
  } catch (e) {
    throw new CertificateError('parse', `not a valid X.509 certificate: ${(e as Error).message}`, { cause: e });
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const items = san?.names.items ?? [];
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const usages = (eku?.usages ?? []).map(String);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const der = Buffer.from(cert.rawData);
  return {
    serial: normalizeSerial(cert.serialNumber),
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    dns: items.filter((i) => i.type === 'dns').map((i) => i.value),
    ips: items.filter((i) => i.type === 'ip').map((i) => i.value),
    uris: items.filter((i) => i.type === 'url').map((i) => i.value),
    emails: items.filter((i) => i.type === 'email').map((i) => i.value),
    serverAuth: !eku || usages.includes(EKU_SERVER),
    clientAuth: !eku || usages.includes(EKU_CLIENT),
    isCa: bc?.ca === true,
    fingerprint256: createHash('sha256').update(der).digest('hex'),
    spki: Buffer.from(cert.publicKey.rawData),
    pem: cert.toString('pem') + '\n',
  };
}

export { x509 };
