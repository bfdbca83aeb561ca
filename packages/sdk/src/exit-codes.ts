/**
 * The exit codes of every vaultdist process (`vaultdist`, `vaultdist agent`, `vaultdist-agent`):
 * one table, owned here (house style §11, consul-template's documented table). The agent and the CLI
 * import it; neither keeps its own copy (issue #16: the copies had drifted).
 *
 * This module has no imports, so a CLI `--help` can load it without the SDK's X.509/HTTP stack.
 */

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
