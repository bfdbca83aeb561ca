/**
 * The agent's ports (house style §7): small interfaces the shell does its effects through. Production
 * defaults are in `defaultPorts()`; tests pass fakes (a recording clock, a failing file system) instead
 * of mocking modules.
 */
import { spawn } from 'node:child_process';
import { constants as C, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StructuredLogger } from '@vaultdist/sdk/internal';
import { delay, writeFileAtomic } from '@vaultdist/sdk/base';

export interface Clock {
  /** Wall clock (certificate validity). */
  now(): Date;
  /** Monotonic milliseconds (durations, deadlines). */
  monotonicMs(): number;
  /** Sleeps `ms`; rejects with `signal.reason` when aborted. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface Random {
  /** [0, 1) */
  next(): number;
}

/** Only what the agent reads and checks itself (the credential writer has its own port, `WriterFs`). */
export interface Fs {
  readFile(path: string): Promise<string>;
  /** Throws when `dir` cannot be created or written (creates and removes a probe file). */
  checkWritable(dir: string): Promise<void>;
  /** `--check`: throws unless `dir`, or its nearest existing parent, is a writable directory; creates nothing. */
  checkWritableParent?(dir: string): Promise<void>;
  writeFileAtomic(path: string, data: string, mode: number): Promise<boolean>;
}

/** pino-compatible four-method logger, `(meta, msg)` with fixed message strings: the SDK's `StructuredLogger`. */
export type Logger = StructuredLogger;

/** A logger that drops everything (the default when none is given). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ProcessControl {
  /** process.kill(pid, signal). */
  kill(pid: number, signal: NodeJS.Signals | 0): void;
  /** Runs argv (no shell), kills it (SIGTERM, then SIGKILL after 2 s) when `timeoutMs` passes or `signal` aborts. */
  run(argv: string[], o: { env?: Record<string, string>; timeoutMs: number; signal?: AbortSignal; cwd?: string }): Promise<RunResult>;
}

export interface AgentPorts {
  clock: Clock;
  random: Random;
  fs: Fs;
  logger: Logger;
  process: ProcessControl;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
  sleep: (ms, signal) => delay(ms, signal),
};

export const mathRandom: Random = { next: () => Math.random() };

export const nodeFs: Fs = {
  readFile: (p) => fsp.readFile(p, 'utf8'),
  async checkWritable(dir) {
    await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
    const probe = join(dir, `.vaultdist-write-check-${process.pid}`);
    const fh = await fsp.open(probe, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o600);
    try {
      await fh.writeFile('ok');
      await fh.sync();
    } finally {
      await fh.close();
      await fsp.rm(probe, { force: true });
    }
  },
  async checkWritableParent(dir) {
    let d = dir;
    for (;;) {
      try {
        const st = await fsp.stat(d);
        if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
        await fsp.access(d, C.W_OK | C.X_OK);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw e;
        d = dirname(d);
      }
    }
  },
  // the SDK's one atomic writer; the node directory may be a symlink an operator made
  writeFileAtomic: (path, data, mode) => writeFileAtomic(path, data, mode, { symlinkedParent: 'follow' }),
};

export const nodeProcess: ProcessControl = {
  kill: (pid, signal) => {
    process.kill(pid, signal);
  },
  run(argv, o) {
    return new Promise((resolve, reject) => {
      const [cmd, ...args] = argv;
      if (!cmd) return reject(new Error('empty command'));
      const child = spawn(cmd, args, { env: { ...process.env, ...o.env }, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-65536)));
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-65536)));
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, o.timeoutMs);
      const onAbort = () => stop();
      o.signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (e) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        reject(e);
      });
      child.once('close', (code, sig) => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        o.signal?.removeEventListener('abort', onAbort);
        resolve({ code, signal: sig, stdout, stderr, timedOut });
      });
    });
  },
};
