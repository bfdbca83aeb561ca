import { prng } from '../../../../scripts/test-utils/src/index.js';
import { computeRenewAt, escalationLevel, failureLogLevel, failureMessage, nextBackoff, startupDelayMs, type RandomSource } from './schedule.js';
import { deriveHealth, initialNodeStatus } from './state.js';

/** Deterministic PRNG so failures are reproducible. */
const seeded = (seed: number): RandomSource => prng(seed);
const fixed = (v: number): RandomSource => ({ next: () => v });
const H = 3600_000;
const cert = { notBefore: new Date(Date.UTC(2026, 0, 1, 0, 0, 0)), notAfter: new Date(Date.UTC(2026, 0, 2, 0, 0, 0)) }; // 24 h
const policy = { renewAtFraction: 2 / 3, jitterFraction: 0.1, minRemainingSeconds: 300 };

describe('computeRenewAt', () => {
  it('stays within 2/3 ± 10% of the lifetime over many draws, and reaches both ends', () => {
    const r = seeded(42);
    const now = cert.notBefore;
    let min = Infinity;
    let max = -Infinity;
    const delayMismatches: [number, number][] = []; // one expect after the loop: 20000 expect calls took ~0.5 s
    for (let i = 0; i < 20000; i++) {
      const d = computeRenewAt(cert, now, r, policy);
      const off = d.renewAt.getTime() - cert.notBefore.getTime();
      min = Math.min(min, off);
      max = Math.max(max, off);
      if (d.delayMs !== off) delayMismatches.push([d.delayMs, off]);
    }
    expect(delayMismatches).toEqual([]);
    expect(min).toBeGreaterThanOrEqual(24 * H * (2 / 3 - 0.1));
    expect(max).toBeLessThanOrEqual(24 * H * (2 / 3 + 0.1));
    // the spread is really used (the consul-template jitter bug: jitter that never varies)
    expect(min).toBeLessThan(24 * H * (2 / 3 - 0.09));
    expect(max).toBeGreaterThan(24 * H * (2 / 3 + 0.09));
  });

  it('never lands later than notAfter − margin', () => {
    const r = seeded(7);
    const p = { renewAtFraction: 0.9, jitterFraction: 0.05, minRemainingSeconds: 3 * 3600 };
    let max = -Infinity;
    for (let i = 0; i < 5000; i++) max = Math.max(max, computeRenewAt(cert, cert.notBefore, r, p).renewAt.getTime());
    // margin 3 h would be capped to (1 − 0.95) × 24 h / 2 = 36 min
    const d = computeRenewAt(cert, cert.notBefore, fixed(0.999), p);
    expect(d.marginCapped).toBe(true);
    expect(max).toBeLessThanOrEqual(d.mustRenewBy.getTime());
    expect(d.mustRenewBy.getTime()).toBe(cert.notAfter.getTime() - 0.05 * 24 * H / 2);
    const p2 = { renewAtFraction: 0.8, jitterFraction: 0.1, minRemainingSeconds: 600 };
    const d2 = computeRenewAt(cert, cert.notBefore, fixed(0.999), p2);
    expect(d2.marginCapped).toBe(false);
    expect(d2.renewAt.getTime()).toBeLessThanOrEqual(cert.notAfter.getTime() - 600_000);
  });

  it('renews at once when the certificate is overdue, never in the past', () => {
    const now = new Date(cert.notAfter.getTime() - 60_000);
    const d = computeRenewAt(cert, now, fixed(0.5), policy);
    expect(d.renewAt).toEqual(now);
    expect(d.delayMs).toBe(0);
  });

  it('a margin longer than a short certificate cannot force renewing right after issuance', () => {
    const short = { notBefore: new Date(0), notAfter: new Date(60_000) };
    const d = computeRenewAt(short, new Date(0), fixed(0), { renewAtFraction: 2 / 3, jitterFraction: 0.1, minRemainingSeconds: 300 });
    expect(d.delayMs).toBeGreaterThan(30_000);
  });
});

describe('nextBackoff', () => {
  const bp = { initialMs: 1000, maxMs: 300_000, jitterFraction: 0.5 };

  it('bounds per attempt: [max(initial/2, base/2), base], base = min(1 s × 2^(n−1), 5 min)', () => {
    const r = seeded(1);
    for (let n = 1; n <= 15; n++) {
      const base = Math.min(1000 * 2 ** (n - 1), 300_000);
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < 2000; i++) {
        const d = nextBackoff(n, bp, r);
        min = Math.min(min, d);
        max = Math.max(max, d);
      }
      expect(min).toBeGreaterThanOrEqual(Math.max(500, base / 2));
      expect(max).toBeLessThanOrEqual(base);
      expect(max - min).toBeGreaterThan(base * 0.4); // jitter really spreads, from the first retry on
    }
  });

  it('the first retries of 100 nodes failing at once spread over most of [initial/2, initial] (issue #14: 100 within 70 ms)', () => {
    const r = seeded(7);
    const first = Array.from({ length: 100 }, () => nextBackoff(1, bp, r));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...first)).toBeLessThanOrEqual(1000);
    expect(Math.max(...first) - Math.min(...first)).toBeGreaterThan(400);
  });

  it('full jitter (1.0) never sleeps below initialMs/2 and never above the cap', () => {
    const r = seeded(3);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 20000; i++) {
      const d = nextBackoff(1 + (i % 20), { ...bp, jitterFraction: 1 }, r);
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    expect(min).toBeGreaterThanOrEqual(500);
    expect(max).toBeLessThanOrEqual(300_000);
  });

  it('consecutive delays never shrink before the cap with jitterFraction 0.5 (worst-case draws)', () => {
    for (let n = 1; n < 9; n++) expect(nextBackoff(n + 1, bp, fixed(0.9999))).toBeGreaterThanOrEqual(nextBackoff(n, bp, fixed(0)) - 1);
  });

  it('never sleeps past the must-renew deadline, and never zero', () => {
    const ctx = { nowMs: 1_000_000, mustRenewByMs: 1_000_000 + 2500, notAfterMs: 1_000_000 + 60_000 };
    expect(nextBackoff(10, bp, fixed(0), ctx)).toBe(2500);
    expect(nextBackoff(10, bp, fixed(0), { ...ctx, mustRenewByMs: ctx.nowMs + 0.2 })).toBeGreaterThanOrEqual(1);
    // past the deadline: at most a quarter of the time left, at least initialMs
    expect(nextBackoff(10, bp, fixed(0), { ...ctx, mustRenewByMs: ctx.nowMs - 1 })).toBe(15_000);
    expect(nextBackoff(10, bp, fixed(0), { nowMs: 0, mustRenewByMs: -5, notAfterMs: 2000 })).toBe(1000);
    // expired: plain capped backoff
    expect(nextBackoff(20, bp, fixed(0), { nowMs: 10, mustRenewByMs: 5, notAfterMs: 6 })).toBe(300_000);
  });
});

describe('escalation and health', () => {
  const esc = { warnRemainingFraction: 0.25, criticalRemainingFraction: 0.1 };
  const at = (frac: number) => new Date(cert.notBefore.getTime() + 24 * H * frac);
  it.each([
    [0.5, 'ok'],
    [0.8, 'warn'],
    [0.95, 'critical'],
    [1, 'expired'],
  ])('at %s of the lifetime → %s', (f, level) => {
    expect(escalationLevel(cert, at(f), esc)).toBe(level);
  });
  it('missing without a certificate', () => expect(escalationLevel(undefined, at(0), esc)).toBe('missing'));

  it('ready only with a served, valid set; live unless writes keep failing or expired while failing', () => {
    const hp = { ...esc, liveWriteFailures: 3 };
    const s = initialNodeStatus('foo@127.0.0.1');
    expect(deriveHealth([s], at(0.1), hp)).toMatchObject({ live: true, ready: false });
    s.cert = { serial: '01', ...cert };
    expect(deriveHealth([s], at(0.1), hp)).toMatchObject({ live: true, ready: true });
    s.reloadPending = true;
    expect(deriveHealth([s], at(0.1), hp).ready).toBe(false);
    s.reloadPending = false;
    expect(deriveHealth([s], at(0.95), hp).ready).toBe(false);
    s.consecutiveWriteFailures = 3;
    expect(deriveHealth([s], at(0.1), hp).live).toBe(false);
    s.consecutiveWriteFailures = 0;
    s.consecutiveFailures = 2;
    expect(deriveHealth([s], at(1.1), hp).live).toBe(false);
  });
});

describe('failure messages, start-up spread', () => {
  it('"no certificate yet" (error) is not "expired" (fatal)', () => {
    expect(failureMessage('missing')).toBe('renewal failed; no certificate yet');
    expect(failureLogLevel('missing')).toBe('error');
    expect(failureMessage('expired')).toBe('renewal failed; certificate expired');
    expect(failureLogLevel('expired')).toBe('fatal');
    expect(failureMessage('ok')).toBe('renewal failed');
  });

  it('spreads the first Vault call of many nodes over [0, spread), none for a single node', () => {
    const r = seeded(11);
    const delays = Array.from({ length: 100 }, () => startupDelayMs(100, 3000, r));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(3000);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(2500);
    expect(startupDelayMs(1, 3000, r)).toBe(0);
    expect(startupDelayMs(5, 0, r)).toBe(0);
  });
});
