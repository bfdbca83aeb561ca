/**
 * Agent lifecycle against the real OpenBao (issue #14 part 3 and 6), the agent as a child process:
 * - 100 nodes started while Vault is unreachable (a TCP proxy in front of OpenBao that refuses), then
 *   Vault comes back: every node renews within seconds (the sys/health probe wakes the backoffs,
 *   whose first step here is ≥ 15 s), and nothing at all is written to stderr (no
 *   MaxListenersExceededWarning); the failure counters had a series per kind from the start;
 * - SIGHUP with a config whose CA file is unreadable: the agent keeps running the old config (log +
 *   metric), and `--check` refuses that config with the same check (exit 10, naming it);
 * - the agent started the way `npx` starts it (npm_command=exec) stops when its parent dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const BIN = join(ROOT, 'packages', 'agent', 'bin.js');

interface Run {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  exit: Promise<number | null>;
  waitFor(pred: (l: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  count(pred: (l: Record<string, unknown>) => boolean): number;
  /** Lines logged with this msg so far (kept incrementally: the fleet logs thousands of lines). */
  counted(msg: string): number;
}

function runAgent(args: string[], env: Record<string, string> = {}): Run {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  const waiters = new Set<() => void>();
  const byMsg = new Map<string, number>();
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let l: Record<string, unknown>;
      try {
        l = JSON.parse(line);
      } catch {
        l = { raw: line };
      }
      lines.push(l);
      if (typeof l.msg === 'string') byMsg.set(l.msg, (byMsg.get(l.msg) ?? 0) + 1);
    }
    waiters.forEach((w) => w());
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const dump = () => `${lines.slice(-30).map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${err}`;
  return {
    proc,
    lines,
    stderr: () => err,
    exit,
    count: (pred) => lines.filter(pred).length,
    counted: (msg) => byMsg.get(msg) ?? 0,
    waitFor(pred, what, timeoutMs = 30000) {
      return new Promise((res, rej) => {
        let seen = 0; // only new lines are looked at
        const check = () => {
          let hit: Record<string, unknown> | undefined;
          for (; seen < lines.length && !hit; seen++) if (pred(lines[seen]!)) hit = lines[seen];
          if (hit) {
            waiters.delete(check);
            clearTimeout(t);
            res(hit);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`${what}: not logged within ${timeoutMs} ms; last lines:\n${dump()}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** A TCP proxy in front of OpenBao that can refuse connections (an outage) and accept again. */
async function vaultProxy(target: URL): Promise<{ port: number; down(): Promise<void>; up(): Promise<void>; close(): Promise<void> }> {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const listen = () =>
    new Promise<void>((res, rej) => {
      server = createServer((s) => {
        const u = connect(Number(target.port), target.hostname);
        sockets.add(s).add(u);
        s.pipe(u).pipe(s);
        const end = () => (s.destroy(), u.destroy(), sockets.delete(s), sockets.delete(u));
        s.on('error', end).on('close', end);
        u.on('error', end).on('close', end);
      });
      server.once('error', rej);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        res();
      });
    });
  const down = () =>
    new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      if (!server) return res();
      server.close(() => res());
      server = undefined;
    });
  await listen();
  await down();
  return { port, down, up: listen, close: down };
}

describe('agent lifecycle (child process, real OpenBao)', () => {
  const pki = useTestPki({ role: { ttl: '1h' } });
  const tmp = useTestdir();
  const v = testVault();

  const node = (name: string, dir: string) => ({ name, dir, mount: pki.mount, role: pki.role, reload: { strategy: 'command', command: ['true'] }, verify: { enabled: false } });
  const writeConfig = (name: string, cfg: unknown) => {
    const p = join(tmp.dir, `${name}.json`);
    writeFileSync(p, JSON.stringify(cfg));
    return p;
  };

  it('100 nodes through an outage at start: all renew within seconds of Vault answering, nothing on stderr', async () => {
    const proxy = await vaultProxy(new URL(v.addr));
    const nodes = Array.from({ length: 100 }, (_, i) => node(`n${i}@127.0.0.1`, join(tmp.dir, 'fleet', `n${i}`)));
    const cfg = writeConfig('fleet', {
      vault: { address: `http://127.0.0.1:${proxy.port}`, auth: { method: 'token', token: v.token } },
      // a first backoff step of ≥ 15 s: only the sys/health probe can make the recovery fast
      schedule: { backoff: { initialMs: 30000, maxMs: 120000, jitterFraction: 0.5 }, startupSpreadMs: 1000, vaultProbeIntervalMs: 300 },
      health: { enabled: true, host: '127.0.0.1', port: 0 },
      nodes,
    });
    const r = runAgent(['-c', cfg]);
    try {
      const listening = (await r.waitFor((l) => l.msg === 'health server listening', 'health server')) as { port: number };
      // every failure kind has a series from the start (no "absent" alerts before the first event)
      const early = await (await fetch(`http://127.0.0.1:${listening.port}/metrics`)).text();
      expect(early).toContain('vaultdist_agent_renew_failures_total{node="n99@127.0.0.1",kind="vault-unavailable"} 0');
      expect(early).toContain('vaultdist_agent_config_reloads_total{result="failed"} 0');
      // the fake ~1 s lag gauges of prom-client are gone, the real one is there
      expect(early).not.toContain('nodejs_eventloop_lag_p50_seconds');
      expect(early).toMatch(/vaultdist_agent_event_loop_lag_seconds \d/);
      // every node failed once (the start-up spread: within 1 s), then backs off ≥ 15 s
      await new Promise((res) => setTimeout(res, 2500));
      expect(r.count((l) => l.msg === 'renewal failed; no certificate yet')).toBe(100);
      expect(r.count((l) => l.msg === 'renewal failed; certificate expired')).toBe(0);
      const firstRetries = r.lines.filter((l) => l.msg === 'retrying after backoff').map((l) => l.backoffMs as number);
      expect(Math.min(...firstRetries)).toBeGreaterThanOrEqual(15000);
      expect(Math.max(...firstRetries) - Math.min(...firstRetries)).toBeGreaterThan(5000); // jittered from the first retry on
      const back = Date.now();
      await proxy.up();
      await r.waitFor(() => r.counted('credential set written') === 100, 'all 100 renewed', 20000);
      const recoveryMs = Date.now() - back;
      const at = (msg: string) => r.lines.filter((l) => l.msg === msg).map((l) => Date.parse(l.time as string) - back);
      process.stdout.write(`agent-lifecycle: Vault back → probe woke the loops after ${at('vault answers again; retrying now')[0]} ms, 100 sets written after ${Math.min(...at('credential set written'))}..${Math.max(...at('credential set written'))} ms (first backoff ≥ 15 s)\n`);
      expect(recoveryMs).toBeLessThan(12000);
      r.proc.kill('SIGTERM');
      expect(await r.exit).toBe(0);
      expect(r.stderr()).toBe('');
      expect(r.lines.filter((l) => typeof l.raw === 'string')).toEqual([]);
    } finally {
      r.proc.kill('SIGKILL');
      await proxy.close();
    }
  }, 90_000);

  it('SIGHUP with an unreadable CA file keeps the old config (log + metric); --check refuses it with the same check', async () => {
    const good = { vault: { address: v.addr, auth: { method: 'token', token: v.token } }, health: { enabled: true, host: '127.0.0.1', port: 0 }, nodes: [node('hup@127.0.0.1', join(tmp.dir, 'hup'))] };
    const cfgPath = writeConfig('hup', good);
    const r = runAgent(['-c', cfgPath]);
    try {
      const listening = (await r.waitFor((l) => l.msg === 'health server listening', 'health server')) as { port: number };
      await r.waitFor((l) => l.msg === 'credential set written', 'first renewal');
      const bad = { ...good, vault: { ...good.vault, address: v.tlsAddr, caCert: join(tmp.dir, 'no-such-ca.pem') } };
      writeFileSync(cfgPath, JSON.stringify(bad));
      r.proc.kill('SIGHUP');
      const failed = await r.waitFor((l) => l.msg === 'reloaded config failed its start-up checks; keeping the old one', 'failed reload');
      expect(String(failed.err)).toContain('no-such-ca.pem');
      expect(r.proc.exitCode).toBeNull();
      const base = `http://127.0.0.1:${listening.port}`;
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('vaultdist_agent_config_reloads_total{result="failed"} 1');
      // the old config keeps serving: the set it wrote is live
      expect(((await (await fetch(`${base}/healthz`)).json()) as { ready: boolean }).ready).toBe(true);

      const check = runAgent(['--check', '-c', cfgPath]);
      expect(await check.exit).toBe(10);
      expect(check.stderr()).toContain('no-such-ca.pem');

      writeFileSync(join(tmp.dir, 'plain'), '');
      const unwritable = runAgent(['--check', '-c', writeConfig('unwritable', { ...good, nodes: [node('w@127.0.0.1', join(tmp.dir, 'plain', 'w'))] })]);
      expect(await unwritable.exit).toBe(10);
      expect(unwritable.stderr()).toContain('nodes[0].dir: output directory');

      r.proc.kill('SIGTERM');
      expect(await r.exit).toBe(0);
      expect(r.stderr()).toBe('');
    } finally {
      r.proc.kill('SIGKILL');
    }
  }, 90_000);

  it('--once against a private-CA Vault without vault.caCert: vault-tls (exit 11), not a network error', async () => {
    const r = runAgent(['--once', '-c', writeConfig('tls', { vault: { address: v.tlsAddr, auth: { method: 'token', token: v.token } }, health: { enabled: false }, nodes: [node('tls@127.0.0.1', join(tmp.dir, 'tls'))] })]);
    expect(await r.exit).toBe(11);
    expect(r.lines.find((l) => l.msg === 'once: failed')).toMatchObject({ kind: 'vault-tls' });
    expect(String(r.lines.find((l) => l.msg === 'renewal failed; no certificate yet')?.hint)).toContain('vault.caCert');
  }, 60_000);

  it('started like npx starts it, the agent stops when its parent dies', async () => {
    const cfg = writeConfig('orphan', { vault: { address: 'http://127.0.0.1:9', auth: { method: 'token', token: 'x' } }, health: { enabled: false }, nodes: [node('orphan@127.0.0.1', join(tmp.dir, 'orphan'))] });
    // the parent: spawns the agent (npm exec sets npm_command=exec), prints its pid, then is SIGKILLed
    const logFile = join(tmp.dir, 'orphan.log');
    const script = `const fs = require('fs'); const out = fs.openSync(${JSON.stringify(logFile)}, 'w'); const c = require('child_process').spawn(process.execPath, [${JSON.stringify(BIN)}, '-c', ${JSON.stringify(cfg)}], { stdio: ['ignore', out, out], env: { ...process.env, npm_command: 'exec' } }); console.log(c.pid); setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((res) => parent.stdout!.once('data', (d: Buffer) => res(Number(d.toString().trim()))));
    const alive = () => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    };
    try {
      for (let i = 0; i < 100 && !readFileSync(logFile, 'utf8').includes('agent starting'); i++) await new Promise((res) => setTimeout(res, 100));
      expect(alive()).toBe(true);
      parent.kill('SIGKILL');
      const t0 = Date.now();
      while (alive() && Date.now() - t0 < 8000) await new Promise((res) => setTimeout(res, 100));
      expect(alive()).toBe(false);
      expect(readFileSync(logFile, 'utf8')).toContain('parent process exited; stopping');
    } finally {
      if (alive()) process.kill(pid, 'SIGKILL');
    }
  }, 90_000);
});
