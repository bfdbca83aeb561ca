/**
 * Debian's haproxy (installed by scripts/setup) in front of a raft cluster, for the HA tests'
 * load-balancer case (issue #14). TCP mode, round robin over every server whose
 * `GET /v1/sys/health?standbyok=true` answers 200 (active or unsealed standby; standbys forward), checked
 * every 200 ms. TCP mode is the hard case for a client: a keep-alive connection stays on the backend it
 * reached, so only a client that drops its connection on failure gets a healthy backend.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './index.js';

export interface Haproxy {
  /** e.g. `http://127.0.0.10:40001` */
  addr: string;
  pid: number;
  stop(): Promise<void>;
}

/** Locates haproxy: $VAULTDIST_HAPROXY, /usr/sbin/haproxy, then PATH. */
export function findHaproxy(): string | undefined {
  if (process.env.VAULTDIST_HAPROXY) return process.env.VAULTDIST_HAPROXY;
  if (existsSync('/usr/sbin/haproxy')) return '/usr/sbin/haproxy';
  return undefined;
}

export async function startHaproxy(backends: { host: string; port: number }[], o: { host?: string; checkIntervalMs?: number } = {}): Promise<Haproxy> {
  const bin = findHaproxy();
  if (!bin) throw new Error('haproxy not found: run scripts/setup (it installs Debian\'s haproxy)');
  const host = o.host ?? '127.0.0.10';
  const port = await freePort(host);
  const dir = await mkdtemp(join(tmpdir(), 'vaultdist-haproxy-'));
  const inter = o.checkIntervalMs ?? 200;
  const cfg = [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend vault',
    `  bind ${host}:${port}`,
    '  default_backend servers',
    'backend servers',
    '  balance roundrobin',
    '  option httpchk GET /v1/sys/health?standbyok=true',
    '  http-check expect status 200',
    `  default-server inter ${inter}ms fall 2 rise 2`,
    ...backends.map((b, i) => `  server s${i + 1} ${b.host}:${b.port} check`),
    '',
  ].join('\n');
  const cfgPath = join(dir, 'haproxy.cfg');
  await writeFile(cfgPath, cfg);
  const logPath = join(dir, 'haproxy.log');
  const out = await import('node:fs').then((fs) => fs.openSync(logPath, 'a'));
  const child: ChildProcess = spawn(bin, ['-db', '-f', cfgPath], { stdio: ['ignore', out, out] });
  process.on('exit', () => child.kill('SIGKILL'));
  const addr = `http://${host}:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${await readFile(logPath, 'utf8').catch(() => '')}`);
    try {
      const r = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(1000) });
      if (r.status < 500) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`haproxy at ${addr} does not forward to a healthy backend`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    addr,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
