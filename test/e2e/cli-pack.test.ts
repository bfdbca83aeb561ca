/**
 * The published artefact: `npm pack` of the CLI (scripts/pack.mjs bundles the workspace packages and
 * every runtime dependency), then `npx <tarball>` in an empty directory outside the workspace, with an
 * empty npm cache and npm in offline mode (so nothing can come from the registry or the workspace):
 * --help, then `init vault` + `init node` against the run's OpenBao.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suffix, testVault } from '../helpers/vault.js';
import { useInitVaultCleanup, useTestdir } from '../helpers/setup.js';
import { CLI_DIR, cleanEnv, runCommand } from '../../packages/cli/test/helpers.js';
import { parseCertificate } from '../../packages/sdk/src/index.js';
import { splitPem } from '../../packages/sdk/src/internal.js';

describe('vaultdist npm tarball works without the workspace', () => {
  const id = suffix();
  const names = { mount: `pki-cli-${id}`, rootMount: `pki-cli-${id}-root`, role: `node-${id}`, policy: `vaultdist-node-${id}`, approle: `approle-${id}`, cert: `cert-${id}` };
  const out = useTestdir('vaultdist-pack-');
  const clean = useTestdir('vaultdist-npx-');
  const v = testVault();
  useInitVaultCleanup(names, ['packed@127.0.0.1']);

  it('packs, then npx <tarball> --help, init vault and init node run in a clean directory', async () => {
    const pack = await runCommand(process.execPath, [join(CLI_DIR, 'scripts', 'pack.mjs'), out.dir], { env: cleanEnv() });
    expect(pack.stderr).toBe('');
    expect(pack.code).toBe(0);
    const tgz = pack.stdout.trim();
    expect(tgz).toMatch(/vaultdist-\d+\.\d+\.\d+\.tgz$/);
    expect(existsSync(tgz)).toBe(true);
    // the agent README (config, metrics, reload, recovery) ships with the agent (issue #14)
    const listing = (await runCommand('tar', ['-tzf', tgz])).stdout.split('\n');
    expect(listing).toContain('package/node_modules/@vaultdist/agent/README.md');
    // the companion OTP application ships precompiled (issue #16): OTP 25 ebin + the carrier per release
    for (const f of ['package/erlang/ebin/vaultdist.app', 'package/erlang/ebin/vaultdist_tls_dist.beam', 'package/erlang/priv/build.json', 'package/erlang/priv/otp-25/vaultdist_tls_dist.beam']) expect(listing).toContain(f);

    const npxEnv = (extra: Record<string, string> = {}) =>
      cleanEnv({ npm_config_cache: join(clean.dir, '.npm'), npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extra });
    const npx = (args: string[], extra: Record<string, string> = {}, allowPrintedToken?: string) => runCommand('npx', ['--yes', `file:${tgz}`, ...args], { cwd: clean.dir, env: npxEnv(extra), timeoutMs: 100_000, allowPrintedToken });

    const help = await npx(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: vaultdist/);
    expect(help.stdout).toMatch(/init\s+bootstrap the Vault side or a node/);
    expect(help.stdout).toMatch(/20\s+`doctor` found failing checks/);

    const iv = await npx(
      ['init', 'vault', '--json', '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle, '--cert-mount', names.cert, '--allow-any-host', '--node', 'packed@127.0.0.1'],
      { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token },
      'init vault prints the response-wrapped secret_id once (its purpose)',
    );
    expect(iv.code).toBe(0);
    const creds = (JSON.parse(iv.stdout) as { nodes: { roleId: string; wrappedSecretId: { token: string } }[] }).nodes[0]!; // packed's own identity

    const dir = join(clean.dir, 'node');
    const noErlc = join(clean.dir, 'no-erlc');
    mkdirSync(noErlc);
    writeFileSync(join(noErlc, 'erlc'), '#!/bin/sh\necho "erlc must not run" >&2\nexit 3\n', { mode: 0o755 });
    const inode = await npx(
      ['init', 'node', '--name', 'packed@127.0.0.1', '--dir', 'node', '--mount', names.mount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle, '--role-id', creds.roleId, '--wrapped-secret-id', creds.wrappedSecretId.token],
      // an erlc that fails if run: on this OTP 25 host init node must install the shipped beams, not compile
      { VAULT_ADDR: v.addr, PATH: `${noErlc}:${process.env.PATH ?? ''}` },
    );
    expect(inode.stderr).not.toMatch(/error|not compiled/);
    expect(inode.stderr).toMatch(/companion modules vaultdist_cluster, vaultdist_epmd, vaultdist_reload, vaultdist_tls_dist installed into .*\(precompiled for OTP 25\)/);
    expect(inode.code).toBe(0);
    for (const f of ['vm.args', 'ssl_dist.conf', 'agent.yaml', 'elixir/env.sh.eex', 'elixir/iex.sh', 'ebin/vaultdist_reload.beam']) expect(existsSync(join(dir, f))).toBe(true);
    expect(statSync(join(dir, 'bundle.pem')).mode & 0o777).toBe(0o600);
    const leaf = parseCertificate(splitPem(readFileSync(join(dir, 'bundle.pem'), 'utf8')).find((b) => b.label === 'CERTIFICATE')!.pem);
    expect(leaf.uris).toEqual(['erlang://packed@127.0.0.1']);
    expect(readFileSync(join(dir, 'vm.args'), 'utf8')).toContain(`-ssl_dist_optfile ${dir}/ssl_dist.conf`);
  }, 240_000);
});
