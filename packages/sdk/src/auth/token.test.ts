import { VaultHttpError, VaultNetworkError, VaultPermissionDeniedError } from '../errors.js';
import {
  DEFAULT_TOKEN_RENEWAL_POLICY,
  renewBackoffMs,
  startTokenRenewal,
  tokenRenewDelayMs,
  type WatcherClock,
} from './token.js';

/** A fake clock: sleeping advances virtual time at once and records the requested duration. */
function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  const clock: WatcherClock = {
    monotonicMs: () => now,
    sleep: async (ms, signal) => {
      signal.throwIfAborted();
      sleeps.push(ms);
      now += ms;
    },
  };
  return { clock, sleeps, advance: (ms: number) => (now += ms), now: () => now };
}

/** Deterministic [0,1) sequence. */
function seq(values: number[]) {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('tokenRenewDelayMs (schedule)', () => {
  it('renews at 2/3 of the lease minus at most 10% jitter, over many draws', () => {
    const lease = 3600;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 10_000; i++) {
      const d = tokenRenewDelayMs(lease, Math.random());
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    expect(max).toBeLessThanOrEqual(2_400_000);
    expect(min).toBeGreaterThanOrEqual(Math.floor(2_400_000 * 0.9));
    // both ends are reachable
    expect(tokenRenewDelayMs(lease, 0)).toBe(2_400_000);
    expect(tokenRenewDelayMs(lease, 0.999999)).toBe(Math.floor(2_400_000 * (1 - 0.1 * 0.999999)));
  });
  it('never returns less than minSleepMs, even for a zero lease', () => {
    expect(tokenRenewDelayMs(0, 0.5)).toBe(DEFAULT_TOKEN_RENEWAL_POLICY.minSleepMs);
  });
});

describe('renewBackoffMs', () => {
  it('doubles from 1 s, is capped at 5 min, trimmed by at most 25%, never zero', () => {
    for (let f = 1; f <= 20; f++) {
      const ceiling = Math.min(300_000, 1000 * 2 ** (f - 1));
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < 2000; i++) {
        const d = renewBackoffMs(f, Math.random());
        min = Math.min(min, d);
        max = Math.max(max, d);
      }
      expect(max).toBeLessThanOrEqual(ceiling);
      expect(min).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.75));
      expect(min).toBeGreaterThan(0);
    }
  });
});

describe('startTokenRenewal (LifetimeWatcher-style loop with a fake clock)', () => {
  it('renews repeatedly at ~2/3 of each lease and reports max-ttl once renewal stops buying time', async () => {
    const c = fakeClock();
    // Vault grants 3600 s twice, then less and less as the token approaches its max TTL.
    const leases = [3600, 3600, 1200, 300];
    const renewed: number[] = [];
    const w = startTokenRenewal({
      leaseDurationSeconds: 3600,
      renew: async () => ({ leaseDurationSeconds: leases.shift()!, renewable: true }),
      clock: c.clock,
      random: seq([0.5]),
      onRenewed: (r) => renewed.push(r.leaseDurationSeconds),
    });
    const res = await w.done;
    expect(res).toEqual({ reason: 'max-ttl', renewals: 4 });
    expect(renewed).toEqual([3600, 3600, 1200, 300]);
    expect(c.sleeps).toEqual([3600, 3600, 3600, 1200].map((l) => Math.floor(l * 1000 * (2 / 3) * (1 - 0.1 * 0.5))));
  });

  it('backs off with increasing, capped, never-zero sleeps while renewal fails, then reports expiry', async () => {
    const c = fakeClock();
    const errors: { failures: number; backoffMs: number }[] = [];
    const w = startTokenRenewal({
      leaseDurationSeconds: 3600,
      renew: async () => {
        throw new VaultNetworkError({ method: 'POST', url: 'http://v/v1/auth/token/renew-self', errno: 'ECONNREFUSED' });
      },
      clock: c.clock,
      random: seq([0.3, 0.9, 0.1, 0.7]),
      onError: (_e, r) => errors.push(r),
    });
    const res = await w.done;
    expect(res.reason).toBe('expired');
    expect(res.error?.message).toContain('ECONNREFUSED');
    const backoffs = errors.map((e) => e.backoffMs);
    expect(backoffs.length).toBeGreaterThan(5);
    expect(Math.min(...c.sleeps)).toBeGreaterThan(0);
    for (const s of c.sleeps) expect(s).toBeGreaterThanOrEqual(DEFAULT_TOKEN_RENEWAL_POLICY.minSleepMs);
    // increasing while below the cap (compare the untrimmed doubling), capped at 5 min
    for (const b of backoffs) expect(b).toBeLessThanOrEqual(300_000);
    // strictly increasing while the doubling is below the cap (a 25% trim can't undo a doubling) …
    for (let i = 1; i < backoffs.length - 1 && 1000 * 2 ** i < 300_000; i++) expect(backoffs[i]!).toBeGreaterThan(backoffs[i - 1]!);
    // … and the cap is reached
    expect(Math.max(...backoffs)).toBeGreaterThanOrEqual(225_000);
    // it never sleeps past the end of the lease: total time ≈ lease
    expect(c.now()).toBeLessThanOrEqual(3600 * 1000);
  });

  it('stops with denied on a 403 (revoked token) and with not-renewable when Vault says so', async () => {
    const c = fakeClock();
    const denied = await startTokenRenewal({
      leaseDurationSeconds: 60,
      renew: async () => {
        throw new VaultPermissionDeniedError({ status: 403, errors: ['permission denied'], method: 'POST', url: 'http://v/v1/auth/token/renew-self' });
      },
      clock: c.clock,
      random: () => 0,
    }).done;
    expect(denied.reason).toBe('denied');
    const notRenewable = await startTokenRenewal({
      leaseDurationSeconds: 60,
      renew: async () => ({ leaseDurationSeconds: 60, renewable: false }),
      clock: fakeClock().clock,
    }).done;
    expect(notRenewable.reason).toBe('not-renewable');
    const badRequest = await startTokenRenewal({
      leaseDurationSeconds: 60,
      renew: async () => {
        throw new VaultHttpError({ status: 400, errors: ['lease is not renewable'], method: 'POST', url: 'http://v/v1/auth/token/renew-self' });
      },
      clock: fakeClock().clock,
    }).done;
    expect(badRequest.reason).toBe('not-renewable');
    expect(await startTokenRenewal({ leaseDurationSeconds: 60, renewable: false, renew: async () => ({ leaseDurationSeconds: 1, renewable: true }) }).done).toEqual({
      reason: 'not-renewable',
      renewals: 0,
    });
  });

  it('recovers after a transient failure and resets the backoff', async () => {
    const c = fakeClock();
    const script: (() => { leaseDurationSeconds: number; renewable: boolean })[] = [
      () => {
        throw new VaultNetworkError({ method: 'POST', url: 'x', errno: 'ECONNRESET' });
      },
      () => ({ leaseDurationSeconds: 600, renewable: true }),
      () => {
        throw new VaultNetworkError({ method: 'POST', url: 'x', errno: 'ECONNRESET' });
      },
      () => ({ leaseDurationSeconds: 10, renewable: true }),
    ];
    const errors: number[] = [];
    const res = await startTokenRenewal({
      leaseDurationSeconds: 600,
      renew: async () => script.shift()!(),
      clock: c.clock,
      random: () => 0,
      onError: (_e, r) => errors.push(r.failures),
    }).done;
    expect(errors).toEqual([1, 1]);
    expect(res).toEqual({ reason: 'max-ttl', renewals: 2 });
    expect(c.sleeps).toEqual([400_000, 1000, 400_000, 1000]);
  });

  it('stop() ends the loop with reason stopped', async () => {
    const ac = new AbortController();
    const w = startTokenRenewal({
      leaseDurationSeconds: 60,
      renew: async () => ({ leaseDurationSeconds: 60, renewable: true }),
      clock: { monotonicMs: () => 0, sleep: (_ms, signal) => new Promise((_r, rej) => signal.addEventListener('abort', () => rej(signal.reason))) },
      signal: ac.signal,
    });
    w.stop();
    expect(await w.done).toEqual({ reason: 'stopped', renewals: 0 });
  });

  it('rejects a configuration with nothing to renew', () => {
    expect(() => startTokenRenewal({ leaseDurationSeconds: 0, renew: async () => ({ leaseDurationSeconds: 1, renewable: true }) })).toThrow(/leaseDurationSeconds/);
    expect(() => startTokenRenewal({ leaseDurationSeconds: 10 })).toThrow(/vault client or a renew function/);
    expect(() =>
      startTokenRenewal({ leaseDurationSeconds: 10, renew: async () => ({ leaseDurationSeconds: 1, renewable: true }), policy: { backoffInitialMs: 10, backoffMaxMs: 5 } }),
    ).toThrow(/backoffMaxMs/);
  });
});
