/**
 * Inputs an operator (or a careless script) controls, through the built CLI against the run's OpenBao
 * (issue #15). Every bad input is a usage error naming it, before anything is issued or written:
 *
 * - `--dir` with `"`, `'`, `$` or a backtick (was: exit 2 after the certificate was issued and the key
 *   written);
 * - an IPv6 node name, with a hint whose suggested name then works;
 * - `--ttl` below the renewal schedule's floor (`init node`, `issue`);
 * - `render policy.hcl` with a role or mount that would inject HCL.
 * And on disk: modes do not depend on the umask (one `init node` under umask 000), and a planted
 * DIR/elixir symlink is refused, never followed.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeIdentityNames } from '../../packages/sdk/src/index.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { adminClient, suffix, testdir, testVault } from '../helpers/vault.js';

describe('hardening: CLI inputs and files (init node, issue, render)', () => {
  const id = suffix();
  const names = { mount: `pki-hc-${id}`, rootMount: `pki-hc-${id}-root`, role: `node-${id}`, policy: `vaultdist-node-${id}` };
  const v = testVault();
  const tmp = testdir('vaultdist-hcli-');
  const env = () => ({ VAULT_ADDR: v.addr, VAULT_TOKEN: v.token });
  const common = () => ['--mount', names.mount, '--role', names.role, '--policy', names.policy, '--agent-auth', 'token'];
  const nodesMade: string[] = [];

  beforeAll(async () => {
    const iv = await vaultdist(['init', 'vault', '--json', '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy, '--auth', 'token', '--allowed-hosts', '127.0.0.1,127.0.0.2', '--leaf-ttl', '1h'], {
      env: env(),
      allowPrintedToken: 'init vault may print a token',
    });
    expect([iv.code, iv.stderr]).toEqual([0, expect.anything()]);
  }, 60_000);
  afterAll(async () => {
    const admin = adminClient();
    for (const m of [names.mount, names.rootMount]) await admin.delete(`sys/mounts/${m}`, { idempotent: true });
    for (const n of nodesMade) await admin.delete(`sys/policies/acl/${nodeIdentityNames(n, { policyPrefix: names.policy }).policy}`, { idempotent: true });
    await admin.delete(`sys/policies/acl/${names.policy}`, { idempotent: true });
    tmp.cleanup();
  });

  it.each([['"'], ["'"], ['$'], ['`']])('--dir holding %s: a usage error naming --dir before anything is issued or written', async (c) => {
    const dir = join(tmp.dir, `a${c}b`);
    const r = await vaultdist(['init', 'node', '--name', 'q@127.0.0.1', '--dir', dir, ...common()], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--dir ${JSON.stringify(dir)}: the characters ${c} cannot be written safely`);
    expect(existsSync(dir)).toBe(false);
  }, 60_000);

  it('--ttl below the schedule floor: init node and issue refuse before anything is issued', async () => {
    const dir = join(tmp.dir, 'ttl');
    const r = await vaultdist(['init', 'node', '--name', 'ttl@127.0.0.1', '--dir', dir, ...common(), '--ttl', '20s'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--ttl 20s is below the floor of 180s derived from the renewal schedule: .*Vault backdates notBefore by 30s.*; use 180s or longer/);
    expect(existsSync(dir)).toBe(false);
    const i = await vaultdist(['issue', '--name', 'ttl@127.0.0.1', '--dir', dir, '--mount', names.mount, '--role', names.role, '--ttl', '2m'], { env: env() });
    expect(i.code).toBe(2);
    expect(i.stderr).toMatch(/--ttl 2m is below the floor of 180s/);
    expect(existsSync(dir)).toBe(false);
  }, 60_000);

  it('IPv6 is refused up front with a hint whose suggested name works', async () => {
    const dir = join(tmp.dir, 'six');
    const r = await vaultdist(['init', 'node', '--name', 'six@::1', '--dir', dir, ...common()], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/IPv6 hosts are not supported: .*name it six@127\.0\.0\.1/);
    expect(existsSync(dir)).toBe(false);
    const suggested = /name it (\S+@\S+) /.exec(r.stderr)![1]!;
    const ok = await vaultdist(['init', 'node', '--name', suggested, '--dir', dir, ...common(), '--ttl', '3m'], { env: env() });
    nodesMade.push(suggested);
    expect([ok.code, ok.stderr]).toEqual([0, expect.not.stringMatching(/error/i)]);
  }, 60_000);

  it('under umask 000 nothing init node writes is group/world-writable (ebin, erlang, elixir, run, .beam)', async () => {
    const dir = join(tmp.dir, 'umask');
    const old = process.umask(0o000); // inherited by the spawned CLI
    let ok;
    try {
      ok = await vaultdist(['init', 'node', '--name', 'um@127.0.0.2', '--dir', dir, ...common(), '--ttl', '3m'], { env: env() });
    } finally {
      process.umask(old);
    }
    nodesMade.push('um@127.0.0.2');
    expect([ok.code, ok.stderr]).toEqual([0, expect.not.stringMatching(/error/i)]);
    const all = (p: string): string[] => [p, ...(lstatSync(p).isDirectory() ? readdirSync(p).flatMap((e) => all(join(p, e))) : [])];
    const beams = readdirSync(join(dir, 'ebin')).filter((f) => f.endsWith('.beam'));
    expect(beams.length).toBeGreaterThan(0);
    const writable = all(dir)
      .filter((p) => !lstatSync(p).isSymbolicLink())
      .filter((p) => (statSync(p).mode & 0o022) !== 0)
      .map((p) => `${p.slice(dir.length)} ${(statSync(p).mode & 0o777).toString(8)}`);
    expect(writable).toEqual([]);
    for (const d of ['ebin', 'erlang', 'elixir', 'run']) expect([d, statSync(join(dir, d)).mode & 0o777]).toEqual([d, 0o755]);
    for (const b of beams) expect([b, statSync(join(dir, 'ebin', b)).mode & 0o777]).toEqual([b, 0o644]);
  }, 60_000);

  it('a planted DIR/elixir symlink is refused (write error naming it), nothing is written outside DIR', async () => {
    const dir = join(tmp.dir, 'plant');
    const elsewhere = join(tmp.dir, 'plant-elsewhere');
    mkdirSync(dir);
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'keep-me'), 'x');
    symlinkSync(elsewhere, join(dir, 'elixir'));
    const r = await vaultdist(['init', 'node', '--name', 'plant@127.0.0.2', '--dir', dir, ...common(), '--ttl', '3m'], { env: env() });
    nodesMade.push('plant@127.0.0.2');
    expect(r.code).toBe(14);
    expect(r.stderr).toMatch(/elixir: is a symlink \(to .*plant-elsewhere\); vaultdist never follows a symlink it did not create/);
    expect(readdirSync(elsewhere)).toEqual(['keep-me']);
  }, 60_000);

  it('render policy.hcl: a role or mount that would inject HCL is a usage error; a valid node renders quoted paths', async () => {
    const cases = [
      ['--mount', 'pki" { capabilities = ["sudo"] } path "x', '--role', 'a@127.0.0.1'],
      ['--mount', '../sys', '--role', 'a@127.0.0.1'],
      ['--role', 'x" {\n capabilities = ["sudo"] }\npath "sys/*'],
      ['--role', 'x"@127.0.0.1'],
    ];
    const runs = [];
    for (const args of cases) runs.push(await vaultdist(['render', 'policy.hcl', ...args], { env: {} }));
    // nothing rendered, a usage error: first for all cases, then the message naming the flag
    expect(runs.map((r, i) => [cases[i]!.join(' '), r.code, r.stdout])).toEqual(cases.map((c) => [c.join(' '), 2, '']));
    for (const [i, r] of runs.entries()) expect([i, r.stderr]).toEqual([i, expect.stringMatching(new RegExp(`--${cases[i]![0] === '--mount' ? 'mount' : 'role'} `))]);
    const ok = await vaultdist(['render', 'policy.hcl', '--mount', 'pki_dist', '--role', 'a@127.0.0.1'], { env: {} });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^path "pki_dist\/sign\/vaultdist-a-127-0-0-1-[0-9a-f]{8}" \{$/m);
    expect(ok.stdout).not.toMatch(/sudo/);
  }, 60_000);
});
