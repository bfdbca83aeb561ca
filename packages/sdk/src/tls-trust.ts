/**
 * Naming TLS trust failures towards Vault as such (issue #14: a private-CA Vault without
 * `--vault-cacert` was reported as "network error, check that the server is up").
 */
import { isVaultNetworkError } from './errors.js';

/** OpenSSL/Node verification codes that mean "the server's certificate is not trusted / not for this name". */
const TRUST_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate is signed by a CA that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT: 'the server certificate is signed by a CA that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server certificate is signed by a CA that is not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate chains to a CA that is not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed and not trusted',
  CERT_UNTRUSTED: 'the server certificate is not trusted',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  CERT_NOT_YET_VALID: 'the server certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate does not name this address',
  HOSTNAME_MISMATCH: 'the server certificate does not name this address',
  CERT_SIGNATURE_FAILURE: 'the server certificate signature does not verify',
};

export interface TlsTrustProblem {
  /** The verification code, e.g. `SELF_SIGNED_CERT_IN_CHAIN`. */
  code: string;
  /** What it means, e.g. "the server certificate chains to a CA that is not trusted". */
  reason: string;
  /** What to do. */
  hint: string;
}

/**
 * When `e` is a connection failure caused by TLS verification of Vault's certificate, what went wrong
 * and the fix (`--vault-cacert` / `BAO_CACERT` / the agent's `vault.caCert`); otherwise undefined.
 */
export function vaultTlsTrustProblem(e: unknown): TlsTrustProblem | undefined {
  if (!isVaultNetworkError(e)) return undefined;
  const code = e.errno ?? '';
  const reason = TRUST_CODES[code];
  if (!reason) return undefined;
  const hint =
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH'
      ? 'use the name the certificate was issued for, or set the TLS server name (BAO_TLS_SERVER_NAME, agent vault.tlsServerName)'
      : code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID'
        ? "renew Vault's listener certificate (or fix this host's clock)"
        : "trust Vault's CA: --vault-cacert FILE (env BAO_CACERT / VAULT_CACERT; agent config vault.caCert)";
  return { code, reason, hint };
}
