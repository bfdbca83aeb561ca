/**
 * `vaultdist revoke` on a real OpenBao (no BEAM nodes): `init vault` with cert auth registers the CRL
 * with the cert auth mount, `init node --crl` writes a CRL directory and an optfile with CRL checking,
 * and after `vaultdist revoke --dir` the revoked certificate can no longer log in through cert auth
 * (OpenBao's TLS listener), while it could before. Exit codes for the failure paths.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { certAuth, createVaultClient, nodeIdentityNames, parseCertificate, silentLogger } from '../../packages/sdk/src/index.js';
import { splitPem } from '../../packages/sdk/src/internal.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { suffix, testVault } from '../helpers/vault.js';
import { useInitVaultCleanup, useTestdir } from '../helpers/setup.js';

describe('vaultdist revoke', () => {
  const id = suffix();
  const names = { mount: `pki-rv-${id}`, rootMount: `pki-rv-${id}-root`, role: `node-${id}`, policy: `vaultdist-rv-${id}`, approle: `approle-rv-${id}`, cert: `cert-rv-${id}` };
  // init node: the node's own identity (issue #12) with this test's policy prefix and auth mounts
  const nodeArgs = ['--mount', names.mount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle, '--cert-auth-mount', names.cert];
  const v = testVault();
  const tmp = useTestdir();
  const env = { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token };
  useInitVaultCleanup(names, ['victim@127.0.0.1', 'other@127.0.0.2']);

  it('revokes in the PKI and in cert auth: the revoked certificate can no longer log in', async () => {
    const initVault = ['init', 'vault', '--json', '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle, '--cert-mount', names.cert, '--allowed-hosts', '127.0.0.1,127.0.0.2'];
    const iv = await vaultdist(initVault, { env, allowPrintedToken: 'init vault prints the response-wrapped secret_id once (its purpose)' });
    expect(iv.stderr).not.toMatch(/error/);
    expect(iv.code).toBe(0);
    const plan = (JSON.parse(iv.stdout) as { plan: { step: string; action: string }[] }).plan;
    expect(plan.find((p) => p.step === 'cert-crl')!.action).toContain(`register cert auth CRL auth/${names.cert}/crls/vaultdist-${names.mount}`);
    // idempotent: the registered CRL is recognised as current
    const again = await vaultdist([...initVault.filter((a) => a !== '--json')], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/no changes/);
    expect(again.stdout).toMatch(/cert auth CRL .* is up to date/);

    const dir = join(tmp.dir, 'victim');
    const init = await vaultdist(['init', 'node', '--name', 'victim@127.0.0.1', '--dir', dir, ...nodeArgs, '--crl', '--json'], { env });
    expect(init.stderr).not.toMatch(/error/);
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ crl: { changed: true, revoked: 0, files: [expect.stringMatching(/^[0-9a-f]{8}\.r0$/)] } });
    expect(readdirSync(join(dir, 'crl'))).toHaveLength(1);
    const optfile = readFileSync(join(dir, 'ssl_dist.conf'), 'utf8');
    expect(optfile).toContain('{crl_check, peer}');
    expect(optfile).toContain(`{crl_cache, {ssl_crl_hash_dir, {internal, [{dir, "${join(dir, 'crl')}"}]}}}`);
    expect(readFileSync(join(dir, 'agent.yaml'), 'utf8')).toMatch(/crl:\n(\s+#.*\n)?\s+enabled: true/);
    const st = async () => (JSON.parse((await vaultdist(['status', '--dir', dir, '--json'], { env })).stdout) as { nodes: { crl: { present: boolean; revoked: number; secondsLeft: number } }[] }).nodes[0]!.crl;
    expect(await st()).toMatchObject({ present: true, revoked: 0, dir: join(dir, 'crl') });
    const leaf = parseCertificate(splitPem(readFileSync(join(dir, 'bundle.pem'), 'utf8')).find((b) => b.label === 'CERTIFICATE')!.pem);

    const login = () =>
      createVaultClient({ address: v.tlsAddr, caCertPath: v.caCertPath, env: {}, logger: silentLogger, auth: certAuth({ certFile: join(dir, 'bundle.pem'), name: nodeIdentityNames('victim@127.0.0.1').role, mount: names.cert }) })
        .read('auth/token/lookup-self')
        .then(() => 'logged in')
        .catch((e: unknown) => `refused: ${(e as Error).message}`);
    expect(await login()).toBe('logged in');

    const rv = await vaultdist(['revoke', '--dir', dir, '--json'], { env });
    expect(rv.stderr).toBe('');
    expect(rv.code).toBe(0);
    const res = JSON.parse(rv.stdout) as Record<string, unknown>;
    expect(res).toMatchObject({
      serial: leaf.serial,
      mount: names.mount,
      node: 'victim@127.0.0.1',
      state: 'revoked',
      crl: { listed: true, revoked: 1 },
      certAuthDetection: 'sys/auth',
      certAuth: [{ mount: names.cert, name: `vaultdist-${names.mount}`, state: 'updated', listed: true }],
      complete: true,
    });
    const after = await login();
    console.log(`cert auth login with the revoked certificate after \`vaultdist revoke --dir\`: ${after}`);
    expect(after).toMatch(/^refused/);

    // doctor: the CRL is fresh and does not list this node yet; once this host's agent refreshed it,
    // doctor reports the node's own certificate as revoked; with the CRL file gone, fail-closed.
    const doc = async () => (await vaultdist(['doctor', '--dir', dir, '--json'], { env })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { check: string; severity: string; message: string }).filter((l) => l.check?.startsWith('crl'));
    expect(await doc()).toEqual([expect.objectContaining({ check: 'crl', severity: 'ok', message: expect.stringMatching(/^CRL fresh for .* \(0 revoked\)$/) })]);
    await vaultdist(['agent', '--config', join(dir, 'agent.yaml'), '--once', '--no-health'], { env });
    expect(await doc()).toEqual([expect.objectContaining({ check: 'crl.revoked', severity: 'error' })]);
    const crlFile = join(dir, 'crl', readdirSync(join(dir, 'crl'))[0]!);
    rmSync(crlFile);
    expect(await doc()).toEqual([expect.objectContaining({ check: 'crl', severity: 'error', message: expect.stringMatching(/refuses EVERY peer/) })]);
    expect(await st()).toMatchObject({ present: false });
    expect((await vaultdist(['status', '--dir', dir], { env })).stdout).toMatch(/crl:\s+no CRL in .*: the node refuses every peer/);

    // Revoking again is harmless (same answer); text mode says how peers learn of it.
    const text = await vaultdist(['revoke', '--dir', dir, '--cert-mount', names.cert], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`revoked ${leaf.serial} (victim@127.0.0.1) at ${names.mount}`);
    expect(text.stdout).toContain(`CRL registered at auth/${names.cert}/crls/vaultdist-${names.mount}`);
    expect(text.stdout).toMatch(/agent\.yaml --once/);
    expect(text.stdout).toMatch(/disconnect_node\('victim@127\.0\.0\.1'\)/);
  }, 60_000);

  it('exit codes: usage 2, unknown serial 10, no token 12, cert auth not found 21', async () => {
    expect((await vaultdist(['revoke'], { env })).code).toBe(2);
    expect((await vaultdist(['revoke', '--dir', tmp.dir, '--serial', '01'], { env })).code).toBe(2);
    const unknown = await vaultdist(['revoke', '--serial', '7f:00:00:00:00:01', '--mount', names.mount], { env });
    expect(unknown.code).toBe(10);
    expect(unknown.stderr).toMatch(/not found/);
    expect((await vaultdist(['revoke', '--serial', '01', '--mount', names.mount], { env: { VAULT_ADDR: v.addr } })).code).toBe(12);
    const nodir = await vaultdist(['revoke', '--dir', join(tmp.dir, 'nothing-here')], { env });
    expect(nodir.code).toBe(10);
    expect(nodir.stderr).toMatch(/bundle\.pem/);

    // Revoked in the PKI, but the named cert auth mount does not exist: reported, exit 21.
    const dir = join(tmp.dir, 'other');
    expect((await vaultdist(['init', 'node', '--name', 'other@127.0.0.2', '--dir', dir, ...nodeArgs], { env })).code).toBe(0);
    const partial = await vaultdist(['revoke', '--dir', dir, '--cert-mount', `no-such-cert-${id}`, '--json'], { env });
    expect(partial.code).toBe(21);
    const pr = JSON.parse(partial.stdout) as { state: string; complete: boolean; certAuth: { state: string }[] };
    expect(pr).toMatchObject({ state: 'revoked', complete: false, certAuth: [{ state: 'failed' }] });
    expect(partial.stderr).toMatch(/no-such-cert/);
  }, 60_000);
});
