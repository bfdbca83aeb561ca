/**
 * Revocation end to end with nothing but the CLI and real OTP 25 nodes: three nodes from
 * `vaultdist init node --crl`, started from their vm.args; `vaultdist revoke --dir` on one; each
 * remaining node's agent (`vaultdist agent --once`) refreshes its CRL directory; the revoked node is
 * refused on its next connection in both directions ("Certificate Revoked"), while the unrevoked pair
 * still makes fresh connections. No node is reloaded: OTP reads DIR/crl on every handshake.
 */
import { join } from 'node:path';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { sharedFreePort, startNode, type ErlNode } from '../helpers/erlang.js';
import { suffix, testVault } from '../helpers/vault.js';
import { useInitVaultCleanup, useTestdir } from '../helpers/setup.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

/** Waits (bounded) until `node` no longer lists `peer`: a disconnect reaches the other side asynchronously. */
async function untilGone(node: ErlNode, peer: string): Promise<void> {
  for (let i = 0; i < 100 && (await node.nodes()).includes(peer); i++) await new Promise((r) => setTimeout(r, 50));
  expect(await node.nodes()).not.toContain(peer);
}

describe('revocation with the CLI: init node --crl, vaultdist revoke, agent refresh', () => {
  const id = suffix();
  const names = { mount: `pki-rn-${id}`, rootMount: `pki-rn-${id}-root`, role: `node-${id}`, policy: `vaultdist-rn-${id}` };
  const v = testVault();
  const tmp = useTestdir();
  const env = { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token };
  useInitVaultCleanup(names, ['ra@127.0.0.1', 'rb@127.0.0.2', 'rc@127.0.0.3']);

  it('refuses the revoked node on its next connection; the others keep connecting', async () => {
    const iv = await vaultdist(['init', 'vault', '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy, '--auth', 'token', '--allowed-hosts', HOSTS.join(',')], { env });
    expect(iv.code).toBe(0);
    const port = await sharedFreePort(HOSTS);
    const nodes = ['ra@127.0.0.1', 'rb@127.0.0.2', 'rc@127.0.0.3'];
    const dirs = nodes.map((n) => join(tmp.dir, n.split('@')[0]!));
    const erl: ErlNode[] = [];
    for (const [i, name] of nodes.entries()) {
      const r = await vaultdist(['init', 'node', '--name', name, '--dir', dirs[i]!, '--mount', names.mount, '--role', names.role, '--policy', names.policy, '--agent-auth', 'token', '--dist-port', String(port), '--crl'], { env });
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/CRL checking is on/);
      // prevent_overlapping_partitions (OTP 25 default) makes `global` cut the ra–rb link asynchronously
      // when rc is disconnected, racing the unrevoked pair's fresh connection below: off for this test
      erl.push(await startNode({ name, dir: dirs[i]!, flags: ['-args_file', join(dirs[i]!, 'vm.args'), '-kernel', 'prevent_overlapping_partitions', 'false'] }));
    }
    const [a, b, c] = erl as [ErlNode, ErlNode, ErlNode];
    // CRL checking is on and the CRL is fresh: everyone connects.
    expect(await a.ping(nodes[1]!)).toBe('pong');
    expect(await a.ping(nodes[2]!)).toBe('pong');
    expect(await b.ping(nodes[2]!)).toBe('pong');

    const rv = await vaultdist(['revoke', '--dir', dirs[2]!, '--no-cert-auth', '--json'], { env });
    expect(rv.code).toBe(0);
    const revoked = JSON.parse(rv.stdout) as { serial: string; state: string; crl: { listed: boolean } };
    expect(revoked).toMatchObject({ state: 'revoked', crl: { listed: true } });

    // Control: until ra's CRL directory is refreshed, a fresh rc → ra connection still succeeds.
    await c.eval(`erlang:disconnect_node('${nodes[0]}')`);
    await untilGone(a, nodes[2]!);
    expect(await c.ping(nodes[0]!)).toBe('pong');

    // Each remaining node's agent refreshes its CRL directory (--once: what an operator runs to force it).
    for (const d of dirs.slice(0, 2)) {
      const ag = await vaultdist(['agent', '--config', join(d, 'agent.yaml'), '--once', '--no-health'], { env });
      const out = ag.stdout + ag.stderr;
      expect(out).not.toMatch(/"level":(50|60)/);
      expect(ag.code).toBe(0);
      expect(out).toMatch(/"msg":"once: CRL refreshed"/);
      expect(out).toMatch(/"revoked":1/);
    }

    // Live connections are not re-checked: cut them, as the revoke output tells the operator to.
    for (const n of [a, b]) await n.eval(`erlang:disconnect_node('${nodes[2]}')`);
    await c.eval('[erlang:disconnect_node(N) || N <- nodes()], ok');
    for (const n of [a, b]) await untilGone(n, nodes[2]!);
    expect(await c.nodes()).toEqual([]);

    // rc → ra: ra refuses rc's revoked client certificate; ra → rc: ra refuses rc's server certificate.
    expect(await c.ping(nodes[0]!)).toBe('pang');
    expect(await a.ping(nodes[2]!)).toBe('pang');
    expect(await b.ping(nodes[2]!)).toBe('pang');
    expect(await a.nodes()).not.toContain(nodes[2]);
    let line: string | undefined;
    for (let i = 0; i < 100 && !line; i++) {
      line = a.log().split('\n').find((l) => /Certificate Revoked|certificate_revoked/.test(l));
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    expect(line).toBeDefined();
    // The unrevoked pair makes a fresh connection.
    await a.eval(`erlang:disconnect_node('${nodes[1]}')`);
    await untilGone(b, nodes[0]!);
    expect(await b.ping(nodes[0]!)).toBe('pong');
    expect(await a.nodes()).toEqual([nodes[1]]);
    console.log(`revoked ${revoked.serial} with \`vaultdist revoke --dir\`; after \`vaultdist agent --once\`: rc -> ra pang, ra -> rc pang, rb -> ra pong\n  ra log: ${line!.trim()}`);
  }, 120_000);
});
