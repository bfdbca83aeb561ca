/**
 * The demo's discovery step (issue #13): with the vaultdist registry plugin mounted in the Vault,
 * 1. an operator configures a cluster;
 * 2. the agent (as a daemon) registers alice and bob (fixed port) and carol, started on a DYNAMIC port
 *    with no port configuration at all, each with the node's own Vault identity from its agent.yaml,
 *    and writes each node's peers file from the cluster's members;
 * 3. carol, which knows nothing but its peers file, is connected to alice and bob by vaultdist_cluster;
 * 4. stopping the agent (SIGTERM) deregisters all three at once.
 * Skipped (with a note) when the Vault has no registry plugin mounted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listMembers, writeClusterConfig, type VaultClient } from '../../packages/sdk/src/index.js';
import { parseDistPortFile, parsePeersFile } from '../../packages/sdk/src/internal.js';

export interface DemoShell {
  eval(expr: string): Promise<string>;
  waitFor(re: RegExp, what: string, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface DiscoveryContext {
  root: string;
  work: string;
  tag: string;
  admin: VaultClient;
  env: Record<string, string>;
  https: boolean;
  dirs: Record<string, string>;
  cookie: string;
  issuingMount: string;
  certMount: string;
  step(msg: string): void;
  detail(msg: string): void;
  vaultdist(args: string[], env: Record<string, string>): Promise<string>;
  startIex(name: string, args: string[]): DemoShell;
}

export interface DiscoveryResult {
  ok: boolean;
  /** Runs at cleanup: stops the agent, removes the cluster config. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T> | T, pred: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await fn();
  while (!pred(v) && Date.now() < deadline) {
    await sleep(200);
    v = await fn();
  }
  return v;
}

export async function showDiscovery(c: DiscoveryContext): Promise<DiscoveryResult> {
  let agent: ChildProcess | undefined;
  const cluster = `demo-${c.tag}`;
  let mount: string | undefined;
  const cleanup = async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    if (mount) await c.admin.delete(`${mount}/clusters/${cluster}`).catch(() => {});
  };
  const mounts = (await c.admin.read<Record<string, { type?: string }>>('sys/mounts')).data ?? {};
  mount = Object.entries(mounts).find(([, m]) => m.type === 'vaultdist')?.[0]?.replace(/\/$/, '');
  if (!mount) {
    c.step('discovery: skipped (this Vault has no vaultdist registry plugin mounted; see packages/vault-plugin/README.md)');
    return { ok: true, cleanup };
  }

  // (1) the operator's cluster
  await writeClusterConfig(c.admin, { mount, cluster, allowedNodes: ['*@127.0.0.*'], ttl: '30s', maxTtl: '1h' });
  c.step(`discovery: registry plugin at ${mount}/, cluster ${cluster} (allowed *@127.0.0.*, lease 30s)`);

  // (2) carol: a node directory like the others, but started with no port anywhere
  const carolDir = join(c.work, 'carol');
  await c.vaultdist(['init', 'node', '--name', 'carol@127.0.0.3', '--dir', carolDir, '--mount', c.issuingMount, '--dist-port', '1', ...(c.https ? ['--cert-auth-mount', c.certMount] : [])], c.env);
  const words = readFileSync(join(carolDir, 'vm.args'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).join(' ').split(/\s+/);
  const at = words.indexOf('-erl_epmd_port');
  if (at >= 0) words.splice(at, 2);
  const nameAt = words.findIndex((w) => w === '-name' || w === '-sname');
  if (nameAt >= 0) words.splice(nameAt, 2);
  writeFileSync(
    join(carolDir, 'vm.discovery.args'),
    `${words.join(' ')}\n-vaultdist_epmd_port_file ${join(carolDir, 'dist.port')}\n-vaultdist_epmd_peers_file ${join(carolDir, 'peers')}\n-vaultdist_cluster_interval_ms 500\n-s vaultdist_cluster start\n`,
  );
  const carol = c.startIex('carol@127.0.0.3', ['--name', 'carol@127.0.0.3', '--cookie', c.cookie, '--erl', `-args_file ${join(carolDir, 'vm.discovery.args')}`]);
  await carol.waitFor(/iex\(carol@127\.0\.0\.3\)1>/, 'the iex prompt');
  const carolPort = parseDistPortFile(readFileSync(join(carolDir, 'dist.port'), 'utf8'))?.port;
  c.step(`started carol with no port configured (no -erl_epmd_port, no port map): it listens on ${carolPort}, reported in carol/dist.port`);

  // (3) the agent as a daemon with the registry on, each node with its own identity from its agent.yaml
  const YAML = createRequire(join(c.root, 'packages', 'agent', 'package.json'))('yaml') as { parse(s: string): Record<string, any>; stringify(v: unknown): string }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const per = ['alice', 'bob', 'carol'].map((n) => YAML.parse(readFileSync(join(n === 'carol' ? carolDir : c.dirs[n]!, 'agent.yaml'), 'utf8')));
  const cfg = per[0]!;
  cfg.health = { enabled: false };
  cfg.registry = { enabled: true, mount, cluster, refreshIntervalSeconds: 1 };
  cfg.nodes = per.map((p) => ({ ...p.nodes[0], auth: c.https ? p.vault.auth : null }));
  // carol's port is dynamic: verification and registration read it from carol/dist.port
  cfg.nodes[2].verify = { ...cfg.nodes[2].verify, port: null };
  if (!c.https) cfg.vault.auth = { method: 'token' };
  const cfgPath = join(c.work, 'agent-registry.yaml');
  writeFileSync(cfgPath, YAML.stringify(cfg), { mode: 0o600 });
  agent = spawn(process.execPath, [join(c.root, 'packages', 'cli', 'bin.js'), 'agent', '--config', cfgPath], { cwd: c.work, env: { ...process.env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let agentLog = '';
  agent.stdout!.on('data', (d: Buffer) => (agentLog += d));
  agent.stderr!.on('data', (d: Buffer) => (agentLog += d));
  c.step(`vaultdist agent --config ${cfgPath.replace(c.work, '$WORK')}  (registry.enabled: register, renew, write DIR/peers)`);
  const members = await until(async () => (await listMembers(c.admin, { mount, cluster }).catch(() => ({ members: [] }))).members, (m) => m.length === 3, 30_000);
  c.detail(`members of ${cluster}: ${members.map((m) => `${m.node} → ${m.port}`).join(', ')}`);
  const peers = await until(() => parsePeersFile(readFileSync(join(carolDir, 'peers'), 'utf8').toString()), (f) => f.peers.length === 3, 10_000).catch(() => undefined);
  c.detail(`carol/peers: ${peers ? `${peers.peers.length} members, ${peers.state}` : 'missing'}`);

  // (4) carol connected by vaultdist_cluster from its peers file alone
  const want = ['alice@127.0.0.1', 'bob@127.0.0.2'];
  const list = await until(() => carol.eval('Node.list() |> Enum.sort()'), (l) => l === `[${want.map((n) => `:"${n}"`).join(', ')}]`, 15_000);
  c.step(`carol> Node.list() = ${list}  (found through the registry alone: vaultdist_cluster + vaultdist_epmd read carol/peers)`);

  // (5) a clean agent stop deregisters
  const exited = new Promise((r) => agent!.once('exit', r));
  agent.kill('SIGTERM');
  await exited;
  const after = (await listMembers(c.admin, { mount, cluster })).members.length;
  c.step(`agent stopped (SIGTERM): ${after} member(s) left in ${cluster} (deregistered at once, not after the 30s lease)`);
  if (process.env.VAULTDIST_DEMO_DEBUG) c.detail(agentLog);
  const ok = members.length === 3 && members.some((m) => m.node === 'carol@127.0.0.3' && m.port === carolPort) && peers?.peers.length === 3 && list === `[${want.map((n) => `:"${n}"`).join(', ')}]` && after === 0;
  return { ok, cleanup };
}
