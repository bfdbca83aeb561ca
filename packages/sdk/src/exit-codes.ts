/**
 * The exit codes of every vaultdist process (`vaultdist`, `vaultdist agent`, `vaultdist-agent`):
 * one table, owned here (house style §11, consul-template's documented table). The agent and the CLI
 * import it; neither keeps its own copy (issue #16: the copies had drifted).
 *
 * It imports only the error classes, so a CLI `--help` can load it without the SDK's X.509/HTTP stack.
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
} from './errors.js';
import { vaultTlsTrustProblem } from './tls-trust.js';

/**
 * Exit code by meaning.
 *
 * | Code | Key | Meaning |
 * | --- | --- | --- |
 * | 0 | `ok` | OK (also a graceful SIGTERM/SIGINT stop) |
 * | 1 | `internal` | Unexpected or internal error; shutdown deadline passed; second signal |
 * | 2 | `usage` | Usage error (bad flag, bad node name, no TTY for a prompt) |
 * | 10 | `config` | Configuration invalid (config file, flags, environment, node directory) |
 * | 11 | `vaultUnreachable` | Vault unreachable (network, timeout, TLS trust), sealed or unavailable (5xx) |
 * | 12 | `auth` | Authentication or permission failed |
 * | 13 | `issue` | Issue/sign failed, or Vault's answer was rejected (wrong key, wrong CA, expired) |
 * | 14 | `write` | Writing output files failed |
 * | 15 | `reload` | Reload or verify failed (the node does not serve the new certificate) |
 * | 20 | `doctorFailed` | `doctor` found failing checks |
 * | 21 | `revokeIncomplete` | `revoke`: revoked, but the CRL or the cert auth CRL could not be updated |
 */
export const EXIT_CODES = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 10,
  vaultUnreachable: 11,
  auth: 12,
  issue: 13,
  write: 14,
  reload: 15,
  doctorFailed: 20,
  revokeIncomplete: 21,
} as const;

/** One of the documented exit codes. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The table as `[code, meaning]` rows, for `--help` and the READMEs. */
export const EXIT_CODE_TABLE: readonly (readonly [ExitCode, string])[] = [
  [EXIT_CODES.ok, 'OK (also a graceful SIGTERM/SIGINT stop)'],
  [EXIT_CODES.internal, 'unexpected or internal error'],
  [EXIT_CODES.usage, 'usage error (bad flag, bad node name, no TTY for a prompt)'],
  [EXIT_CODES.config, 'configuration invalid (config file, flags, environment, node directory)'],
  [EXIT_CODES.vaultUnreachable, 'Vault/OpenBao unreachable, sealed or timing out'],
  [EXIT_CODES.auth, 'Vault authentication or permission failed'],
  [EXIT_CODES.issue, 'certificate issue/sign or validation failed'],
  [EXIT_CODES.write, 'writing output files failed'],
  [EXIT_CODES.reload, 'reload or verify failed (the node does not serve the new certificate)'],
  [EXIT_CODES.doctorFailed, '`doctor` found failing checks'],
  [EXIT_CODES.revokeIncomplete, '`revoke`: revoked, but the CRL or the cert auth CRL could not be updated'],
];

/**
 * What kind of step failed, in the words the agent's health, metrics and logs use; each maps to one
 * exit code ({@link exitCodeFor}). `vault-unreachable`: no answer (refused, reset, DNS, timeout);
 * `vault-unavailable`: an answer saying Vault cannot serve now (sealed, a standby without an active
 * server, any 5xx, e.g. during a leader election); `vault-tls`: the TLS handshake with Vault failed on
 * trust (an unknown CA, a name mismatch; fix: `vault.caCert`).
 */
export type FailureKind = 'config' | 'vault-unreachable' | 'vault-unavailable' | 'vault-tls' | 'auth' | 'issue' | 'rejected' | 'write' | 'reload' | 'verify' | 'internal';

/** Every failure kind, so labelled counters have a series per kind from the start (no absent-series alarms). */
export const FAILURE_KINDS: readonly FailureKind[] = ['config', 'vault-unreachable', 'vault-unavailable', 'vault-tls', 'auth', 'issue', 'rejected', 'write', 'reload', 'verify', 'internal'];

/**
 * The failure kind of an SDK error (the one classification the agent and the CLI share):
 * - no answer (refused, reset, DNS, timeout) → `vault-unreachable`; a TLS trust failure → `vault-tls`;
 * - an answer that says Vault cannot serve now (sealed, any 5xx: an election, a standby without an
 *   active server) → `vault-unavailable`, also from a login endpoint (issue #14: a 500 from a login
 *   was an auth failure, exit 12);
 * - 401/403 → `auth`; other 4xx and malformed answers → `issue`;
 * - a rejected certificate → `rejected`; a config or node-name error → `config`; a write error → `write`;
 * - anything else → `internal`.
 */
export function classifyFailure(e: unknown): FailureKind {
  if (isConfigError(e) || isNodeNameError(e)) return 'config';
  if (vaultTlsTrustProblem(e)) return 'vault-tls';
  if (isVaultNetworkError(e) || isVaultTimeoutError(e)) return 'vault-unreachable';
  const status = (e as { status?: unknown }).status;
  if (isVaultSealedError(e) || (isVaultHttpError(e) && typeof status === 'number' && status >= 500)) return 'vault-unavailable';
  if (isVaultPermissionDeniedError(e)) return 'auth';
  if (isVaultHttpError(e)) return status === 401 || status === 403 ? 'auth' : 'issue';
  if (isVaultResponseError(e)) return 'issue';
  if (isCertificateError(e)) return 'rejected';
  if (isWriteError(e)) return 'write';
  return 'internal';
}

/** The exit code of a failure kind (the table above). */
export function exitCodeFor(kind: FailureKind): ExitCode {
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

/**
 * A failure with a known exit code, thrown by commands (the CLI's and the agent's; house style §11):
 * only the process entry point turns it into `process.exitCode`. `message` is printed as is (it
 * names the file, flag or address at fault); `hint` is printed under it, e.g. "fix: export VAULT_TOKEN=…".
 */
export class ExitError extends Error {
  override name = 'ExitError';
  readonly code: ExitCode;
  readonly hint: string | undefined;
  constructor(code: ExitCode, message: string, options: { cause?: unknown; hint?: string | undefined } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

/** Whether `e` is an {@link ExitError} (`instanceof`, or its `name` for one from another copy of the SDK). */
export const isExitError = (e: unknown): e is ExitError =>
  e instanceof ExitError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'ExitError');
