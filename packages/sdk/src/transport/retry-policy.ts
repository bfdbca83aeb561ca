/**
 * Retry policy for Vault calls (house style §4, after ky `RetryOptions` and p-retry).
 *
 * One *round* tries every configured address once (see `client.ts`, failover); a retry is a new
 * round after a backoff. The decision after a failed round is an ordered list of checks:
 * 1. the caller aborted → never retry;
 * 2. the request is not idempotent (a write that creates a certificate) → stop, unless the failure
 *    proves the request was not executed: connection refused before sending, or a 503/429 (Vault
 *    sealed, standby without an active node, a balancer without a healthy backend, a quota);
 * 3. network error / timeout / status in `statusCodes` → retry while `retries` are left, after a
 *    capped full-jitter backoff, or after `Retry-After` when the server sent one (capped by `maxDelayMs`);
 * 4. retries used up, but the servers are there and cannot serve right now (`isUnavailable`: a
 *    status in `statusCodes` such as sealed, no active node, 5xx; a timeout; a broken connection;
 *    a standby redirecting to a dead leader) and less than `unavailableBudgetMs` has passed since
 *    the first attempt → retry after at most `unavailableDelayMs`. This is what outlasts a leader
 *    election (10–15 s on a raft cluster) without making a dead address (connection refused
 *    everywhere) wait as long. `retries: 0` turns retrying off entirely, this included;
 * 5. anything else (400, 403, 404, unknown errors) → stop.
 */
export interface RetryPolicy {
  /** Retry rounds after the first. @default 2 */
  retries: number;
  /** First backoff ceiling. @default 250 */
  baseDelayMs: number;
  /** Largest single sleep. @default 5000 */
  maxDelayMs: number;
  /** Statuses that are retried (and failed over) for idempotent calls. @default [429, 500, 502, 503, 504] */
  statusCodes: number[];
  /** Per-attempt timeout: a frozen server costs at most this much before the next address is tried. @default 15000 */
  timeoutMs: number;
  /**
   * Keep retrying this long (from the first attempt) while the servers answer that they are
   * unavailable, so a leader election is ridden out. 0 turns it off. @default 30000
   */
  unavailableBudgetMs: number;
  /** Longest sleep between those retries, so recovery follows the election closely. @default 1000 */
  unavailableDelayMs: number;
}

/** The client's default `RetryPolicy` (2 retries, full jitter from 250 ms capped at 5 s, 15 s per attempt, 30 s budget while the servers are unavailable). */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  retries: 2,
  baseDelayMs: 250,
  maxDelayMs: 5000,
  statusCodes: [429, 500, 502, 503, 504],
  timeoutMs: 15_000,
  unavailableBudgetMs: 30_000,
  unavailableDelayMs: 1000,
});

/**
 * No retries at all: what the agent uses, since its own backoff is the only retry layer (§4).
 * Failover to the next address within the one attempt still happens (it is not a retry: each
 * address is tried at most once).
 */
export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ ...DEFAULT_RETRY_POLICY, retries: 0, unavailableBudgetMs: 0 });

export type AttemptOutcome =
  | { kind: 'status'; status: number; retryAfterMs?: number | undefined }
  | { kind: 'network'; errno?: string | undefined }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'unknown' };

/** Connection errors that prove the request bytes never reached the server. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Statuses that prove the request was not executed (sealed, standby without an active node, no backend, quota). */
const NOT_EXECUTED = new Set([429, 503]);

/**
 * Pure: whether a failure shows a server that is there but cannot serve right now (an election, a
 * sealed or frozen server): a status in `statusCodes`, a timeout, or a connection that broke after it
 * was made. Such failures are retried within `unavailableBudgetMs`; "nothing listens" (connection
 * refused, unknown host) is not, so a dead address fails after `retries`.
 */
export function isUnavailable(outcome: AttemptOutcome, policy: RetryPolicy): boolean {
  if (outcome.kind === 'status') return policy.statusCodes.includes(outcome.status);
  if (outcome.kind === 'timeout') return true;
  if (outcome.kind === 'network') return !NOT_SENT.has(outcome.errno ?? '');
  return false;
}

/** Pure: whether the failed request may be sent again (to this or another address). */
export function safeToResend(outcome: AttemptOutcome, idempotent: boolean): boolean {
  if (idempotent) return outcome.kind === 'network' || outcome.kind === 'timeout' || outcome.kind === 'status';
  if (outcome.kind === 'network') return NOT_SENT.has(outcome.errno ?? '');
  if (outcome.kind === 'status') return NOT_EXECUTED.has(outcome.status);
  return false;
}

/**
 * Pure: how long to wait before the next round, or `undefined` to stop. `attempt` is the 1-based
 * round that just failed, `random` is in [0, 1), `elapsedMs` the time since the first attempt
 * (monotonic) and `unavailable` whether some server answered with a status in `statusCodes` in it.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  outcome: AttemptOutcome,
  idempotent: boolean,
  random: number,
  elapsedMs = 0,
  unavailable = isUnavailable(outcome, policy),
): number | undefined {
  if (outcome.kind === 'aborted' || outcome.kind === 'unknown') return undefined;
  const retryable = safeToResend(outcome, idempotent) && (outcome.kind !== 'status' || policy.statusCodes.includes(outcome.status));
  if (!retryable) return undefined;
  const inBudget = policy.retries > 0 && unavailable && elapsedMs < policy.unavailableBudgetMs;
  if (attempt > policy.retries && !inBudget) return undefined;
  let wait: number;
  if (outcome.kind === 'status' && outcome.retryAfterMs !== undefined) {
    wait = Math.min(Math.max(0, outcome.retryAfterMs), policy.maxDelayMs);
  } else {
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    // Full jitter, but never a zero-length sleep (the LifetimeWatcher hot-loop bug).
    wait = Math.max(1, Math.floor(random * ceiling));
  }
  if (attempt > policy.retries) {
    // (4): poll the recovering cluster at least every unavailableDelayMs, never past the budget.
    wait = Math.max(1, Math.min(wait, policy.unavailableDelayMs, policy.unavailableBudgetMs - elapsedMs));
  }
  return wait;
}

/**
 * Pure: parses `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date relative to `nowMs`.
 * Returns undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
