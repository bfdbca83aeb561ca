/**
 * examples/elixir-release/demo.sh end to end against the run's OpenBao: a mix release built offline runs
 * TLS distribution without epmd, `bin/app rpc` works over TLS, and a live rotation by the renewal agent
 * (cert auth, new files, SIGHUP, verify) changes the served serial.
 */
import { join } from 'node:path';
import { adminClient, suffix, testdir, testVault } from '../helpers/vault.js';
import { sharedFreePort } from '../helpers/erlang.js';
import { REPO_ROOT, runScript } from '../helpers/scripts.js';
import { removeMount } from '../../packages/sdk/src/internal.js';

const ROOT = REPO_ROOT;


describe('examples/elixir-release', () => {
  const mount = `pki-ex-rel-${suffix()}`;
  const tmp = testdir();
  afterAll(async () => {
    for (const m of [mount, `${mount}-root`]) await removeMount(adminClient(), m).catch(() => {});
    await adminClient().delete(`sys/auth/${mount}-cert`).catch(() => {});
    tmp.cleanup();
  });

  it('demo.sh: offline mix release, rpc over TLS distribution, live rotation by the renewal agent, stop', async () => {
    const v = testVault();
    const port = await sharedFreePort(['127.0.0.1']);
    const r = await runScript(join(ROOT, 'examples', 'elixir-release', 'demo.sh'), {
      // HTTPS, so the renewal agent logs in with the node's own certificate (cert auth).
      VAULT_ADDR: v.tlsAddr,
      VAULT_CACERT: v.caCertPath,
      VAULT_TOKEN: v.token,
      VAULTDIST_MOUNT: mount,
      DIST_PORT: String(port),
      WORK: join(tmp.dir, 'work'),
    });
    if (r.code !== 0) throw new Error(`demo.sh exited ${r.code}:\n${r.out}`);
    expect(r.out).toMatch(/\* creating _build\/prod\/rel\/app\/releases\/0\.1\.0\/remote\.vm\.args/);
    const pids = /app running, beam pid (\d+) \(bin\/app pid says (\d+)\)/.exec(r.out);
    expect(pids?.[1]).toBe(pids?.[2]);
    expect(r.out).toMatch(/^app@127\.0\.0\.1 answers rpc-[0-9a-f]+-app@127\.0\.0\.1 over tlsv1\.3$/m);
    const served = [...r.out.matchAll(/the dist port serves certificate ([0-9a-f:]+)/g)].map((m) => m[1]);
    expect(served).toHaveLength(2);
    expect(served[0]).not.toBe(served[1]);
    expect(r.out).toContain(`Node app@127.0.0.1 is ready in ${join(tmp.dir, 'work', 'certs')}`);
    expect(r.out).toContain(`  certificate ${served[0]}, expires`);
    // The agent did the rotation: cert auth login, new set written, SIGHUP, and its own verification.
    expect(r.out).toContain('agent: vault login succeeded (cert auth)');
    expect(r.out).toContain(`agent: credential set written (${served[1]})`);
    expect(r.out).toContain(`agent: node serves the new certificate (${served[1]})`);
    // In a release the ssl application runs, so its cache is cleared too.
    expect(r.out).toContain('vaultdist_reload: TLS distribution certificates reloaded (trigger :sighup): dist PEM cache cleared, ssl PEM cache :ok');
    expect(r.out).toMatch(/^after the rotation: app@127\.0\.0\.1 answers rpc-[0-9a-f]+-app@127\.0\.0\.1 over tlsv1\.3$/m);
    expect(r.out).toMatch(/port 4369: closed|none of our nodes \(app\) registered/);
    expect(r.out).toMatch(/summary: .* OK/);
  }, 180_000);
});
