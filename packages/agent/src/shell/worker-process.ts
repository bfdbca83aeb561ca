/**
 * The work process (issue #16, footprint): the long-lived agent process ("supervisor") keeps the
 * schedule, the node/CRL/registry state, health, metrics and logs; everything that needs node-vault,
 * axios, @peculiar/x509 or the config parser (yaml, valibot) runs in a child process forked on demand,
 * which exits once it has had no job for `idleExitMs`. An idle agent therefore holds none of those
 * modules (bench/footprint.ts measures it).
 *
 * Protocol (Node IPC, `serialization: 'advanced'`, so Dates, Sets and Maps arrive as they left):
 * - supervisor → worker: `init` (the config generation, the Vault logins to adopt), `job`, `abort`, `exit`;
 * - worker → supervisor: `log` (replayed into the supervisor's pino logger, so redaction and the one
 *   JSON stream stay), `metric` (an inc/set replayed on the supervisor's prom-client registry),
 *   `logins` (token hand-off: the worker's current Vault logins, adopted by the next worker so a
 *   respawn never logs in again), `done`.
 * Each job carries the state of the object it works on (a node's status and schedule, a registry
 * lease…) and returns the new state: the supervisor stays the single owner of that state, and a worker
 * that dies loses nothing but the job in flight (reported as an `internal` failure, then retried by
 * the usual backoff).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { AgentError, classifyError } from '../errors.js';
import type { FailureKind } from '../core/state.js';
import type { Clock, Logger } from '../ports.js';
import type { AgentMetrics } from './metrics.js';
import type { LoginLease } from '@vaultdist/sdk/internal';

/** A Vault login's lease, handed from one worker to the next: the SDK's (`binding`: cert auth's certificate digest). */
export type { LoginLease };

/** What a job names: the operation and the object (node) it works on. State travels with it. */
export type WorkJob =
  | { op: 'node.start' | 'node.attempt'; node: string; state: unknown; force?: boolean | undefined }
  | { op: 'crl.load' | 'crl.refresh'; node: string; state: unknown }
  | { op: 'registry.load' | 'registry.tick' | 'registry.deregister'; node: string; state: unknown; servedSerial?: string | undefined }
  | { op: 'token.lookup' }
  | { op: 'token.renew'; increment: number }
  | { op: 'probe' }
  | { op: 'preflight'; mode: 'start' | 'check' }
  | { op: 'config.load'; path: string | undefined; env: Record<string, string | undefined>; flags: unknown };

/** An error as it crosses the process boundary (the supervisor rebuilds an AgentError of the same kind). */
export interface WireError {
  kind: FailureKind;
  message: string;
  node?: string | undefined;
  problem?: string | undefined;
}

export type ToWorker =
  | { t: 'init'; config: unknown; logins: Record<string, LoginLease> }
  | { t: 'job'; id: number; job: WorkJob; monotonicMs: number }
  | { t: 'abort'; id: number }
  | { t: 'exit' };

export type FromWorker =
  | { t: 'log'; bindings: Record<string, unknown>[]; level: 'debug' | 'info' | 'warn' | 'error' | 'fatal'; meta: unknown; msg: string }
  | { t: 'metric'; name: string; method: 'inc' | 'set'; labels: Record<string, string>; value: number | undefined }
  | { t: 'logins'; logins: Record<string, LoginLease> }
  | { t: 'done'; id: number; ok: true; value: unknown }
  | { t: 'done'; id: number; ok: false; error: WireError; aborted: boolean };

/** Runs jobs somewhere: the supervisor's handle on its work process (or a test double). */
export interface RemoteWork {
  run<T>(job: WorkJob, signal?: AbortSignal): Promise<T>;
}

export interface WorkerProcessOptions {
  /** The worker's entry module (dist/worker.js). */
  entry: string;
  /** The config generation every worker of this pool is started with (undefined: config loading only). */
  config: unknown;
  logger: Logger;
  metrics?: AgentMetrics | undefined;
  clock: Pick<Clock, 'monotonicMs'>;
  /** A worker without a job exits after this long. */
  idleExitMs: number;
  /** Shared across pools (config generations): the logins the next worker adopts. */
  logins: Map<string, LoginLease>;
  /** The node binary. @default process.execPath (tests: one that cannot start) */
  execPath?: string | undefined;
}

interface Pending {
  /** The worker running the job (a worker that exits fails its own jobs, not a successor's). */
  child: ChildProcess;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** An error as the worker sends it: its kind, message, node and (rejected answers) problem. */
export function toWire(e: unknown, node?: string): WireError {
  const problem = (e as { problem?: unknown } | undefined)?.problem;
  return {
    kind: classifyError(e),
    message: e instanceof Error ? e.message : String(e),
    node: (e instanceof AgentError ? e.node : undefined) ?? node,
    ...(typeof problem === 'string' ? { problem } : {}),
  };
}

/** A worker object whose state travels with its jobs (NodeWorker, CrlWorker, RegistryWorker). */
export interface Stateful<S> {
  snapshot(): S;
  restore(s: S): void;
}

/** What a stateful job answers: the object's new state and the operation's value. */
export interface StatefulAnswer<S, T> {
  state: S;
  value: T;
}

/**
 * Runs `job` on `object`'s state in the work process and takes the new state back (the supervisor
 * stays the one owner of it): the worker side restores, runs the operation and answers
 * `{ state: snapshot(), value }`.
 */
export async function runWithState<S, T>(remote: RemoteWork, object: Stateful<S>, job: WorkJob, signal?: AbortSignal): Promise<T> {
  const r = await remote.run<StatefulAnswer<S, T>>({ ...job, state: object.snapshot() } as WorkJob, signal);
  object.restore(r.state);
  return r.value;
}

/** Rebuilds a worker's error on this side: same kind (→ same exit code and metrics label), same message. */
export function fromWire(e: WireError): AgentError {
  const err = new AgentError(e.kind, e.message, { node: e.node });
  if (e.problem) Object.assign(err, { problem: e.problem });
  return err;
}

/**
 * One config generation's work process: forked on the first job, reused while jobs keep coming,
 * stopped after `idleExitMs` without one (or by `close()`).
 */
export class WorkerProcess implements RemoteWork {
  #o: WorkerProcessOptions;
  #child: ChildProcess | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;
  /**
   * How long an idle worker stays: `idleExitMs`, doubled (up to a minute) each time a worker is
   * needed again soon after one exited: jobs that keep coming (the outage probe every 2 s, a frequent
   * loop) then reuse one worker instead of paying a fork (~0.4 s of CPU) each time.
   */
  #lingerMs: number;
  #lastExitMs = -Infinity;
  /** Workers forked so far (tests and the footprint bench read it). */
  spawned = 0;

  constructor(o: WorkerProcessOptions) {
    this.#o = o;
    this.#lingerMs = o.idleExitMs;
  }

  /** The current idle linger (see `#lingerMs`). */
  get lingerMs(): number {
    return this.#lingerMs;
  }

  /** The live worker's pid, if one runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #spawn(): ChildProcess {
    const soon = performance.now() - this.#lastExitMs < Math.max(10_000, 5 * this.#o.idleExitMs);
    this.#lingerMs = soon ? Math.min(Math.max(2 * this.#lingerMs, 1000), 60_000) : this.#o.idleExitMs;
    const child = fork(this.#o.entry, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // the supervisor's node flags (e.g. --use-openssl-ca, which changes the TLS trust towards Vault) apply to the work too
      ...(this.#o.execPath ? { execPath: this.#o.execPath } : {}),
    });
    this.spawned++;
    this.#o.metrics?.workProcesses.inc();
    // an idle worker never keeps the agent alive (its IPC channel is referenced only while jobs run)
    child.unref();
    child.on('message', (m: FromWorker) => this.#onMessage(m));
    child.on('exit', (code, signal) => this.#lost(child, `exited (${signal ?? `code ${code}`}) during a job`));
    child.on('error', (e) => {
      this.#o.logger.error({ err: e.message }, 'work process error');
      // a fork that failed (EAGAIN, ENOMEM, no node binary) emits no 'exit': its jobs fail here
      if (child.pid === undefined || !child.connected) this.#lost(child, `could not run: ${e.message}`);
    });
    this.#send(child, { t: 'init', config: this.#o.config, logins: Object.fromEntries(this.#o.logins) });
    return child;
  }

  /** `child` is gone: it is no longer used, and each of its jobs fails (internal); the loops back off and retry. */
  #lost(child: ChildProcess, why: string): void {
    if (this.#child === child) this.#child = undefined;
    for (const [id, p] of [...this.#pending.entries()].filter(([, x]) => x.child === child)) this.#fail(id, new AgentError('internal', `the agent's work process ${why}`));
  }

  /** Takes job `id` out of the pending set (and its abort listener off its signal). */
  #take(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    return p;
  }

  #fail(id: number, e: unknown): void {
    this.#take(id)?.reject(e);
  }

  /** Sends a message; one that cannot be sent (a channel already closed) counts as the worker lost. */
  #send(child: ChildProcess, m: ToWorker): void {
    try {
      if (!child.connected) throw new Error('no IPC channel');
      child.send(m, (e) => {
        if (e) this.#lost(child, `could not be reached: ${e.message}`);
      });
    } catch (e) {
      this.#lost(child, `could not be reached: ${(e as Error).message}`);
    }
  }

  #onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'log': {
        let l = this.#o.logger;
        for (const b of m.bindings) l = l.child ? l.child(b) : l;
        const fn = m.level === 'fatal' ? (l.fatal ?? l.error) : l[m.level];
        fn.call(l, m.meta as Record<string, unknown>, m.msg);
        return;
      }
      case 'metric': {
        const metric = (this.#o.metrics as unknown as Record<string, { inc(l: object, v?: number): void; set(l: object, v: number): void } | undefined> | undefined)?.[m.name];
        if (!metric) return;
        if (m.method === 'inc') metric.inc(m.labels, m.value);
        else metric.set(m.labels, m.value ?? 0);
        return;
      }
      case 'logins':
        for (const [k, v] of Object.entries(m.logins)) this.#o.logins.set(k, v);
        return;
      case 'done': {
        const p = this.#take(m.id);
        if (!p) return;
        if (m.ok) p.resolve(m.value);
        else if (m.aborted && p.signal?.aborted) p.reject(p.signal.reason);
        else p.reject(fromWire(m.error));
        this.#settled();
        return;
      }
    }
  }

  /** A job ended: once none is left, the worker is stopped (closed pool) or left to its idle timer. */
  #settled(): void {
    if (this.#pending.size || !this.#child) return;
    if (this.#closed) return this.#stopChild();
    this.#child.channel?.unref();
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => this.#stopChild(), this.#lingerMs);
    this.#idle.unref();
  }

  #stopChild(): void {
    const c = this.#child;
    if (!c || this.#pending.size) return;
    this.#child = undefined;
    this.#lastExitMs = performance.now();
    if (c.connected) c.send({ t: 'exit' } satisfies ToWorker, () => {});
    // a worker that does not go within 5 s is killed (it holds no state the supervisor needs)
    const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
    kill.unref();
    c.once('exit', () => clearTimeout(kill));
  }

  run<T>(job: WorkJob, signal?: AbortSignal): Promise<T> {
    if (this.#closed) return Promise.reject(new AgentError('internal', 'the work process pool is closed'));
    signal?.throwIfAborted();
    clearTimeout(this.#idle);
    const child = (this.#child ??= this.#spawn());
    child.channel?.ref();
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = signal ? () => this.#send(child, { t: 'abort', id }) : undefined;
      if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, { child, resolve: resolve as (v: unknown) => void, reject, signal, onAbort });
      try {
        // serialized here, synchronously: a state that cannot be cloned fails this job alone (it
        // would otherwise stay pending for ever); a lost channel fails it too ('exit' fails the rest)
        child.send({ t: 'job', id, job, monotonicMs: this.#o.clock.monotonicMs() } satisfies ToWorker, (e) => {
          if (e) this.#lost(child, `could not be reached: ${e.message}`);
        });
      } catch (e) {
        this.#fail(id, new AgentError('internal', `work process job ${job.op} cannot be sent: ${(e as Error).message}`));
        this.#settled();
      }
    });
  }

  /** Stops the worker once its jobs are done (a new config generation, the agent stopping). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#settled();
  }
}
