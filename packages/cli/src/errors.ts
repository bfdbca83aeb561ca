/**
 * CLI error model (house style §3, §11): commands throw `ExitError` with a documented exit code;
 * anything else is mapped by `toExitError`. Only `src/index.ts` turns these into `process.exit`.
 */
import { isNodeNameError, isRenderError, isVaultSealedError } from '@vaultdist/sdk/errors'; // the light entry: --help must not load x509/axios (bench/footprint.ts)
import { vaultTlsTrustProblem } from '@vaultdist/sdk/tls-trust';
import { EXIT_CODES, EXIT_CODE_TABLE, ExitError, classifyFailure, exitCodeFor, isExitError, type ExitCode } from '@vaultdist/sdk/exit-codes';

/**
 * The documented exit codes (house style §11). The table itself is the SDK's (`@vaultdist/sdk/exit-codes`,
 * shared with the agent); `EXIT` only names its rows in this package's SCREAMING_CASE.
 */
export const EXIT = {
  OK: EXIT_CODES.ok,
  INTERNAL: EXIT_CODES.internal,
  USAGE: EXIT_CODES.usage,
  CONFIG: EXIT_CODES.config,
  VAULT_UNREACHABLE: EXIT_CODES.vaultUnreachable,
  AUTH: EXIT_CODES.auth,
  ISSUE: EXIT_CODES.issue,
  WRITE: EXIT_CODES.write,
  RELOAD: EXIT_CODES.reload,
  DOCTOR_FAILED: EXIT_CODES.doctorFailed,
  REVOKE_INCOMPLETE: EXIT_CODES.revokeIncomplete,
} as const;
export type { ExitCode };

export const EXIT_TABLE = EXIT_CODE_TABLE;

// ExitError and isExitError are the SDK's (shared with the agent).
export { ExitError, isExitError };

/** A bug: printed with an issue link, paths redacted (changesets). */
export class InternalError extends Error {
  override name = 'InternalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Maps any thrown value to an ExitError. The exit code comes from the SDK's classification
 * (`classifyFailure` + `exitCodeFor`, the same as the agent's); the CLI adds hints, and two rules of
 * its own: a bad node name or render input on the command line is a usage error, and a Vault 4xx is
 * exit 13 while issuing (`context: 'issue'`) but 10 while configuring Vault.
 */
export function toExitError(e: unknown, context: 'vault-admin' | 'issue' | 'generic' = 'generic'): ExitError | InternalError {
  if (isExitError(e)) return e;
  if ((e as { code?: unknown })?.code === 'commander.error' || String((e as { code?: unknown })?.code ?? '').startsWith('commander.')) {
    return new ExitError(EXIT.USAGE, (e as Error).message, { cause: e });
  }
  if (isNodeNameError(e) || isRenderError(e)) return new ExitError(EXIT.USAGE, (e as Error).message, { cause: e });
  const kind = classifyFailure(e);
  const message = (e as Error).message;
  switch (kind) {
    case 'vault-unavailable':
      return new ExitError(exitCodeFor(kind), message, {
        cause: e,
        hint: isVaultSealedError(e) ? 'unseal Vault/OpenBao, then run again' : 'Vault answered but cannot serve now (sealed, an election, a standby without an active server): run again',
      });
    case 'vault-tls': {
      // a TLS trust failure is named as such, not "network error … check that the server is up" (issue #14)
      const tls = vaultTlsTrustProblem(e)!;
      return new ExitError(exitCodeFor(kind), `${message.replace(/network error( \([A-Z_]+\))?/, `TLS trust error (${tls.code})`)}: ${tls.reason}`, { cause: e, hint: tls.hint });
    }
    case 'vault-unreachable':
      return new ExitError(exitCodeFor(kind), message, { cause: e, hint: 'check --vault-addr / BAO_ADDR / VAULT_ADDR and that the server is up' });
    case 'auth':
      return new ExitError(exitCodeFor(kind), message, { cause: e, hint: 'check --token / BAO_TOKEN / VAULT_TOKEN (or the AppRole credentials) and its policies' });
    case 'issue':
      return new ExitError(context === 'issue' ? EXIT.ISSUE : EXIT.CONFIG, message, { cause: e });
    case 'internal': {
      const errno = (e as NodeJS.ErrnoException)?.code;
      if (typeof errno === 'string' && ['EACCES', 'EPERM', 'ENOSPC', 'EROFS', 'EEXIST', 'ENOTDIR', 'EISDIR'].includes(errno)) {
        return new ExitError(EXIT.WRITE, message, { cause: e });
      }
      return new InternalError(e instanceof Error ? e.message : String(e), { cause: e });
    }
    default:
      return new ExitError(exitCodeFor(kind), message, { cause: e });
  }
}
