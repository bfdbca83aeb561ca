/**
 * The daemon's work process (issue #16, footprint): the long-lived agent process ("supervisor") keeps
 * the schedule, state, health, metrics and logs; the Vault, X.509 and config work runs in a child
 * forked on demand, which exits once idle. Checked on the real built agent against the real OpenBao,
 * from Node's own module loader trace (NODE_DEBUG=esm,module prints every module a process loads,
 * with its pid): which modules the supervisor loaded, which the work processes loaded, and that the
 * work was done (a renewed set, a CRL directory, metrics and health fed by the work process). With
 * `worker.mode: inline` (everything in one process, as before) the same check counts the heavy modules
 * in the agent process, so the assertion is not vacuous (the config itself is parsed by a one-shot child
 * in both modes: the mode is part of the config). A work process SIGKILLed in the middle of a renewal
 * costs one `internal` failure; the retry, in a new work process, finishes it. The resident-memory target itself is a
 * benchmark (bench/footprint.ts), not a timed assertion.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids } from '../../scripts/vault-dev/src/index.js';
import { testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const BIN = join(ROOT, 'packages', 'agent', 'bin.js');

/** Modules the supervisor must never load: the Vault client, the X.509 library, the config parser, the SDK index. */
const HEAVY = [/\/node-vault\//, /\/axios\//, /\/@peculiar\/x509\//, /\/yaml\//, /\/valibot\//, /packages\/sdk\/dist\/index\.js$/, /packages\/sdk\/dist\/client\.js$/, /packages\/agent\/dist\/config\/schema\.js$/];

interface Trace {
  /** pid → module specifiers/URLs it loaded. */
  byPid: Map<number, Set<string>>;
}

function parseTrace(stderr: string): Trace {
  const byPid = new Map<number, Set<string>>();
  for (const line of stderr.split('\n')) {
    // ESM: "ESM <pid>: Translating <Kind> file:///…"; CommonJS: "MODULE <pid>: load \"/abs/path\" for module …"
    const esm = /^ESM (\d+): Translating \w+ (\S+)/.exec(line);
    const cjs = /^MODULE (\d+): load "([^"]+)" for module/.exec(line);
    const m = esm ?? cjs;
    if (!m) continue;
    const pid = Number(m[1]);
    if (!byPid.has(pid)) byPid.set(pid, new Set());
    byPid.get(pid)!.add(m[2]!.replace(/^file:\/\//, ''));
  }
  return { byPid };
}

const heavyIn = (mods: Set<string> | undefined) => [...(mods ?? [])].filter((f) => HEAVY.some((re) => re.test(f)));


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('agent work process', () => {
  const pki = useTestPki();
  const tmp = useTestdir('vaultdist-work-');

  async function runDaemon(name: string, mode: 'process' | 'inline') {
    const v = testVault();
    const tokenFile = join(tmp.dir, `${name}.token`);
    writeFileSync(tokenFile, v.token, { mode: 0o600 });
    const dir = join(tmp.dir, name);
    const cfg = {
      vault: { address: v.addr, auth: { method: 'token', tokenFile } },
      health: { enabled: true, host: '127.0.0.1', port: 0 },
      worker: { mode, idleExitMs: 300 },
      nodes: [{ name: `${name}@127.0.0.1`, dir, mount: pki.mount, role: pki.role, ttl: '1h', reload: { strategy: 'command', command: ['true'] }, verify: { enabled: false }, crl: { enabled: true } }],
    };
    const cfgPath = join(tmp.dir, `${name}.json`);
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const proc = spawn(process.execPath, [BIN, '--config', cfgPath], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', NODE_DEBUG: 'esm,module' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    try {
      const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const until = async (pred: () => boolean, what: string) => {
        for (const end = Date.now() + 20_000; Date.now() < end; await sleep(50)) if (pred()) return;
        throw new Error(`${what}: not within 20 s; log:\n${out}`);
      };
      await until(() => lines().some((l) => l.msg === 'health server listening'), 'health server');
      const port = lines().find((l) => l.msg === 'health server listening')!.port as number;
      // the work: a renewed set, a CRL directory
      await until(() => existsSync(join(dir, 'bundle.pem')) && lines().some((l) => l.msg === 'CRL directory updated'), 'renewal and CRL refresh');
      // idle: the work process has exited (process mode), the agent is one process again
      await until(() => childPids(proc.pid!).length === 0, 'work process exit');
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ready: boolean; nodes: { cert?: { serial?: string } }[] };
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      proc.kill('SIGTERM');
      expect(await exit).toBe(0);
      return { pid: proc.pid!, trace: parseTrace(err), health, metrics, lines: lines() };
    } finally {
      proc.kill('SIGKILL');
    }
  }

  it('process mode: the supervisor loads no Vault, X.509 or config-parser module; the work process does the work', async () => {
    const r = await runDaemon('split', 'process');
    const supervisor = r.trace.byPid.get(r.pid);
    expect(supervisor?.size).toBeGreaterThan(20); // the trace works: the supervisor's own modules are listed
    expect(heavyIn(supervisor)).toEqual([]);
    // the work ran elsewhere: other pids loaded node-vault and @peculiar/x509
    const workers = [...r.trace.byPid.entries()].filter(([pid]) => pid !== r.pid);
    expect(workers.length).toBeGreaterThanOrEqual(1);
    const workerHeavy = workers.flatMap(([, mods]) => heavyIn(mods));
    expect(workerHeavy.some((f) => /\/node-vault\//.test(f))).toBe(true);
    expect(workerHeavy.some((f) => /\/@peculiar\/x509\//.test(f))).toBe(true);
    // and its results reached the supervisor: health, metrics (replayed) and logs (forwarded, one stream)
    expect(r.health.ready).toBe(true);
    expect(r.metrics).toMatch(/^vaultdist_agent_renewals_total\{node="split@127\.0\.0\.1"\} 1$/m);
    expect(r.metrics).toMatch(/^vaultdist_agent_crl_refreshes_total\{node="split@127\.0\.0\.1"\} [1-9]/m);
    expect(Number(/^vaultdist_agent_work_processes_started_total (\d+)$/m.exec(r.metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(r.metrics).toMatch(/^vaultdist_agent_process_resident_memory_bytes \d+/m);
    expect(new Set(r.lines.map((l) => l.pid))).toEqual(new Set([r.pid]));
    expect(r.lines.find((l) => l.msg === 'credential set written')).toMatchObject({ component: 'renew-loop', node: 'split@127.0.0.1' });
  });

  it('a work process killed mid-job: one internal failure, the next attempt (a new work process) reloads the set it wrote, no second certificate', async () => {
    const v = testVault();
    const tokenFile = join(tmp.dir, 'killed.token');
    writeFileSync(tokenFile, v.token, { mode: 0o600 });
    const dir = join(tmp.dir, 'killed');
    // the reload command hangs the first time (the work process is killed then), returns at once later
    const marker = join(tmp.dir, 'killed.first-reload');
    const reload = join(tmp.dir, 'killed-reload.sh');
    writeFileSync(reload, `#!/bin/sh\nif [ ! -e '${marker}' ]; then : > '${marker}'; exec sleep 8; fi\nexit 0\n`, { mode: 0o755 });
    const cfgPath = join(tmp.dir, 'killed.json');
    writeFileSync(
      cfgPath,
      JSON.stringify({
        vault: { address: v.addr, auth: { method: 'token', tokenFile } },
        health: { enabled: true, host: '127.0.0.1', port: 0 },
        worker: { mode: 'process' },
        schedule: { backoff: { initialMs: 200, maxMs: 1000 } },
        nodes: [{ name: 'killed@127.0.0.1', dir, mount: pki.mount, role: pki.role, ttl: '1h', reload: { strategy: 'command', command: [reload] }, verify: { enabled: false } }],
      }),
    );
    const proc = spawn(process.execPath, [BIN, '--config', cfgPath], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const until = async (pred: () => boolean, what: string) => {
      for (const end = Date.now() + 20_000; Date.now() < end; await sleep(50)) if (pred()) return;
      throw new Error(`${what}: not within 20 s; log:\n${out}`);
    };
    try {
      await until(() => existsSync(marker), 'first reload started');
      const workers = childPids(proc.pid!);
      expect(workers).toHaveLength(1);
      process.kill(workers[0]!, 'SIGKILL');
      await until(() => lines().some((l) => l.kind === 'internal'), 'the internal failure');
      // (the hung first reload never logged "reload triggered": this one is the retry's, in a new work process)
      await until(() => lines().some((l) => l.msg === 'reload triggered'), 'a reload after the kill');
      const port = lines().find((l) => l.msg === 'health server listening')!.port as number;
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^vaultdist_agent_renew_failures_total\{node="killed@127\.0\.0\.1",kind="internal"\} 1$/m);
      expect(Number(/^vaultdist_agent_work_processes_started_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
      // the set the killed work process wrote is the one reloaded: no second certificate
      const written = lines().filter((l) => l.msg === 'credential set written');
      expect(written).toHaveLength(1);
      expect(lines().find((l) => l.msg === 'reload triggered')!.serial).toBe(written[0]!.serial);
      const failed = lines().find((l) => l.kind === 'internal')!;
      expect(String(failed.err)).toMatch(/work process exited \(SIGKILL\) during a job/);
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ready: boolean };
      expect(health.ready).toBe(true);
      expect(existsSync(join(dir, 'bundle.pem'))).toBe(true);
      proc.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('inline mode (the pre-split agent): the same trace finds them in the agent process', async () => {
    const r = await runDaemon('inline', 'inline');
    const heavy = heavyIn(r.trace.byPid.get(r.pid));
    expect(heavy.some((f) => /\/node-vault\//.test(f))).toBe(true);
    expect(heavy.some((f) => /\/@peculiar\/x509\//.test(f))).toBe(true);
    expect(heavy.some((f) => /packages\/sdk\/dist\/index\.js$/.test(f))).toBe(true);
    // (the config is still parsed by a one-shot child: the mode is in the config) no work process
    expect(r.metrics).toMatch(/^vaultdist_agent_work_processes_started_total 0$/m);
    expect(r.health.ready).toBe(true);
  });
});
