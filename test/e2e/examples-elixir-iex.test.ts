/**
 * examples/elixir-iex/demo.sh end to end against the run's OpenBao: real `iex` nodes started with the
 * article's flags plus TLS connect, a certificate-less node is refused, and `-connect_all false` keeps
 * three nodes from meshing.
 */
import { join } from 'node:path';
import { adminClient, suffix, testdir, testVault } from '../helpers/vault.js';
import { sharedFreePort } from '../helpers/erlang.js';
import { REPO_ROOT, runScript } from '../helpers/scripts.js';
import { removeMount } from '../../packages/sdk/src/internal.js';

const ROOT = REPO_ROOT;


describe('examples/elixir-iex', () => {
  const mount = `pki-ex-iex-${suffix()}`;
  const tmp = testdir();
  afterAll(async () => {
    for (const m of [mount, `${mount}-root`]) await removeMount(adminClient(), m).catch(() => {});
    tmp.cleanup();
  });

  it('demo.sh: iex nodes connect over mTLS without epmd, a certificate-less node fails, -connect_all false', async () => {
    const v = testVault();
    const port = await sharedFreePort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const r = await runScript(join(ROOT, 'examples', 'elixir-iex', 'demo.sh'), {
      VAULT_ADDR: v.addr,
      VAULT_TOKEN: v.token,
      VAULTDIST_MOUNT: mount,
      DIST_PORT: String(port),
      WORK: join(tmp.dir, 'work'),
    });
    if (r.code !== 0) throw new Error(`demo.sh exited ${r.code}:\n${r.out}`);
    expect(r.out).toContain('bob: Node.connect(:"alice@127.0.0.1") = true');
    expect(r.out).toContain('bob: the link to alice is tlsv1.3');
    expect(r.out).toContain('carol: Node.connect(:"alice@127.0.0.1") = true');
    // alice knows both, but with -connect_all false bob and carol never meshed.
    expect(r.out).toContain('carol: alice knows [:"bob@127.0.0.2", :"carol@127.0.0.3"]');
    expect(r.out).toContain('carol: Node.list() = [:"alice@127.0.0.1"]');
    expect(r.out).toContain('bob: Node.list() = [:"alice@127.0.0.1"]');
    expect(r.out).toContain('alice: Node.list() = [:"bob@127.0.0.2", :"carol@127.0.0.3"]');
    expect(r.out).toContain('eve: Node.connect(:"alice@127.0.0.1") = false');
    expect(r.out).toContain('alice logged: generated SERVER ALERT: Fatal - Certificate required');
    // Nothing listens on 4369, or (an epmd some other process started) our nodes are not registered with it.
    expect(r.out).toMatch(/port 4369: closed|port 4369: open, but not by this demo/);
    expect(r.out).toMatch(/summary: .* OK/);
  }, 150_000);
});
