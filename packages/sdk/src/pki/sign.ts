import type { VaultClient } from '../client.js';
import { VaultResponseError } from '../errors.js';
import type { NodeName } from '../node-name.js';
import { nodeSans, type NodeSans } from '../x509/csr.js';
import { keyAlgorithm, type KeyType } from '../x509/keys.js';
import { createCsr, exportKeyObjectPem, generateNodeKeyObjects } from '../x509/pkcs10.js';
import { normalizeChain } from './ca-chain.js';

/** What Vault returned for one certificate, normalised. */
export interface SignedCertificate {
  certificate: string;
  /** Issuing CA first, then parents (as far as the mount knows them). */
  caChain: string[];
  issuingCa: string;
  serial: string;
  expiration: Date;
  warnings: string[];
}

export interface SignOptions {
  mount: string;
  role: string;
  csr: string;
  /** Requested TTL, e.g. "24h". Vault silently caps it at the role max: see `warnings`. */
  ttl?: string | undefined;
  commonName?: string | undefined;
  signal?: AbortSignal | undefined;
}

function toSigned(data: Record<string, unknown> | undefined, warnings: string[], url: string): SignedCertificate {
  if (!data || typeof data.certificate !== 'string' || !data.certificate.includes('BEGIN CERTIFICATE')) {
    throw new VaultResponseError(url, 'answer has no PEM certificate');
  }
  const issuingCa = typeof data.issuing_ca === 'string' ? data.issuing_ca : '';
  const chain = normalizeChain(data.ca_chain ?? issuingCa);
  const serial = data.serial_number;
  if (typeof serial !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2})*$/i.test(serial)) {
    throw new VaultResponseError(url, serial === undefined ? 'answer has no serial_number' : `serial_number ${JSON.stringify(serial)} is not a colon-separated hex serial`);
  }
  // Vault sends `expiration` as Unix seconds (a JSON number). It is informational: the leaf's own
  // notAfter is what validateCredentials checks, so only a missing or unusable value is refused here.
  const exp = typeof data.expiration === 'number' ? data.expiration : typeof data.expiration === 'string' && /^\d+$/.test(data.expiration) ? Number(data.expiration) : Number.NaN;
  const expiration = new Date(exp * 1000);
  if (Number.isNaN(expiration.getTime())) {
    throw new VaultResponseError(url, data.expiration === undefined ? 'answer has no expiration' : `expiration ${JSON.stringify(data.expiration)} is not a Unix time in seconds`);
  }
  return {
    certificate: `${data.certificate.trim()}\n`,
    caChain: chain,
    issuingCa: issuingCa ? `${issuingCa.trim()}\n` : (chain[0] ?? ''),
    serial: serial.toLowerCase(),
    expiration,
    warnings,
  };
}

/**
 * `POST {mount}/sign/{role}`: Vault signs a CSR; CN and SANs come from the CSR.
 * Retried and failed over like an idempotent call (issue #14): a replay only signs the same fresh
 * public key once more, no key material is created or sent, so riding out a leader election is safe.
 */
export async function signCsr(vault: VaultClient, o: SignOptions): Promise<SignedCertificate> {
  const path = `${o.mount}/sign/${o.role}`;
  const r = await vault.write<Record<string, unknown>>(
    path,
    { csr: o.csr, ttl: o.ttl, format: 'pem', common_name: o.commonName },
    { signal: o.signal, idempotent: true },
  );
  return toSigned(r.data, r.warnings, path);
}

export interface IssuedCertificate extends SignedCertificate {
  privateKey: string;
}

/** `POST {mount}/issue/{role}`: opt-in; Vault generates the key and sends it over the network. */
export async function issueCertificate(
  vault: VaultClient,
  o: {
    mount: string;
    role: string;
    sans: NodeSans;
    ttl?: string;
    signal?: AbortSignal;
    /** Only honoured by roles with `key_type=any` (OpenBao ≥ 2.0); otherwise the role's type wins with a warning. */
    keyType?: KeyType;
  },
): Promise<IssuedCertificate> {
  const path = `${o.mount}/issue/${o.role}`;
  const alg = o.keyType ? keyAlgorithm(o.keyType) : undefined;
  const r = await vault.write<Record<string, unknown>>(
    path,
    {
      common_name: o.sans.commonName,
      alt_names: o.sans.dns.join(','),
      ip_sans: o.sans.ips.join(','),
      uri_sans: o.sans.uris.join(','),
      ttl: o.ttl,
      format: 'pem',
      private_key_format: 'pkcs8',
      ...(alg ? { key_type: alg.vaultKeyType, key_bits: alg.vaultKeyBits } : {}),
    },
    { signal: o.signal, idempotent: false },
  );
  const signed = toSigned(r.data, r.warnings, path);
  const key = r.data?.private_key;
  if (typeof key !== 'string' || !key.includes('PRIVATE KEY')) throw new VaultResponseError(path, 'answer has no private key');
  return { ...signed, privateKey: `${key.trim()}\n` };
}

export interface NodeCertificateRequest {
  mount: string;
  role: string;
  node: NodeName;
  /** @default 'ec-p256' */
  keyType?: KeyType | undefined;
  ttl?: string | undefined;
  /** `sign` (default: key made here, CSR signed) or `issue` (Vault makes the key). */
  mode?: 'sign' | 'issue' | undefined;
  extraDns?: string[] | undefined;
  extraIps?: string[] | undefined;
  signal?: AbortSignal | undefined;
}

export interface NodeCertificate extends SignedCertificate {
  privateKey: string;
  keyType: KeyType;
  mode: 'sign' | 'issue';
}

/**
 * Gets a node its certificate: by default a key pair is generated here, a CSR with the node's
 * identity profile is built and Vault signs it, so the private key never crosses the network.
 * The result is not yet validated; pass it to `validateCredentials` / `writeCredentialSet`.
 */
export async function requestNodeCertificate(vault: VaultClient, o: NodeCertificateRequest): Promise<NodeCertificate> {
  const keyType = o.keyType ?? 'ec-p256';
  const sans = nodeSans(o.node, { dns: o.extraDns ?? [], ips: o.extraIps ?? [] });
  if (o.mode === 'issue') {
    const issued = await issueCertificate(vault, {
      mount: o.mount,
      role: o.role,
      sans,
      ...(o.ttl ? { ttl: o.ttl } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.keyType ? { keyType: o.keyType } : {}),
    });
    return { ...issued, keyType, mode: 'issue' };
  }
  // node:crypto key + the SDK's own DER encoder (x509/pkcs10.ts): ~0.1 ms, where WebCrypto +
  // @peculiar/x509 (buildCsr) took ~1 ms, as much as the sign call itself (issue #9).
  const keys = await generateNodeKeyObjects(keyType);
  const csr = createCsr({ privateKey: keys.privateKey, keyType, sans });
  const signed = await signCsr(vault, { mount: o.mount, role: o.role, csr, ttl: o.ttl, signal: o.signal });
  return { ...signed, privateKey: exportKeyObjectPem(keys.privateKey), keyType, mode: 'sign' };
}
