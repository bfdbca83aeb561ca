import type { VaultClient } from '../client.js';
import { CertificateError, VaultHttpError, VaultResponseError, isVaultHttpError } from '../errors.js';
import { splitPem } from '../pem.js';
import { normalizeSerial, parseCertificate } from '../x509/parse.js';

/** Options of `revokeCertificate`: the PKI mount and the serial or the certificate. */
export interface RevokeCertificateOptions {
  mount: string;
  /**
   * Serial in any spelling (`3a:5f:…`, `3A5F…`). Works only for certificates Vault stored: a role
   * with `no_store=true` keeps none, so pass `certificate` for those.
   */
  serial?: string | undefined;
  /** The certificate PEM (Vault ≥1.12 / OpenBao): works for `no_store` roles too. Takes precedence. */
  certificate?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** What `revokeCertificate` did: the serial, its state, the revocation time, Vault's warnings. */
export interface RevokeCertificateResult {
  serial: string;
  /**
   * `revoked`: on the CRL now (or already was; `revokedAt` is then the original time).
   * `expired-not-revoked`: Vault answered 200 with only a warning because the certificate had already
   * expired; it is NOT on the CRL (it needs no entry: every peer refuses it as expired).
   */
  state: 'revoked' | 'expired-not-revoked';
  revokedAt: Date | undefined;
  warnings: string[];
}

/**
 * `POST {mount}/revoke`. After it returns `revoked`, the mount's CRL lists the serial (Vault rebuilds
 * it on revoke unless `auto_rebuild` is on; then it can lag up to the grace period). Nodes see the
 * revocation once their CRL directory is refreshed (`fetchCrl` + `writeCrlDir`) — on their next
 * connection, not on live ones.
 * Note: this endpoint is privileged (it revokes any serial); nodes themselves should only get
 * `revoke-with-key`.
 * @throws CertificateError for a bad serial/PEM, VaultHttpError (400 "not found" for unknown serials,
 * also for serial revocation on `no_store` roles — the message then says to pass the PEM).
 */
export async function revokeCertificate(vault: VaultClient, o: RevokeCertificateOptions): Promise<RevokeCertificateResult> {
  let body: Record<string, string>;
  let serial: string;
  if (o.certificate !== undefined) {
    const blocks = splitPem(o.certificate).filter((b) => b.label === 'CERTIFICATE');
    if (blocks.length !== 1) throw new CertificateError('parse', `expected exactly one PEM certificate to revoke, found ${blocks.length}`);
    const info = parseCertificate(blocks[0]!.pem);
    if (info.isCa) throw new CertificateError('chain', 'refusing to revoke a CA certificate through pki/revoke (use issuer/:ref/revoke)');
    serial = info.serial;
    body = { certificate: blocks[0]!.pem };
  } else if (o.serial !== undefined) {
    serial = normalizeSerial(o.serial);
    body = { serial_number: serial };
  } else {
    throw new CertificateError('parse', 'revokeCertificate needs a serial or a certificate PEM');
  }
  const path = `${o.mount}/revoke`;
  let r;
  try {
    r = await vault.write<{ revocation_time?: number; revocation_time_rfc3339?: string; state?: string }>(path, body, {
      signal: o.signal,
      // Revoking twice is harmless (same answer, original time), so a retry is safe.
      idempotent: true,
    });
  } catch (e) {
    if (isVaultHttpError(e) && e.status === 400 && e.errors.some((m) => /not found/i.test(m)) && !o.certificate) {
      throw new VaultHttpError(
        { status: e.status, errors: e.errors, method: e.method, url: e.url, namespace: e.namespace, requestId: e.requestId },
        `${e.message} (if the role has no_store=true Vault keeps no copy: revoke with the certificate PEM instead)`,
      );
    }
    throw e;
  }
  const t = r.data?.revocation_time;
  if (typeof t === 'number' && t > 0) return { serial, state: 'revoked', revokedAt: new Date(t * 1000), warnings: r.warnings };
  if (r.warnings.some((w) => /expired/i.test(w))) return { serial, state: 'expired-not-revoked', revokedAt: undefined, warnings: r.warnings };
  throw new VaultResponseError(path, `answer has no revocation_time and no expiry warning (warnings: ${JSON.stringify(r.warnings)})`);
}
