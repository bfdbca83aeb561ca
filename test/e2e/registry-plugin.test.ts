/**
 * Issue #13, the registry plugin alone on real OpenBao (discovery by BEAM nodes is
 * registry-discovery.test.ts). The plugin is registered the way an operator does it: through the
 * server's config file (`plugin_directory` + a sha256 `plugin "secret" "vaultdist"` stanza), never
 * the hidden -dev-plugin-dir flag.
 *
 * 1. On the run's dev server (registry at vaultdist/, see global-setup): per-node tokens with the
 *    node policy of the identity model (create/update/delete on its own
 *    `clusters/+/nodes/<name@host>`, read/list on members) register, renew, read members and
 *    deregister; one node's token cannot register, evict or overwrite another's name (ACL 403, counted),
 *    nor write a name outside the cluster's allowed_nodes (plugin 403), nor a name OTP would refuse
 *    (plugin 400); with identity_binding "entity" the plugin also refuses another node's name when a
 *    too-broad policy lets it through (AppRole identities); revoking a node's token removes its
 *    registration; lease expiry removes it.
 * 2. `vaultdist init vault --registry`: with the root token it enables and configures the plugin the
 *    server's config registered (idempotent); with an operator token that may not touch the plugin
 *    catalog it prints the exact server configuration to add, and sets up everything else.
 * 3. Upgrade on a server of its own: a second binary (another version via -ldflags), re-registered
 *    with its sha256 and reloaded by `vaultdist init vault --registry`: registrations and their leases
 *    are still there. The trap: a changed binary without re-registration makes the mount answer 404
 *    on every path (and the registered binary back brings the mount and its registrations back).
 * 4. On a 3-server raft cluster on loopback (scripts/vault-dev/src/raft.ts, with the plugin stanza in
 *    every server's config): registrations and their leases survive a kill -9 of the leader.
 */
import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildRegistryPlugin,
  enableRegistryPlugin,
  installRegistryPlugin,
  registryPluginBinary,
  registryPluginHcl,
  startVaultDev,
  type RegistryPluginBinary,
  type VaultDev,
} from '../../scripts/vault-dev/src/index.js';
import { startRaftCluster, type RaftCluster } from '../../scripts/vault-dev/src/raft.js';
import { suffix, testVault } from '../helpers/vault.js';
import { cleanEnv, vaultdist } from '../../packages/cli/test/helpers.js';
import { nodeSlug } from '../../packages/sdk/src/index.js';

interface Answer {
  status: number;
  body: {
    data?: Record<string, unknown>;
    errors?: string[];
    lease_id?: string;
    lease_duration?: number;
    renewable?: boolean;
  };
}

async function api(addr: string, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const r = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

/** The errors of an answer as one string (never the token: answers do not echo it). */
const errs = (a: Answer) => (a.body.errors ?? []).join(' | ');

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The node policy of the identity model (plan, #12/#13), registry part. */
function nodePolicy(mount: string, node: string): string {
  return [
    `path "${mount}/clusters/+/nodes/${node}" { capabilities = ["create", "update", "delete"] }`,
    `path "${mount}/clusters/+/members" { capabilities = ["read", "list"] }`,
    `path "${mount}/clusters/+/members/*" { capabilities = ["read", "list"] }`,
    `path "auth/token/lookup-self" { capabilities = ["read"] }`,
    `path "auth/token/renew-self" { capabilities = ["update"] }`,
  ].join('\n');
}

interface NodeId {
  node: string;
  token: string;
  policy: string;
}

/** A policy `vaultdist-node-<tag>` and an orphan token holding it (plus `default`, which renews leases). */
async function nodeIdentity(addr: string, root: string, mount: string, node: string, tag: string): Promise<NodeId> {
  const policy = `vaultdist-node-${tag}`;
  const p = await api(addr, root, 'PUT', `sys/policies/acl/${policy}`, { policy: nodePolicy(mount, node) });
  expect(p.status).toBe(204);
  const t = await api(addr, root, 'POST', 'auth/token/create-orphan', { policies: [policy], ttl: '10m', display_name: tag });
  expect(t.status).toBe(200);
  return { node, policy, token: (t.body as { auth: { client_token: string } } & Answer['body']).auth.client_token };
}

type Member = { node: string; host: string; port: number; generation: number; expires_at: string };

async function members(addr: string, token: string, mount: string, cluster: string): Promise<Member[]> {
  const a = await api(addr, token, 'GET', `${mount}/clusters/${cluster}/members`);
  expect(a.status).toBe(200);
  return a.body.data!.members as Member[];
}

describe('registry plugin on the run dev server (vaultdist/)', () => {
  const v = testVault();
  const mount = process.env.VAULTDIST_TEST_REGISTRY_MOUNT ?? 'vaultdist';
  const cluster = `c-${suffix()}`;
  const tag = suffix();
  const host = '127.0.0.1';
  let a: NodeId, b: NodeId, c: NodeId;
  const policies: string[] = [];

  beforeAll(async () => {
    const cfg = await api(v.addr, v.token, 'PUT', `${mount}/clusters/${cluster}`, { allowed_nodes: [`*@${host}`], ttl: '60s', max_ttl: '10m' });
    expect(cfg.status).toBe(204);
    a = await nodeIdentity(v.addr, v.token, mount, `a${tag}@${host}`, `a-${tag}`);
    b = await nodeIdentity(v.addr, v.token, mount, `b${tag}@${host}`, `b-${tag}`);
    c = await nodeIdentity(v.addr, v.token, mount, `c${tag}@${host}`, `c-${tag}`);
    policies.push(a.policy, b.policy, c.policy);
  });

  afterAll(async () => {
    await api(v.addr, v.token, 'DELETE', `${mount}/clusters/${cluster}`);
    for (const p of policies) await api(v.addr, v.token, 'DELETE', `sys/policies/acl/${p}`);
  });

  it('registers with a lease, renews it, lists all members in one call, reads one, deregisters', async () => {
    const reg = await api(v.addr, a.token, 'PUT', `${mount}/clusters/${cluster}/nodes/${a.node}`, { port: 9101, otp_release: '25', serial: '3a:5f', meta: { role: 'web' } });
    expect(reg.status).toBe(200);
    expect(reg.body.lease_duration).toBe(60);
    expect(reg.body.renewable).toBe(true);
    expect(reg.body.lease_id).toMatch(new RegExp(`^${mount}/clusters/${cluster}/nodes/${a.node}/`));
    expect(reg.body.data).toMatchObject({ node: a.node, host, port: 9101, cluster });
    const regB = await api(v.addr, b.token, 'PUT', `${mount}/clusters/${cluster}/nodes/${b.node}`, { port: 9102 });
    expect(regB.status).toBe(200);

    // B reads every member in one call, and A alone.
    const all = await members(v.addr, b.token, mount, cluster);
    expect(all.map((m) => [m.node, m.port])).toEqual([
      [a.node, 9101],
      [b.node, 9102],
    ]);
    expect(all[0]).toMatchObject({ otp_release: '25', serial: '3a:5f', meta: { role: 'web' } });
    const one = await api(v.addr, b.token, 'GET', `${mount}/clusters/${cluster}/members/${a.node}`);
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ node: a.node, port: 9101 });

    // Renewal through sys/leases/renew with the node's own token (the default policy allows it).
    const before = all[0]!.expires_at;
    await new Promise((r) => setTimeout(r, 1100));
    const renew = await api(v.addr, a.token, 'PUT', 'sys/leases/renew', { lease_id: reg.body.lease_id, increment: 60 });
    expect(renew.status).toBe(200);
    expect(renew.body.lease_duration).toBe(60);
    const after = (await members(v.addr, a.token, mount, cluster)).find((m) => m.node === a.node)!.expires_at;
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));

    // Deregistration by the node: gone at once; its old lease can no longer be renewed.
    const del = await api(v.addr, a.token, 'DELETE', `${mount}/clusters/${cluster}/nodes/${a.node}`);
    expect(del.status).toBe(204);
    expect((await members(v.addr, b.token, mount, cluster)).map((m) => m.node)).toEqual([b.node]);
    const stale = await api(v.addr, a.token, 'PUT', 'sys/leases/renew', { lease_id: reg.body.lease_id });
    expect(stale.status).toBe(400);
    expect(errs(stale)).toContain('register again');

    // Operator eviction (root token here).
    const evict = await api(v.addr, v.token, 'DELETE', `${mount}/clusters/${cluster}/nodes/${b.node}`);
    expect(evict.status).toBe(204);
    expect(await members(v.addr, a.token, mount, cluster)).toEqual([]);
  });

  it("one node's token cannot register, overwrite or evict another node's name (ACL), nor a name outside allowed_nodes or one OTP refuses (plugin)", async () => {
    const regA = await api(v.addr, a.token, 'PUT', `${mount}/clusters/${cluster}/nodes/${a.node}`, { port: 9201 });
    expect(regA.status).toBe(200);

    // B attacks A's name in every way its token could try: each attempt is counted if it got through.
    const attempts: [string, string, string, unknown?][] = [
      ['register A', 'PUT', `${mount}/clusters/${cluster}/nodes/${a.node}`, { port: 6666 }],
      ['register A as POST', 'POST', `${mount}/clusters/${cluster}/nodes/${a.node}`, { port: 6666, host: '127.0.0.1' }],
      ['evict A', 'DELETE', `${mount}/clusters/${cluster}/nodes/${a.node}`],
      ['register A in another cluster', 'PUT', `${mount}/clusters/other-${tag}/nodes/${a.node}`, { port: 6666 }],
      ['register A via members/', 'PUT', `${mount}/clusters/${cluster}/members/${a.node}`, { port: 6666 }],
      ['rewrite the cluster config', 'PUT', `${mount}/clusters/${cluster}`, { allowed_nodes: ['*'] }],
      ['delete the cluster', 'DELETE', `${mount}/clusters/${cluster}`],
      ['path traversal to A', 'PUT', `${mount}/clusters/${cluster}/nodes/${b.node}/../${a.node}`, { port: 6666 }],
    ];
    // Every attempt must be refused by the ACL (403 permission denied); anything else is listed.
    const through: string[] = [];
    for (const [what, method, path, body] of attempts) {
      const r = await api(v.addr, b.token, method, path, body);
      if (r.status !== 403 || !errs(r).includes('permission denied')) through.push(`${what}: ${r.status} ${errs(r)}`);
    }
    expect(through).toEqual([]);
    const now = await members(v.addr, a.token, mount, cluster);
    expect(now.map((m) => [m.node, m.port])).toEqual([[a.node, 9201]]);

    // Plugin side: a name the policy allows but the cluster does not (allowed_nodes = *@127.0.0.1).
    const outsider = await nodeIdentity(v.addr, v.token, mount, `d${tag}@10.9.9.9`, `d-${tag}`);
    policies.push(outsider.policy);
    const refused = await api(v.addr, outsider.token, 'PUT', `${mount}/clusters/${cluster}/nodes/${outsider.node}`, { port: 9300 });
    expect(refused.status).toBe(403);
    expect(errs(refused)).toContain(`node "${outsider.node}": not allowed in cluster "${cluster}"`);
    // ... and names, hosts and ports OTP would refuse, even from the operator: 400 naming the input.
    const bad: [string, unknown, string][] = [
      ['x y@127.0.0.1', { port: 1 }, 'name part "x y"'],
      ['noat', { port: 1 }, 'expected exactly one @'],
      ['app@::1', { port: 1 }, 'IPv6 addresses are not supported (use a DNS name'],
      ['app@300.1.1.1', { port: 1 }, 'not a valid IPv4 address'],
      [`a${tag}@127.0.0.1`, { port: 70000 }, 'port 70000: out of range 1..65535'],
      [`a${tag}@127.0.0.1`, {}, 'port: missing'],
    ];
    for (const [node, body, want] of bad) {
      const r = await api(v.addr, v.token, 'PUT', `${mount}/clusters/${cluster}/nodes/${encodeURIComponent(node)}`, body);
      expect([node, r.status, errs(r)]).toEqual([node, 400, expect.stringContaining(want)]);
    }
    const unconfigured = await api(v.addr, v.token, 'PUT', `${mount}/clusters/none-${tag}/nodes/${a.node}`, { port: 1 });
    expect([unconfigured.status, errs(unconfigured)]).toEqual([400, expect.stringContaining('not configured')]);
    expect((await members(v.addr, a.token, mount, cluster)).map((m) => [m.node, m.port])).toEqual([[a.node, 9201]]);
    await api(v.addr, v.token, 'DELETE', `${mount}/clusters/${cluster}/nodes/${a.node}`);
  });

  it('identity_binding "entity": a too-broad policy still cannot register another node\'s name (AppRole identities)', async () => {
    const approle = `approle-${tag}`;
    const ent = `ent-${tag}`;
    const broad = `broad-${tag}`;
    policies.push(broad);
    expect((await api(v.addr, v.token, 'POST', `sys/auth/${approle}`, { type: 'approle' })).status).toBe(204);
    try {
      expect((await api(v.addr, v.token, 'PUT', `${mount}/clusters/${ent}`, { allowed_nodes: [`*@${host}`], identity_binding: 'entity' })).status).toBe(204);
      // An ACL mistake: every node may write every node's path.
      expect((await api(v.addr, v.token, 'PUT', `sys/policies/acl/${broad}`, { policy: `path "${mount}/clusters/+/nodes/*" { capabilities = ["create", "update", "delete"] }` })).status).toBe(204);
      const login = async (node: string): Promise<string> => {
        const role = `vaultdist-${nodeSlug(node)}`;
        expect((await api(v.addr, v.token, 'POST', `auth/${approle}/role/${role}`, { token_policies: [broad], token_ttl: '10m' })).status).toBe(204);
        const roleId = (await api(v.addr, v.token, 'GET', `auth/${approle}/role/${role}/role-id`)).body.data!.role_id as string;
        const secretId = (await api(v.addr, v.token, 'POST', `auth/${approle}/role/${role}/secret-id`, {})).body.data!.secret_id as string;
        const l = await api(v.addr, '', 'POST', `auth/${approle}/login`, { role_id: roleId, secret_id: secretId });
        expect(l.status).toBe(200);
        return (l.body as { auth: { client_token: string } }).auth.client_token;
      };
      const [ta, tb] = [await login(a.node), await login(b.node)];
      expect((await api(v.addr, ta, 'PUT', `${mount}/clusters/${ent}/nodes/${a.node}`, { port: 9801 })).status).toBe(200);
      expect((await api(v.addr, tb, 'PUT', `${mount}/clusters/${ent}/nodes/${b.node}`, { port: 9802 })).status).toBe(200);
      // Each attempt below passes the (broken) ACL; the plugin must refuse every one.
      const through: string[] = [];
      for (const [what, token, node] of [
        ["A's identity registers B", ta, b.node],
        ["B's identity registers A", tb, a.node],
        ["A's identity registers a third name", ta, `x${tag}@${host}`],
        ['a root token (no entity) registers A', v.token, a.node],
      ] as const) {
        const r = await api(v.addr, token, 'PUT', `${mount}/clusters/${ent}/nodes/${node}`, { port: 6666 });
        if (r.status !== 403 || !errs(r).includes('identity_binding entity')) through.push(`${what}: ${r.status} ${errs(r)}`);
      }
      expect(through).toEqual([]);
      expect((await members(v.addr, v.token, mount, ent)).map((m) => [m.node, m.port])).toEqual([
        [a.node, 9801],
        [b.node, 9802],
      ]);
    } finally {
      await api(v.addr, v.token, 'DELETE', `${mount}/clusters/${ent}`);
      await api(v.addr, v.token, 'DELETE', `sys/auth/${approle}`);
    }
  });

  it("revoking a node's token removes its registration; a re-registration is not removed by the old lease", async () => {
    const first = await api(v.addr, c.token, 'PUT', `${mount}/clusters/${cluster}/nodes/${c.node}`, { port: 9301 });
    expect(first.status).toBe(200);
    // Registering again (new generation), then revoking the first lease: the registration stays.
    const second = await api(v.addr, c.token, 'PUT', `${mount}/clusters/${cluster}/nodes/${c.node}`, { port: 9302 });
    expect(second.status).toBe(200);
    expect(Number(second.body.data!.generation)).toBeGreaterThan(Number(first.body.data!.generation));
    const rev = await api(v.addr, v.token, 'PUT', 'sys/leases/revoke', { lease_id: first.body.lease_id });
    expect(rev.status).toBe(204);
    expect((await members(v.addr, v.token, mount, cluster)).map((m) => [m.node, m.port])).toEqual([[c.node, 9302]]);

    // Revoking the node's token revokes its leases: the registration goes.
    const t0 = Date.now();
    const revoke = await api(v.addr, v.token, 'PUT', 'auth/token/revoke', { token: c.token });
    expect(revoke.status).toBe(204);
    await until('the registration to go after the token revocation', async () =>
      (await members(v.addr, v.token, mount, cluster)).some((m) => m.node === c.node) ? undefined : true,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('lease expiry removes the registration', async () => {
    const short = `s-${suffix()}`;
    expect((await api(v.addr, v.token, 'PUT', `${mount}/clusters/${short}`, { ttl: '2s', max_ttl: '2s' })).status).toBe(204);
    const tok = await nodeIdentity(v.addr, v.token, mount, `e${tag}@${host}`, `e-${tag}`);
    policies.push(tok.policy);
    const reg = await api(v.addr, tok.token, 'PUT', `${mount}/clusters/${short}/nodes/${tok.node}`, { port: 9401 });
    expect(reg.status).toBe(200);
    expect(reg.body.lease_duration).toBe(2);
    expect((await members(v.addr, tok.token, mount, short)).length).toBe(1);
    await until('the lease to expire', async () => ((await members(v.addr, tok.token, mount, short)).length === 0 ? true : undefined), 15_000);
    // The server revoked the lease (its revoke handler ran), not just the members filter hiding it.
    await until('the lease to be gone from the server', async () => {
      const l = await api(v.addr, v.token, 'PUT', 'sys/leases/lookup', { lease_id: reg.body.lease_id });
      return l.status === 400 ? true : undefined;
    });
    await api(v.addr, v.token, 'DELETE', `${mount}/clusters/${short}`);
  });
});

describe('vaultdist init vault --registry', () => {
  const v = testVault();
  const id = suffix();
  const reg = `vd-${id}`;
  const base = (p: string) => [
    'init', 'vault', '--mount', `pki-${p}-${id}`, '--root-mount', `pki-${p}-${id}-root`, '--role', `node-${id}`, '--policy', `vaultdist-node-${p}-${id}`,
    '--auth', 'token', '--allowed-hosts', '127.0.0.1,*.dist.example.test', '--leaf-ttl', '1h', '--leaf-max-ttl', '4h', '--int-ttl', '720h', '--root-ttl', '1440h',
  ];
  const cleanup: string[] = [];
  afterAll(async () => {
    for (const p of cleanup) await api(v.addr, v.token, 'DELETE', p);
  });

  it('enables and configures the plugin the server registered from its config (idempotent)', async () => {
    cleanup.push(`sys/mounts/pki-a-${id}`, `sys/mounts/pki-a-${id}-root`, `sys/mounts/${reg}`);
    const args = [...base('a'), '--registry', '--registry-mount', reg, '--registry-cluster', 'prod', '--registry-ttl', '30s'];
    const env = cleanEnv({ VAULT_ADDR: v.addr, VAULT_TOKEN: v.token });
    const first = await vaultdist(args, { env });
    expect([first.code, first.stderr]).toEqual([0, expect.any(String)]);
    expect(first.stdout).toContain('= plugin secret/vaultdist v0.1.0 is registered');
    expect(first.stdout).toContain(`+ enable vaultdist v0.1.0 at ${reg}/`);
    expect(first.stdout).toContain(`+ configure cluster prod (allowed_nodes *@127.0.0.1,*@*.dist.example.test, ttl 30s, max_ttl 10m) at ${reg}/clusters/prod`);
    const cfg = await api(v.addr, v.token, 'GET', `${reg}/clusters/prod`);
    expect(cfg.body.data).toMatchObject({ allowed_nodes: ['*@127.0.0.1', '*@*.dist.example.test'], ttl: 30, max_ttl: 600 });
    // The configured cluster takes registrations at once.
    expect((await api(v.addr, v.token, 'PUT', `${reg}/clusters/prod/nodes/app@127.0.0.1`, { port: 9700 })).status).toBe(200);
    const again = await vaultdist(args, { env });
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining('no changes')]);
  }, 60_000);

  it('prints the exact server configuration when the token may not register plugins, and sets up the rest', async () => {
    cleanup.push(`sys/mounts/pki-b-${id}`, `sys/mounts/pki-b-${id}-root`, `sys/policies/acl/op-${id}`);
    // An operator who may do everything except touch the plugin catalog and this mount.
    const policy = [
      'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }',
      'path "sys/plugins/catalog/*" { capabilities = ["deny"] }',
      `path "sys/mounts/vd-b-${id}" { capabilities = ["deny"] }`,
    ].join('\n');
    expect((await api(v.addr, v.token, 'PUT', `sys/policies/acl/op-${id}`, { policy })).status).toBe(204);
    const t = await api(v.addr, v.token, 'POST', 'auth/token/create-orphan', { policies: [`op-${id}`], ttl: '10m' });
    const opToken = (t.body as { auth: { client_token: string } }).auth.client_token;
    const sha = 'ab'.repeat(32);
    const r = await vaultdist([...base('b'), '--registry', '--registry-mount', `vd-b-${id}`, '--registry-sha256', sha, '--registry-version', 'v0.2.0'], {
      env: cleanEnv({ VAULT_ADDR: v.addr, VAULT_TOKEN: opToken }),
    });
    expect([r.code, r.stderr.split('\n').filter((l) => l.includes('error'))]).toEqual([0, []]);
    expect(r.stdout).toContain('this token may not register plugins');
    for (const line of [
      'plugin_auto_register = true',
      'plugin "secret" "vaultdist" {',
      '  command   = "vaultdist"',
      '  version   = "v0.2.0"',
      `  sha256sum = "${sha}"`,
      `vault plugin register -sha256=${sha} -version=v0.2.0 -command=vaultdist secret vaultdist`,
      `vault secrets enable -path=vd-b-${id} -plugin-version=v0.2.0 vaultdist`,
      `vault write vd-b-${id}/clusters/default allowed_nodes='*@127.0.0.1','*@*.dist.example.test' ttl=60s max_ttl=10m`,
    ]) {
      expect(r.stdout).toContain(line);
    }
    expect(r.stdout).toContain('= plugin secret/vaultdist v0.2.0: not registered by this run');
    // Nothing of the plugin was written; the PKI part was.
    expect((await api(v.addr, v.token, 'GET', 'sys/plugins/catalog/secret/vaultdist?version=v0.2.0')).status).toBe(404);
    expect((await api(v.addr, v.token, 'GET', `sys/mounts/vd-b-${id}`)).status).toBe(400);
    expect((await api(v.addr, v.token, 'GET', `sys/mounts/pki-b-${id}`)).status).toBe(200);
  }, 60_000);

  it('refuses bad registry flags before writing anything (usage error naming the flag)', async () => {
    const env = cleanEnv({ VAULT_ADDR: v.addr, VAULT_TOKEN: v.token });
    const runs: Promise<readonly [number | null, string, string]>[] = [];
    for (const [flags, want] of [
      [['--registry-sha256', 'nothex'], '--registry-sha256 "nothex": expected 64 hex digits'],
      [['--registry-version', '1.0'], '--registry-version "1.0": expected a semantic version'],
      [['--registry-ttl', '20m'], '--registry-ttl 20m is longer than --registry-max-ttl 10m'],
    ] as const) {
      runs.push(vaultdist([...base('c'), '--registry', '--registry-mount', `vd-c-${id}`, ...flags], { env }).then((r) => [r.code, r.stderr, want] as const));
    }
    for (const [code, stderr, want] of await Promise.all(runs)) expect([code, stderr]).toEqual([2, expect.stringContaining(want)]);
    expect((await api(v.addr, v.token, 'GET', `sys/mounts/pki-c-${id}`)).status).toBe(400);
  }, 60_000);
});

describe('registry plugin upgrade (a server of its own)', () => {
  let dev: VaultDev;
  let v2: RegistryPluginBinary;
  let tmp: string;
  const cluster = 'up';
  const sys = (method: string, path: string, body?: unknown) => api(dev.addr, dev.token, method, path, body);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vaultdist-plugin-v2-'));
    [dev, v2] = await Promise.all([startVaultDev({ registryPlugin: true }), buildRegistryPlugin({ version: 'v0.1.1-test', outDir: tmp })]);
  }, 300_000);

  afterAll(async () => {
    await dev?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const mountInfo = async () => (await sys('GET', `sys/mounts/${dev.registry!.mount}`)).body.data as { running_plugin_version: string; running_sha256: string };
  const reload = () => sys('PUT', 'sys/plugins/reload/backend', { plugin: 'vaultdist' });

  it('a new binary, re-registered with its sha256 and reloaded, keeps the registrations and their leases', async () => {
    const m = dev.registry!.mount;
    expect(await mountInfo()).toMatchObject({ running_plugin_version: dev.registry!.version, running_sha256: dev.registry!.sha256 });
    expect((await sys('PUT', `${m}/clusters/${cluster}`, { ttl: '5m' })).status).toBe(204);
    const reg = await sys('PUT', `${m}/clusters/${cluster}/nodes/app@127.0.0.1`, { port: 9500 });
    expect(reg.status).toBe(200);
    expect(v2.sha256).not.toBe(dev.registry!.sha256);

    // 1. The new binary beside the old one; then `init vault --registry` does 2. its catalog entry
    //    (sha256 + version), 3. the mount pinned to the new version, 4. reload (the README's steps).
    await installRegistryPlugin(dev.registry!.pluginDir, v2, 'vaultdist-v0.1.1-test');
    const upgrade = [
      'init', 'vault', '--allow-any-host', '--auth', 'token', '--leaf-ttl', '1h', '--leaf-max-ttl', '4h', '--int-ttl', '720h', '--root-ttl', '1440h',
      '--registry', '--registry-cluster', cluster, '--registry-ttl', '5m', '--registry-binary', v2.path, '--registry-version', v2.version, '--registry-command', 'vaultdist-v0.1.1-test',
    ];
    const env = cleanEnv({ VAULT_ADDR: dev.addr, VAULT_TOKEN: dev.token });
    const cli = await vaultdist(upgrade, { env });
    expect([cli.code, cli.stderr.split('\n').filter((l) => l.includes('error'))]).toEqual([0, []]);
    expect(cli.stdout).toContain(`+ register plugin secret/vaultdist v0.1.1-test (sha256 ${v2.sha256.slice(0, 12)}…, command vaultdist-v0.1.1-test`);
    expect(cli.stdout).toContain(`+ move ${m}/ to vaultdist v0.1.1-test and reload it`);
    expect(cli.stdout).toContain(`= cluster ${cluster} (allowed_nodes *, ttl 5m, max_ttl 10m) at ${m}/clusters/${cluster} is configured`);
    await until('the new version to run', async () => ((await mountInfo()).running_sha256 === v2.sha256 ? true : undefined));
    const rerun = await vaultdist(upgrade, { env });
    expect([rerun.code, rerun.stdout]).toEqual([0, expect.stringContaining('no changes')]);
    expect(await mountInfo()).toMatchObject({ running_plugin_version: 'v0.1.1-test' });
    expect((await sys('GET', `${m}/clusters/${cluster}/members`)).body.data!.members).toEqual([expect.objectContaining({ node: 'app@127.0.0.1', port: 9500 })]);
    // The lease taken under the old binary is renewed by the new one.
    const renew = await sys('PUT', 'sys/leases/renew', { lease_id: reg.body.lease_id });
    expect(renew.status).toBe(200);

  }, 120_000);

  it('the trap: a changed binary without re-registration makes the mount answer 404 on every path; the registered binary back, and it answers with its registrations', async () => {
    // Works on whatever version the mount runs (no dependence on the upgrade test's order).
    const m = dev.registry!.mount;
    const { running_plugin_version: running } = await mountInfo();
    const entry = (await sys('GET', `sys/plugins/catalog/secret/vaultdist?version=${running}`)).body.data as { command: string; sha256: string };
    expect((await sys('PUT', `${m}/clusters/trap`, { ttl: '5m' })).status).toBe(204);
    expect((await sys('PUT', `${m}/clusters/trap/nodes/app@127.0.0.1`, { port: 9550 })).status).toBe(200);
    const current = join(dev.registry!.pluginDir, entry.command);
    const backup = join(tmp, 'registered-binary');
    copyFileSync(current, backup);

    // The binary changes on disk (here: one byte appended, as any rebuild or patch changes it; the
    // new file renamed into place, as a package manager does) and nobody re-registers its sha256.
    // The reload fails, and the mount answers 404 on every path.
    copyFileSync(backup, current + '.new');
    appendFileSync(current + '.new', '\n');
    renameSync(current + '.new', current);
    const bad = await reload();
    expect([bad.status, errs(bad)]).toEqual([400, expect.stringContaining('checksums did not match')]);
    const paths: [string, string, unknown?][] = [
      ['GET', `${m}/clusters/trap/members`],
      ['PUT', `${m}/clusters/trap/nodes/app@127.0.0.1`, { port: 9551 }],
      ['GET', `${m}/clusters/trap`],
      ['LIST', `${m}/clusters`],
    ];
    const answered: string[] = [];
    for (const [method, path, body] of paths) {
      const a = await sys(method, path, body);
      if (a.status !== 404 || !errs(a).includes('backend is nil')) answered.push(`${method} ${path}: ${a.status} ${errs(a)}`);
    }
    expect(answered).toEqual([]);

    // Recovery: the registered binary back in place, reload: the registration is still there.
    copyFileSync(backup, current + '.new');
    renameSync(current + '.new', current);
    expect((await reload()).status).toBeLessThan(300);
    await until('the mount to answer again', async () => ((await sys('GET', `${m}/clusters/trap/members`)).status === 200 ? true : undefined));
    expect((await sys('GET', `${m}/clusters/trap/members`)).body.data!.members).toEqual([expect.objectContaining({ node: 'app@127.0.0.1', port: 9550 })]);
  }, 120_000);
});

describe('registry plugin on a 3-server raft cluster', () => {
  let raft: RaftCluster;
  let binary: RegistryPluginBinary;
  let pluginDir: string;

  beforeAll(async () => {
    binary = await registryPluginBinary();
    pluginDir = mkdtempSync(join(tmpdir(), 'vaultdist-raft-plugins-'));
    await installRegistryPlugin(pluginDir, binary);
    raft = await startRaftCluster({ extraHcl: registryPluginHcl({ pluginDir, binary }) });
  }, 180_000);

  afterAll(async () => {
    await raft?.stop();
    rmSync(pluginDir, { recursive: true, force: true });
  });

  it('registrations and their leases survive a kill -9 of the leader', async () => {
    const leader = await raft.waitActive();
    const at = (i: number) => raft.servers[i - 1]!.addr;
    await enableRegistryPlugin(at(leader), raft.rootToken, { mount: 'vaultdist', version: binary.version });
    expect((await api(at(leader), raft.rootToken, 'PUT', 'vaultdist/clusters/ha', { ttl: '5m' })).status).toBe(204);
    const leases: string[] = [];
    for (const [name, port] of [
      ['a', 9601],
      ['b', 9602],
    ] as const) {
      const r = await api(at(leader), raft.rootToken, 'PUT', `vaultdist/clusters/ha/nodes/${name}@127.0.0.1`, { port });
      expect(r.status).toBe(200);
      leases.push(r.body.lease_id!);
    }

    await raft.kill(leader);
    const next = await raft.waitActive({ exclude: [leader], timeoutMs: 60_000 });
    expect(next).not.toBe(leader);
    const ms = await until('members on the new leader', async () => {
      const r = await api(at(next), raft.rootToken, 'GET', 'vaultdist/clusters/ha/members');
      return r.status === 200 ? (r.body.data!.members as Member[]) : undefined;
    }, 60_000);
    expect(ms.map((m) => [m.node, m.port])).toEqual([
      ['a@127.0.0.1', 9601],
      ['b@127.0.0.1', 9602],
    ]);
    // The leases moved with the storage: renewable on the new leader; revoking one removes its node.
    expect((await api(at(next), raft.rootToken, 'PUT', 'sys/leases/renew', { lease_id: leases[0] })).status).toBe(200);
    expect((await api(at(next), raft.rootToken, 'PUT', 'sys/leases/revoke', { lease_id: leases[1] })).status).toBe(204);
    expect((await members(at(next), raft.rootToken, 'vaultdist', 'ha')).map((m) => m.node)).toEqual(['a@127.0.0.1']);
    // New registrations work on the new leader.
    expect((await api(at(next), raft.rootToken, 'PUT', 'vaultdist/clusters/ha/nodes/c@127.0.0.1', { port: 9603 })).status).toBe(200);
  }, 180_000);
});
