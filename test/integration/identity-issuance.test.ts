/**
 * Issue #12 part 1, on the run's real OpenBao: issuance is bound to the caller's node.
 *
 * Setup as users do it: `init vault --node a@127.0.0.1` (A gets a role_id + wrapped secret_id),
 * `init node` for A with exactly those (over HTTPS), `init node` for B (b@127.0.0.1, a sibling on A's
 * host) with an operator token. Then A's credentials, through every auth method the CLI sets up (its
 * AppRole role, its cert-auth login over the TLS listener, and the token of either used directly), try
 * to get certificates for B, for another host, with stray SANs, through other roles and endpoints.
 * Every refusal is asserted, and the certificates the PKI mount holds are counted before and after:
 * exactly the legitimate ones (and the documented no-URI-SAN case) are minted. A renews itself with the
 * agent (`--once`) through cert auth and through AppRole. Finally the shared-role hole of older
 * versions is reproduced (node evil's cert-auth login gets a certificate for app@127.0.0.1), and a
 * re-run of `init vault` + `init node` closes it.
 */
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appRoleAuth,
  certAuth,
  createVaultClient,
  issueNodeCredentials,
  nodeIdentityNames,
  nodeSlug,
  parseCertificate,
  silentLogger,
  type VaultClient,
} from '../../packages/sdk/src/index.js';
import {
  createCsr,
  ensureCertRole,
  exportKeyObjectPem,
  ensurePolicy,
  ensureRole,
  generateNodeKeyObjects,
  nodePolicy,
  nodeRoleBody,
  splitPem,
  type NodeSans,
} from '../../packages/sdk/src/internal.js';
import { adminClient, suffix, testdir, testVault } from '../helpers/vault.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';

const A = 'a@127.0.0.1';
const B = 'b@127.0.0.1';

describe('issuance bound to the caller (one Vault identity per node)', () => {
  const id = suffix();
  const n = { mount: `pki-id-${id}`, rootMount: `pki-id-${id}-root`, role: `tpl-${id}`, policy: `vdn-${id}`, approle: `approle-id-${id}`, cert: `cert-id-${id}` };
  const v = testVault();
  const tmp = testdir();
  const admin = adminClient();
  const common = ['--mount', n.mount, '--role', n.role, '--policy', n.policy, '--approle-mount', n.approle];
  const printsToken = { allowPrintedToken: 'init vault prints the response-wrapped secret_id once (its purpose)' };
  const tls = { VAULT_ADDR: v.tlsAddr, VAULT_CACERT: v.caCertPath };
  const names = { a: nodeIdentityNames(A, { policyPrefix: n.policy }), b: nodeIdentityNames(B, { policyPrefix: n.policy }) };
  const dirA = join(tmp.dir, 'a');
  const dirB = join(tmp.dir, 'b');

  afterAll(async () => {
    for (const m of [n.mount, n.rootMount]) await admin.delete(`sys/mounts/${m}`, { idempotent: true });
    for (const a of [n.approle, n.cert]) await admin.delete(`sys/auth/${a}`, { idempotent: true });
    for (const p of [n.policy, ...['a@127.0.0.1', 'b@127.0.0.1', 'evil@127.0.0.2', 'app@127.0.0.1'].map((x) => nodeIdentityNames(x, { policyPrefix: n.policy }).policy)]) {
      await admin.delete(`sys/policies/acl/${p}`, { idempotent: true });
    }
    tmp.cleanup();
  });

  /** Serials the PKI mount holds (issued certificates, the CA's own included). */
  const certs = async () => new Set(await admin.list(`${n.mount}/certs`));
  const leafOf = (dir: string) => parseCertificate(splitPem(readFileSync(join(dir, 'bundle.pem'), 'utf8')).find((b) => b.label === 'CERTIFICATE')!.pem);

  async function csr(sans: NodeSans): Promise<string> {
    const k = await generateNodeKeyObjects('ec-p256');
    return createCsr({ privateKey: k.privateKey, keyType: 'ec-p256', sans });
  }
  const sansOf = (name: string, host: string, extra: Partial<NodeSans> = {}): NodeSans => ({
    commonName: host,
    dns: [host],
    ips: /^\d+\.\d+\.\d+\.\d+$/.test(host) ? [host] : [],
    uris: [`erlang://${name}@${host}`],
    ...extra,
  });
  /** POST <mount>/sign/<role>: 'signed' with the URIs, or the HTTP status + first error. */
  async function trySign(c: VaultClient, role: string, csrPem: string, path = 'sign'): Promise<{ outcome: 'signed'; uris: string[]; dns: string[] } | { outcome: number; error: string }> {
    try {
      const r = await c.write<{ certificate: string }>(`${n.mount}/${path}/${role}`, path === 'issue' ? { common_name: '127.0.0.1' } : { csr: csrPem, ttl: '10m' });
      const leaf = parseCertificate(r.data.certificate);
      return { outcome: 'signed', uris: leaf.uris, dns: leaf.dns };
    } catch (e) {
      const x = e as { status?: number; errors?: string[]; message: string };
      return { outcome: x.status ?? -1, error: (x.errors ?? [x.message])[0]!.split('\n')[0]!.slice(0, 160) };
    }
  }

  it('A\'s credentials (AppRole, cert auth over TLS, and either token) sign only for A; A renews itself', async () => {
    // --- setup, as users do it --------------------------------------------------------------------
    const iv = await vaultdist(
      ['init', 'vault', '--json', '--root-mount', n.rootMount, ...common, '--cert-mount', n.cert, '--allowed-hosts', '127.0.0.1,127.0.0.2', '--leaf-ttl', '1h', '--leaf-max-ttl', '4h', '--int-ttl', '720h', '--root-ttl', '1440h', '--node', A],
      { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token }, ...printsToken },
    );
    expect(iv.stderr).not.toMatch(/error/);
    expect(iv.code).toBe(0);
    const ivRes = JSON.parse(iv.stdout) as { nodes: { node: string; role: string; policy: string; roleId: string; wrappedSecretId: { token: string } }[] };
    expect(ivRes.nodes).toEqual([expect.objectContaining({ node: A, role: names.a.role, policy: names.a.policy, roleId: expect.any(String) })]);
    expect(names.a.slug).toBe(nodeSlug(A));
    expect(names.a.slug).toMatch(/^a-127-0-0-1-[0-9a-f]{8}$/);

    // The template role signs no node identity; A's role exactly A.
    const tpl = (await admin.read<Record<string, unknown>>(`${n.mount}/roles/${n.role}`)).data;
    expect(tpl.allowed_uri_sans).toEqual([]);
    const roleA = (await admin.read<Record<string, unknown>>(`${n.mount}/roles/${names.a.role}`)).data;
    expect(roleA).toMatchObject({ allowed_domains: ['127.0.0.1'], allow_bare_domains: true, allow_subdomains: false, allow_glob_domains: false, allow_any_name: false, allow_localhost: false, allowed_uri_sans: ['erlang://a@127.0.0.1'], allowed_ip_sans_cidr: ['127.0.0.1/32'], ttl: 3600, max_ttl: 4 * 3600 });
    expect((await admin.read<Record<string, unknown>>(`auth/${n.cert}/certs/${names.a.role}`)).data).toMatchObject({ allowed_uri_sans: ['erlang://a@127.0.0.1'], token_policies: [names.a.policy] });
    const policyA = (await admin.read<{ policy: string }>(`sys/policies/acl/${names.a.policy}`)).data.policy;
    expect(policyA).toContain(`path "${n.mount}/sign/${names.a.role}"`);
    expect(policyA).toContain('path "vaultdist/clusters/+/nodes/a@127.0.0.1"');
    expect(policyA).toContain('path "vaultdist/clusters/+/members"');

    // A: only the role_id + wrapped secret_id init vault printed, over HTTPS; the agent gets AppRole files.
    const initA = await vaultdist(
      ['init', 'node', '--name', A, '--dir', dirA, ...common, '--cert-auth-mount', n.cert, '--no-companion', '--agent-auth', 'approle', '--role-id', ivRes.nodes[0]!.roleId, '--wrapped-secret-id', ivRes.nodes[0]!.wrappedSecretId.token],
      { env: tls },
    );
    expect(initA.stderr).not.toMatch(/error/);
    expect(initA.code).toBe(0);
    expect(leafOf(dirA).uris).toEqual(['erlang://a@127.0.0.1']);
    // B: an operator token (adding a node needs what init node always took); it creates B's identity.
    const initB = await vaultdist(['init', 'node', '--name', B, '--dir', dirB, ...common, '--cert-auth-mount', n.cert, '--no-companion'], { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token } });
    expect(initB.stderr).not.toMatch(/error/);
    expect(initB.code).toBe(0);
    expect(initB.stderr).toContain(`logging in as ${B} (AppRole role ${n.approle}/${names.b.role})`);
    expect(leafOf(dirB).uris).toEqual(['erlang://b@127.0.0.1']);
    expect((await admin.read(`${n.mount}/roles/${names.b.role}`)).data).toMatchObject({ allowed_uri_sans: ['erlang://b@127.0.0.1'] });

    // --- A's credentials, every way the CLI sets them up ------------------------------------------
    const roleIdA = readFileSync(join(dirA, 'approle', 'role-id'), 'utf8').trim();
    const secretIdA = readFileSync(join(dirA, 'approle', 'secret-id'), 'utf8').trim();
    const base = { env: {}, logger: silentLogger, retry: { retries: 0 } };
    const viaAppRole = createVaultClient({ ...base, address: v.addr, auth: appRoleAuth({ roleId: roleIdA, secretId: secretIdA, mount: n.approle }) });
    const viaCert = createVaultClient({ ...base, address: v.tlsAddr, caCertPath: v.caCertPath, auth: certAuth({ mount: n.cert, name: names.a.role, certFile: join(dirA, 'bundle.pem') }) });
    const approleToken = (await viaAppRole.read<{ id: string; meta: Record<string, string> }>('auth/token/lookup-self')).data;
    const certToken = (await viaCert.read<{ id: string; policies: string[] }>('auth/token/lookup-self')).data;
    expect(approleToken.meta.role_name).toBe(names.a.role);
    expect(certToken.policies).toContain(names.a.policy);
    // A's certificate cannot log in as B through cert auth, nor through any role without naming one.
    const asB = createVaultClient({ ...base, address: v.tlsAddr, caCertPath: v.caCertPath, auth: certAuth({ mount: n.cert, name: names.b.role, certFile: join(dirA, 'bundle.pem') }) });
    await expect(asB.read('auth/token/lookup-self')).rejects.toMatchObject({ status: 400 });
    const anyRole = createVaultClient({ ...base, address: v.tlsAddr, caCertPath: v.caCertPath, auth: certAuth({ mount: n.cert, certFile: join(dirA, 'bundle.pem') }) });
    expect((await anyRole.read<{ policies: string[] }>('auth/token/lookup-self')).data.policies).toEqual(expect.arrayContaining([names.a.policy]));
    expect((await anyRole.read<{ policies: string[] }>('auth/token/lookup-self')).data.policies).not.toContain(names.b.policy);
    const callers: [string, VaultClient][] = [
      ['approle', viaAppRole],
      ['cert', viaCert],
      ['approle token', createVaultClient({ ...base, address: v.addr, token: approleToken.id })],
      ['cert token', createVaultClient({ ...base, address: v.addr, token: certToken.id })],
    ];

    // The registry plugin (#13) paths of A's policy, whether or not the plugin is mounted: A may register
    // only itself and read members; not B's entry, not a cluster's config.
    const reg = (c: string) => `vaultdist/clusters/${c}`;
    const regPaths = [`${reg('c1')}/nodes/${A}`, `${reg('c2')}/nodes/${A}`, `${reg('c1')}/nodes/${B}`, `${reg('c1')}/members`, reg('c1'), `${reg('c1')}/nodes/${A}/x`];
    for (const [, c] of callers) {
      const caps = (await c.write<Record<string, string[]>>('sys/capabilities-self', { paths: regPaths })).data;
      expect(regPaths.map((p) => [p, [...caps[p]!].sort()])).toEqual([
        [regPaths[0], ['create', 'delete', 'update']],
        [regPaths[1], ['create', 'delete', 'update']],
        [regPaths[2], ['deny']],
        [regPaths[3], ['list', 'read']],
        [regPaths[4], ['deny']],
        [regPaths[5], ['deny']],
      ]);
    }

    const before = await certs();
    const csrs = {
      sibling: await csr(sansOf('b', '127.0.0.1')),
      otherHost: await csr(sansOf('a', '127.0.0.2')),
      otherHostDns: await csr(sansOf('a', 'other.example.test', { ips: [] })),
      strayIp: await csr(sansOf('a', '127.0.0.1', { ips: ['127.0.0.1', '127.0.0.2'] })),
      strayDns: await csr(sansOf('a', '127.0.0.1', { dns: ['127.0.0.1', 'localhost'] })),
      twoUris: await csr(sansOf('a', '127.0.0.1', { uris: ['erlang://a@127.0.0.1', 'erlang://b@127.0.0.1'] })),
      noUri: await csr(sansOf('a', '127.0.0.1', { uris: [] })),
      own: await csr(sansOf('a', '127.0.0.1')),
    };
    const table: Record<string, Record<string, unknown>> = {};
    for (const [who, c] of callers) {
      const row: Record<string, unknown> = {
        'B via A\'s role': await trySign(c, names.a.role, csrs.sibling),
        'B via B\'s role': await trySign(c, names.b.role, csrs.sibling),
        'other host (IP)': await trySign(c, names.a.role, csrs.otherHost),
        'other host (DNS)': await trySign(c, names.a.role, csrs.otherHostDns),
        'stray IP SAN': await trySign(c, names.a.role, csrs.strayIp),
        'localhost SAN': await trySign(c, names.a.role, csrs.strayDns),
        'A + B URI SANs': await trySign(c, names.a.role, csrs.twoUris),
        'template role': await trySign(c, n.role, csrs.sibling),
        'issue endpoint': await trySign(c, names.a.role, '', 'issue'),
        'no URI SAN': await trySign(c, names.a.role, csrs.noUri),
        own: await trySign(c, names.a.role, csrs.own),
      };
      table[who] = row;
    }
    // One line per caller in the test output (the measurement).
    for (const [who, row] of Object.entries(table)) {
      const show = (r: unknown) => { const x = r as { outcome: unknown; error?: string }; return who === 'approle' && x.error ? `${x.outcome} (${x.error})` : String(x.outcome); };
      process.stdout.write(`identity-issuance ${who}: ${Object.entries(row).map(([k, r]) => `${k}=${show(r)}`).join(', ')}\n`);
    }
    for (const row of Object.values(table)) {
      expect(row['B via A\'s role']).toMatchObject({ outcome: 400, error: expect.stringMatching(/URI Subject Alternative Names were provided via CSR which are not valid for this role/) });
      expect(row['B via B\'s role']).toMatchObject({ outcome: 403 });
      expect(row['other host (IP)']).toMatchObject({ outcome: 400, error: expect.stringMatching(/not allowed by this role/) });
      expect(row['other host (DNS)']).toMatchObject({ outcome: 400 });
      expect(row['stray IP SAN']).toMatchObject({ outcome: 400, error: expect.stringMatching(/IP address "127.0.0.2" is not allowed/) }); // allowed_ip_sans_cidr (OpenBao)
      expect(row['localhost SAN']).toMatchObject({ outcome: 400 });
      expect(row['A + B URI SANs']).toMatchObject({ outcome: 400 });
      expect(row['template role']).toMatchObject({ outcome: 403 });
      expect(row['issue endpoint']).toMatchObject({ outcome: 403 });
      // Documented limit of Vault/OpenBao PKI: a URI SAN cannot be required. The CSR without one is
      // signed, for A's own host only; the certificate names no node, and the vaultdist_tls carrier
      // refuses it (helper A's attack matrix covers that side).
      expect(row['no URI SAN']).toEqual({ outcome: 'signed', uris: [], dns: ['127.0.0.1'] });
      expect(row.own).toEqual({ outcome: 'signed', uris: ['erlang://a@127.0.0.1'], dns: ['127.0.0.1'] });
    }
    const minted = [...(await certs())].filter((s) => !before.has(s));
    // exactly 2 per caller: its own certificate and the no-URI-SAN one; nothing for B or another host
    expect(minted).toHaveLength(callers.length * 2);

    // --- A renews itself: agent --once through AppRole, then through cert auth (no token anywhere) --
    const noVerify = (file: string) => writeFileSync(file, readFileSync(file, 'utf8').replace(/^( {6}enabled: )true$/m, '$1false'));
    const yamlA = join(dirA, 'agent.yaml');
    expect(readFileSync(yamlA, 'utf8')).toMatch(/method: approle/);
    noVerify(yamlA); // no BEAM runs in this test: skip the served-certificate probe
    const s0 = leafOf(dirA).serial;
    const r1 = await vaultdist(['agent', '--config', yamlA, '--once', '--force', '--no-health', '--log-level', 'warn']);
    expect(r1.stderr).not.toMatch(/"level":(50|60)/);
    expect(r1.code).toBe(0);
    const s1 = leafOf(dirA).serial;
    expect(s1).not.toBe(s0);
    const reCert = await vaultdist(['init', 'node', '--name', A, '--dir', dirA, '--agent-auth', 'cert', '--no-companion'], { env: tls });
    expect(reCert.code).toBe(0);
    const yaml = readFileSync(yamlA, 'utf8');
    expect(yaml).toMatch(/method: cert/);
    expect(yaml).toContain(`name: ${names.a.role}`);
    noVerify(yamlA);
    const r2 = await vaultdist(['agent', '--config', yamlA, '--once', '--force', '--no-health', '--log-level', 'warn']);
    expect(r2.stderr).not.toMatch(/"level":(50|60)/);
    expect(r2.code).toBe(0);
    const leaf2 = leafOf(dirA);
    expect(leaf2.serial).not.toBe(s1);
    expect(leaf2.uris).toEqual(['erlang://a@127.0.0.1']);
  }, 120_000);

  it('refuses before anything is written: another node\'s AppRole credentials, a host outside the template', async () => {
    const roleIdA = readFileSync(join(dirA, 'approle', 'role-id'), 'utf8').trim();
    const secretIdA = readFileSync(join(dirA, 'approle', 'secret-id'), 'utf8').trim();
    const before = await certs();
    const dirC = join(tmp.dir, 'c');
    const wrong = await vaultdist(['init', 'node', '--name', 'c@127.0.0.2', '--dir', dirC, ...common, '--role-id', roleIdA, '--secret-id', secretIdA], { env: { VAULT_ADDR: v.addr } });
    expect(wrong.code).toBe(12);
    expect(wrong.stderr).toContain(`belong to the role ${names.a.role}, not to c@127.0.0.2's own role`);
    expect(existsSync(dirC)).toBe(false);
    const outside = await vaultdist(['init', 'node', '--name', 'x@127.0.0.9', '--dir', dirC, ...common], { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token } });
    expect(outside.code).toBe(13);
    expect(outside.stderr).toMatch(/host 127\.0\.0\.9 is not allowed by .*nothing was created or issued/);
    expect(outside.stderr).toMatch(/fix: .*--allowed-hosts.*127\.0\.0\.9/);
    expect(existsSync(dirC)).toBe(false);
    expect((await admin.read(`${n.mount}/roles/${nodeIdentityNames('x@127.0.0.9').role}`, { allowNotFound: true })).data).toBeUndefined();
    const badNode = await vaultdist(['init', 'vault', '--dry-run', '--root-mount', n.rootMount, ...common, '--allowed-hosts', '127.0.0.1', '--node', 'x@127.0.0.9'], { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token } });
    expect(badNode.code).toBe(2);
    expect(badNode.stderr).toContain('--node x@127.0.0.9: host 127.0.0.9 is not in --allowed-hosts 127.0.0.1');
    expect([...(await certs())].filter((s) => !before.has(s))).toHaveLength(0);
  }, 60_000);

  it('cert auth trusts the issuing intermediate(s) only, never the root; both of them across a CA rotation', async () => {
    const trusted = async () => (await admin.read<{ certificate: string }>(`auth/${n.cert}/certs/${names.a.role}`)).data.certificate;
    const blocks = (pem: string) => splitPem(pem).filter((b) => b.label === 'CERTIFICATE').map((b) => parseCertificate(b.pem).serial);
    const intermediate = parseCertificate((await admin.read<{ certificate: string }>(`${n.mount}/cert/ca`)).data.certificate).serial;
    const root = parseCertificate((await admin.read<{ certificate: string }>(`${n.rootMount}/cert/ca`)).data.certificate).serial;
    expect(blocks(await trusted())).toEqual([intermediate]);

    // Rotation with overlap: a second issuing intermediate in the same mount (the default stays).
    const gen = await admin.write<{ csr: string }>(`${n.mount}/issuers/generate/intermediate/internal`, { common_name: `rotated ${id}`, key_type: 'ec' });
    const signed = await admin.write<{ certificate: string }>(`${n.rootMount}/root/sign-intermediate`, { csr: gen.data.csr, common_name: `rotated ${id}`, ttl: '700h' });
    const imported = await admin.write<{ imported_issuers: string[] }>(`${n.mount}/intermediate/set-signed`, { certificate: signed.data.certificate });
    const next = imported.data.imported_issuers[0]!;
    // `init node` with an operator token brings A's cert role up to date (the certificate stays: fresh).
    const again = await vaultdist(['init', 'node', '--name', A, '--dir', dirA, ...common, '--cert-auth-mount', n.cert, '--no-companion'], { env: { ...tls, VAULT_TOKEN: v.token } });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`update cert role ${n.cert}/${names.a.role} (certificate)`);
    const now = blocks(await trusted());
    expect(now).toEqual(expect.arrayContaining([intermediate, parseCertificate(signed.data.certificate).serial]));
    expect(now).toHaveLength(2);
    expect(now).not.toContain(root);

    // A's certificate from the old intermediate logs in, and one from the new intermediate too.
    const login = (file: string) =>
      createVaultClient({ env: {}, logger: silentLogger, retry: { retries: 0 }, address: v.tlsAddr, caCertPath: v.caCertPath, auth: certAuth({ mount: n.cert, name: names.a.role, certFile: file }) })
        .read<{ policies: string[] }>('auth/token/lookup-self')
        .then((r) => r.data.policies);
    expect(await login(join(dirA, 'bundle.pem'))).toContain(names.a.policy);
    const k = await generateNodeKeyObjects('ec-p256');
    const leaf = await admin.write<{ certificate: string }>(`${n.mount}/issuer/${next}/sign/${names.a.role}`, { csr: createCsr({ privateKey: k.privateKey, keyType: 'ec-p256', sans: sansOf('a', '127.0.0.1') }), ttl: '10m' });
    const rotatedDir = join(tmp.dir, 'a-rotated');
    mkdirSync(rotatedDir);
    writeFileSync(join(rotatedDir, 'bundle.pem'), `${exportKeyObjectPem(k.privateKey).trim()}\n${leaf.data.certificate.trim()}\n${signed.data.certificate.trim()}\n`, { mode: 0o600 });
    expect(await login(join(rotatedDir, 'bundle.pem'))).toContain(names.a.policy);
  }, 60_000);

  it('closes the shared-role hole: evil\'s cert-auth login got app@127.0.0.1 before, nothing after init vault + init node', async () => {
    // The objects vaultdist's shared-role model made (erlang://*@host on one role, policy and cert role).
    const globs = ['erlang://*@127.0.0.1', 'erlang://*@127.0.0.2'];
    await ensureRole(admin, n.mount, n.role, nodeRoleBody({ allowedDomains: ['127.0.0.1', '127.0.0.2'], allowBareDomains: true, allowedUriSans: globs, ttl: '1h', maxTtl: '4h' }));
    await ensurePolicy(admin, n.policy, nodePolicy(n.mount, n.role));
    const ca = (await admin.read<{ certificate: string }>(`${n.mount}/cert/ca`)).data.certificate;
    await ensureCertRole(admin, n.role, { mount: n.cert, certificate: ca, allowedUriSans: globs, tokenPolicies: [n.policy] });
    await admin.write(`auth/${n.approle}/role/${n.role}`, { token_policies: [n.policy] });
    const dirEvil = join(tmp.dir, 'evil');
    await issueNodeCredentials(admin, { mount: n.mount, role: n.role, node: 'evil@127.0.0.2', dir: dirEvil });
    const base = { env: {}, logger: silentLogger, retry: { retries: 0 } };
    const evilLogin = (name: string) => createVaultClient({ ...base, address: v.tlsAddr, caCertPath: v.caCertPath, auth: certAuth({ mount: n.cert, name, certFile: join(dirEvil, 'bundle.pem') }) });
    const appCsr = await csr(sansOf('app', '127.0.0.1'));

    const before = await certs();
    const legacy = await trySign(evilLogin(n.role), n.role, appCsr);
    expect(legacy).toMatchObject({ outcome: 'signed', uris: ['erlang://app@127.0.0.1'] }); // the hole
    expect([...(await certs())].filter((s) => !before.has(s))).toHaveLength(1);

    // Migration: re-run init vault (deletes the shared objects, narrows the template), then init node.
    const iv = await vaultdist(['init', 'vault', '--root-mount', n.rootMount, ...common, '--cert-mount', n.cert, '--allowed-hosts', '127.0.0.1,127.0.0.2', '--leaf-ttl', '1h', '--leaf-max-ttl', '4h', '--int-ttl', '720h', '--root-ttl', '1440h'], {
      env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token },
    });
    expect(iv.code).toBe(0);
    expect(iv.stdout).toContain(`+ delete policy ${n.policy}`);
    expect(iv.stdout).toContain(`+ delete AppRole role ${n.approle}/${n.role}`);
    expect(iv.stdout).toContain(`+ delete cert role ${n.cert}/${n.role}`);
    expect(iv.stdout).toMatch(/\+ update role .*allowed_uri_sans/);
    expect(iv.stdout).toContain('Upgraded from a shared role');
    const evilNode = await vaultdist(['init', 'node', '--name', 'evil@127.0.0.2', '--dir', dirEvil, ...common, '--cert-auth-mount', n.cert, '--no-companion'], { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token } });
    expect(evilNode.code).toBe(0);
    const evilRole = nodeIdentityNames('evil@127.0.0.2').role;

    const mid = await certs();
    await expect(evilLogin(n.role).read('auth/token/lookup-self')).rejects.toMatchObject({ status: 400 }); // the shared cert role is gone
    const own = evilLogin(evilRole);
    const after = {
      shared: await trySign(own, n.role, appCsr),
      ownRole: await trySign(own, evilRole, appCsr),
      appRole: await trySign(own, nodeIdentityNames('app@127.0.0.1').role, appCsr),
    };
    process.stdout.write(`identity-issuance legacy hole: before=${legacy.outcome}, after: ${Object.entries(after).map(([k, r]) => `${k}=${r.outcome}`).join(', ')}\n`);
    expect(after.shared).toMatchObject({ outcome: 403 });
    expect(after.ownRole).toMatchObject({ outcome: 400 });
    expect(after.appRole).toMatchObject({ outcome: 403 });
    expect([...(await certs())].filter((s) => !mid.has(s))).toHaveLength(0);
  }, 90_000);
});
