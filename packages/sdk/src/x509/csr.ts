import * as x509 from './peculiar.js'; // loaded on first use (issue #16)
import { CertificateError } from '../errors.js';
import { nodeIdentityUri, type NodeName } from '../node-name.js';
import { keyAlgorithm, type KeyType } from './keys.js';

/**
 * The identity profile vaultdist issues (decided for the SDK, documented in its README):
 * - CN = the host part (never `name@host`: Vault would turn that into an e-mail SAN);
 * - DNS SAN = the host, also for IP hosts, because OTP's client checks the server as `{dns_id, Host}`
 *   with Host the text after `@` (facts doc §1: `DNS:127.0.0.1` is required for `x@127.0.0.1`);
 * - IP SAN = the address for IP hosts (server-side `net_kernel:allow`/verify_client match IPs);
 * - URI SAN = `erlang://name@host`, the node identity checked after nodeup;
 * - EKU serverAuth + clientAuth come from the Vault role (`server_flag`, `client_flag`).
 */
export interface NodeSans {
  commonName: string;
  dns: string[];
  ips: string[];
  uris: string[];
}

export function nodeSans(node: NodeName, extra: { dns?: string[]; ips?: string[] } = {}): NodeSans {
  const dns = [node.host, ...(extra.dns ?? [])];
  const ips = node.hostKind === 'dns' ? [...(extra.ips ?? [])] : [node.host, ...(extra.ips ?? [])];
  return { commonName: node.host, dns: [...new Set(dns)], ips: [...new Set(ips)], uris: [nodeIdentityUri(node)] };
}

export interface BuildCsrOptions {
  keys: CryptoKeyPair;
  keyType: KeyType;
  sans: NodeSans;
}

/** Builds a PKCS#10 CSR (PEM) carrying the node's SANs. */
export async function buildCsr(options: BuildCsrOptions): Promise<string> {
  const { sans } = options;
  const names: x509.JsonGeneralName[] = [
    ...sans.dns.map((value) => ({ type: 'dns' as const, value })),
    ...sans.ips.map((value) => ({ type: 'ip' as const, value })),
    ...sans.uris.map((value) => ({ type: 'url' as const, value })),
  ];
  try {
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: [{ CN: [sans.commonName] }],
      keys: options.keys,
      signingAlgorithm: keyAlgorithm(options.keyType).signing,
      extensions: [new x509.SubjectAlternativeNameExtension(names)],
    });
    return csr.toString('pem');
  } catch (e) {
    throw new CertificateError('parse', `cannot build CSR: ${(e as Error).message}`, { cause: e });
  }
}
