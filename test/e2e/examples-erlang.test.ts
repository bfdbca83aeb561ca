/**
 * examples/erlang/demo.sh end to end against the run's OpenBao: plain `erl -args_file` nodes connect
 * over mTLS, a certificate-less node is refused, no epmd, and a live SIGHUP reload changes the served
 * serial.
 */
import { join } from 'node:path';
import { adminClient, suffix, testdir, testVault } from '../helpers/vault.js';
import { sharedFreePort } from '../helpers/erlang.js';
import { REPO_ROOT, runScript } from '../helpers/scripts.js';
import { removeMount } from '../../packages/sdk/src/internal.js';

const ROOT = REPO_ROOT;


describe('examples/erlang', () => {
  const mount = `pki-ex-erl-${suffix()}`;
  const tmp = testdir();
  afterAll(async () => {
    for (const m of [mount, `${mount}-root`]) await removeMount(adminClient(), m).catch(() => {});
    tmp.cleanup();
  });

  it('demo.sh: connect over mTLS, refuse a certificate-less node, no epmd, live rotation', async () => {
    const v = testVault();
    const port = await sharedFreePort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const r = await runScript(join(ROOT, 'examples', 'erlang', 'demo.sh'), {
      VAULT_ADDR: v.addr,
      VAULT_TOKEN: v.token,
      VAULTDIST_MOUNT: mount,
      DIST_PORT: String(port),
      WORK: join(tmp.dir, 'work'),
    });
    if (r.code !== 0) throw new Error(`demo.sh exited ${r.code}:\n${r.out}`);
    expect(r.out).toMatch(/bob@127\.0\.0\.2: ping alice@127\.0\.0\.1 = pong, nodes\(\) = \['alice@127\.0\.0\.1'\]/);
    expect(r.out).toMatch(/mallory@127\.0\.0\.3: ping alice@127\.0\.0\.1 = pang \(refused\)/);
    // Nothing listens on 4369, or (an epmd some other process started) our nodes are not registered with it.
    expect(r.out).toMatch(/port 4369: closed|port 4369: open, but not by this demo/);
    if (r.out.includes('port 4369: open')) expect(r.out).toContain('none of our nodes (alice bob) registered');
    const serials = [...r.out.matchAll(/presented certificate serial ([0-9a-f:]+)/g)].map((m) => m[1]);
    expect(serials).toHaveLength(2);
    expect(serials[0]).not.toBe(serials[1]);
    // The served serials are the ones Vault issued (first at init, second at the rotation).
    expect(r.out).toContain(`Node alice@127.0.0.1 is ready in ${join(tmp.dir, 'work', 'alice')}`);
    expect(r.out).toContain(`  certificate ${serials[0]}, expires`);
    expect(r.out).toContain(`alice@127.0.0.1: certificate ${serials[1]} valid until`);
    expect(r.out).toMatch(/reloaded \(trigger sighup\)/);
    expect(r.out).toMatch(/summary: .* OK/);
  }, 120_000);
});
