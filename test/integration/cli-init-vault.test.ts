/**
 * `vaultdist init vault` against the run's real OpenBao: plan/dry-run, idempotence (read back from
 * Vault), the per-node identity of `--node` (issue #12) and least privilege through the AppRole
 * credentials it prints, and errors that name the variable/address at fault with the documented exit codes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, suffix, testVault } from '../helpers/vault.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { createVaultClient, nodeIdentityNames, silentLogger, type VaultClient } from '../../packages/sdk/src/index.js';

describe('vaultdist init vault (real OpenBao)', () => {
  const id = suffix();
  const names = {
    mount: `pki-cli-${id}`,
    rootMount: `pki-cli-${id}-root`,
    role: `node-${id}`,
    policy: `vaultdist-node-${id}`,
    approle: `approle-${id}`,
    cert: `cert-${id}`,
  };
  const args = [
    'init', 'vault',
    '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy,
    '--approle-mount', names.approle, '--cert-mount', names.cert,
    '--allowed-hosts', '127.0.0.1,127.0.0.2,*.dist.example.test',
    '--leaf-ttl', '1h', '--leaf-max-ttl', '4h', '--int-ttl', '720h', '--root-ttl', '1440h',
    '--node', 'app@127.0.0.1',
  ];
  const app = nodeIdentityNames('app@127.0.0.1', { policyPrefix: names.policy });
  const v = testVault();
  const env = { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token };
  let admin: VaultClient;

  beforeAll(() => {
    admin = adminClient();
  });
  afterAll(async () => {
    for (const m of [names.mount, names.rootMount]) await admin.delete(`sys/mounts/${m}`, { idempotent: true });
    for (const a of [names.approle, names.cert]) await admin.delete(`sys/auth/${a}`, { idempotent: true });
    for (const p of [names.policy, app.policy]) await admin.delete(`sys/policies/acl/${p}`, { idempotent: true });
  });

  /** Everything init vault manages, read back from Vault. */
  async function snapshot() {
    const mounts = (await admin.read<Record<string, { type: string }>>('sys/mounts')).data;
    const auths = (await admin.read<Record<string, { type: string }>>('sys/auth')).data;
    const read = async (p: string) => (await admin.read(p, { allowNotFound: true })).data ?? null;
    const tune = async (m: string) => (mounts[`${m}/`] ? (await admin.read<{ max_lease_ttl: number }>(`sys/mounts/${m}/tune`)).data.max_lease_ttl : null);
    return {
      mounts: [names.mount, names.rootMount].map((m) => mounts[`${m}/`]?.type ?? null),
      tune: [await tune(names.rootMount), await tune(names.mount)],
      auths: [names.approle, names.cert].map((a) => auths[`${a}/`]?.type ?? null),
      issuers: [mounts[`${names.rootMount}/`] ? await admin.list(`${names.rootMount}/issuers`) : [], mounts[`${names.mount}/`] ? await admin.list(`${names.mount}/issuers`) : []],
      role: mounts[`${names.mount}/`] ? await read(`${names.mount}/roles/${names.role}`) : null,
      policy: await read(`sys/policies/acl/${names.policy}`),
      sharedApprole: auths[`${names.approle}/`] ? await read(`auth/${names.approle}/role/${names.role}`) : null,
      sharedCertRole: auths[`${names.cert}/`] ? await read(`auth/${names.cert}/certs/${names.role}`) : null,
      nodeRole: mounts[`${names.mount}/`] ? await read(`${names.mount}/roles/${app.role}`) : null,
      nodePolicy: await read(`sys/policies/acl/${app.policy}`),
      approleRole: auths[`${names.approle}/`] ? await read(`auth/${names.approle}/role/${app.role}`) : null,
      secretIds: auths[`${names.approle}/`] ? await admin.list(`auth/${names.approle}/role/${app.role}/secret-id`) : [],
      certRole: auths[`${names.cert}/`] ? await read(`auth/${names.cert}/certs/${app.role}`) : null,
    };
  }

  it('plans without writing (--dry-run), applies once, and a second run changes nothing', async () => {
    const before = await snapshot();
    expect(before.mounts).toEqual([null, null]);

    const dry = await vaultdist([...args, '--dry-run'], { env });
    expect(dry.stderr).not.toMatch(/error/);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`+ enable pki at ${names.rootMount}/`);
    expect(dry.stdout).toContain(`+ create role ${names.mount}/roles/${names.role}`);
    expect(dry.stdout).toMatch(/change\(s\) planned; nothing was written/);
    expect(await snapshot()).toEqual(before);

    const first = await vaultdist([...args, '--json'], { env, allowPrintedToken: 'init vault prints the response-wrapped secret_id once (its purpose)' });
    expect(first.code).toBe(0);
    const res = JSON.parse(first.stdout) as { changed: boolean; nodes: { node: string; roleId: string; wrappedSecretId: { token: string; ttlSeconds: number } }[]; applied: string[] };
    expect(res.changed).toBe(true);
    expect(res.nodes.map((x) => x.node)).toEqual(['app@127.0.0.1']);
    const creds = res.nodes[0]!;
    expect(creds.roleId).toMatch(/^[0-9a-f-]{36}$/);
    expect(creds.wrappedSecretId.ttlSeconds).toBe(3600);
    const after1 = await snapshot();
    expect(after1.mounts).toEqual(['pki', 'pki']);
    expect(after1.auths).toEqual(['approle', 'cert']);
    // TTL tuning: root mount 1440h > intermediate mount 720h > leaf max 4h.
    expect(after1.tune).toEqual([1440 * 3600, 720 * 3600]);
    // The root, and the intermediate imported with its chain (so leaf ca_chain ends at the root).
    expect(after1.issuers.map((i) => i.length)).toEqual([1, 2]);
    expect(after1.role).toMatchObject({
      allowed_domains: ['127.0.0.1', '127.0.0.2', '*.dist.example.test'],
      allow_bare_domains: true,
      allow_glob_domains: true,
      allow_any_name: false,
      // the template of the per-node roles: it signs no node identity
      allowed_uri_sans: [],
      server_flag: true,
      client_flag: true,
      key_type: 'ec',
      key_bits: 256,
      ttl: 3600,
      max_ttl: 4 * 3600,
    });
    // No shared objects: the node's own role, policy, AppRole and cert role.
    expect([after1.policy, after1.sharedApprole, after1.sharedCertRole]).toEqual([null, null, null]);
    expect(after1.nodeRole).toMatchObject({ allowed_domains: ['127.0.0.1'], allowed_uri_sans: ['erlang://app@127.0.0.1'], allow_glob_domains: false, ttl: 3600, max_ttl: 4 * 3600 });
    expect(after1.nodePolicy).toBeTruthy();
    expect(after1.approleRole).toMatchObject({ token_policies: [app.policy] });
    expect(after1.certRole).toMatchObject({ allowed_uri_sans: ['erlang://app@127.0.0.1'], token_policies: [app.policy] });
    expect(after1.secretIds).toHaveLength(1);

    const second = await vaultdist(args, { env });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^no changes$/m);
    expect(second.stdout).not.toMatch(/^\s+\+ /m);
    expect(await snapshot()).toEqual(after1);

    // The printed credentials work, and only for what the policy allows.
    const unauth = createVaultClient({ address: v.addr, env: {}, logger: silentLogger });
    const unwrapped = await unauth.write<{ secret_id: string }>('sys/wrapping/unwrap', undefined, { token: creds.wrappedSecretId.token });
    const login = await unauth.write(`auth/${names.approle}/login`, { role_id: creds.roleId, secret_id: unwrapped.data.secret_id }, { unauthenticated: true });
    expect(login.auth?.token_policies).toContain(app.policy);
    const node = createVaultClient({ address: v.addr, token: login.auth!.client_token, env: {}, logger: silentLogger, retry: { retries: 0 } });
    await expect(node.read('sys/mounts')).rejects.toMatchObject({ status: 403 });
    await expect(node.write(`${names.mount}/roles/${names.role}`, { ttl: '99h' })).rejects.toMatchObject({ status: 403 });
    await expect(node.write(`${names.mount}/sign/${names.role}`, { csr: 'x' })).rejects.toMatchObject({ status: 403 });
    await expect(node.read('auth/token/lookup-self')).resolves.toMatchObject({ status: 200 });

    // A host outside --allowed-hosts: exit 13, the URL and a fix naming the host.
    const dir = mkdtempSync(join(tmpdir(), 'vaultdist-cli-'));
    try {
      const refused = await vaultdist(['init', 'node', '--name', 'x@127.0.0.9', '--dir', dir, '--mount', names.mount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle], { env });
      expect(refused.code).toBe(13);
      expect(refused.stderr).toContain(`${v.addr}/v1/${names.mount}/roles/${names.role}`);
      expect(refused.stderr).toMatch(/fix: .*--allowed-hosts.*127\.0\.0\.9/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('names the variable or address at fault, with the documented exit codes', async () => {
    const noToken = await vaultdist([...args, '--dry-run'], { env: { VAULT_ADDR: v.addr } });
    expect(noToken.code).toBe(12);
    expect(noToken.stderr).toMatch(/VAULT_TOKEN/);

    const down = await vaultdist([...args, '--dry-run'], { env: { VAULT_ADDR: 'http://127.0.0.1:9', VAULT_TOKEN: 'x' } });
    expect(down.code).toBe(11);
    expect(down.stderr).toContain('http://127.0.0.1:9');

    const badTtl = await vaultdist([...args, '--dry-run', '--leaf-max-ttl', '900h'], { env });
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toMatch(/--leaf-max-ttl 900h must be shorter than --int-ttl 720h/);

    const noHosts = await vaultdist(['init', 'vault', '--dry-run'], { env });
    expect(noHosts.code).toBe(2);
    expect(noHosts.stderr).toMatch(/--allowed-hosts/);

    const badToken = await vaultdist([...args, '--dry-run'], { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: 'not-a-token' } });
    expect(badToken.code).toBe(12);
    expect(badToken.stderr).toMatch(/403/);
  }, 60_000);

  it('imports an existing root, uses an existing one, and configures URLs/CRL idempotently', async () => {
    const id2 = suffix();
    const m = { mount: `pki-cli-${id2}`, rootMount: `pki-cli-${id2}-root`, other: `pki-cli-${id2}-other` };
    const base = ['--role', names.role, '--policy', names.policy, '--auth', 'token', '--allow-any-host', '--leaf-ttl', '1h', '--leaf-max-ttl', '4h', '--int-ttl', '720h', '--root-ttl', '1440h'];
    try {
      // A CA made elsewhere (exported from another mount), imported as the root.
      await admin.write(`sys/mounts/${m.other}`, { type: 'pki', config: { max_lease_ttl: '8760h' } });
      const gen = await admin.write<{ certificate: string; private_key: string }>(`${m.other}/root/generate/exported`, { common_name: 'imported root', key_type: 'ec', ttl: '2000h' });
      const bundleFile = join(tmpdir(), `vaultdist-root-${id2}.pem`);
      writeFileSync(bundleFile, `${gen.data.private_key}\n${gen.data.certificate}\n`, { mode: 0o600 });
      const imp = await vaultdist(['init', 'vault', '--mount', m.mount, '--root-mount', m.rootMount, '--import-root', bundleFile, ...base], { env });
      rmSync(bundleFile);
      expect(imp.code).toBe(0);
      expect(imp.stdout).toContain(`+ import root CA into ${m.rootMount}/`);
      const rootPem = (await admin.read<{ certificate: string }>(`${m.rootMount}/cert/ca`)).data.certificate;
      expect(rootPem.trim()).toBe(gen.data.certificate.trim());

      // --existing-root: fine now; on an empty mount it names the mount and exits 10.
      const existing = await vaultdist(['init', 'vault', '--mount', m.mount, '--root-mount', m.rootMount, '--existing-root', ...base], { env });
      expect(existing.code).toBe(0);
      expect(existing.stdout).toMatch(/^no changes$/m);
      const missing = await vaultdist(['init', 'vault', '--mount', `${m.mount}-x`, '--root-mount', `${m.rootMount}-x`, '--existing-root', '--dry-run', ...base], { env });
      expect(missing.code).toBe(10);
      expect(missing.stderr).toContain(`${m.rootMount}-x/`);

      // URLs and CRL lifetime: one change, then none.
      const urls = ['--urls', 'https://vault.example.test:8200', '--crl-expiry', '48h'];
      const u1 = await vaultdist(['init', 'vault', '--mount', m.mount, '--root-mount', m.rootMount, ...urls, ...base], { env });
      expect(u1.code).toBe(0);
      expect(u1.stdout).toContain(`+ update ${m.mount}/config/crl`);
      const cfg = (await admin.read<{ issuing_certificates: string[]; crl_distribution_points: string[] }>(`${m.mount}/config/urls`)).data;
      expect(cfg.issuing_certificates).toEqual([`https://vault.example.test:8200/v1/${m.mount}/ca`]);
      expect(cfg.crl_distribution_points).toEqual([`https://vault.example.test:8200/v1/${m.mount}/crl`]);
      const u2 = await vaultdist(['init', 'vault', '--mount', m.mount, '--root-mount', m.rootMount, ...urls, ...base], { env });
      expect(u2.stdout).toMatch(/^no changes$/m);
    } finally {
      for (const x of [m.mount, m.rootMount, m.other]) await admin.delete(`sys/mounts/${x}`, { idempotent: true });
    }
  }, 60_000);
});

