import { computeCrlRefreshAt, crlLevel } from './crl.js';
import { deriveHealth, initialCrlStatus, initialNodeStatus } from './state.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const policy = { refreshIntervalSeconds: 300, refreshAtFraction: 0.5, warnRemainingFraction: 0.25 };
// Vault's default CRL: 72 h window
const crl = { thisUpdate: T0, nextUpdate: at(72 * 3600) };

describe('computeCrlRefreshAt', () => {
  it('refreshes on the interval while it comes first', () => {
    expect(computeCrlRefreshAt(crl, at(100), at(100), policy)).toEqual(at(400));
  });

  it('refreshes by refreshAtFraction of the window when that comes first (short CRL lifetimes)', () => {
    const short = { thisUpdate: T0, nextUpdate: at(120) };
    expect(computeCrlRefreshAt(short, at(10), at(10), policy)).toEqual(at(60));
  });

  it('never schedules in the past: an overdue refresh happens now', () => {
    const short = { thisUpdate: T0, nextUpdate: at(120) };
    expect(computeCrlRefreshAt(short, at(0), at(100), policy)).toEqual(at(100));
  });

  it('without a CRL or without nextUpdate only the interval applies', () => {
    expect(computeCrlRefreshAt(undefined, at(5), at(5), policy)).toEqual(at(305));
    expect(computeCrlRefreshAt({ thisUpdate: T0, nextUpdate: undefined }, at(5), at(5), policy)).toEqual(at(305));
  });

  it('over many windows the refresh lands at or before half the window, and never after nextUpdate', () => {
    for (let w = 2; w < 200_000; w = Math.ceil(w * 1.7)) {
      const c = { thisUpdate: T0, nextUpdate: at(w) };
      const r = computeCrlRefreshAt(c, T0, T0, policy).getTime();
      expect(r).toBeLessThanOrEqual(Math.max(at(w / 2).getTime(), T0.getTime()));
      expect(r).toBeLessThan(c.nextUpdate.getTime());
    }
  });
});

describe('crlLevel', () => {
  it.each([
    [0, 'ok'],
    [0.74 * 72 * 3600, 'ok'],
    [0.8 * 72 * 3600, 'warn'],
    [0.95 * 72 * 3600, 'critical'],
    [72 * 3600, 'stale'],
  ] as const)('at %d s into a 72 h window → %s', (s, level) => {
    expect(crlLevel(crl, at(s), policy)).toBe(level);
  });
  it('is missing without a CRL', () => expect(crlLevel(undefined, T0, policy)).toBe('missing'));
});

describe('deriveHealth with CRL checking', () => {
  const cert = { serial: '01', notBefore: T0, notAfter: at(86400) };
  const schedule = { warnRemainingFraction: 0.25, criticalRemainingFraction: 0.1, liveWriteFailures: 3 };
  const node = (crlState: 'none' | 'missing' | 'fresh' | 'warn' | 'stale') => {
    const s = { ...initialNodeStatus('foo@127.0.0.1'), cert };
    if (crlState === 'none') return s;
    s.crl = initialCrlStatus('/d/crl', 0.25);
    if (crlState !== 'missing') Object.assign(s.crl, { present: true, thisUpdate: T0, nextUpdate: at(crlState === 'fresh' ? 72 * 3600 : crlState === 'warn' ? 1000 : 10) });
    return s;
  };
  const now = at(900);
  it('ready with a fresh CRL or none configured; warn keeps ready with a reason', () => {
    expect(deriveHealth([node('none')], now, schedule).ready).toBe(true);
    expect(deriveHealth([node('fresh')], now, schedule).nodes[0]).toMatchObject({ ready: true, crl: 'ok', reasons: [] });
    const w = deriveHealth([node('warn')], now, schedule).nodes[0]!;
    expect(w).toMatchObject({ ready: true, crl: 'warn' });
    expect(w.reasons.join()).toMatch(/CRL nearing its nextUpdate/);
  });
  it('not ready (fail-closed node) with a missing or stale CRL', () => {
    expect(deriveHealth([node('missing')], now, schedule).nodes[0]).toMatchObject({ ready: false, live: true, crl: 'missing' });
    const st = deriveHealth([node('stale')], now, schedule).nodes[0]!;
    expect(st).toMatchObject({ ready: false, crl: 'stale' });
    expect(st.reasons.join()).toMatch(/refuses every peer/);
  });
});
