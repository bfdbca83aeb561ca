/**
 * CLI input (issue #14 part 4) and naming what went wrong (part 6), against the real OpenBao:
 * - `init vault --mount secret` (an existing kv mount): a usage error naming --mount before anything is
 *   written (was "internal error … this is a bug");
 * - a TLS listener with a private CA and no --vault-cacert: "TLS trust error", with the fix (was
 *   "network error … check that the server is up"); with --vault-cacert the next steps that
 *   `init vault` prints for the node hosts carry it too;
 * - durations: what Vault accepts (1h30m) is accepted, anything else is refused naming the flag.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminClient, suffix, testdir, testVault } from '../helpers/vault.js';
import { cleanEnv, runCommand, vaultdist } from '../../packages/cli/test/helpers.js';
import { REPO_ROOT } from '../helpers/scripts.js';

const AGENT_BIN = join(REPO_ROOT, 'packages', 'agent', 'bin.js');

describe('CLI input and Vault errors (real OpenBao)', () => {
  const v = testVault();
  const admin = adminClient();
  const created: string[] = [];
  const tmp = testdir();
  afterAll(async () => {
    tmp.cleanup();
    for (const id of created) {
      for (const m of [`pki-in-${id}`, `pki-in-${id}-root`]) await admin.delete(`sys/mounts/${m}`, { idempotent: true });
      for (const a of [`approle-in-${id}`, `cert-in-${id}`]) await admin.delete(`sys/auth/${a}`, { idempotent: true });
    }
  });
  const args = (id: string) => [
    'init', 'vault',
    '--mount', `pki-in-${id}`, '--root-mount', `pki-in-${id}-root`, '--role', `node-${id}`, '--policy', `vaultdist-in-${id}`,
    '--approle-mount', `approle-in-${id}`, '--cert-mount', `cert-in-${id}`, '--allowed-hosts', '127.0.0.1',
    '--leaf-ttl', '1h30m', '--leaf-max-ttl', '4h', '--int-ttl', '720h', '--root-ttl', '1440h',
  ];
  const env = { BAO_TOKEN: v.token };

  it('init vault --mount secret: exit 2 naming --mount, nothing created', async () => {
    const id = suffix();
    created.push(id);
    const a = args(id);
    a[a.indexOf('--mount') + 1] = 'secret';
    const r = await vaultdist([...a, '--vault-addr', v.addr], { env });
    expect(r.stderr).not.toMatch(/internal error|this is a bug/i);
    expect(r.stderr).toContain('--mount secret: secret/ is already a kv secrets engine, not pki');
    expect(r.code).toBe(2);
    const mounts = (await admin.read<Record<string, unknown>>('sys/mounts')).data;
    expect(mounts[`pki-in-${id}-root/`]).toBeUndefined();
  }, 60_000);

  it('a private-CA Vault without --vault-cacert: a TLS trust error with the fix; with it, the next steps carry it', async () => {
    const id = suffix();
    created.push(id);
    const bad = await vaultdist([...args(id), '--vault-addr', v.tlsAddr], { env });
    expect(bad.code).toBe(11);
    expect(bad.stderr).toMatch(/TLS trust error \([A-Z_]+\)/);
    expect(bad.stderr).toContain('--vault-cacert');
    expect(bad.stderr).not.toMatch(/network error|that the server is up/);

    const good = await vaultdist([...args(id), '--vault-addr', v.tlsAddr, '--vault-cacert', v.caCertPath], { env, allowPrintedToken: 'init vault prints the wrapped secret_id once' });
    expect(good.stderr).not.toMatch(/error/i);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`vaultdist init node --vault-addr ${v.tlsAddr} `);
    expect(good.stdout).toContain(`--vault-cacert ${v.caCertPath}`);

    // init node --ttl 1h30m: Vault accepts it, and so does the agent config it writes (was: the set was
    // issued and written, then exit 10 from the agent's own duration pattern)
    const dir = join(tmp.dir, 'ttl-node');
    const node = await vaultdist(
      ['init', 'node', '--name', 'ttl@127.0.0.1', '--dir', dir, '--mount', `pki-in-${id}`, '--role', `node-${id}`, '--policy', `vaultdist-in-${id}`, '--approle-mount', `approle-in-${id}`, '--cert-auth-mount', `cert-in-${id}`, '--vault-addr', v.tlsAddr, '--vault-cacert', v.caCertPath, '--ttl', '1h30m', '--no-companion'],
      { env },
    );
    expect(node.stderr).not.toMatch(/error/i);
    expect(node.code).toBe(0);
    expect(readFileSync(join(dir, 'agent.yaml'), 'utf8')).toMatch(/ttl: 1h30m/);
    const check = await runCommand(process.execPath, [AGENT_BIN, '--check', '-c', join(dir, 'agent.yaml')], { env: cleanEnv(env) });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
  }, 90_000);

  it('durations: a Vault duration Vault refuses is refused naming the flag (exit 2), before anything is written', async () => {
    const id = suffix();
    created.push(id);
    const a = args(id);
    a[a.indexOf('--leaf-ttl') + 1] = '1d12h';
    const r = await vaultdist([...a, '--vault-addr', v.addr], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--leaf-ttl: "1d12h" is not a Vault duration');
    const mounts = (await admin.read<Record<string, unknown>>('sys/mounts')).data;
    expect(mounts[`pki-in-${id}-root/`]).toBeUndefined();
  }, 60_000);
});
