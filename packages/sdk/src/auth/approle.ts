/**
 * AppRole auth (`auth/approle/login` with `role_id` + `secret_id`).
 *
 * The secret_id can be given directly, read from a file (re-read at every login, so an operator can
 * drop in a new one), or delivered **response-wrapped**: then `wrappingToken` is unwrapped exactly
 * once through `sys/wrapping/unwrap` at the first login and the secret_id is kept in memory only.
 * A second unwrap of the same wrapping token fails in Vault (400 "wrapping token is not valid or does
 * not exist"), which is the point of wrapping: an intercepted token is detectable.
 *
 * On a 403 the client calls `invalidate()`, the strategy logs in again once with the same
 * credentials and the request is replayed.
 */
import { readFile } from 'node:fs/promises';
import type { AuthContext, AuthStrategy } from '../client.js';
import { ConfigError, VaultResponseError, type ConfigIssue } from '../errors.js';
import { createLoginStrategy, loginRequest, mountPath, type LoginStrategyOptions } from './login.js';

/** Options of `appRoleAuth`: the role_id, a secret_id (value, file, or a wrapping token) and the mount. */
export interface AppRoleAuthOptions extends LoginStrategyOptions {
  roleId: string;
  /** The secret_id. Exactly one of `secretId`, `secretIdFile`, `wrappingToken` (or none with `bind_secret_id=false`). */
  secretId?: string | undefined;
  /** File holding the secret_id; re-read at every login. */
  secretIdFile?: string | undefined;
  /** Response-wrapping token whose wrapped answer holds the secret_id (unwrapped once). */
  wrappingToken?: string | undefined;
  /** @default 'approle' */
  mount?: string | undefined;
}

/**
 * Unwraps a response-wrapped secret_id: `POST sys/wrapping/unwrap` authenticated with the wrapping
 * token itself. Works once per wrapping token.
 */
export async function unwrapSecretId(ctx: Pick<AuthContext, 'request'>, wrappingToken: string, signal?: AbortSignal): Promise<string> {
  const r = await ctx.request<{ secret_id?: string }>('POST', 'sys/wrapping/unwrap', { token: wrappingToken, signal, idempotent: false, retry: { retries: 0 } });
  const id = r.data?.secret_id;
  if (typeof id !== 'string' || !id) throw new VaultResponseError('sys/wrapping/unwrap', 'the wrapped answer holds no secret_id');
  return id;
}

/**
 * AppRole login strategy.
 *
 * @example
 * const vault = createVaultClient({ address, auth: appRoleAuth({ roleId, wrappingToken }) });
 * await vault.write('pki_int/sign/erlang-node', { csr });
 */
export function appRoleAuth(o: AppRoleAuthOptions): AuthStrategy {
  const issues: ConfigIssue[] = [];
  const mount = mountPath('mount', o.mount ?? 'approle', issues);
  if (typeof o.roleId !== 'string' || !o.roleId.trim()) issues.push({ path: 'roleId', message: 'empty role_id' });
  const given = [o.secretId, o.secretIdFile, o.wrappingToken].filter((v) => v !== undefined).length;
  if (given > 1) issues.push({ path: 'secretId', message: 'give only one of secretId, secretIdFile, wrappingToken' });
  if (issues.length) throw new ConfigError(issues);
  let secretId = o.secretId;
  let wrapping = o.wrappingToken;
  return createLoginStrategy(
    'approle',
    async (ctx, signal) => {
      if (wrapping !== undefined) {
        const w = wrapping;
        wrapping = undefined; // once, even if the unwrap fails: a used wrapping token is never retried
        secretId = await unwrapSecretId(ctx, w, signal);
      }
      let sid = secretId;
      if (o.secretIdFile) {
        try {
          sid = (await readFile(o.secretIdFile, 'utf8')).trim();
        } catch (e) {
          throw new ConfigError([{ path: 'secretIdFile', message: `cannot read ${o.secretIdFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}` }]);
        }
      }
      return loginRequest(ctx, `auth/${mount}/login`, sid === undefined ? { role_id: o.roleId } : { role_id: o.roleId, secret_id: sid }, { signal });
    },
    o,
  );
}
