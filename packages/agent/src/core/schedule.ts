/**
 * Renewal schedule and retry backoff: pure decisions (house style §6, §8). No `node:*`, no clock, no
 * randomness of its own: "now" and a `Random` are passed in, so unit tests can check min/max over
 * many draws.
 */
import { nextBackoff, type BackoffContext, type BackoffPolicy, type RandomSource } from '@vaultdist/sdk/backoff';

// The backoff rule is the SDK's (one owner, issue #16; the SDK's token renewal uses it too).
export { nextBackoff, type BackoffContext, type BackoffPolicy, type RandomSource };

export interface ValidityWindow {
  notBefore: Date;
  notAfter: Date;
}

export interface SchedulePolicy {
  /** Renew at notBefore + lifetime × this. @default 0.55 (with jitter 0.12: at the latest ~2/3) */
  renewAtFraction: number;
  /** ± spread of the renewal point as a fraction of the lifetime. @default 0.1 */
  jitterFraction: number;
  /** The must-renew deadline is notAfter − this margin (capped for short certificates, see computeRenewAt). */
  minRemainingSeconds: number;
}

export interface RenewDecision {
  /** When to start the renewal (never before `now`). */
  renewAt: Date;
  /** Latest sensible renewal time: notAfter − effective margin. Backoff never sleeps past it. */
  mustRenewBy: Date;
  /** Milliseconds from `now` to `renewAt` (≥ 0). */
  delayMs: number;
  /** The configured margin did not fit this certificate's lifetime and was reduced. */
  marginCapped: boolean;
}

/**
 * When to renew a certificate:
 *
 * 1. lifetime = notAfter − notBefore; target = notBefore + lifetime × (renewAtFraction + u), where u is
 *    drawn uniformly from [−jitterFraction, +jitterFraction) with the injected `random`;
 * 2. mustRenewBy = notAfter − margin, where margin = minRemainingSeconds, capped at half of the
 *    lifetime left after the latest jittered point, so a margin longer than a short certificate's
 *    lifetime cannot force renewing right after issuance (a renewal hot loop);
 * 3. renewAt = min(target, mustRenewBy), and never before `now` (an overdue certificate renews now).
 */
export function computeRenewAt(cert: ValidityWindow, now: Date, random: RandomSource, policy: SchedulePolicy): RenewDecision {
  const nb = cert.notBefore.getTime();
  const na = cert.notAfter.getTime();
  const lifetime = Math.max(0, na - nb);
  const u = (random.next() * 2 - 1) * policy.jitterFraction;
  const target = nb + lifetime * (policy.renewAtFraction + u);
  const wantedMargin = policy.minRemainingSeconds * 1000;
  const maxMargin = (lifetime * Math.max(0, 1 - policy.renewAtFraction - policy.jitterFraction)) / 2;
  const margin = Math.min(wantedMargin, maxMargin);
  const mustRenewBy = na - margin;
  const renewAtMs = Math.round(Math.max(now.getTime(), Math.min(target, mustRenewBy)));
  return { renewAt: new Date(renewAtMs), mustRenewBy: new Date(mustRenewBy), delayMs: renewAtMs - now.getTime(), marginCapped: margin < wantedMargin };
}

/** How alarmed to be about a node's certificate. */
export type EscalationLevel = 'ok' | 'warn' | 'critical' | 'expired' | 'missing';

export interface EscalationPolicy {
  warnRemainingFraction: number;
  criticalRemainingFraction: number;
}

/** Numeric form for the metric (`vaultdist_agent_escalation_level`). */
export const ESCALATION_VALUE: Record<EscalationLevel, number> = { ok: 0, warn: 1, critical: 2, expired: 3, missing: 4 };

/**
 * Escalation by the fraction of the lifetime left: `warn` below warnRemainingFraction, `critical`
 * below criticalRemainingFraction, `expired` at/after notAfter, `missing` without a certificate.
 */
export function escalationLevel(cert: ValidityWindow | undefined, now: Date, policy: EscalationPolicy): EscalationLevel {
  if (!cert) return 'missing';
  const na = cert.notAfter.getTime();
  const left = na - now.getTime();
  if (left <= 0) return 'expired';
  const lifetime = Math.max(1, na - cert.notBefore.getTime());
  const frac = left / lifetime;
  if (frac < policy.criticalRemainingFraction) return 'critical';
  if (frac < policy.warnRemainingFraction) return 'warn';
  return 'ok';
}

/**
 * Log level for a failure at a given escalation (warnings get louder as expiry nears). `missing` (no
 * certificate yet: a first start, or Vault down at the first start) is an error, not fatal: nothing
 * that worked has broken yet.
 */
export function failureLogLevel(level: EscalationLevel): 'warn' | 'error' | 'fatal' {
  return level === 'ok' || level === 'warn' ? 'warn' : level === 'critical' || level === 'missing' ? 'error' : 'fatal';
}

/** The fixed log message of a failed renewal at a given escalation (issue #14: "no certificate yet" ≠ "expired"). */
export function failureMessage(level: EscalationLevel): string {
  switch (level) {
    case 'missing':
      return 'renewal failed; no certificate yet';
    case 'expired':
      return 'renewal failed; certificate expired';
    case 'critical':
      return 'renewal failed; certificate near expiry';
    default:
      return 'renewal failed';
  }
}

/**
 * Start-up spread (house style §8; issue #14): how long node number `index` of `count` waits before its
 * first Vault call, so a host with many nodes (or a fleet restarted at once) does not hit Vault in one
 * burst. Uniform in [0, spreadMs) from the injected `random`; 0 for a single node or a zero spread.
 */
export function startupDelayMs(count: number, spreadMs: number, random: RandomSource): number {
  if (count <= 1 || spreadMs <= 0) return 0;
  return Math.floor(random.next() * spreadMs);
}

/** What `ttlFloorSeconds` assumes about Vault and about how often a node may be reloaded. */
export interface TtlFloorOptions {
  /**
   * How far Vault/OpenBao backdates notBefore (the PKI role's `not_before_duration`). The schedule
   * measures fractions of notAfter − notBefore, so a backdate eats into a short TTL. @default 30
   */
  backdateSeconds?: number | undefined;
  /** The earliest renewal after an issuance (each renewal is a new certificate and a node reload). @default 60 */
  minIntervalSeconds?: number | undefined;
}

/**
 * The shortest certificate TTL this schedule renews sanely (issue #15: `--ttl 20s` with the agent gave
 * 31 certificates and 31 node reloads in 40 s: Vault backdates notBefore by 30 s, so a 20 s
 * certificate is past its renewal point the moment it is issued):
 *
 * 1. the schedule sees lifetime = ttl + backdate (notBefore is backdated);
 * 2. the earliest renewal (jitter at its low end) is at notBefore + lifetime × (renewAtFraction −
 *    jitterFraction), i.e. (ttl + backdate) × (f − j) − backdate after the issuance;
 * 3. that must be at least `minIntervalSeconds`: ttl ≥ (minInterval + backdate) / (f − j) − backdate,
 *    rounded up to the second.
 *
 * With the defaults (f 0.55, j 0.12, 30 s, 60 s) the floor is 180 s. Pure.
 */
export function ttlFloorSeconds(policy: Pick<SchedulePolicy, 'renewAtFraction' | 'jitterFraction'>, o: TtlFloorOptions = {}): number {
  const b = o.backdateSeconds ?? 30;
  const interval = o.minIntervalSeconds ?? 60;
  const earliest = policy.renewAtFraction - policy.jitterFraction;
  if (earliest <= 0) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.ceil((interval + b) / earliest - b - 1e-9));
}

/** The schedule defaults of the agent config (`schedule.renewAtFraction`, `schedule.jitterFraction`). */
export const DEFAULT_RENEW_POLICY = { renewAtFraction: 0.55, jitterFraction: 0.12 } as const;

/**
 * A TTL below `ttlFloorSeconds` as a sentence for an error (undefined when it is at or above the floor).
 * @param what names the input, e.g. `--ttl 20s` or `nodes[0].ttl 20s`.
 */
export function ttlFloorProblem(what: string, ttlSeconds: number, policy: Pick<SchedulePolicy, 'renewAtFraction' | 'jitterFraction'> = DEFAULT_RENEW_POLICY, o: TtlFloorOptions = {}): string | undefined {
  const floor = ttlFloorSeconds(policy, o);
  if (ttlSeconds >= floor) return undefined;
  const b = o.backdateSeconds ?? 30;
  const interval = o.minIntervalSeconds ?? 60;
  const lo = Math.round((policy.renewAtFraction - policy.jitterFraction) * 100);
  const hi = Math.round((policy.renewAtFraction + policy.jitterFraction) * 100);
  return (
    `${what} is below the floor of ${floor}s derived from the renewal schedule: renewing at ${lo}–${hi} % of notAfter − notBefore` +
    `${b ? ` (Vault backdates notBefore by ${b}s)` : ''}, the agent would renew and reload the node less than ${interval}s after each issuance; use ${floor}s or longer`
  );
}
