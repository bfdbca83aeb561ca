/**
 * Vault connection for every command: flags over the BAO_ and VAULT_ env variables (the SDK resolves the env), and
 * optional AppRole login for `init node` / `issue` on a host that only holds a role_id + secret_id.
 *
 * Note: `appRoleLogin` and `unwrapSecretId` are small local versions; the SDK is gaining AppRole/cert
 * auth strategies (packages/sdk/src/auth) and these should move there once it exports them.
 */
import { createVaultClient, staticToken, type Logger, type VaultClient } from '@vaultdist/sdk';
import { EXIT, ExitError } from './errors.js';
import type { Output } from './output.js';

export interface VaultFlags {
  vaultAddr?: string | undefined;
  token?: string | undefined;
  vaultCacert?: string | undefined;
  namespace?: string | undefined;
}

export interface AppRoleFlags {
  roleId?: string | undefined;
  secretId?: string | undefined;
  /** A response-wrapping token whose payload is the secret_id (`init vault` prints one). */
  wrappedSecretId?: string | undefined;
  approleMount?: string | undefined;
}

function cliLogger(out: Output): Logger {
  let aiaNoted = false;
  return {
    debug: () => {},
    info: () => {},
    warn: (msg, meta) => {
      const w = meta && 'warning' in meta ? String(meta.warning) : undefined;
      // Vault repeats the "no AIA URLs" warning on every CA call; one note is enough.
      if (w && /authority information access/i.test(w)) {
        if (!aiaNoted) out.warn('the PKI mounts have no AIA/CRL URLs configured (pass --urls https://vault.example:8200 to set them)');
        aiaNoted = true;
        return;
      }
      out.warn(w ? `${w} (${String(meta?.path ?? '')})` : msg);
    },
    error: (msg) => out.warn(msg),
  };
}

/** A client from flags/env. `requireToken` turns a missing token into exit 12 naming the variables. */
export function connectVault(flags: VaultFlags, out: Output, o: { requireToken?: boolean } = {}): VaultClient {
  const vault = createVaultClient({
    address: flags.vaultAddr,
    token: flags.token,
    caCertPath: flags.vaultCacert,
    namespace: flags.namespace,
    env: out.io.env,
    logger: cliLogger(out),
    retry: { retries: 1 },
  });
  if (o.requireToken && vault.connection.token === undefined) {
    throw new ExitError(EXIT.AUTH, `no Vault token for ${vault.connection.address}`, {
      hint: 'pass --token, or set BAO_TOKEN / VAULT_TOKEN (or use --role-id with --secret-id / --wrapped-secret-id)',
    });
  }
  return vault;
}

/** Unwraps a response-wrapped secret_id (`sys/wrapping/unwrap` with the wrapping token). */
export async function unwrapSecretId(vault: VaultClient, wrappingToken: string): Promise<string> {
  try {
    const r = await vault.write<{ secret_id?: string }>('sys/wrapping/unwrap', undefined, { token: wrappingToken, idempotent: false });
    if (!r.data?.secret_id) throw new ExitError(EXIT.AUTH, 'the wrapped payload has no secret_id (was it created by `vaultdist init vault`?)');
    return r.data.secret_id;
  } catch (e) {
    if (e instanceof ExitError) throw e;
    const status = (e as { status?: number }).status;
    if (status === 400 || status === 403) {
      throw new ExitError(EXIT.AUTH, `--wrapped-secret-id: Vault refused to unwrap it (${(e as Error).message})`, {
        cause: e,
        hint: 'wrapping tokens work once and expire; run `vaultdist init vault --new-secret-id` for a fresh one',
      });
    }
    throw e;
  }
}

/**
 * Returns a client that authenticates with AppRole when --role-id is given, else the token client.
 */
export async function authenticate(base: VaultClient, flags: AppRoleFlags, out: Output): Promise<VaultClient> {
  const roleId = flags.roleId ?? out.io.env.VAULTDIST_ROLE_ID;
  if (!roleId) {
    if (base.connection.token === undefined) {
      throw new ExitError(EXIT.AUTH, `no Vault credentials for ${base.connection.address}`, {
        hint: 'pass --role-id with --wrapped-secret-id/--secret-id, or --token / BAO_TOKEN / VAULT_TOKEN',
      });
    }
    return base;
  }
  let secretId = flags.secretId ?? out.io.env.VAULTDIST_SECRET_ID;
  if (!secretId && flags.wrappedSecretId) {
    out.progress('unwrapping the secret_id');
    secretId = await unwrapSecretId(base, flags.wrappedSecretId);
  }
  if (!secretId) throw new ExitError(EXIT.USAGE, '--role-id needs --secret-id (or VAULTDIST_SECRET_ID) or --wrapped-secret-id');
  const mount = flags.approleMount ?? 'approle';
  out.progress(`logging in with AppRole at auth/${mount}`);
  const r = await base.write(`auth/${mount}/login`, { role_id: roleId, secret_id: secretId }, { unauthenticated: true, idempotent: true });
  const token = r.auth?.client_token;
  if (!token) throw new ExitError(EXIT.AUTH, `auth/${mount}/login answered without a token`);
  return base.extend({ auth: staticToken(token), token: undefined });
}
