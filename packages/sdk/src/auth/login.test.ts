import type { AuthContext } from '../client.js';
import { silentLogger } from '../logger.js';
import { createLoginStrategy } from './login.js';

/** A login strategy whose login is counted (no HTTP: the strategy's own token handling is under test). */
function counted(now = () => 1_000_000) {
  let logins = 0;
  const s = createLoginStrategy('test', async () => ({ client_token: `login-${++logins}`, accessor: 'a', policies: [], metadata: null, lease_duration: 600, renewable: true }), { now });
  return { s, logins: () => logins };
}
const ctx = { logger: silentLogger } as unknown as AuthContext;

describe('createLoginStrategy: adopt (a login handed over by another process, the agent\'s work processes)', () => {
  it('uses the adopted token without logging in; a 403 (invalidate) logs in anew', async () => {
    const { s, logins } = counted();
    s.adopt!({ token: 'handed-over', leaseDurationSeconds: 600, renewable: true, obtainedAtMs: 999_000 });
    expect(await s.getToken(ctx)).toBe('handed-over');
    expect(s.current!()).toMatchObject({ token: 'handed-over', obtainedAtMs: 999_000 });
    expect(logins()).toBe(0);
    expect(s.invalidate()).toBe(true);
    expect(await s.getToken(ctx)).toBe('login-1');
    expect(logins()).toBe(1);
  });

  it('ignores an adoption while it holds a login, and an adopted lease near its end is replaced by a login', async () => {
    const { s, logins } = counted();
    expect(await s.getToken(ctx)).toBe('login-1');
    s.adopt!({ token: 'other', leaseDurationSeconds: 600, renewable: true, obtainedAtMs: 1_000_000 });
    expect(await s.getToken(ctx)).toBe('login-1');
    const late = counted();
    // obtained 595 s ago with a 600 s lease: inside the 10 s re-login margin
    late.s.adopt!({ token: 'ending', leaseDurationSeconds: 600, renewable: true, obtainedAtMs: 1_000_000 - 595_000 });
    expect(await late.s.getToken(ctx)).toBe('login-1');
    expect(late.logins()).toBe(1);
    expect(logins()).toBe(1);
  });
});

describe('certAuth: adopt only a login made with the certificate now in certFile', () => {
  it('a handed-over cert login is adopted while certFile holds its certificate, not after a rotation', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createHash } = await import('node:crypto');
    const { certAuth } = await import('./cert.js');
    const dir = mkdtempSync(join(tmpdir(), 'vaultdist-certadopt-'));
    try {
      const certFile = join(dir, 'bundle.pem');
      const pem = (b: string) => `-----BEGIN CERTIFICATE-----\n${b}\n-----END CERTIFICATE-----`;
      writeFileSync(certFile, `${pem('AAAA')}\n`);
      const binding = createHash('sha256').update(pem('AAAA')).digest('hex');
      const lease = { token: 'from-w1', leaseDurationSeconds: 600, renewable: true, obtainedAtMs: Date.now(), binding };
      const same = certAuth({ certFile });
      same.adopt!(lease);
      expect(same.current!()).toMatchObject({ token: 'from-w1', binding });
      // rotated: bundle.pem now holds another certificate → not adopted (the next call logs in with it)
      writeFileSync(certFile, `${pem('BBBB')}\n`);
      const rotated = certAuth({ certFile });
      rotated.adopt!(lease);
      expect(rotated.current!()).toBeUndefined();
      // a lease without a binding (made by something else) is not adopted either
      const unbound = certAuth({ certFile });
      unbound.adopt!({ ...lease, binding: undefined });
      expect(unbound.current!()).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
