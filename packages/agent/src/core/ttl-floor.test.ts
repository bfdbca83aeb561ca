import { validateConfig } from '../config/schema.js';
import { computeRenewAt, DEFAULT_RENEW_POLICY, ttlFloorProblem, ttlFloorSeconds } from './schedule.js';

/** The earliest renewal after issuance over the whole jitter range, for a TTL, by computeRenewAt itself. */
function earliestRenewalAfterIssueSeconds(ttlSeconds: number, backdateSeconds: number): number {
  const issuedAt = Date.UTC(2026, 0, 1);
  const cert = { notBefore: new Date(issuedAt - backdateSeconds * 1000), notAfter: new Date(issuedAt + ttlSeconds * 1000) };
  let min = Infinity;
  for (let i = 0; i <= 1000; i++) {
    const r = computeRenewAt(cert, new Date(issuedAt), { next: () => i / 1001 }, { ...DEFAULT_RENEW_POLICY, minRemainingSeconds: 60 });
    min = Math.min(min, r.delayMs / 1000);
  }
  return min;
}

describe('ttlFloorSeconds (issue #15: --ttl 20s gave 31 certificates in 40 s)', () => {
  it('is 180 s for the default schedule, a 30 s Vault backdate and one renewal a minute at most', () => {
    expect(ttlFloorSeconds(DEFAULT_RENEW_POLICY)).toBe(180);
  });

  it.each([
    [30, 60],
    [1, 5],
    [0, 60],
    [30, 300],
  ])('derived from computeRenewAt: at the floor (backdate %is, interval %is) no draw renews sooner, 2 s below it one does', (backdateSeconds, minIntervalSeconds) => {
    const floor = ttlFloorSeconds(DEFAULT_RENEW_POLICY, { backdateSeconds, minIntervalSeconds });
    expect(earliestRenewalAfterIssueSeconds(floor, backdateSeconds)).toBeGreaterThanOrEqual(minIntervalSeconds - 0.1);
    expect(earliestRenewalAfterIssueSeconds(floor - 2, backdateSeconds)).toBeLessThan(minIntervalSeconds);
  });

  it('the reported case: 20 s with a 30 s backdate renews at once (the hot loop)', () => {
    expect(earliestRenewalAfterIssueSeconds(20, 30)).toBe(0);
    expect(ttlFloorProblem('--ttl 20s', 20)).toMatch(/^--ttl 20s is below the floor of 180s derived from the renewal schedule: renewing at 43–67 % of notAfter − notBefore \(Vault backdates notBefore by 30s\), the agent would renew and reload the node less than 60s after each issuance; use 180s or longer$/);
    expect(ttlFloorProblem('--ttl 3m', 180)).toBeUndefined();
  });
});

describe('agent config: nodes[].ttl below the schedule floor is a config error', () => {
  const cfg = (ttl: string, schedule: Record<string, unknown> = {}) =>
    validateConfig({
      vault: { auth: { method: 'token', token: 't' } },
      schedule,
      nodes: [{ name: 'a@127.0.0.1', dir: '/var/lib/vaultdist/a', mount: 'pki', role: 'node', ttl, reload: { strategy: 'poll' }, verify: { enabled: false } }],
    }).errors;

  it('refuses 20s with the default schedule (lower bound: no backdate assumed), naming the field', () => {
    expect(cfg('20s')).toEqual([expect.stringMatching(/^nodes\[0\]\.ttl: 20s is below the floor of 140s derived from the renewal schedule: .* less than 60s after each issuance; use 140s or longer \(or lower schedule\.minRemainingSeconds\)$/)]);
    expect(cfg('3m')).toEqual([]);
  });

  it('accepts a short TTL with a schedule made for it (the rotation tests: 0.35 ± 0.05, 3 s)', () => {
    expect(cfg('20s', { renewAtFraction: 0.35, jitterFraction: 0.05, minRemainingSeconds: 3 })).toEqual([]);
  });
});
