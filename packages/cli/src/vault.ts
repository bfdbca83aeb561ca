/**
 * Vault connection for every command: flags over the BAO_ and VAULT_ env variables (the SDK resolves the env), and
 * optional AppRole login for `init node` / `issue` on a host that only holds a role_id + secret_id.
 *
 * AppRole login and unwrapping come from the SDK (`appRoleAuth`, `unwrapSecretId`).
 */
import { appRoleAuth, createVaultClient, isVaultResponseError, unwrapSecretId, type Logger, type VaultClient } from '@vaultdist/sdk';
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

/** What `authenticate` used, so `init node` can hand the same AppRole identity to the agent. */
export interface Authenticated {
  vault: VaultClient;
  /** `roleName`: the AppRole role the login landed on (token meta `role_name`), e.g. `vaultdist-<slug>`. */
  appRole: { roleId: string; secretId: string; mount: string; roleName: string | undefined } | undefined;
}

/**
 * Returns a client that logs in with AppRole (SDK `appRoleAuth`) when --role-id is given, else the
 * token client. A wrapped secret_id is unwrapped here once (SDK `unwrapSecretId`).
 */
export async function authenticate(base: VaultClient, flags: AppRoleFlags, out: Output): Promise<Authenticated> {
  const roleId = flags.roleId ?? out.io.env.VAULTDIST_ROLE_ID;
  if (!roleId) {
    if (base.connection.token === undefined) {
      throw new ExitError(EXIT.AUTH, `no Vault credentials for ${base.connection.address}`, {
        hint: 'pass --role-id with --wrapped-secret-id/--secret-id, or --token / BAO_TOKEN / VAULT_TOKEN',
      });
    }
    return { vault: base, appRole: undefined };
  }
  let secretId = flags.secretId ?? out.io.env.VAULTDIST_SECRET_ID;
  if (!secretId && flags.wrappedSecretId) {
    out.progress('unwrapping the secret_id');
    try {
      secretId = await unwrapSecretId(base, flags.wrappedSecretId);
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 400 || status === 403 || isVaultResponseError(e)) {
        throw new ExitError(EXIT.AUTH, `--wrapped-secret-id: Vault refused to unwrap it (${(e as Error).message})`, {
          cause: e,
          hint: 'wrapping tokens work once and expire; run `vaultdist init vault --new-secret-id` for a fresh one',
        });
      }
      throw e;
    }
  }
  if (!secretId) throw new ExitError(EXIT.USAGE, '--role-id needs --secret-id (or VAULTDIST_SECRET_ID) or --wrapped-secret-id');
  const mount = flags.approleMount ?? 'approle';
  out.progress(`logging in with AppRole at auth/${mount}`);
  const vault = base.extend({ auth: appRoleAuth({ roleId, secretId, mount }), token: undefined });
  // Log in now (the node policy allows lookup-self), so bad credentials fail here with exit 12.
  let roleName: string | undefined;
  try {
    const self = await vault.read<{ meta?: Record<string, string> | null }>('auth/token/lookup-self');
    roleName = self.data?.meta?.role_name;
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 400 || status === 403) {
      throw new ExitError(EXIT.AUTH, `AppRole login at ${base.connection.address}/v1/auth/${mount}/login failed: ${(e as Error).message}`, { cause: e, hint: 'check --role-id / --secret-id (VAULTDIST_ROLE_ID / VAULTDIST_SECRET_ID) and --approle-mount' });
    }
    throw e;
  }
  return { vault, appRole: { roleId, secretId, mount, roleName } };
}
