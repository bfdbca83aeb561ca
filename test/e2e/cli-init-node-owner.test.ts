/**
 * `vaultdist init node --owner USER[:GROUP]` (issue #7: "key files 0600 and owned by the configured
 * user"), with a throw-away system user (useradd; removed in afterAll; root only) against the run's
 * OpenBao: the credential set, ssl_dist.conf, vm.args, DIR/ebin, the CRL directory and the AppRole files
 * belong to the user, who can read its key while another user cannot; agent.yaml and vaultdist.json
 * stay root's (a node user who could rewrite the agent's config could make a root agent run commands);
 * agent.yaml carries `owner` so the agent's renewals keep it, and so do `vaultdist issue` and a re-run
 * without the flag. Numeric ids work; an unknown user is a usage error naming the flag, before anything
 * is written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../packages/agent/src/index.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { sharedFreePort } from '../helpers/erlang.js';
import { suffix, testVault } from '../helpers/vault.js';
import { useInitVaultCleanup, useTestdir } from '../helpers/setup.js';

const isRoot = process.getuid?.() === 0 && existsSync('/usr/sbin/useradd');
const WRAPPED = 'init vault prints the response-wrapped secret_id once (its purpose)';

/** Every path under p (not following symlinks), p included. */
function tree(p: string): string[] {
  const st = lstatSync(p);
  return [p, ...(st.isDirectory() ? readdirSync(p).flatMap((e) => tree(join(p, e))) : [])];
}

(isRoot ? describe : describe.skip)('vaultdist init node --owner (root only: useradd)', () => {
  const id = suffix();
  const names = { mount: `pki-own-${id}`, rootMount: `pki-own-${id}-root`, role: `node-${id}`, policy: `vaultdist-node-${id}`, approle: `approle-own-${id}` };
  const v = testVault();
  const tmp = useTestdir('vaultdist-owner-');
  let user: { name: string; uid: number; gid: number };

  beforeAll(() => {
    const name = `vdown${randomUUID().slice(0, 8)}`;
    execFileSync('/usr/sbin/useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    user = { name, uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim()) };
    chmodSync(tmp.dir, 0o711); // the user must be able to reach its node directory
  });
  useInitVaultCleanup(names, ['f@127.0.0.1', 'g@127.0.0.1']);
  afterAll(() => {
    if (user) execFileSync('/usr/sbin/userdel', [user.name]);
  });

  it('hands the key files and what the node reads to the user; agent.yaml keeps it for renewals', async () => {
    const env = { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token };
    const iv = await vaultdist(['init', 'vault', '--json', '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy, '--auth', 'approle', '--approle-mount', names.approle, '--allow-any-host', '--leaf-ttl', '1h', '--node', 'f@127.0.0.1'], {
      env,
      allowPrintedToken: WRAPPED,
    });
    expect(iv.code).toBe(0);
    // f's own AppRole credentials (issue #12: one identity per node)
    const creds = (JSON.parse(iv.stdout) as { nodes: { roleId: string; wrappedSecretId: { token: string } }[] }).nodes[0]!;
    const common = ['--mount', names.mount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle];

    // An unknown user: usage error naming the flag, nothing written.
    const badDir = join(tmp.dir, 'bad');
    const bad = await vaultdist(['init', 'node', '--name', 'bad@127.0.0.1', '--dir', badDir, ...common, '--owner', 'vd-no-such-user-x9'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--owner "vd-no-such-user-x9": no such user "vd-no-such-user-x9"/);
    expect(existsSync(badDir)).toBe(false);
    const badGroup = await vaultdist(['init', 'node', '--name', 'bad@127.0.0.1', '--dir', badDir, ...common, '--owner', `${user.name}:vd-no-such-group-x9`], { env });
    expect(badGroup.code).toBe(2);
    expect(badGroup.stderr).toMatch(/--owner ".*": no such group "vd-no-such-group-x9"/);

    // F: by name, AppRole (the agent's role-id/secret-id files), CRL checking, companion modules.
    const F = join(tmp.dir, 'f');
    const distPort = await sharedFreePort(['127.0.0.1']);
    const f = await vaultdist(['init', 'node', '--name', 'f@127.0.0.1', '--dir', F, '--dist-port', String(distPort), ...common, '--role-id', creds.roleId, '--wrapped-secret-id', creds.wrappedSecretId.token, '--agent-auth', 'approle', '--crl', '--owner', user.name], { env: { VAULT_ADDR: v.addr } });
    expect(f.stderr).not.toMatch(/error/i);
    expect(f.code).toBe(0);
    expect(f.stderr).toMatch(new RegExp(`owner ${user.uid}:${user.gid} set on \\d+ path`));

    // The files of the sets and the approle files are the user's; every directory root writes into
    // (DIR, .sets and its sets, .crl.sets and its sets, approle, ebin, erlang, elixir) stays root's, so
    // root never writes or chowns below a directory the user controls (issue #15). DIR/run is the user's.
    const inside = (d: string) => readdirSync(d).flatMap((e) => tree(join(d, e)));
    const files = (ps: string[]) => ps.filter((p) => !lstatSync(p).isDirectory());
    const dirs = (ps: string[]) => ps.filter((p) => lstatSync(p).isDirectory());
    const owned = [
      ...files(inside(join(F, '.sets'))),
      join(F, 'current'),
      join(F, 'bundle.pem'),
      join(F, 'ca.pem'),
      join(F, 'ssl_dist.conf'),
      join(F, 'vm.args'),
      join(F, 'crl'),
      ...files(inside(join(F, '.crl.sets'))),
      ...inside(join(F, 'approle')),
      join(F, 'run'),
    ];
    expect(readdirSync(join(F, 'crl')).length).toBeGreaterThan(0);
    for (const p of owned) expect([p, lstatSync(p).uid, lstatSync(p).gid]).toEqual([p, user.uid, user.gid]);
    const rootOwned = [F, join(F, '.sets'), ...dirs(inside(join(F, '.sets'))), join(F, '.crl.sets'), ...dirs(inside(join(F, '.crl.sets'))), join(F, 'approle'), ...tree(join(F, 'ebin')), ...tree(join(F, 'erlang')), ...tree(join(F, 'elixir'))];
    expect(rootOwned.filter((p) => p.endsWith('.beam')).length).toBeGreaterThan(0); // companion modules were compiled
    for (const p of rootOwned) expect([p, lstatSync(p).uid, lstatSync(p).mode & 0o022]).toEqual([p, 0, 0]);
    expect(statSync(join(F, 'bundle.pem')).uid).toBe(user.uid); // the link's target too
    expect(statSync(join(F, 'bundle.pem')).mode & 0o777).toBe(0o600);
    for (const a of ['role-id', 'secret-id']) expect(statSync(join(F, 'approle', a)).mode & 0o777).toBe(0o600);
    // Not handed over: the agent's config and the settings (and the directory itself).
    for (const p of [F, join(F, 'agent.yaml'), join(F, 'vaultdist.json')]) expect([p, lstatSync(p).uid]).toEqual([p, 0]);

    // The user reads its key; another unprivileged user cannot.
    const asUser = spawnSync('head', ['-c', '5', join(F, 'bundle.pem')], { uid: user.uid, gid: user.gid, encoding: 'utf8' });
    expect([asUser.status, asUser.stdout]).toEqual([0, '-----']);
    const asNobody = spawnSync('head', ['-c', '5', join(F, 'bundle.pem')], { uid: 65534, gid: 65534, encoding: 'utf8' });
    expect(asNobody.status).not.toBe(0);
    expect(asNobody.stderr).toMatch(/Permission denied/);

    // The node starts as the user from the generated vm.args and writes its pid file into DIR/run
    // (was `{pidfile,…,eacces}`: DIR/beam.pid in root's DIR).
    const boot = spawnSync('erl', ['-args_file', join(F, 'vm.args'), '-setcookie', 'owner-test', '-noshell', '-eval', 'io:format("up ~s~n", [os:getpid()]), halt().'], {
      uid: user.uid,
      gid: user.gid,
      encoding: 'utf8',
      timeout: 60000,
      env: { ...process.env, HOME: '/nonexistent' },
    });
    expect([boot.status, boot.stdout + boot.stderr]).toEqual([0, expect.stringMatching(/^up \d+$/m)]);
    expect(readFileSync(join(F, 'run', 'beam.pid'), 'utf8').trim()).toBe(/^up (\d+)$/m.exec(boot.stdout)![1]);

    // agent.yaml: the per-node owner, so the agent's renewals write for the user; vaultdist.json keeps it.
    const cfg = await loadConfig({ path: join(F, 'agent.yaml'), env: {} });
    expect(cfg.errors).toEqual([]);
    expect(cfg.config!.nodes[0]!.owner).toEqual({ uid: user.uid, gid: user.gid });
    expect((JSON.parse(readFileSync(join(F, 'vaultdist.json'), 'utf8')) as { owner: unknown }).owner).toEqual({ uid: user.uid, gid: user.gid });

    // A renewal through the CLI (issue) keeps the owner on the new set.
    const before = readlinkSync(join(F, 'current'));
    const is = await vaultdist(['issue', '--dir', F, '--json'], { env });
    expect(is.code).toBe(0);
    expect(readlinkSync(join(F, 'current'))).not.toBe(before);
    for (const p of [join(F, 'current'), ...files(tree(join(F, readlinkSync(join(F, 'current')))))]) expect([p, lstatSync(p).uid, lstatSync(p).gid]).toEqual([p, user.uid, user.gid]);
    expect(lstatSync(join(F, readlinkSync(join(F, 'current')))).uid).toBe(0);

    // A re-run without --owner keeps it (settings), including for agent.yaml.
    const again = await vaultdist(['init', 'node', '--name', 'f@127.0.0.1', '--dir', F, ...common], { env });
    expect(again.code).toBe(0);
    expect((await loadConfig({ path: join(F, 'agent.yaml'), env: {} })).config!.nodes[0]!.owner).toEqual({ uid: user.uid, gid: user.gid });

    // G: numeric uid:gid, token auth.
    const G = join(tmp.dir, 'g');
    const g = await vaultdist(['init', 'node', '--name', 'g@127.0.0.1', '--dir', G, ...common, '--agent-auth', 'token', '--owner', `${user.uid}:${user.gid}`, '--json'], { env });
    expect(g.code).toBe(0);
    for (const p of [join(G, 'bundle.pem'), join(G, 'ca.pem'), join(G, 'current'), join(G, 'ssl_dist.conf')]) expect([p, lstatSync(p).uid, lstatSync(p).gid]).toEqual([p, user.uid, user.gid]);
    expect(statSync(join(G, 'bundle.pem')).uid).toBe(user.uid);
  }, 120_000);
});
