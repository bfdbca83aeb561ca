import type { AuthContext, AuthStrategy, VaultAuthInfo, VaultRequestOptions } from '../client.js';
import { VaultResponseError } from '../errors.js';
import { redactUrl } from '../transport/redact.js';

/** The lease facts of one login, as `AuthStrategy.current()` reports them. */
export interface LoginLease {
  token: string;
  leaseDurationSeconds: number;
  renewable: boolean;
  obtainedAtMs: number;
  /**
   * What the login is bound to, when that can change under it (cert auth: a digest of the client
   * certificate it logged in with). A strategy adopts a handed-over lease only while it still matches.
   */
  binding?: string | undefined;
}

/** What a login function returns: Vault's `auth` block. */
export type LoginFn = (ctx: AuthContext, signal: AbortSignal | undefined) => Promise<VaultAuthInfo>;

export interface LoginStrategyOptions {
  /** Log in again this long before the token's lease ends. @default 10_000 */
  reloginMarginMs?: number | undefined;
  /** Wall clock in ms (tests). @default Date.now */
  now?: (() => number) | undefined;
  /**
   * Called before a cached token is handed out; return true to drop it and log in again (cert auth:
   * the certificate file changed, so the token bound to the old certificate must be replaced).
   */
  stale?: (() => boolean) | undefined;
}

/** Calls a login endpoint (unauthenticated) and checks that Vault answered with an `auth` block. */
export async function loginRequest(ctx: AuthContext, path: string, body: unknown, options: VaultRequestOptions = {}): Promise<VaultAuthInfo> {
  // Logins create a token each time, but a replayed login only creates a second, unused token:
  // safe to retry on the client's usual conditions.
  const r = await ctx.request<unknown>('POST', path, { ...options, body, idempotent: true });
  const auth = r.auth;
  if (!auth || typeof auth.client_token !== 'string' || !auth.client_token) {
    throw new VaultResponseError(redactUrl(`${ctx.connection.address}/v1/${path}`), 'login answer has no auth.client_token');
  }
  return auth;
}

/**
 * Shared machinery of every login-based strategy (AppRole, cert, JWT, Kubernetes):
 * 1. the token lives only in this closure;
 * 2. concurrent callers share one in-flight login;
 * 3. a cached token is reused until `reloginMarginMs` before its lease ends (or `stale()` says so);
 * 4. `invalidate()` (after a 403) drops it and returns true, so the client logs in again once and replays.
 */
export function createLoginStrategy(kind: string, login: LoginFn, o: LoginStrategyOptions = {}): AuthStrategy {
  const now = o.now ?? Date.now;
  const margin = o.reloginMarginMs ?? 10_000;
  let lease: LoginLease | undefined;
  let inflight: Promise<string> | undefined;
  const fresh = (l: LoginLease) => l.leaseDurationSeconds === 0 || now() < l.obtainedAtMs + l.leaseDurationSeconds * 1000 - margin;
  return {
    kind,
    async getToken(ctx, signal) {
      if (lease && fresh(lease) && !o.stale?.()) return lease.token;
      inflight ??= (async () => {
        try {
          ctx.logger.debug('vault login', { method: kind });
          const auth = await login(ctx, signal);
          lease = { token: auth.client_token, leaseDurationSeconds: auth.lease_duration ?? 0, renewable: auth.renewable === true, obtainedAtMs: now() };
          ctx.logger.info('vault login succeeded', { method: kind, leaseDurationSeconds: lease.leaseDurationSeconds, policies: auth.policies });
          return lease.token;
        } finally {
          inflight = undefined;
        }
      })();
      return inflight;
    },
    invalidate() {
      lease = undefined;
      return true;
    },
    current: () => lease,
    adopt(l) {
      if (!lease && l.token) lease = { ...l };
    },
  };
}

/** Validates a mount path option (no leading/trailing slashes, no `..`). */
export function mountPath(field: string, mount: string, issues: { path: string; message: string }[]): string {
  const m = mount.replace(/^\/+|\/+$/g, '');
  if (!m || m.split('/').some((p) => p === '' || p === '.' || p === '..')) issues.push({ path: field, message: `invalid mount path ${JSON.stringify(mount)}` });
  return m;
}
