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

/** OpenSSL's messages, for errors whose code did not survive (the SDK keeps only E* codes as errno). */
const TRUST_MESSAGES: [RegExp, string][] = [
  [/self[- ]signed certificate in certificate chain/i, 'SELF_SIGNED_CERT_IN_CHAIN'],
  [/self[- ]signed certificate/i, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  [/unable to verify the first certificate/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/unable to get local issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
  [/unable to get issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT'],
  [/certificate has expired/i, 'CERT_HAS_EXPIRED'],
  [/certificate is not yet valid/i, 'CERT_NOT_YET_VALID'],
  [/does not match certificate'?s altnames/i, 'ERR_TLS_CERT_ALTNAME_INVALID'],
];

function trustCode(e: { errno?: string | undefined; cause?: unknown }): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { errno?: unknown; code?: unknown }).errno ?? (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c in TRUST_CODES) return c;
    const msg = (cur as { message?: unknown }).message;
    if (typeof msg === 'string' && i > 0) for (const [re, code] of TRUST_MESSAGES) if (re.test(msg)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

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
  const code = trustCode(e);
  if (!code) return undefined;
  const reason = TRUST_CODES[code]!;
  const hint =
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH'
      ? 'use the name the certificate was issued for, or set the TLS server name (BAO_TLS_SERVER_NAME, agent vault.tlsServerName)'
      : code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID'
        ? "renew Vault's listener certificate (or fix this host's clock)"
        : "trust Vault's CA: --vault-cacert FILE (env BAO_CACERT / VAULT_CACERT; agent config vault.caCert)";
  return { code, reason, hint };
}
