/**
 * Issue #13, discovery end to end, all real: an OpenBao with the vaultdist registry plugin registered
 * through its config file (plugin_directory + sha256), three BEAM nodes on DYNAMIC ports (no port map,
 * no port base, no -erl_epmd_port: vaultdist_epmd listens on a free port and reports it in DIR/dist.port),
 * one vaultdist agent registering each node with that node's OWN token (a per-node policy as in the
 * plan's identity model), and vaultdist_cluster on every node dialling the members of DIR/peers.
 *
 * 1. the three nodes find each other through the registry alone (one on OTP 27 when the lane exists;
 *    one with -connect_all false); a clean agent stop deregisters all three at once;
 * 2. revoking one node's token removes it from `members` and from the other nodes' peers files
 *    within one refresh;
 * 3. an OpenBao outage longer than the registration lease: the peers files keep the members, marked
 *    stale, the nodes stay connected, and a dropped connection is re-established from the last-known
 *    peers while OpenBao is still down.
 *
 * This file starts its OWN OpenBao (the outage stops it) with the plugin of `packages/vault-plugin`
 * (scripts/vault-dev `registryPlugin`: plugin_directory + a sha256 plugin stanza in the config file).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createVaultClient,
  distFlags,
  issueNodeCredentials,
  listMembers,
  renderOptfile,
  silentLogger,
  writeClusterConfig,
  type VaultClient,
} from '../../packages/sdk/src/index.js';
import {
  ensureMount,
  ensureRole,
  ensureRootCa,
  nodeRoleBody,
  parseDistPortFile,
  parsePeersFile,
} from '../../packages/sdk/src/internal.js';
import { createAgent, validateConfig, type Agent } from '../../packages/agent/src/index.js';
import { startVaultDev, type VaultDev } from '../../scripts/vault-dev/src/index.js';
import { testdir } from '../helpers/vault.js';
import { compileErlang, startNode, stopAllNodes, type ErlNode } from '../helpers/erlang.js';
import { otp27Status } from '../helpers/otp27.js';
import { readMembership, membershipLine } from '../../packages/cli/src/commands/status/registry.js';
import { registryFindings } from '../../packages/cli/src/commands/doctor/registry.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const ERLANG = join(ROOT, 'packages', 'cli', 'erlang', 'src');
const CLUSTER = 'e2e';
const LEASE_SECONDS = 4;
const REFRESH_SECONDS = 1;
const MAX_TTL_SECONDS = 9;
const NAMES = ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'];

async function eventually<T>(what: string, fn: () => T | Promise<T>, pred: (v: T) => boolean, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!pred(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms (last ${JSON.stringify(last).slice(-600)})`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}

/** The node's policy of the identity model (#12/#13), registry part: its own node path, the members. */
const nodePolicy = (node: string) =>
  [
    `path "vaultdist/clusters/+/nodes/${node}" {\n  capabilities = ["create", "update", "delete"]\n}`,
    `path "vaultdist/clusters/+/members" {\n  capabilities = ["read", "list"]\n}`,
    `path "vaultdist/clusters/+/members/*" {\n  capabilities = ["read", "list"]\n}`,
  ].join('\n');

const peersOf = (dir: string) => {
  const p = join(dir, 'peers');
  return existsSync(p) ? parsePeersFile(readFileSync(p, 'utf8')) : undefined;
};

describe('registry discovery: three nodes on dynamic ports, real OpenBao + plugin + agent', () => {
  let bao: VaultDev;
  let admin: VaultClient;
  let tmp: ReturnType<typeof testdir>;
  let ebin: string;
  const nodes = new Map<string, ErlNode>();
  const dirs = new Map<string, string>();
  const tokens = new Map<string, string>();
  let agent: Agent;
  let agentStop: AbortController;
  let agentDone: Promise<void>;
  let otp27: string | undefined;

  /**
   * Cluster config, node policies and per-node tokens. The token ids are chosen here (root may), so
   * after the dev server's restart (storage lost) the same tokens exist again for the agent.
   */
  const configureRegistry = async (names: string[]) => {
    // a short max_ttl: the agent must register again before it (not renew into a 400) during this file
    await writeClusterConfig(admin, { cluster: CLUSTER, allowedNodes: ['*@127.0.0.1'], ttl: `${LEASE_SECONDS}s`, maxTtl: `${MAX_TTL_SECONDS}s` });
    for (const name of names) {
      const short = name.replace(/@.*/, '');
      await admin.write(`sys/policies/acl/vaultdist-node-${short}`, { policy: nodePolicy(name) });
      if (!tokens.has(name)) tokens.set(name, `vaultdist-e2e-${short}-${Math.random().toString(36).slice(2, 10)}`);
      const t = await admin.write('auth/token/create', { id: tokens.get(name)!, policies: [`vaultdist-node-${short}`], ttl: '1h' });
      expect(t.auth!.client_token).toBe(tokens.get(name));
    }
  };

  /** Per-node auth override (the last test logs n1 in through AppRole). */
  const authOverride = new Map<string, Record<string, unknown>>();

  const startAgent = () => {
    const v = validateConfig({
      vault: { address: bao.addr, auth: { method: 'token', token: bao.token }, requestTimeoutMs: 2000 },
      health: { enabled: true, host: '127.0.0.1', port: 0 },
      registry: { enabled: true, cluster: CLUSTER, refreshIntervalSeconds: REFRESH_SECONDS, renewAtFraction: 0.5 },
      nodes: NAMES.map((name) => ({
        name,
        dir: dirs.get(name)!,
        mount: 'pki',
        role: 'node',
        auth: authOverride.get(name) ?? { method: 'token', token: tokens.get(name)! },
        reload: { strategy: 'poll' },
        // the port is dynamic: verification and the registry find it in DIR/dist.port (no verify.port)
      })),
    });
    expect(v.errors).toEqual([]);
    agent = createAgent(v.config!, {});
    agentStop = new AbortController();
    agentDone = agent.run(agentStop.signal);
  };
  const stopAgent = async () => {
    agentStop.abort();
    await agentDone;
  };

  beforeAll(async () => {
    tmp = testdir('vaultdist-registry-');
    bao = await startVaultDev({ registryPlugin: true });
    admin = createVaultClient({ address: bao.addr, token: bao.token, env: {}, logger: silentLogger });
    await ensureMount(admin, 'pki', { maxLeaseTtl: '87600h' });
    await ensureRootCa(admin, 'pki', { commonName: 'registry e2e root', ttl: '8760h' });
    await ensureRole(admin, 'pki', 'node', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h' }));
    await configureRegistry(NAMES);
    ebin = compileErlang([join(ERLANG, 'vaultdist_epmd.erl'), join(ERLANG, 'vaultdist_cluster.erl')]);
    const s = otp27Status();
    otp27 = s.ok ? s.lane.erl : undefined;
  }, 360_000);

  afterAll(async () => {
    agentStop?.abort();
    await agentDone?.catch(() => undefined);
    await stopAllNodes();
    await bao?.stop();
    tmp?.cleanup();
  });

  it('three nodes on dynamic ports find each other through the registry alone', async () => {
    for (const [i, name] of NAMES.entries()) {
      const dir = join(tmp.dir, name.replace(/@.*/, ''));
      dirs.set(name, dir);
      const r = await issueNodeCredentials(admin, { mount: 'pki', role: 'node', node: name, dir });
      writeFileSync(join(dir, 'ssl_dist.conf'), renderOptfile({ bundleFile: r.written.bundlePath, caFile: r.written.caPath }));
      // distFlags always renders the fixed -erl_epmd_port; here there is no port configuration at all
      const base = distFlags({ optfile: join(dir, 'ssl_dist.conf'), distPort: 1, epmdModule: 'vaultdist_epmd', codePaths: [ebin], listenInterface: '127.0.0.1', connectAllFalse: i === 0 });
      const at = base.indexOf('-erl_epmd_port');
      base.splice(at, 2);
      const flags = [
        ...base,
        '-vaultdist_epmd_port_file', join(dir, 'dist.port'),
        '-vaultdist_epmd_peers_file', join(dir, 'peers'),
        '-vaultdist_cluster_interval_ms', '500',
        '-s', 'vaultdist_cluster', 'start',
      ];
      expect(flags.join(' ')).not.toMatch(/erl_epmd_port|vaultdist_epmd_ports|port_base|inet_dist_listen/);
      nodes.set(name, await startNode({ name, dir, flags, erl: i === 2 ? otp27 : undefined }));
    }
    const ports = NAMES.map((n) => parseDistPortFile(readFileSync(join(dirs.get(n)!, 'dist.port'), 'utf8'))!);
    expect(new Set(ports.map((p) => p.port)).size).toBe(3);
    if (otp27) expect(ports[2]!.otpRelease).toBe('27');

    const t0 = Date.now();
    startAgent();
    // every node ends up connected to the two others, by nothing but the registry's members
    for (const name of NAMES) {
      const others = NAMES.filter((n) => n !== name);
      await eventually(`${name} connected to ${others.join(', ')}`, () => nodes.get(name)!.nodes(), (ns) => others.every((o) => ns.includes(o)), 30_000);
    }
    process.stderr.write(`[registry-discovery] full mesh of 3 through the registry ${Date.now() - t0} ms after the agent started\n`);
    expect((await nodes.get(NAMES[0]!)!.nodes('hidden')).length).toBe(0);

    const m = await listMembers(admin, { cluster: CLUSTER });
    expect(m.members.map((x) => [x.node, x.port, x.otpRelease])).toEqual(NAMES.map((n, i) => [n, ports[i]!.port, ports[i]!.otpRelease]));
    for (const [i, name] of NAMES.entries()) {
      // the registered serial is the one the node serves (probed), i.e. the one on disk
      const issuedSerial = agent.registry().find((r) => r.node === name)!.serial;
      expect(m.members[i]!.serial).toBe(issuedSerial);
      // the renewal loop's own verification found the dynamic port too (no verify.port configured)
      expect(agent.status().find((st) => st.node === name)!.servedSerial).toBe(issuedSerial);
      // (a peers file written before the last node registered catches up at the next refresh)
      const want = JSON.stringify(NAMES.map((n, j) => [n, ports[j]!.port, 'live']));
      const f = await eventually(`${name}'s peers file lists all three`, () => peersOf(dirs.get(name)!), (x) => JSON.stringify(x?.peers.map((p) => [p.node, p.port, p.state])) === want, 5000);
      expect(f!.state).toBe('fresh');
      expect(await nodes.get(name)!.eval(`vaultdist_epmd:port_for("n2", "127.0.0.1")`)).toBe(`{ok,${ports[1]!.port}}`);
    }
    // the agent's /healthz carries the registry view, and `vaultdist status` shows it
    await eventually('health server up', () => agent.healthAddress(), (a) => a !== undefined);
    const ha = agent.healthAddress()!;
    const body = (await (await fetch(`http://${ha.host}:${ha.port}/healthz`)).json()) as { registry: { node: string; registered: boolean; port: number }[] };
    expect(body.registry.map((r) => [r.node, r.registered, r.port])).toEqual(NAMES.map((n, i) => [n, true, ports[i]!.port]));
    expect(membershipLine(await readMembership(dirs.get(NAMES[0]!)!, NAMES[0]!, new Date(), {}, body))).toMatch(new RegExp(`^cluster ${CLUSTER}: 3 member\\(s\\); this node registered; agent: registered on port ${ports[0]!.port}, lease until \\S+Z$`));
    const metrics = await agent.metrics.registry.metrics();
    expect(metrics).toMatch(/vaultdist_agent_registry_registered\{node="n1@127.0.0.1"\} 1/);
    expect(metrics).toMatch(/vaultdist_agent_registry_members\{node="n3@127.0.0.1"\} 3/);

    // a clean stop deregisters at once (not after the lease)
    const s0 = Date.now();
    await stopAgent();
    expect((await listMembers(admin, { cluster: CLUSTER })).members).toEqual([]);
    process.stderr.write(`[registry-discovery] clean agent stop deregistered 3 nodes in ${Date.now() - s0} ms\n`);
    startAgent();
    await eventually('all three registered again', async () => (await listMembers(admin, { cluster: CLUSTER })).members.length, (n) => n === 3);
  }, 180_000);

  it('revoking a node\'s token removes it from members and from the peers files within one refresh', async () => {
    const victim = NAMES[2]!;
    await eventually('n1 and n2 list n3', () => [peersOf(dirs.get(NAMES[0]!)!), peersOf(dirs.get(NAMES[1]!)!)], (fs) => fs.every((f) => f?.peers.some((p) => p.node === victim)));
    const t0 = Date.now();
    await admin.write('auth/token/revoke', { token: tokens.get(victim)! });
    expect((await listMembers(admin, { cluster: CLUSTER })).members.map((x) => x.node)).toEqual(NAMES.slice(0, 2));
    const revokedToMembers = Date.now() - t0;
    for (const name of NAMES.slice(0, 2)) {
      await eventually(`${name}'s peers file without ${victim}`, () => peersOf(dirs.get(name)!)!, (f) => !f.peers.some((p) => p.node === victim), 10_000);
    }
    const elapsed = Date.now() - t0;
    process.stderr.write(`[registry-discovery] token revoked -> gone from members ${revokedToMembers} ms, from both peers files ${elapsed} ms (refresh ${REFRESH_SECONDS} s)\n`);
    // at the next refresh: one interval plus the read, the write and a loaded machine's scheduling
    // (measured ~1.0-1.3 s alone; the whole suite runs e2e files side by side on 2 cores)
    expect(elapsed).toBeLessThan(REFRESH_SECONDS * 1000 + 2500);
    // what `vaultdist status` shows for n1 now
    const m = await readMembership(dirs.get(NAMES[0]!)!, NAMES[0]!, new Date());
    expect(m).toMatchObject({ state: 'fresh', cluster: CLUSTER, self: 'listed', staleMembers: [] });
    expect(m.members.map((x) => x.node)).toEqual(NAMES.slice(0, 2));
    expect(membershipLine(m)).toBe(`cluster ${CLUSTER}: 2 member(s); this node registered`);
    // and it stays out: the victim's agent cannot register it again (403), across two more leases
    await new Promise((r) => setTimeout(r, 2 * LEASE_SECONDS * 1000));
    expect((await listMembers(admin, { cluster: CLUSTER })).members.map((x) => x.node)).toEqual(NAMES.slice(0, 2));
    const metrics = await agent.metrics.registry.metrics();
    expect(metrics).toMatch(/vaultdist_agent_registry_failures_total\{node="n3@127.0.0.1",op="register",kind="auth"\} [1-9]/);
    // n1 and n2 lived through more than one max_ttl (9 s) without a failed renewal or a gap
    expect(metrics).not.toMatch(/vaultdist_agent_registry_failures_total\{node="n[12]@127.0.0.1"/);
    expect(agent.registry().filter((r) => r.registered).map((r) => r.node)).toEqual(NAMES.slice(0, 2));
  }, 120_000);

  it('an OpenBao outage longer than the lease keeps the cluster connected on last-known peers', async () => {
    const [a, b] = [NAMES[0]!, NAMES[1]!];
    const na = nodes.get(a)!;
    await bao.pause();
    const t0 = Date.now();
    // past the lease of every entry and two more refreshes: the files are stale, the members kept
    for (const name of [a, b]) {
      const f = await eventually(`${name}'s peers file stale`, () => peersOf(dirs.get(name)!)!, (f) => f.state === 'stale' && f.peers.every((p) => p.state === 'stale'), (LEASE_SECONDS + 3 * REFRESH_SECONDS) * 1000 + 5000);
      expect(f.peers.map((p) => p.node)).toEqual([a, b]);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, LEASE_SECONDS * 1000 + 2000 - (Date.now() - t0))));
    expect(await na.nodes()).toContain(b);
    expect(await agent.metrics.registry.metrics()).toMatch(/vaultdist_agent_registry_stale_members\{node="n1@127.0.0.1"\} 2/);
    // what `vaultdist doctor` and `status` say about it
    const doc = await registryFindings(dirs.get(a)!, a, new Date(), {});
    expect(doc[0]).toMatchObject({ check: 'registry.stale', severity: 'warning' });
    expect(doc[0]!.message).toMatch(/2 last-known member\(s\), 2 past their lease \(n1@127.0.0.1, n2@127.0.0.1\)/);
    expect(membershipLine(await readMembership(dirs.get(a)!, a, new Date()))).toMatch(/STALE since .*stale: n1@127.0.0.1, n2@127.0.0.1; this node listed \(stale\)/);
    // a dropped connection comes back from the last-known peers file, OpenBao still down
    expect(await na.eval(`erlang:disconnect_node('${b}')`)).toBe('true');
    const r0 = Date.now();
    await eventually(`${a} reconnected to ${b} during the outage`, () => na.nodes(), (ns) => ns.includes(b), 15_000);
    process.stderr.write(`[registry-discovery] outage ${Date.now() - t0} ms (lease ${LEASE_SECONDS} s): stale files kept both members; reconnect after a drop took ${Date.now() - r0} ms\n`);
    // OpenBao back (dev mode: empty storage, so the operator's config and the node tokens are made
    // again): the agent registers the nodes anew and the peers files are fresh again
    await bao.restart();
    const b0 = Date.now();
    await configureRegistry([a, b]);
    for (const name of [a, b]) {
      await eventually(`${name}'s peers file fresh again`, () => peersOf(dirs.get(name)!)!, (f) => f.state === 'fresh' && f.peers.map((p) => `${p.node} ${p.state}`).join() === [`${a} live`, `${b} live`].join(), 20_000);
    }
    process.stderr.write(`[registry-discovery] after the restart: both peers files fresh ${Date.now() - b0} ms after the registry was configured again\n`);
    expect(await na.nodes()).toContain(b);
  }, 120_000);
  it('a login-based identity (AppRole, 15 s tokens) stays registered across its token expiries', async () => {
    // Vault revokes a token's leases when the token expires, and the plugin then drops the
    // registration: the agent must register again under each new login before the old token ends
    const a = NAMES[0]!;
    await stopAgent();
    await admin.write('sys/auth/approle', { type: 'approle' });
    await admin.write('auth/approle/role/reg-n1', { token_policies: ['vaultdist-node-n1'], token_ttl: '15s', token_max_ttl: '15s' });
    const roleId = (await admin.read<{ role_id: string }>('auth/approle/role/reg-n1/role-id')).data.role_id;
    const secretId = (await admin.write<{ secret_id: string }>('auth/approle/role/reg-n1/secret-id', {})).data.secret_id;
    authOverride.set(a, { method: 'approle', roleId, secretId });
    startAgent();
    await eventually(`${a} registered through AppRole`, async () => (await listMembers(admin, { cluster: CLUSTER })).members.map((m) => m.node), (ns) => ns.includes(a), 20_000);
    // sample the members for two token lifetimes: n1 must never be missing
    const t0 = Date.now();
    let samples = 0;
    let missing = 0;
    while (Date.now() - t0 < 32_000) {
      const ns = (await listMembers(admin, { cluster: CLUSTER })).members.map((m) => m.node);
      samples++;
      if (!ns.includes(a)) missing++;
      await new Promise((r) => setTimeout(r, 250));
    }
    process.stderr.write(`[registry-discovery] AppRole node over ${Date.now() - t0} ms (15 s tokens): missing from members in ${missing} of ${samples} samples\n`);
    expect(missing).toBe(0);
    expect(await agent.metrics.registry.metrics()).not.toMatch(/vaultdist_agent_registry_failures_total\{node="n1@127.0.0.1"/);
  }, 90_000);
});
