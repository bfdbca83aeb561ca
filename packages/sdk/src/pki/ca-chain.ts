import * as x509 from '../x509/peculiar.js'; // loaded on first use (issue #16)
import type { VaultClient } from '../client.js';
import { isCertificateError, VaultResponseError } from '../errors.js';
import { splitPem } from '../pem.js';

/**
 * Normalises the three shapes Vault uses for CA chains into a list of PEM blocks (each ending "\n"):
 * - an array of PEM strings (issue/sign/`issuer/:ref/json`);
 * - one concatenated PEM string (`cert/ca_chain`);
 * - raw PEM text (`GET pki/ca_chain`, content-type application/pkix-cert).
 */
export function normalizeChain(value: unknown): string[] {
  if (value === null || value === undefined || value === '') return [];
  if (Array.isArray(value)) return value.flatMap((v) => normalizeChain(v));
  if (typeof value === 'string') {
    try {
      return splitPem(value).filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem);
    } catch (e) {
      if (isCertificateError(e)) throw new VaultResponseError('ca_chain', e.message, { cause: e });
      throw e;
    }
  }
  throw new VaultResponseError('ca_chain', `unexpected ca_chain type ${typeof value}`);
}

/** Reads a mount's full chain (default issuer + parents known to the mount) as raw PEM. */
export async function fetchCaChain(vault: VaultClient, mount: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const r = await vault.request('GET', `${mount}/ca_chain`, { signal: options.signal, raw: true, unauthenticated: true });
  return normalizeChain(r.text ?? '');
}

/** The self-signed certificates in a chain: the trust anchors to put in the CA bundle. */
export function rootsOf(chain: string[]): string[] {
  return chain.filter((pem) => {
    const m = /-----BEGIN CERTIFICATE-----/.test(pem);
    if (!m) return false;
    // A root's subject equals its issuer; checked by parsing.
    return isSelfIssued(pem);
  });
}

function isSelfIssued(pem: string): boolean {
  const c = new x509.X509Certificate(pem);
  return c.subject === c.issuer;
}
