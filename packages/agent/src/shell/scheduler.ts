/**
 * The agent's one scheduler (house style §8; issue #14): every loop (renewals, CRL refreshes, the token
 * renewal) sleeps through it, with the same clock, the same jittered capped backoff (`core/schedule`),
 * and the same early wake-up when Vault answers again.
 *
 * Fast retry after an outage (issue #14: recoveries waited 27–49 s for the current backoff although
 * Vault had been back for 5–33 s):
 * 1. a loop whose last failure was "no answer" / "unavailable" waits with `backoff(…, {outage: true})`;
 * 2. while at least one loop waits like that, ONE probe (unauthenticated `sys/health`, answered even
 *    by a sealed server) runs every `vaultProbeIntervalMs` (jittered) for the whole agent, not one per
 *    node;
 * 3. when the probe sees an unsealed server, every waiting loop wakes after its own random delay in
 *    [0, min(1 s, its remaining backoff)) (no thundering herd), and never sooner than 0.5 s after its
 *    failure. A Vault that answers health but fails the real call cannot make a hot loop: a probe
 *    sleeps ≥ 0.75 × the interval first, so that is at worst one retry per probe interval.
 */
import type { VaultClient } from '@vaultdist/sdk';
import { nextBackoff, startupDelayMs, type BackoffContext, type BackoffPolicy } from '../core/schedule.js';
import type { FailureKind } from '../core/state.js';
import type { Clock, Logger, Random } from '../ports.js';

/** Failure kinds after which Vault itself is the problem, so its coming back is worth waking for. */
export const OUTAGE_KINDS: ReadonlySet<FailureKind> = new Set(['vault-unreachable', 'vault-unavailable']);

export interface SchedulerOptions {
  clock: Clock;
  random: Random;
  logger: Logger;
  backoff: () => BackoffPolicy;
  /** `schedule.vaultProbeIntervalMs`; 0 turns the early wake-up off. */
  probeIntervalMs: () => number;
  /** The client whose `health()` is probed (any node's: they share the addresses). */
  probeClient: () => Pick<VaultClient, 'health'> | undefined;
  /** Test-only: called with each probe's result. */
  onProbe?: ((up: boolean) => void) | undefined;
}

interface Waiter {
  wake: () => void;
}

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #waiters = new Set<Waiter>();
  #probing: Promise<void> | undefined;
  /** Stops the probe's sleep once nobody waits (no timer keeps a stopping agent alive). */
  #probeAbort: AbortController | undefined;

  constructor(o: SchedulerOptions) {
    this.#o = o;
  }

  /** Plain sleep on the agent's clock. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return this.#o.clock.sleep(ms, signal);
  }

  /** The start-up spread of one node among `count` (see `startupDelayMs`). */
  startupDelayMs(count: number, spreadMs: number): number {
    return startupDelayMs(count, spreadMs, this.#o.random);
  }

  /** The delay before retry number `failures` (jittered from the first retry on, capped). */
  backoffMs(failures: number, ctx?: BackoffContext): number {
    return nextBackoff(failures, this.#o.backoff(), this.#o.random, ctx);
  }

  /**
   * Sleeps `delayMs`, or less when the failure was an outage and Vault answers again (steps 1–3 above).
   * Resolves `'vault-back'` or `'elapsed'`; rejects with `signal.reason` when aborted.
   */
  async backoff(delayMs: number, signal: AbortSignal, o: { kind?: FailureKind | undefined } = {}): Promise<'elapsed' | 'vault-back'> {
    const early = o.kind !== undefined && OUTAGE_KINDS.has(o.kind) && this.#o.probeIntervalMs() > 0 && this.#o.probeClient() !== undefined;
    if (!early) {
      await this.#o.clock.sleep(delayMs, signal);
      return 'elapsed';
    }
    const clock = this.#o.clock;
    const start = clock.monotonicMs();
    // a floor since the failure (the probe interval already bounds the retry rate to one per probe)
    const minWaitMs = Math.min(delayMs, 500, Math.max(1, Math.floor(this.#o.backoff().initialMs / 2)));
    // one controller per wait: the sleep is cut short by the probe, or ends by itself
    const cut = new AbortController();
    const onAbort = () => cut.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let woken = false;
    const waiter: Waiter = {
      wake: () => {
        woken = true;
        cut.abort(new Error('vault answers again'));
      },
    };
    this.#waiters.add(waiter);
    this.#ensureProbe();
    try {
      await clock.sleep(delayMs, cut.signal).catch((e: unknown) => {
        if (signal.aborted) throw signal.reason;
        if (!woken) throw e;
      });
    } finally {
      this.#waiters.delete(waiter);
      signal.removeEventListener('abort', onAbort);
      if (!this.#waiters.size) this.#probeAbort?.abort(new Error('nobody waits'));
    }
    if (!woken) return 'elapsed';
    // (3) spread the wake-ups, and keep the floor since the failure
    const elapsed = clock.monotonicMs() - start;
    const left = Math.max(0, delayMs - elapsed);
    const spread = Math.floor(this.#o.random.next() * Math.min(1000, left));
    const wait = Math.max(spread, minWaitMs - elapsed);
    if (wait > 0) await clock.sleep(Math.min(wait, left || wait), signal);
    return 'vault-back';
  }

  /** Number of loops waiting for Vault (tests, debugging). */
  get waiting(): number {
    return this.#waiters.size;
  }

  #ensureProbe(): void {
    if (this.#probing) return;
    const ac = new AbortController();
    this.#probeAbort = ac;
    this.#probing = this.#probeLoop(ac.signal).finally(() => {
      this.#probing = undefined;
      if (this.#waiters.size) this.#ensureProbe();
    });
  }

  async #probeLoop(stop: AbortSignal): Promise<void> {
    const { clock, random, logger } = this.#o;
    while (this.#waiters.size && !stop.aborted) {
      const interval = this.#o.probeIntervalMs();
      await clock.sleep(Math.max(1, Math.round(interval * (0.75 + 0.5 * random.next()))), stop).catch(() => undefined);
      if (!this.#waiters.size || stop.aborted) return;
      const client = this.#o.probeClient();
      if (!client) return;
      let up = false;
      try {
        const h = await client.health({ signal: AbortSignal.any([stop, AbortSignal.timeout(Math.max(1000, interval))]) });
        up = h.initialized && !h.sealed;
      } catch {
        up = false;
      }
      this.#o.onProbe?.(up);
      if (up) {
        logger.info({ waiting: this.#waiters.size }, 'vault answers again; retrying now');
        for (const w of [...this.#waiters]) w.wake();
        return;
      }
    }
  }
}
