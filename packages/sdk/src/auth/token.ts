/**
 * Token auth: a token you already hold (VAULT_TOKEN, a token file, a token another login produced),
 * `lookup-self`, `renew-self`, and a renewal watcher in the spirit of Vault's `LifetimeWatcher`.
 *
 * The watcher (see {@link startTokenRenewal}):
 * 1. sleeps until about 2/3 of the current lease (minus a random jitter of up to `jitterFraction`);
 * 2. calls `renew-self`; on success starts again at (1) with the new lease;
 * 3. stops with `max-ttl` once a renewal no longer buys time beyond the grace period (the token hit
 *    its max TTL: a new login is needed), with `not-renewable` when Vault says the token cannot be
 *    renewed, with `denied` on a 403 (token revoked or expired);
 * 4. on other failures retries after a backoff that doubles from `backoffInitialMs` up to
 *    `backoffMaxMs` minus a random trim of up to 25% (openbao `autoAuthBackoff`), never sleeping past
 *    the lease's end and never sleeping zero ms (the LifetimeWatcher hot-loop bug); when the lease
 *    has run out it stops with `expired`.
 *
 * Clock and randomness are ports so tests check the schedule without waiting (house style §7/§8).
 */
import { nextBackoff } from '../backoff.js';
import type { AuthStrategy, VaultClient } from '../client.js';
import { ConfigError, VaultResponseError, isVaultHttpError, isVaultPermissionDeniedError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { delay } from '../transport/delay.js';

/**
 * A fixed token as an auth strategy. A 403 is final (a token cannot log itself in again), so
 * `invalidate()` returns false and the client does not replay.
 *
 * @example
 * const vault = createVaultClient({ address, auth: tokenAuth({ token: process.env.VAULT_TOKEN! }) });
 */
export function tokenAuth(options: { token: string }): AuthStrategy {
  if (typeof options.token !== 'string' || options.token.trim() === '') {
    throw new ConfigError([{ path: 'token', message: 'empty token' }]);
  }
  const token = options.token.trim();
  return { kind: 'token', getToken: async () => token, invalidate: () => false };
}

/** The fields of `auth/token/lookup-self` vaultdist uses (the token id itself is never returned). */
export interface TokenLookup {
  accessor: string;
  policies: string[];
  /** Seconds left, 0 for tokens that never expire (root). */
  ttlSeconds: number;
  creationTtlSeconds: number;
  explicitMaxTtlSeconds: number;
  renewable: boolean;
  expireTime: Date | undefined;
  type: string;
  orphan: boolean;
  displayName: string;
  entityId: string | undefined;
}

/** `GET auth/token/lookup-self`: what the current token is allowed and how long it lives. */
export async function lookupSelf(vault: VaultClient, options: { signal?: AbortSignal | undefined } = {}): Promise<TokenLookup> {
  const r = await vault.read<Record<string, unknown>>('auth/token/lookup-self', { signal: options.signal });
  const d = r.data;
  if (!d || typeof d.accessor !== 'string') throw new VaultResponseError('auth/token/lookup-self', 'answer has no token data');
  const num = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0) || 0);
  return {
    accessor: d.accessor,
    policies: Array.isArray(d.policies) ? d.policies.map(String) : [],
    ttlSeconds: num(d.ttl),
    creationTtlSeconds: num(d.creation_ttl),
    explicitMaxTtlSeconds: num(d.explicit_max_ttl),
    renewable: d.renewable === true,
    expireTime: typeof d.expire_time === 'string' && d.expire_time ? new Date(d.expire_time) : undefined,
    type: String(d.type ?? ''),
    orphan: d.orphan === true,
    displayName: String(d.display_name ?? ''),
    entityId: typeof d.entity_id === 'string' && d.entity_id ? d.entity_id : undefined,
  };
}

export interface RenewResult {
  leaseDurationSeconds: number;
  renewable: boolean;
  /** Vault warnings, e.g. "TTL of ... exceeded the effective max_ttl". */
  warnings: string[];
}

/**
 * `POST auth/token/renew-self`. Vault may grant less than `increment` (max TTL, periodic tokens).
 * Not retried by the client: the watcher's backoff is the only retry layer (house style §4).
 */
export async function renewSelf(vault: VaultClient, options: { increment?: string | number | undefined; signal?: AbortSignal | undefined } = {}): Promise<RenewResult> {
  const body = options.increment === undefined ? {} : { increment: typeof options.increment === 'number' ? `${options.increment}s` : options.increment };
  const r = await vault.write<unknown>('auth/token/renew-self', body, { signal: options.signal, idempotent: false, retry: { retries: 0 } });
  if (!r.auth) throw new VaultResponseError('auth/token/renew-self', 'answer has no auth block');
  return { leaseDurationSeconds: r.auth.lease_duration, renewable: r.auth.renewable === true, warnings: r.warnings };
}

/** The clock the watcher uses: monotonic milliseconds and an abortable sleep. */
export interface WatcherClock {
  monotonicMs(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The production clock: `performance.now()` and an abortable `setTimeout` sleep. */
export const systemWatcherClock: WatcherClock = {
  monotonicMs: () => performance.now(),
  sleep: (ms, signal) => delay(ms, signal),
};

/** Tunables of the renewal schedule. */
export interface TokenRenewalPolicy {
  /** Renew at this fraction of the lease. @default 2/3 */
  renewFraction: number;
  /** Up to this fraction of the sleep is cut at random, so a fleet does not renew in lockstep. @default 0.1 */
  jitterFraction: number;
  /** Stop when a renewal leaves less than this fraction of the first lease. @default 0.1 */
  graceFraction: number;
  /**
   * …and never less than this. Vault reports leases in whole seconds, so the last second before
   * the end cannot be renewed reliably. @default 1000
   */
  minGraceMs: number;
  /** First backoff after a failed renewal. @default 1000 */
  backoffInitialMs: number;
  /** Largest backoff. @default 300_000 */
  backoffMaxMs: number;
  /** No sleep is ever shorter than this. @default 100 */
  minSleepMs: number;
}

/** Defaults of {@link TokenRenewalPolicy} (openbao `LifetimeWatcher` / `autoAuthBackoff` values). */
export const DEFAULT_TOKEN_RENEWAL_POLICY: Readonly<TokenRenewalPolicy> = Object.freeze({
  renewFraction: 2 / 3,
  jitterFraction: 0.1,
  graceFraction: 0.1,
  minGraceMs: 1000,
  backoffInitialMs: 1000,
  backoffMaxMs: 300_000,
  minSleepMs: 100,
});

/** Pure: ms to sleep before renewing a lease of `leaseSeconds`. `random` is in [0, 1). */
export function tokenRenewDelayMs(leaseSeconds: number, random: number, policy: TokenRenewalPolicy = DEFAULT_TOKEN_RENEWAL_POLICY): number {
  const base = leaseSeconds * 1000 * policy.renewFraction;
  return Math.max(policy.minSleepMs, Math.floor(base * (1 - policy.jitterFraction * random)));
}

/** Pure: the backoff after the `failures`-th consecutive failure (1-based). `random` is in [0, 1). */
export function renewBackoffMs(failures: number, random: number, policy: TokenRenewalPolicy = DEFAULT_TOKEN_RENEWAL_POLICY): number {
  // the SDK's one backoff rule (backoff.ts), with openbao's 25% trim
  const policyMs = { initialMs: policy.backoffInitialMs, maxMs: policy.backoffMaxMs, jitterFraction: 0.25 };
  return Math.max(policy.minSleepMs, nextBackoff(failures, policyMs, { next: () => random }));
}

/** Why a token renewal watcher stopped: `max-ttl`, `not-renewable`, `denied`, `expired` or `stopped`. */
export type TokenRenewalStopReason = 'max-ttl' | 'not-renewable' | 'denied' | 'expired' | 'stopped';

/** How a token renewal watcher ended: the reason, the last error, the number of renewals. */
export interface TokenRenewalResult {
  reason: TokenRenewalStopReason;
  /** The last renewal error, for `denied` and `expired`. */
  error?: Error | undefined;
  renewals: number;
}

/** Options of `startTokenRenewal`. */
export interface TokenRenewalOptions {
  /** Client whose token is renewed (`renew-self`). Either this or `renew`. */
  vault?: VaultClient | undefined;
  /** Custom renew call (tests, or renewing through another path). */
  renew?: ((signal: AbortSignal) => Promise<{ leaseDurationSeconds: number; renewable: boolean }>) | undefined;
  /** The lease of the token right now (from the login or `lookupSelf().ttlSeconds`). */
  leaseDurationSeconds: number;
  /** @default true */
  renewable?: boolean | undefined;
  /** Requested increment for `renew-self`. @default the initial lease */
  increment?: string | number | undefined;
  policy?: Partial<TokenRenewalPolicy> | undefined;
  clock?: WatcherClock | undefined;
  /** [0, 1). @default Math.random */
  random?: (() => number) | undefined;
  logger?: Logger | undefined;
  onRenewed?: ((r: { leaseDurationSeconds: number; renewals: number }) => void) | undefined;
  onError?: ((e: Error, r: { failures: number; backoffMs: number }) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** A running token renewal: `done` settles with a `TokenRenewalResult`; `stop()` ends it. */
export interface TokenRenewalWatcher {
  /** Settles when renewal is no longer possible (or `stop()` was called); never rejects. */
  readonly done: Promise<TokenRenewalResult>;
  stop(): void;
}

/**
 * Keeps a token alive by renewing it (see the numbered algorithm at the top of this file).
 * `done` tells the caller when it must log in again.
 */
export function startTokenRenewal(o: TokenRenewalOptions): TokenRenewalWatcher {
  const policy: TokenRenewalPolicy = { ...DEFAULT_TOKEN_RENEWAL_POLICY, ...o.policy };
  const clock = o.clock ?? systemWatcherClock;
  const random = o.random ?? Math.random;
  const logger = o.logger ?? silentLogger;
  const ac = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal;
  const renew =
    o.renew ??
    (o.vault
      ? async (s: AbortSignal) => renewSelf(o.vault!, { increment: o.increment ?? o.leaseDurationSeconds, signal: s })
      : undefined);
  if (!renew) throw new ConfigError([{ path: 'vault', message: 'startTokenRenewal needs a vault client or a renew function' }]);
  if (!(o.leaseDurationSeconds > 0)) throw new ConfigError([{ path: 'leaseDurationSeconds', message: 'the token has no lease to renew (root tokens never expire)' }]);
  if (policy.backoffInitialMs > policy.backoffMaxMs) throw new ConfigError([{ path: 'policy.backoffInitialMs', message: 'must not exceed backoffMaxMs' }]);

  const run = async (): Promise<TokenRenewalResult> => {
    let renewals = 0;
    const graceMs = Math.max(policy.minGraceMs, policy.graceFraction * o.leaseDurationSeconds * 1000);
    if (o.renewable === false) return { reason: 'not-renewable', renewals };
    let lease = o.leaseDurationSeconds;
    let leaseStart = clock.monotonicMs();
    try {
      for (;;) {
        // (1)
        const sleepMs = tokenRenewDelayMs(lease, random(), policy);
        await clock.sleep(sleepMs, signal);
        // (2) + (4)
        let failures = 0;
        for (;;) {
          try {
            const r = await renew(signal);
            renewals++;
            lease = r.leaseDurationSeconds;
            leaseStart = clock.monotonicMs();
            o.onRenewed?.({ leaseDurationSeconds: lease, renewals });
            logger.debug('token renewed', { leaseDurationSeconds: lease, renewals });
            // (3)
            if (!r.renewable) return { reason: 'not-renewable', renewals };
            const nextSleep = tokenRenewDelayMs(lease, 0, policy);
            if (lease * 1000 <= graceMs || lease * 1000 - nextSleep <= graceMs) {
              logger.info('token reached its max TTL; a new login is needed', { leaseDurationSeconds: lease });
              return { reason: 'max-ttl', renewals };
            }
            break;
          } catch (e) {
            if (signal.aborted) throw e;
            const err = e instanceof Error ? e : new Error(String(e));
            if (isVaultPermissionDeniedError(err)) {
              logger.warn('token renewal denied; a new login is needed', { err: err.message });
              return { reason: 'denied', error: err, renewals };
            }
            if (isVaultHttpError(err) && err.status === 400 && err.errors.some((m) => /not renewable|lease is not renewable/i.test(m))) {
              return { reason: 'not-renewable', error: err, renewals };
            }
            failures++;
            const leftMs = leaseStart + lease * 1000 - clock.monotonicMs();
            if (leftMs < policy.minSleepMs) {
              logger.warn('token expired while renewal kept failing', { err: err.message, failures });
              return { reason: 'expired', error: err, renewals };
            }
            const backoffMs = Math.max(policy.minSleepMs, Math.min(renewBackoffMs(failures, random(), policy), leftMs));
            o.onError?.(err, { failures, backoffMs });
            logger.warn('token renewal failed; retrying', { err: err.message, failures, backoffMs });
            await clock.sleep(backoffMs, signal);
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return { reason: 'stopped', renewals };
      throw e;
    }
  };
  const done = run().catch((e: unknown) => ({ reason: 'expired' as const, error: e instanceof Error ? e : new Error(String(e)), renewals: 0 }));
  return { done, stop: () => ac.abort(new Error('token renewal stopped')) };
}
