/**
 * Idempotent admin steps `init vault` needs beyond the SDK's ensure* functions (PKI URLs/CRL config with
 * a `created` flag, root import). Same contract as the SDK's: read, compare, write only on a difference,
 * and in dry-run only report. Candidates to move into packages/sdk/src/pki/admin.ts.
 */
import { parseDurationSeconds, type Changed, type VaultClient } from '@vaultdist/sdk';

interface Opts {
  dryRun?: boolean | undefined;
}

function same(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    const h = Array.isArray(have) ? have : typeof have === 'string' && have ? have.split(',') : [];
    return want.length === h.length && want.every((w, i) => String(w) === String(h[i]));
  }
  if (typeof want === 'string' && typeof have === 'number' && /^(\d+[smhd]?)+$/.test(want)) return parseDurationSeconds(want) === have;
  if (typeof want === 'string' && typeof have === 'string' && want.includes('BEGIN CERTIFICATE')) return want.trim() === have.trim();
  return want === have;
}

/** Fields of `want` that differ from what Vault returned. */
export function diffFields(want: Record<string, unknown>, have: Record<string, unknown> | undefined): string[] {
  if (!have) return Object.keys(want);
  return Object.keys(want).filter((k) => want[k] !== undefined && !same(want[k], have[k]));
}

/** Generic "config object at path" ensure (role, cert role, config/urls …). */
export async function ensureConfig(vault: VaultClient, path: string, body: Record<string, unknown>, label: string, o: Opts = {}): Promise<Changed & { created: boolean }> {
  const cur = await vault.read<Record<string, unknown>>(path, { allowNotFound: true });
  const diff = diffFields(body, cur.data ?? undefined);
  if (cur.data && !diff.length) return { changed: false, created: false, action: `${label} is up to date`, warnings: [] };
  if (!o.dryRun) await vault.write(path, body, { idempotent: true });
  return cur.data
    ? { changed: true, created: false, action: `update ${label} (${diff.join(', ')})`, warnings: [] }
    : { changed: true, created: true, action: `create ${label}`, warnings: [] };
}

/** Imports an existing root (PEM bundle: certificate + private key) into an empty mount. */
export async function importRootCa(vault: VaultClient, mount: string, pemBundle: string, hasCa: boolean, o: Opts = {}): Promise<Changed> {
  if (hasCa) return { changed: false, action: `${mount}/ already has a CA (import skipped)`, warnings: [] };
  if (!o.dryRun) await vault.write(`${mount}/config/ca`, { pem_bundle: pemBundle });
  return { changed: true, action: `import root CA into ${mount}/`, warnings: [] };
}


/** Name of the PKI mount's CRL copy in a cert auth mount (`auth/<cert mount>/crls/<name>`). */
export const certAuthCrlName = (pkiMount: string): string => `vaultdist-${pkiMount.replace(/\//g, '-')}`;

/** A colon-hex serial as the decimal string cert auth uses (`auth/<m>/crls/<name>` → `serials`). */
export const decimalSerial = (colonHex: string): string => BigInt(`0x${colonHex.replace(/:/g, '')}`).toString(10);
