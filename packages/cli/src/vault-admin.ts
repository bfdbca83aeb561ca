/**
 * Idempotent admin steps `init vault` needs beyond the SDK's ensure* functions (root import). Same
 * contract as the SDK's: read, compare, write only on a difference, and in dry-run only report.
 * A candidate to move into packages/sdk/src/pki/admin.ts.
 */
import type { VaultClient } from '@vaultdist/sdk';
import type { Changed } from '@vaultdist/sdk/internal';

interface Opts {
  dryRun?: boolean | undefined;
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
