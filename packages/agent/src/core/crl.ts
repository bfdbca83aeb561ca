/**
 * When to refresh a node's CRL directory and how alarmed to be about it (pure; house style §6).
 *
 * OTP reads the CRL hash directory on every handshake and treats a CRL past its `nextUpdate` as no
 * CRL: with `crl_check = peer` the node then refuses EVERY peer (fail-closed). So the refresh point is
 * computed from the CRL's own validity window, not only from the interval.
 */

export interface CrlWindow {
  thisUpdate: Date;
  /** Absent: the CRL never goes stale (Vault always sets it; tolerated for other CAs). */
  nextUpdate: Date | undefined;
}

export interface CrlPolicy {
  refreshIntervalSeconds: number;
  refreshAtFraction: number;
  warnRemainingFraction: number;
}

/** `missing`: no CRL written (or readable); `stale`: past nextUpdate. Both mean the node refuses every peer. */
export type CrlLevel = 'ok' | 'warn' | 'critical' | 'stale' | 'missing';

/** Numeric form for `vaultdist_agent_crl_level`. */
export const CRL_LEVEL_VALUE: Record<CrlLevel, number> = { ok: 0, warn: 1, critical: 2, stale: 3, missing: 4 };

/** Below this fraction of the window left a CRL is `critical` (the node is reported not ready). */
export const CRL_CRITICAL_FRACTION = 0.1;

/**
 * The next refresh: min(lastRefresh + interval, thisUpdate + window × refreshAtFraction), never before
 * `now`. Without a CRL (or without a nextUpdate) only the interval applies.
 */
export function computeCrlRefreshAt(crl: CrlWindow | undefined, lastRefreshAt: Date, now: Date, policy: CrlPolicy): Date {
  let at = lastRefreshAt.getTime() + policy.refreshIntervalSeconds * 1000;
  if (crl?.nextUpdate) {
    const tu = crl.thisUpdate.getTime();
    const window = Math.max(0, crl.nextUpdate.getTime() - tu);
    at = Math.min(at, tu + window * policy.refreshAtFraction);
  }
  return new Date(Math.max(now.getTime(), Math.round(at)));
}

export function crlLevel(crl: CrlWindow | undefined, now: Date, policy: Pick<CrlPolicy, 'warnRemainingFraction'>): CrlLevel {
  if (!crl) return 'missing';
  if (!crl.nextUpdate) return 'ok';
  const left = crl.nextUpdate.getTime() - now.getTime();
  if (left <= 0) return 'stale';
  const window = Math.max(1, crl.nextUpdate.getTime() - crl.thisUpdate.getTime());
  const frac = left / window;
  if (frac < Math.min(CRL_CRITICAL_FRACTION, policy.warnRemainingFraction)) return 'critical';
  if (frac < policy.warnRemainingFraction) return 'warn';
  return 'ok';
}
