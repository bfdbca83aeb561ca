/**
 * Real BEAM nodes for tests: start N nodes with given flags on loopback addresses, drive them through
 * a small control channel (erl/vd_test_ctl.erl), ask one to ping another, read nodes(), stop by PID.
 * Every node's output is kept in a log file and printed by the test environment when a test fails.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, createWriteStream } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Compiles test-only Erlang modules once per content hash (and erlc); returns the ebin directory,
 * a cache in the repository's ignored .cache/test-ebin/ (not /tmp: the suite leaves nothing there).
 */
export function compileErlang(sources: string[], erlc = 'erlc'): string {
  const h = createHash('sha256');
  if (erlc !== 'erlc') h.update(erlc);
  for (const s of sources) h.update(readFileSync(s));
  const out = join(HERE, '..', '..', '.cache', 'test-ebin', h.digest('hex').slice(0, 16));
  const beams = sources.map((s) => join(out, s.replace(/^.*\//, '').replace(/\.erl$/, '.beam')));
  if (!beams.every((b) => existsSync(b))) {
    mkdirSync(out, { recursive: true });
    execFileSync(erlc, ['-o', out, ...sources], { stdio: 'pipe' });
  }
  return out;
}

export const CTL_EBIN = () => compileErlang([join(HERE, 'erl', 'vd_test_ctl.erl')]);

export const CARRIER_SRC = join(HERE, '..', '..', 'packages', 'cli', 'erlang', 'src', 'vaultdist_tls_dist.erl');

/**
 * The companion carrier (`-proto_dist vaultdist_tls`) compiled by the erlc beside `erl` (the OTP 27
 * lane's wrapper has one): the module refuses to run on another OTP release than it was built for.
 */
export function carrierEbin(erl?: string): string {
  const erlc = erl && erl !== 'erl' ? join(dirname(erl), 'erlc') : 'erlc';
  return compileErlang([CARRIER_SRC], erlc);
}

/** Whether a node's flags (or an -args_file among them) select the vaultdist_tls carrier. */
function usesCarrier(flags: string[]): boolean {
  if (flags.some((f, j) => f === '-proto_dist' && flags[j + 1] === 'vaultdist_tls')) return true;
  return flags.some((f, j) => f === '-args_file' && !!flags[j + 1] && existsSync(flags[j + 1]!) && /^-proto_dist vaultdist_tls\s*$/m.test(readFileSync(flags[j + 1]!, 'utf8')));
}

/** Whether a TCP port can be bound on every given address. */
export async function portFreeOn(port: number, hosts: string[]): Promise<boolean> {
  for (const host of hosts) {
    const ok = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, host, () => s.close(() => res(true)));
    });
    if (!ok) return false;
  }
  return true;
}

/** A port free on all the given loopback addresses (the shared `-erl_epmd_port`). */
export async function sharedFreePort(hosts: string[]): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 30000);
    if (await portFreeOn(p, hosts)) return p;
  }
  throw new Error('no free shared port');
}

async function freeCtlPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

export interface NodeLogRegistry {
  nodes: { name: string; logPath: string }[];
}

function registry(): NodeLogRegistry {
  const g = globalThis as unknown as { __VD_NODE_LOGS__?: NodeLogRegistry };
  g.__VD_NODE_LOGS__ ??= { nodes: [] };
  return g.__VD_NODE_LOGS__;
}

const running = new Set<ErlNode>();

export interface StartNodeOptions {
  /** `foo@127.0.0.1` (long names) or `foo@localhost` with `sname`. */
  name: string;
  /** Distribution and other flags (e.g. from `distFlags()`). */
  flags?: string[];
  cookie?: string;
  /** Use `-sname`. */
  sname?: boolean;
  /** Directory for the node log (and cwd). */
  dir: string;
  /** Extra code paths. */
  codePaths?: string[];
  env?: Record<string, string>;
  /** Executable: `erl` (default) or an absolute path (OTP 27 lane). */
  erl?: string;
  /**
   * Wait for the control channel. When the node is expected to die at boot, pass false and use
   * `waitExit()`. @default true
   */
  waitReady?: boolean;
  /** Extra boot expression(s) run after the control channel is up (`-eval`). */
  eval?: string;
}

export class ErlNode {
  readonly name: string;
  readonly logPath: string;
  readonly proc: ChildProcess;
  readonly ctlPort: number;
  #sock: Socket | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  exitCode: number | null | undefined;

  constructor(name: string, logPath: string, proc: ChildProcess, ctlPort: number) {
    this.name = name;
    this.logPath = logPath;
    this.proc = proc;
    this.ctlPort = ctlPort;
    proc.once('exit', (code, sig) => {
      this.exitCode = code ?? (sig ? -1 : null);
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  async connectCtl(timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive) throw new Error(`node ${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode}) during boot:\n${this.log().slice(-4000)}`);
      try {
        this.#sock = await new Promise<Socket>((res, rej) => {
          const s = connect(this.ctlPort, '127.0.0.1');
          s.once('connect', () => res(s));
          s.once('error', rej);
        });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`node ${this.name}: control channel not up after ${timeoutMs} ms:\n${this.log().slice(-4000)}`);
  }

  /** Evaluates an Erlang expression on the node; returns the printed result (`~0tp`). Throws on error. */
  eval(expr: string, timeoutMs = 20000): Promise<string> {
    const run = async () => {
      const sock = this.#sock;
      if (!sock) throw new Error(`node ${this.name}: not connected`);
      const src = expr.trim().endsWith('.') ? expr.trim() : `${expr.trim()}.`;
      const body = Buffer.from(src, 'utf8');
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      sock.write(Buffer.concat([head, body]));
      const reply = await new Promise<string>((res, rej) => {
        let buf = Buffer.alloc(0);
        const onData = (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
            cleanup();
            res(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString('utf8'));
          }
        };
        const onClose = () => {
          cleanup();
          rej(new Error(`node ${this.name}: control channel closed during ${src}\n${this.log().slice(-2000)}`));
        };
        const t = setTimeout(() => {
          cleanup();
          rej(new Error(`node ${this.name}: no reply to ${src} within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(t);
          sock.off('data', onData);
          sock.off('close', onClose);
        };
        sock.on('data', onData);
        sock.once('close', onClose);
      });
      if (reply.startsWith('ok:')) return reply.slice(3);
      throw new Error(`node ${this.name}: ${src} failed: ${reply.slice(6)}`);
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** `net_adm:ping(Other)` → 'pong' | 'pang'. */
  async ping(other: string): Promise<'pong' | 'pang'> {
    const r = await this.eval(`net_adm:ping('${other}')`);
    if (r !== 'pong' && r !== 'pang') throw new Error(`unexpected ping reply ${r}`);
    return r;
  }

  /** `nodes()` (or `nodes(hidden)` …) as a list of names. */
  async nodes(kind: 'visible' | 'hidden' | 'connected' = 'visible'): Promise<string[]> {
    const r = await this.eval(kind === 'visible' ? 'nodes()' : `nodes(${kind})`);
    return [...r.matchAll(/'([^']+)'|([a-z][A-Za-z0-9_]*@[A-Za-z0-9_.-]+)/g)].map((m) => m[1] ?? m[2]!);
  }

  /** The OS pid of beam.smp as the node sees it. */
  async osPid(): Promise<number> {
    return Number((await this.eval('list_to_integer(os:getpid())')).trim());
  }

  async waitExit(timeoutMs = 15000): Promise<number | null> {
    if (!this.alive) return this.proc.exitCode;
    return await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`node ${this.name} still running after ${timeoutMs} ms`)), timeoutMs);
      this.proc.once('exit', (code) => {
        clearTimeout(t);
        res(code);
      });
    });
  }

  /** Stops the node by PID (SIGKILL after a graceful attempt). */
  async stop(): Promise<void> {
    running.delete(this);
    this.#sock?.destroy();
    if (!this.alive) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

let defaultErl: string | undefined;

/**
 * Sets the executable `startNode` uses when a call passes no `erl` (this test file only: each jest
 * test file has its own module instance). The OTP 27 lane uses it to run whole e2e files on OTP 27.
 */
export function setDefaultErl(erl: string | undefined): void {
  defaultErl = erl;
}

/** Starts one node. The control channel is started with `-s vd_test_ctl` before anything else. */
export async function startNode(o: StartNodeOptions): Promise<ErlNode> {
  // erlexec starts an epmd daemon for any named node unless told not to; that daemon outlives the
  // test and breaks every "nothing listens on 4369" assertion in the suite (and vaultdist itself
  // never wants one). Refuse such a node here rather than chase the daemon later.
  const flags = o.flags ?? [];
  const i = flags.indexOf('-start_epmd');
  // an -args_file (the vm.args `vaultdist init node` writes) counts when it holds the flag itself
  const argsFiles = flags.flatMap((f, j) => (f === '-args_file' && flags[j + 1] ? [flags[j + 1]!] : []));
  const inArgsFile = argsFiles.some((f) => existsSync(f) && /^-start_epmd false\s*$/m.test(readFileSync(f, 'utf8')));
  if (!inArgsFile && (i < 0 || flags[i + 1] !== 'false')) {
    throw new Error(`startNode(${o.name}): pass '-start_epmd', 'false' in flags (e.g. from distFlags()); a test node must never start an epmd`);
  }
  if (o.erl === undefined && defaultErl !== undefined) o = { ...o, erl: defaultErl };
  mkdirSync(o.dir, { recursive: true });
  const ctlPort = await freeCtlPort();
  const shortName = o.name.replace(/@.*/, '');
  const logPath = join(o.dir, `${shortName}.node.log`);
  const args = [
    o.sname ? '-sname' : '-name',
    o.name,
    '-setcookie',
    o.cookie ?? 'vaultdist-test-cookie',
    '-noshell',
    '-noinput',
    '-pa',
    CTL_EBIN(),
    // the carrier as `vaultdist init node` puts it on the code path (DIR/ebin), built for this OTP
    ...(usesCarrier(flags) ? ['-pa', carrierEbin(o.erl)] : []),
    ...(o.codePaths ?? []).flatMap((p) => ['-pa', p]),
    '-vd_ctl_port',
    String(ctlPort),
    ...(o.flags ?? []),
    '-s',
    'vd_test_ctl',
    'start',
    ...(o.eval ? ['-eval', o.eval] : []),
  ];
  const log = createWriteStream(logPath, { flags: 'a' });
  await new Promise((r) => log.once('open', r));
  log.write(`# ${o.erl ?? 'erl'} ${args.join(' ')}\n`);
  const proc = spawn(o.erl ?? 'erl', args, { cwd: o.dir, stdio: ['ignore', log, log], env: { ...process.env, ...o.env } });
  const node = new ErlNode(o.name, logPath, proc, ctlPort);
  running.add(node);
  registry().nodes.push({ name: o.name, logPath });
  if (o.waitReady !== false) {
    try {
      await node.connectCtl();
    } catch (e) {
      await node.stop();
      throw e;
    }
  }
  return node;
}

/** Stops every node this test file started (call in afterEach/afterAll). */
export async function stopAllNodes(): Promise<void> {
  await Promise.all([...running].map((n) => n.stop()));
}

/** Whether something accepts TCP connections on host:port. */
export function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, host);
    const t = setTimeout(() => {
      s.destroy();
      res(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      res(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      res(false);
    });
  });
}
