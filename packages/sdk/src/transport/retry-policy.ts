/**
 * Retry policy for Vault calls (house style §4, after ky `RetryOptions` and p-retry).
 *
 * The decision is an ordered list of checks:
 * 1. the caller aborted → never retry;
 * 2. attempts exhausted → stop;
 * 3. the request is not idempotent (a write that creates a certificate) → stop, unless the failure
 *    proves the request never reached Vault (connection refused before sending);
 * 4. network error / timeout / status in `statusCodes` → retry after a capped full-jitter backoff, or
 *    after `Retry-After` when the server sent one (capped by `maxDelayMs`);
 * 5. anything else (400, 403, 404, unknown errors) → stop.
 */
export interface RetryPolicy {
  /** Retries after the first attempt. @default 2 */
  retries: number;
  /** First backoff ceiling. @default 250 */
  baseDelayMs: number;
  /** Largest single sleep. @default 5000 */
  maxDelayMs: number;
  /** Statuses that are retried for idempotent calls. @default [429, 502, 503] */
  statusCodes: number[];
  /** Per-attempt timeout. @default 30000 */
  timeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  retries: 2,
  baseDelayMs: 250,
  maxDelayMs: 5000,
  statusCodes: [429, 502, 503],
  timeoutMs: 30_000,
});

/** No retries at all: what the agent uses, since its own backoff is the only retry layer (§4). */
export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ ...DEFAULT_RETRY_POLICY, retries: 0 });

export type AttemptOutcome =
  | { kind: 'status'; status: number; retryAfterMs?: number | undefined }
  | { kind: 'network'; errno?: string | undefined }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'unknown' };

/** Connection errors that prove the request bytes never reached the server. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Pure: how long to wait before the next attempt, or `undefined` to stop. `random` is in [0, 1). */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  outcome: AttemptOutcome,
  idempotent: boolean,
  random: number,
): number | undefined {
  if (outcome.kind === 'aborted' || outcome.kind === 'unknown') return undefined;
  if (attempt > policy.retries) return undefined;
  const retryable =
    outcome.kind === 'network'
      ? idempotent || NOT_SENT.has(outcome.errno ?? '')
      : outcome.kind === 'timeout'
        ? idempotent
        : idempotent && policy.statusCodes.includes(outcome.status);
  if (!retryable) return undefined;
  if (outcome.kind === 'status' && outcome.retryAfterMs !== undefined) {
    return Math.min(Math.max(0, outcome.retryAfterMs), policy.maxDelayMs);
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Full jitter, but never a zero-length sleep (the LifetimeWatcher hot-loop bug).
  return Math.max(1, Math.floor(random * ceiling));
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
