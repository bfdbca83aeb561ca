/**
 * The README's first command, scripts/demo (index.ts as run by scripts/demo/run), end to end against
 * the run's OpenBao given as an external Vault over HTTPS: init vault, init node, two iex nodes over
 * mutual TLS, a refused certificate-less node, the agent's live rotation with the link kept, discovery
 * through the registry plugin (carol on a dynamic port finds alice and bob), and the cleanup of
 * everything the demo created in that Vault.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminClient, testVault } from '../helpers/vault.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');

describe('scripts/demo', () => {
  it('runs the whole story against an external Vault and leaves nothing behind', async () => {
    const v = testVault();
    const env: Record<string, string | undefined> = { ...process.env, VAULT_ADDR: v.tlsAddr, VAULT_TOKEN: v.token, VAULT_CACERT: v.caCertPath };
    for (const k of ['BAO_ADDR', 'BAO_TOKEN', 'BAO_CACERT']) delete env[k];
    const r = await new Promise<{ code: number | null; out: string }>((res) => {
      const p = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'scripts', 'demo', 'index.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('exit', (code) => res({ code, out }));
    });
    if (r.code !== 0) throw new Error(`demo exited ${r.code}:\n${r.out}`);
    expect(r.out).toContain(`using the Vault at ${v.tlsAddr}`);
    expect(r.out).toMatch(/bob> Node\.connect\(:"alice@127\.0\.0\.1"\) = true; Node\.list\(\) = \[:"alice@127\.0\.0\.1"\]; link: :"tlsv1\.3"/);
    expect(r.out).toMatch(/mallory \(trusts the CA, has no certificate\)> Node\.connect\(:"alice@127\.0\.0\.1"\) = false/);
    expect(r.out).toMatch(/port 4369 \(epmd\) on 127\.0\.0\.1: (closed|open, but not started by this demo; none of our nodes registered)/);
    expect(r.out).toContain('agent: vault login succeeded (cert auth');
    expect(r.out).toContain('agent: node serves the new certificate');
    expect(r.out).toMatch(/the bob↔alice link stayed up: same connection \(yes\)/);
    // discovery (#13): carol, on a dynamic port, found alice and bob through the registry alone
    expect(r.out).toMatch(/carol> Node\.list\(\) = \[:"alice@127\.0\.0\.1", :"bob@127\.0\.0\.2"\]/);
    expect(r.out).toMatch(/agent stopped \(SIGTERM\): 0 member\(s\) left in demo-[0-9a-f]+/);
    const cluster = /cluster (demo-[0-9a-f]+) \(allowed/.exec(r.out)![1]!;
    expect(r.out).toMatch(/summary: .* OK/);
    const mount = /issuing CA (vaultdist-demo-[0-9a-f]+)\//.exec(r.out)![1]!;
    expect(r.out).toContain('demo mounts, auth and policy removed');
    const vault = adminClient();
    const mounts = Object.keys((await vault.read<Record<string, unknown>>('sys/mounts')).data ?? {});
    expect(mounts.filter((m) => m.startsWith(mount))).toEqual([]);
    const auths = Object.keys((await vault.read<Record<string, unknown>>('sys/auth')).data ?? {});
    expect(auths.filter((m) => m.startsWith(mount))).toEqual([]);
    expect(await vault.list(`${process.env.VAULTDIST_TEST_REGISTRY_MOUNT ?? 'vaultdist'}/clusters`)).not.toContain(cluster);
  }, 120_000);
});
