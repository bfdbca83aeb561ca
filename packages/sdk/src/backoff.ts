/**
 * Retry backoff: the one rule for "how long to wait after the n-th consecutive failure" (house style
 * §8, openbao `autoAuthBackoff`), owned here (issue #16: the agent and the SDK's token renewal each
 * had their own doubling-and-trim code). Pure: no imports, no clock, no randomness of its own, so the
 * agent's pure core can use it.
 */

/** [0, 1) source, e.g. `Math.random` wrapped in an object (the `Random` port). */
export interface RandomSource {
  next(): number;
}

/** How retries back off: doubling from `initialMs` up to `maxMs`, each delay trimmed by up to `jitterFraction`. */
export interface BackoffPolicy {
  /** First delay; doubles per consecutive failure. @default 1000 */
  initialMs: number;
  /** Cap. @default 300000 */
  maxMs: number;
  /** Random cut of 0..this fraction of each delay (1 = full jitter). @default 0.5 */
  jitterFraction: number;
}

/** What the backoff must respect: "now" and the live certificate's deadlines (never sleep past them). */
export interface BackoffContext {
  /** Wall-clock now (ms since epoch). */
  nowMs: number;
  /** The must-renew deadline of the live certificate (ms), if there is one. */
  mustRenewByMs?: number | undefined;
  /** notAfter of the live certificate (ms), if there is one. */
  notAfterMs?: number | undefined;
}

/**
 * Delay before retry number `failures` (1 = after the first failure):
 *
 * 1. base = min(initialMs × 2^(failures−1), maxMs);
 * 2. delay = base × (1 − r × jitterFraction), r from `random`; never below the floor
 *    initialMs × (1 − min(jitterFraction, 0.5)) (no zero-length sleep, no hot loop: the openbao
 *    LifetimeWatcher bug). The FIRST retry is jittered too, within [floor, initialMs]: with a floor of
 *    initialMs every node of a fleet retried exactly 1000 ms after the same outage (issue #14: 100
 *    nodes within 70 ms). With jitterFraction ≤ 0.5 consecutive delays never shrink before the cap
 *    (2 × (1 − 0.5) ≥ 1);
 * 3. before the must-renew deadline the delay is cut so the next attempt happens no later than the
 *    deadline (at least 1 ms); past the deadline it is capped at a quarter of the time left until
 *    notAfter (at least initialMs), so a few more attempts fit before expiry.
 */
export function nextBackoff(failures: number, policy: BackoffPolicy, random: RandomSource, ctx?: BackoffContext): number {
  const n = Math.max(1, Math.floor(failures));
  const base = Math.min(policy.initialMs * 2 ** Math.min(n - 1, 52), policy.maxMs);
  const floor = Math.max(1, Math.round(policy.initialMs * (1 - Math.min(policy.jitterFraction, 0.5))));
  let delay = Math.max(floor, Math.round(base * (1 - random.next() * policy.jitterFraction)));
  if (ctx?.mustRenewByMs !== undefined && ctx.nowMs < ctx.mustRenewByMs) {
    delay = Math.max(1, Math.min(delay, ctx.mustRenewByMs - ctx.nowMs));
  } else if (ctx?.notAfterMs !== undefined && ctx.nowMs < ctx.notAfterMs) {
    delay = Math.min(delay, Math.max(policy.initialMs, Math.floor((ctx.notAfterMs - ctx.nowMs) / 4)));
  }
  return delay;
}
