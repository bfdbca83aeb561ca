/**
 * Cheap secrets-hygiene checks (issue #7): key material 0600 in a 0700 set directory, owned by the
 * configured user; CRL files world-readable (public data); the agent's health/metrics server binds to
 * loopback by default and serves no secret.
 */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeConfig } from '../../packages/agent/src/index.js';
import { startHealthServer } from '../../packages/agent/src/shell/health-server.js';
import { createMetrics } from '../../packages/agent/src/shell/metrics.js';
import { fetchCrl, issueNodeCredentials, writeCredentialSet } from '../../packages/sdk/src/index.js';
import { writeCrlDir } from '../../packages/sdk/src/internal.js';
import { createTestPki, testdir, type TestPki } from '../helpers/vault.js';

describe('secrets hygiene', () => {
  let pki: TestPki;
  const t = testdir();
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterAll(async () => {
    await pki?.cleanup();
    t.cleanup();
  });

  it('writes the key bundle 0600 inside a 0700 set directory; ca.pem and CRLs are public (0644)', async () => {
    const dir = join(t.dir, 'node');
    const res = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'hy@127.0.0.1', dir });
    expect(statSync(res.written.bundlePath).mode & 0o777).toBe(0o600);
    expect(readFileSync(res.written.bundlePath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(res.written.setDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, '.sets')).mode & 0o777).toBe(0o700);
    expect(statSync(res.written.caPath).mode & 0o777).toBe(0o644);
    const crl = await writeCrlDir(join(dir, 'crl'), [(await fetchCrl(pki.vault, pki.mount)).pem], [pki.rootPem]);
    for (const f of crl.files) {
      const s = statSync(join(dir, 'crl', f));
      expect(s.mode & 0o777).toBe(0o644);
      expect(readFileSync(join(dir, 'crl', f), 'utf8')).not.toMatch(/PRIVATE KEY/);
    }
  });

  const root = process.getuid?.() === 0;
  (root ? it : it.skip)('chowns every file, directory and link of the set to the configured owner (root agents)', async () => {
    const dir = join(t.dir, 'owned');
    const res = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'own@127.0.0.1', dir, write: { owner: { uid: 4242, gid: 4343 } } });
    for (const p of [res.written.bundlePath, res.written.caPath]) expect([p, statSync(p).uid, statSync(p).gid]).toEqual([p, 4242, 4343]);
    // the set directory stays root's, 0711: the node user reaches its files but cannot swap an entry (issue #15)
    expect([statSync(res.written.setDir).uid, statSync(res.written.setDir).mode & 0o777]).toEqual([0, 0o711]);
    // .sets stays root's, 0711: the node user traverses it to its key but cannot rename a set (issue #15)
    expect([statSync(join(dir, '.sets')).uid, statSync(join(dir, '.sets')).mode & 0o777]).toEqual([0, 0o711]);
    for (const l of ['bundle.pem', 'ca.pem', 'current']) expect([l, lstatSync(join(dir, l)).uid]).toEqual([l, 4242]);
    // The same owner for a rewrite through writeCredentialSet directly.
    const again = await writeCredentialSet(dir, { privateKey: res.issued.privateKey, certificate: res.issued.certificate, chain: [], caBundle: [pki.rootPem, pki.rootPem] }, { owner: { uid: 4242, gid: 4343 } });
    expect(statSync(again.bundlePath).uid).toBe(4242);
  });

  it('the agent health/metrics server binds to loopback by default and serves no secret', async () => {
    const host = describeConfig().find((d) => d.path === 'health.host')!.default as string;
    expect(host).toBe('127.0.0.1');
    const metrics = createMetrics({ defaultMetrics: false });
    const srv = await startHealthServer({
      host,
      port: 0,
      health: () => ({ live: true, ready: true, nodes: [] }),
      metrics,
      status: () => ({ nodes: [] }),
    });
    try {
      expect(srv.host).toBe('127.0.0.1');
      const bodies = await Promise.all(['/healthz', '/livez', '/readyz', '/metrics'].map(async (p) => (await fetch(`http://127.0.0.1:${srv.port}${p}`)).text()));
      for (const b of bodies) expect(b).not.toMatch(/PRIVATE KEY|hvs\.|secret_id|secretId|client_token|X-Vault-Token/i);
    } finally {
      await srv.close();
    }
  });
});
