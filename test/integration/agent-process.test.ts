/**
 * The agent as a child process (`packages/agent/bin.js`, the built output): exit codes of the
 * documented table, `--once`, start-up from the files on disk, SIGHUP config reload (an invalid config
 * is rejected and the old one kept), graceful SIGTERM, the shutdown deadline and the second signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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
}

function runAgent(args: string[], env: Record<string, string> = {}): Run {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ raw: line });
      }
      waiters.forEach((w) => w());
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return {
    proc,
    lines,
    stderr: () => err,
    exit,
    waitFor(pred, what, timeoutMs = 30000) {
      return new Promise((res, rej) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            clearTimeout(t);
            res(hit);
            return true;
          }
          return false;
        };
        const t = setTimeout(() => rej(new Error(`${what}: not logged within ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${err}`)), timeoutMs);
        if (!check()) waiters.push(() => void check());
        void exit.then(() => setTimeout(() => check() || (clearTimeout(t), rej(new Error(`${what}: agent exited; log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${err}`))), 50));
      });
    },
  };
}

describe('vaultdist-agent child process', () => {
  const pki = useTestPki({ role: { ttl: '1h' } });
  const tmp = useTestdir();
  const v = testVault();

  const baseConfig = (name: string, over: Record<string, unknown> = {}, node: Record<string, unknown> = {}) => ({
    vault: { address: v.addr, auth: { method: 'token', token: v.token } },
    health: { enabled: false },
    ...over,
    nodes: [{ name: 'foo@127.0.0.1', dir: join(tmp.dir, name), mount: pki.mount, role: pki.role, reload: { strategy: 'command', command: ['true'] }, verify: { enabled: false }, ...node }],
  });
  const writeConfig = (name: string, cfg: unknown) => {
    const p = join(tmp.dir, `${name}.json`);
    writeFileSync(p, JSON.stringify(cfg));
    return p;
  };

  it('exit 2 on a usage error, 10 on an invalid config naming the key', async () => {
    const usage = runAgent(['--frobnicate']);
    expect(await usage.exit).toBe(2);
    expect(usage.stderr()).toContain('unknown option "--frobnicate"');

    const bad = baseConfig('bad', {}, { reload: { strategy: 'signal', pidFile: '/run/x.pid' } });
    const r = runAgent(['--check', '--config', writeConfig('bad', bad)]);
    expect(await r.exit).toBe(10);
    expect(r.stderr()).toContain('nodes[0].reload.handlerInstalled: must be true');
    expect(r.lines.find((l) => l.msg === 'config invalid')).toBeDefined();
  });

  it('--once: 14 when the output directory is not writable, 11 when Vault is unreachable, 12 on a bad token', async () => {
    writeFileSync(join(tmp.dir, 'plainfile'), '');
    const unwritable = runAgent(['--once', '-c', writeConfig('unwritable', baseConfig('plainfile/foo'))]);
    expect(await unwritable.exit).toBe(14);
    expect(unwritable.lines.find((l) => l.msg === 'once: failed')).toMatchObject({ kind: 'write' });

    const down = runAgent(['--once', '-c', writeConfig('down', baseConfig('down', { vault: { address: 'http://127.0.0.1:9', auth: { method: 'token', token: 'x' } } }))]);
    expect(await down.exit).toBe(11);
    expect(down.lines.find((l) => l.msg === 'once: failed')).toMatchObject({ kind: 'vault-unreachable' });

    const denied = runAgent(['--once', '-c', writeConfig('denied', baseConfig('denied', { vault: { address: v.addr, auth: { method: 'token', token: 'not-a-token' } } }))]);
    expect(await denied.exit).toBe(12);
    expect(denied.lines.find((l) => l.msg === 'once: failed')).toMatchObject({ kind: 'auth' });
    // the token never appears in the logs
    expect(JSON.stringify(denied.lines)).not.toContain('not-a-token');
  });

  it('--once renews, a second --once reuses the set on disk, --once --force renews again (exit 0)', async () => {
    const cfg = writeConfig('once', baseConfig('once'));
    const first = runAgent(['--once', '-c', cfg]);
    expect(await first.exit).toBe(0);
    const s1 = first.lines.find((l) => l.msg === 'once: done') as { action: string; serial: string };
    expect(s1.action).toBe('renewed');
    const bundle1 = readFileSync(join(tmp.dir, 'once', 'bundle.pem'), 'utf8');

    const second = runAgent(['--once', '-c', cfg]);
    expect(await second.exit).toBe(0);
    expect(second.lines.find((l) => l.msg === 'using the credential set on disk')).toMatchObject({ serial: s1.serial });
    expect(second.lines.find((l) => l.msg === 'once: done')).toMatchObject({ action: 'none', serial: s1.serial });
    expect(readFileSync(join(tmp.dir, 'once', 'bundle.pem'), 'utf8')).toBe(bundle1);

    const forced = runAgent(['--once', '--force', '-c', cfg]);
    expect(await forced.exit).toBe(0);
    const s3 = forced.lines.find((l) => l.msg === 'once: done') as { action: string; serial: string };
    expect(s3.action).toBe('renewed');
    expect(s3.serial).not.toBe(s1.serial);
  });

  it('daemon: health and metrics, SIGHUP keeps the old config when the new one is invalid, SIGTERM exits 0', async () => {
    const cfgPath = writeConfig('daemon', baseConfig('daemon', { health: { enabled: true, host: '127.0.0.1', port: 0 } }));
    const r = runAgent(['-c', cfgPath]);
    try {
      const listening = (await r.waitFor((l) => l.msg === 'health server listening', 'health server')) as { port: number };
      await r.waitFor((l) => l.msg === 'credential set written', 'first renewal');
      const base = `http://127.0.0.1:${listening.port}`;
      let health = await fetch(`${base}/healthz`);
      for (let i = 0; i < 50 && health.status !== 200; i++) {
        await new Promise((res) => setTimeout(res, 100));
        health = await fetch(`${base}/healthz`);
      }
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ live: true, ready: true });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/vaultdist_agent_cert_not_after_seconds\{node="foo@127.0.0.1"\} \d+/);
      expect(metrics).toMatch(/vaultdist_agent_renewals_total\{node="foo@127.0.0.1"\} 1/);
      expect(metrics).toMatch(/vaultdist_agent_last_renew_success_timestamp_seconds\{node="foo@127.0.0.1"\} \d+/);

      // an invalid config: rejected, the agent keeps running with the old one
      writeFileSync(cfgPath, '{"nodes": [{"name": "nope"}]}');
      r.proc.kill('SIGHUP');
      const rejected = await r.waitFor((l) => l.msg === 'reloaded config invalid; keeping the old one', 'invalid reload');
      expect(JSON.stringify(rejected.errors)).toContain('nodes[0].dir: is required');
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('vaultdist_agent_config_reloads_total{result="rejected"} 1');

      // a valid config is applied; the set on disk is reused (no second renewal)
      writeFileSync(cfgPath, JSON.stringify(baseConfig('daemon', { health: { enabled: true, host: '127.0.0.1', port: 0 }, log: { level: 'debug' } })));
      r.proc.kill('SIGHUP');
      await r.waitFor((l) => l.msg === 'config reloaded', 'valid reload');
      await r.waitFor((l) => l.msg === 'using the credential set on disk', 'restart from disk');
      expect(r.lines.filter((l) => l.msg === 'credential set written')).toHaveLength(1);

      r.proc.kill('SIGTERM');
      expect(await r.exit).toBe(0);
      expect(r.lines.some((l) => l.msg === 'stopped')).toBe(true);
    } finally {
      r.proc.kill('SIGKILL');
    }
  });

  it('exits 1 when the shutdown deadline passes, and on a second signal', async () => {
    // a reload command that ignores SIGTERM keeps the renewal busy
    const slow = { reload: { strategy: 'command', command: ['sh', '-c', 'trap "" TERM; sleep 4'], timeoutMs: 60000 } };
    for (const mode of ['deadline', 'second-signal'] as const) {
      const r = runAgent(['-c', writeConfig(`slow-${mode}`, baseConfig(`slow-${mode}`, { shutdownTimeoutMs: mode === 'deadline' ? 300 : 60000 }, slow))]);
      try {
        await r.waitFor((l) => l.msg === 'credential set written', 'renewal');
        r.proc.kill('SIGTERM');
        if (mode === 'second-signal') {
          await r.waitFor((l) => l.msg === 'stopping', 'stopping');
          r.proc.kill('SIGINT');
        }
        expect(await r.exit).toBe(1);
        expect(r.lines.some((l) => l.msg === (mode === 'deadline' ? 'shutdown deadline passed; exiting' : 'second signal; exiting now'))).toBe(true);
      } finally {
        r.proc.kill('SIGKILL');
      }
    }
  });
});
