/**
 * Agent errors and the exit-code table (house style §3, §11). SDK errors are classified by their
 * type guards (which check `name` too, so copies of the SDK in different module graphs still match).
 */
import {
  isCertificateError,
  isConfigError,
  isNodeNameError,
  isVaultHttpError,
  isVaultNetworkError,
  isVaultPermissionDeniedError,
  isVaultResponseError,
  isVaultSealedError,
  isVaultTimeoutError,
  isWriteError,
} from '@vaultdist/sdk';
import { vaultTlsTrustProblem } from '@vaultdist/sdk/tls-trust';
import { EXIT_CODES } from '@vaultdist/sdk/exit-codes';
import type { FailureKind } from './core/state.js';

/** The exit-code table is the SDK's (`@vaultdist/sdk/exit-codes`), shared with the CLI. */
export { EXIT_CODES };

export class AgentError extends Error {
  override name = 'AgentError';
  readonly kind: FailureKind;
  readonly node: string | undefined;
  constructor(kind: FailureKind, message: string, o: { node?: string | undefined; cause?: unknown } = {}) {
    super(message, o.cause !== undefined ? { cause: o.cause } : undefined);
    this.kind = kind;
    this.node = o.node;
  }
}

/** Thrown by command-style entry points; `main` maps it to `process.exitCode`. */
export class ExitError extends Error {
  override name = 'ExitError';
  readonly exitCode: number;
  constructor(exitCode: number, message: string, o: { cause?: unknown } = {}) {
    super(message, o.cause !== undefined ? { cause: o.cause } : undefined);
    this.exitCode = exitCode;
  }
}

/**
 * The failure kind of an error:
 * - no answer (refused, reset, DNS, timeout) → `vault-unreachable`; a TLS trust failure → `vault-tls`;
 * - an answer that says Vault cannot serve now (sealed, any 5xx: an election, a standby without an
 *   active server) → `vault-unavailable`, also from a login endpoint (issue #14: a 500 from a login
 *   was an auth failure, exit 12);
 * - 401/403 → `auth`; other 4xx and malformed answers → `issue`.
 */
export function classifyError(e: unknown): FailureKind {
  if (e instanceof AgentError) return e.kind;
  if (isConfigError(e) || isNodeNameError(e)) return 'config';
  if (vaultTlsTrustProblem(e)) return 'vault-tls';
  if (isVaultNetworkError(e) || isVaultTimeoutError(e)) return 'vault-unreachable';
  if (isVaultSealedError(e) || (isVaultHttpError(e) && (e as { status?: number }).status! >= 500)) return 'vault-unavailable';
  if (isVaultPermissionDeniedError(e)) return 'auth';
  if (isVaultHttpError(e)) return (e as { status?: number }).status === 401 || (e as { status?: number }).status === 403 ? 'auth' : 'issue';
  if (isVaultResponseError(e)) return 'issue';
  if (isCertificateError(e)) return 'rejected';
  if (isWriteError(e)) return 'write';
  return 'internal';
}

export function exitCodeFor(kind: FailureKind): number {
  switch (kind) {
    case 'config':
      return EXIT_CODES.config;
    case 'vault-unreachable':
    case 'vault-unavailable':
    case 'vault-tls':
      return EXIT_CODES.vaultUnreachable;
    case 'auth':
      return EXIT_CODES.auth;
    case 'issue':
    case 'rejected':
      return EXIT_CODES.issue;
    case 'write':
      return EXIT_CODES.write;
    case 'reload':
    case 'verify':
      return EXIT_CODES.reload;
    default:
      return EXIT_CODES.internal;
  }
}
