/**
 * A real 3-server OpenBao HA cluster (integrated raft storage) on loopback, for the HA tests and
 * `bench/ha.ts` (issue #14). Each server gets its own 127.0.0.x address (Linux routes all of
 * 127/8 to lo), API and cluster ports, data directory and log.
 *
 * Start-up:
 * 1. write one config per server (raft storage, a plain-HTTP listener, `api_addr`/`cluster_addr`,
 *    plus `extraHcl`, e.g. the registry plugin's `plugin_directory`);
 * 2. start server 1, `sys/init` with one key share, unseal it, wait until it is active;
 * 3. start servers 2 and 3, `sys/storage/raft/join` each to server 1, unseal them, wait until every
 *    server is an unsealed standby and the raft configuration lists three voters (autopilot's
 *    stabilization time is cut to 1 s for that).
 *
 * Faults: `kill(i)` (SIGKILL), `start(i)` (restart with the same data, unsealed unless asked),
 * `seal(i)` (the active server seals via `sys/seal`; a standby cannot be sealed through the API, so it
 * is restarted and left sealed, which is what a sealed standby is in production), `freeze(i)` /
 * `thaw(i)` (SIGSTOP / SIGCONT). `waitActive()` reports which server leads.
 *
 * Servers never outlive the process that started them (SIGKILL on exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBao, freePort } from './index.js';
import { childPids } from './proc.js';

export interface RaftServer {
  /** 1-based index. */
  index: number;
  /** e.g. `http://127.0.0.11:41234` */
  addr: string;
  host: string;
  port: number;
  clusterPort: number;
  dir: string;
  logPath: string;
  /** Process id while running, else -1. */
  readonly pid: number;
  readonly running: boolean;
}

export interface RaftCluster {
  servers: RaftServer[];
  /** Every server's address, comma-separated (the SDK's BAO_ADDR form). */
  addrList: string;
  rootToken: string;
  unsealKey: string;
  dir: string;
  /**
   * The index of the active server, waiting until there is one (throws after `timeoutMs`): a server
   * whose sys/health says active **and** that raft names as leader. Note: a server resumed after a
   * SIGSTOP keeps reporting "active" in sys/health long after raft made it a follower (OpenBao 2.7.2
   * here: minutes); such a stale claim is not counted.
   */
  waitActive(o?: { timeoutMs?: number; exclude?: number[] }): Promise<number>;
  /** The raft leader's index as one server sees it (`sys/storage/raft/configuration`), or undefined. */
  leader(askIndex?: number): Promise<number | undefined>;
  /** Waits until one server is active, the other two are unsealed standbys and nobody else claims active. */
  waitSettled(o?: { timeoutMs?: number }): Promise<number>;
  /** Health of one server: 'active' | 'standby' | 'sealed' | 'down' (no answer within 1 s). */
  state(i: number): Promise<'active' | 'standby' | 'sealed' | 'uninitialized' | 'down'>;
  kill(i: number): Promise<void>;
  /** (Re)starts a stopped server with its data; unseals it unless `sealed`. */
  start(i: number, o?: { sealed?: boolean }): Promise<void>;
  seal(i: number): Promise<void>;
  unseal(i: number): Promise<void>;
  freeze(i: number): void;
  thaw(i: number): void;
  stop(): Promise<void>;
}

export interface StartRaftClusterOptions {
  /** Loopback addresses of the three servers. @default ['127.0.0.11', '127.0.0.12', '127.0.0.13'] */
  hosts?: [string, string, string];
  /** Appended to every server's config (helper C1: the plugin directory stanza). */
  extraHcl?: string | ((server: { index: number; host: string; dir: string }) => string);
  /**
   * raft `performance_multiplier`: 1 = production timing (fast elections), 5 = OpenBao's default
   * (elections of about 10–15 s here). @default 1
   */
  performanceMultiplier?: number;
  /** @default 60000 */
  startTimeoutMs?: number;
  /** Extra environment for the servers. */
  env?: Record<string, string>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

async function api(addr: string, method: string, path: string, body?: unknown, token?: string, timeoutMs = 5000): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: { ...(token ? { 'X-Vault-Token': token } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    /* keep empty */
  }
  return { status: r.status, json };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** Starts the cluster (see the numbered steps above). */
export async function startRaftCluster(o: StartRaftClusterOptions = {}): Promise<RaftCluster> {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const bao = findBao();
  const hosts = o.hosts ?? ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
  const timeoutMs = o.startTimeoutMs ?? 60_000;
  const dir = await mkdtemp(join(tmpdir(), 'vaultdist-raft-'));
  const children: (ChildProcess | undefined)[] = [undefined, undefined, undefined];
  const servers: RaftServer[] = [];
  for (let i = 0; i < 3; i++) {
    const host = hosts[i]!;
    const sdir = join(dir, `s${i + 1}`);
    await mkdir(join(sdir, 'raft'), { recursive: true });
    const port = await freePort(host);
    const clusterPort = await freePort(host);
    const idx = i;
    servers.push({
      index: i + 1,
      addr: `http://${host}:${port}`,
      host,
      port,
      clusterPort,
      dir: sdir,
      logPath: join(sdir, 'bao.log'),
      get pid() {
        return children[idx]?.pid ?? -1;
      },
      get running() {
        const c = children[idx];
        return Boolean(c && c.exitCode === null && c.signalCode === null);
      },
    });
  }
  for (const s of servers) {
    const extra = typeof o.extraHcl === 'function' ? o.extraHcl({ index: s.index, host: s.host, dir: s.dir }) : (o.extraHcl ?? '');
    await writeFile(
      join(s.dir, 'config.hcl'),
      [
        `storage "raft" {`,
        `  path = "${join(s.dir, 'raft')}"`,
        `  node_id = "s${s.index}"`,
        `  performance_multiplier = ${o.performanceMultiplier ?? 1}`,
        `}`,
        `listener "tcp" {`,
        `  address = "${s.host}:${s.port}"`,
        `  cluster_address = "${s.host}:${s.clusterPort}"`,
        `  tls_disable = true`,
        `}`,
        `api_addr = "${s.addr}"`,
        `cluster_addr = "https://${s.host}:${s.clusterPort}"`,
        `disable_mlock = true`,
        `ui = false`,
        `log_level = "info"`,
        extra,
        '',
      ].join('\n'),
    );
  }

  let rootToken = '';
  let unsealKey = '';
  const srv = (i: number) => {
    const s = servers[i - 1];
    if (!s) throw new Error(`no raft server ${i} (1..3)`);
    return s;
  };

  async function launch(i: number): Promise<void> {
    const s = srv(i);
    const log = createWriteStream(s.logPath, { flags: 'a' });
    await new Promise((r) => log.once('open', r));
    const child = spawn(bao, ['server', `-config=${join(s.dir, 'config.hcl')}`], {
      stdio: ['ignore', log, log],
      env: { ...process.env, HOME: s.dir, TMPDIR: s.dir, BAO_ADDR: '', VAULT_ADDR: '', BAO_TOKEN: '', VAULT_TOKEN: '', ...o.env },
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    children[i - 1] = child;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`bao server ${i} exited (${child.exitCode ?? child.signalCode}):\n${(await readFile(s.logPath, 'utf8').catch(() => '')).slice(-3000)}`);
      }
      try {
        await api(s.addr, 'GET', 'sys/health', undefined, undefined, 1000);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`bao server ${i} at ${s.addr} does not answer`);
        await sleep(100);
      }
    }
  }

  async function state(i: number): Promise<'active' | 'standby' | 'sealed' | 'uninitialized' | 'down'> {
    try {
      const r = await api(srv(i).addr, 'GET', 'sys/health?standbycode=200&sealedcode=200&uninitcode=200', undefined, undefined, 1000);
      if (r.json.initialized !== true) return 'uninitialized';
      if (r.json.sealed === true) return 'sealed';
      return r.json.standby === true ? 'standby' : 'active';
    } catch {
      return 'down';
    }
  }

  async function unseal(i: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await api(srv(i).addr, 'PUT', 'sys/unseal', { key: unsealKey });
        if (r.status === 200 && r.json.sealed === false) return;
      } catch {
        /* retry */
      }
      if (Date.now() > deadline) throw new Error(`raft server ${i} stays sealed`);
      await sleep(200);
    }
  }

  async function leader(ask?: number): Promise<number | undefined> {
    for (const s of ask ? [srv(ask)] : servers) {
      if (!s.running) continue;
      try {
        const r = await api(s.addr, 'GET', 'sys/storage/raft/configuration', undefined, rootToken, 1000);
        const list = (r.json.data as { config?: { servers?: { node_id: string; leader: boolean }[] } } | undefined)?.config?.servers ?? [];
        const l = list.find((x) => x.leader);
        if (l) return Number(l.node_id.replace(/^s/, ''));
      } catch {
        /* next */
      }
    }
    return undefined;
  }

  async function waitActive(w: { timeoutMs?: number; exclude?: number[] } = {}): Promise<number> {
    const deadline = Date.now() + (w.timeoutMs ?? timeoutMs);
    for (;;) {
      for (const s of servers) {
        if (w.exclude?.includes(s.index) || !s.running) continue;
        if ((await state(s.index)) === 'active' && (await leader(s.index)) === s.index) return s.index;
      }
      if (Date.now() > deadline) throw new Error(`no active raft server within ${w.timeoutMs ?? timeoutMs} ms`);
      await sleep(100);
    }
  }

  async function waitState(i: number, want: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await state(i)) !== want) {
      if (Date.now() > deadline) throw new Error(`raft server ${i} not ${want} within ${timeoutMs} ms (${await state(i)})`);
      await sleep(100);
    }
  }

  const cluster: RaftCluster = {
    servers,
    addrList: servers.map((s) => s.addr).join(','),
    get rootToken() {
      return rootToken;
    },
    get unsealKey() {
      return unsealKey;
    },
    dir,
    waitActive,
    leader,
    async waitSettled(w = {}) {
      const deadline = Date.now() + (w.timeoutMs ?? timeoutMs);
      for (;;) {
        const states = await Promise.all([1, 2, 3].map((i) => state(i)));
        const active = states.indexOf('active') + 1;
        if (states.filter((x) => x === 'active').length === 1 && states.filter((x) => x === 'standby').length === 2 && (await leader(active)) === active) return active;
        if (Date.now() > deadline) throw new Error(`raft cluster not settled within ${w.timeoutMs ?? timeoutMs} ms (${states.join(', ')})`);
        await sleep(200);
      }
    },
    state,
    async kill(i) {
      const c = children[i - 1];
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      // a SIGKILLed server leaves its plugin processes (the registry plugin) running under PID 1:
      // they go with it (found: ones from earlier test runs still alive 40 min later)
      const plugins = childPids(c.pid!);
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGCONT');
      c.kill('SIGKILL');
      await gone;
      for (const p of plugins) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
    async start(i, so = {}) {
      if (srv(i).running) return;
      await launch(i);
      if (!so.sealed) {
        await unseal(i);
        // a restarted server joins as a standby (or wins an election)
        const deadline = Date.now() + timeoutMs;
        while (!['standby', 'active'].includes(await state(i))) {
          if (Date.now() > deadline) throw new Error(`raft server ${i} did not come back`);
          await sleep(100);
        }
      }
    },
    async seal(i) {
      if ((await state(i)) === 'active') {
        const r = await api(srv(i).addr, 'PUT', 'sys/seal', undefined, rootToken);
        if (r.status !== 204 && r.status !== 200) throw new Error(`sys/seal on server ${i}: ${r.status} ${JSON.stringify(r.json)}`);
        return;
      }
      // standbys cannot be sealed through the API: a restarted, not unsealed server is a sealed standby
      await cluster.kill(i);
      await cluster.start(i, { sealed: true });
    },
    unseal,
    freeze(i) {
      children[i - 1]?.kill('SIGSTOP');
    },
    thaw(i) {
      children[i - 1]?.kill('SIGCONT');
    },
    async stop() {
      for (let i = 1; i <= 3; i++) await cluster.kill(i);
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    // (2)
    await launch(1);
    const init = await api(servers[0]!.addr, 'PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 });
    if (init.status !== 200) throw new Error(`sys/init: ${init.status} ${JSON.stringify(init.json)}`);
    unsealKey = (init.json.keys_base64 as string[])[0]!;
    rootToken = init.json.root_token as string;
    await unseal(1);
    await waitState(1, 'active');
    // joining servers start as non-voters; autopilot promotes them after server_stabilization_time
    // (10 s by default): 1 s here, so the cluster has its three voters (a quorum survives a kill) sooner
    const ap = await api(servers[0]!.addr, 'POST', 'sys/storage/raft/autopilot/configuration', { server_stabilization_time: '1s', cleanup_dead_servers: false }, rootToken);
    if (ap.status >= 300) throw new Error(`autopilot configuration: ${ap.status} ${JSON.stringify(ap.json)}`);
    // (3)
    for (const i of [2, 3]) {
      await launch(i);
      const j = await api(srv(i).addr, 'PUT', 'sys/storage/raft/join', { leader_api_addr: servers[0]!.addr });
      if (j.status !== 200 || j.json.joined !== true) throw new Error(`raft join of server ${i}: ${j.status} ${JSON.stringify(j.json)}`);
      await unseal(i);
      await waitState(i, 'standby');
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const cfg = await api(servers[0]!.addr, 'GET', 'sys/storage/raft/configuration', undefined, rootToken);
      const voters = ((cfg.json.data as { config?: { servers?: { voter: boolean }[] } } | undefined)?.config?.servers ?? []).filter((s) => s.voter);
      if (voters.length === 3) break;
      if (Date.now() > deadline) throw new Error(`raft configuration has ${voters.length} voters, want 3`);
      await sleep(200);
    }
  } catch (e) {
    await cluster.stop().catch(() => {});
    throw e;
  }
  return cluster;
}
