/**
 * One environment vocabulary (issue #14 part 1): `vaultdist init vault` on a fresh set of mounts works
 * with BAO_* only, with VAULT_* only and with flags only. Before, node-vault added
 * `process.env.VAULT_TOKEN` to every request behind the SDK's back, so only VAULT_TOKEN worked (exit
 * 12 with BAO_TOKEN or --token), and the suite set VAULT_* only, which hid it. Also: an empty BAO_ADDR
 * counts as unset (the agent agrees, agent/src/config/resolve.test.ts), and a comma-separated address
 * list fails over past a dead first address.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adminClient, suffix, testdir, testVault } from '../helpers/vault.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { freePort } from '../../scripts/vault-dev/src/index.js';

describe('vaultdist init vault: BAO_* only, VAULT_* only, flags only (real OpenBao)', () => {
  const v = testVault();
  const admin = adminClient();
  const created: string[] = [];
  afterAll(async () => {
    for (const id of created) {
      for (const m of [`pki-env-${id}`, `pki-env-${id}-root`]) await admin.delete(`sys/mounts/${m}`, { idempotent: true });
      for (const a of [`approle-env-${id}`, `cert-env-${id}`]) await admin.delete(`sys/auth/${a}`, { idempotent: true });
      await admin.delete(`sys/policies/acl/vaultdist-env-${id}`, { idempotent: true });
    }
  });

  const args = (id: string) => [
    'init', 'vault',
    '--mount', `pki-env-${id}`, '--root-mount', `pki-env-${id}-root`, '--role', `node-${id}`, '--policy', `vaultdist-env-${id}`,
    '--approle-mount', `approle-env-${id}`, '--cert-mount', `cert-env-${id}`, '--allowed-hosts', '127.0.0.1',
    '--leaf-ttl', '1h', '--leaf-max-ttl', '4h', '--int-ttl', '720h', '--root-ttl', '1440h',
  ];

  it.each([
    ['BAO_* only', (_: string) => ({ env: { BAO_ADDR: v.addr, BAO_TOKEN: v.token }, flags: [] as string[] })],
    ['VAULT_* only', (_: string) => ({ env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token }, flags: [] as string[] })],
    ['flags only', (_: string) => ({ env: {}, flags: ['--vault-addr', v.addr, '--token', v.token] })],
    ['empty BAO_ADDR = unset; a dead first address in a list', (dead: string) => ({ env: { BAO_ADDR: '', VAULT_ADDR: `${dead},${v.addr}`, BAO_TOKEN: v.token }, flags: [] as string[] })],
  ])('%s: exit 0, the mounts exist', async (_name, setup) => {
    const id = suffix();
    created.push(id);
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { env, flags } = setup(dead);
    const r = await vaultdist([...args(id), ...flags], { env, allowPrintedToken: 'init vault prints the response-wrapped secret_id once (its purpose)' });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const mounts = (await admin.read<Record<string, { type: string }>>('sys/mounts')).data;
    expect([mounts[`pki-env-${id}/`]?.type, mounts[`pki-env-${id}-root/`]?.type]).toEqual(['pki', 'pki']);
  }, 60_000);

  it('attack: `issue --role ../../sys/seal` with a root token never reaches sys/seal (the SDK validates every path segment)', async () => {
    const sealStatus = async () => (await admin.read<{ sealed: boolean }>('sys/seal-status')).status;
    const t = testdir();
    try {
      let seals = 0;
      for (const [mount, role] of [['pki', '../../sys/seal'], ['pki/sign/x/../../..', 'seal'], ['pki', '..%2f..%2fsys%2fseal']]) {
        const dir = join(t.dir, `n${seals}-${role!.length}`);
        const r = await vaultdist(['issue', '--name', 'a@127.0.0.1', '--dir', dir, '--mount', mount!, '--role', role!], { env: { BAO_ADDR: v.addr, BAO_TOKEN: v.token } });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/Vault path|--role|--mount/);
        expect(existsSync(join(dir, 'bundle.pem'))).toBe(false);
        const health = await fetch(`${v.addr}/v1/sys/health?sealedcode=200&standbycode=200`).then((x) => x.json() as Promise<{ sealed: boolean }>);
        if (health.sealed) seals++;
      }
      expect(seals).toBe(0);
      expect(await sealStatus()).toBe(200);
    } finally {
      t.cleanup();
    }
  });
});
