/**
 * Entry of the agent's work process (`shell/worker-process.ts` has the design and the protocol).
 * Forked by the supervisor with an IPC channel; does nothing without one. Everything that needs
 * node-vault, axios, @peculiar/x509, yaml or valibot runs here: the config loader, the start-up
 * checks, and each node's, CRL's, registry's and token's Vault and file work, on the objects of
 * `createAgent` (the same code as in-process execution), with the state the supervisor sends.
 */
import type { AgentConfig } from './config/schema.js';
import type { ConfigFlags, Env } from './config/resolve.js';
import { createAgent, type WorkerAgent } from './agent.js';
import { AgentError } from './errors.js';
import type { Clock, Logger } from './ports.js';
import type { AgentMetrics } from './shell/metrics.js';
import { toWire, type FromWorker, type LoginLease, type ToWorker } from './shell/worker-process.js';
import { systemClock } from './ports.js';

const send = (m: FromWorker): void => {
  if (process.connected) process.send!(m);
};

/** A logger whose lines are written by the supervisor (its pino: one stream, its redaction). */
function forwardingLogger(bindings: Record<string, unknown>[] = []): Logger {
  const at = (level: 'debug' | 'info' | 'warn' | 'error' | 'fatal') => (meta: Record<string, unknown>, msg: string) => send({ t: 'log', bindings, level, meta, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: (b: Record<string, unknown>) => forwardingLogger([...bindings, b]) };
}

/** Metrics whose every inc/set is replayed on the supervisor's registry. */
function forwardingMetrics(): AgentMetrics {
  const metric = (name: string) => ({
    inc: (labels: Record<string, string>, value?: number) => send({ t: 'metric', name, method: 'inc', labels, value }),
    set: (labels: Record<string, string>, value: number) => send({ t: 'metric', name, method: 'set', labels, value }),
  });
  const cache = new Map<string, unknown>();
  return new Proxy({} as AgentMetrics, {
    get(_, prop) {
      if (prop === 'close') return () => {};
      if (prop === 'registry' || prop === 'eventLoopLag' || typeof prop !== 'string') return undefined;
      if (!cache.has(prop)) cache.set(prop, metric(prop));
      return cache.get(prop);
    },
  });
}

/**
 * The supervisor's monotonic clock: registry leases and deadlines in the state it sends are on its
 * clock, so this process's `performance.now()` is shifted onto it (updated with every job).
 */
let monotonicOffset = 0;
const clock: Clock = { ...systemClock, monotonicMs: () => performance.now() + monotonicOffset };

let config: AgentConfig | undefined;
let logins: Record<string, LoginLease> = {};
let agent: WorkerAgent | undefined;
const jobs = new Map<number, AbortController>();
const logger = forwardingLogger();

function theAgent(): WorkerAgent {
  if (!config) throw new AgentError('internal', 'the work process got a job before its config');
  agent ??= createAgent(config, { ports: { logger, clock }, metrics: forwardingMetrics(), adoptLogins: logins }) as WorkerAgent;
  return agent;
}

async function runJob(id: number, m: Extract<ToWorker, { t: 'job' }>): Promise<void> {
  const ac = new AbortController();
  jobs.set(id, ac);
  monotonicOffset = m.monotonicMs - performance.now();
  try {
    let value: unknown;
    const job = m.job;
    if (job.op === 'config.load') {
      const { loadConfig } = await import('./config/load.js');
      value = await loadConfig({ path: job.path, env: job.env as Env, flags: job.flags as ConfigFlags });
    } else if (job.op === 'preflight') {
      // a config whose Vault clients cannot be built (an unreadable vault.caCert) fails here, as a problem
      try {
        value = await theAgent().perform(job, ac.signal);
      } catch (e) {
        value = [toWire(e)];
      }
    } else {
      value = await theAgent().perform(job, ac.signal);
    }
    if (agent) send({ t: 'logins', logins: agent.logins() });
    send({ t: 'done', id, ok: true, value });
  } catch (e) {
    if (agent) send({ t: 'logins', logins: agent.logins() });
    send({ t: 'done', id, ok: false, error: toWire(e), aborted: ac.signal.aborted });
  } finally {
    jobs.delete(id);
  }
}

if (process.send) {
  // the supervisor owns the lifecycle: a terminal's Ctrl-C or hangup (sent to the whole process group)
  // and systemd's SIGTERM stop it, and it aborts this process's jobs and tells it to exit
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => {});
  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'init':
        config = m.config as AgentConfig | undefined;
        logins = m.logins;
        return;
      case 'job':
        void runJob(m.id, m);
        return;
      case 'abort':
        jobs.get(m.id)?.abort(new Error('aborted by the agent'));
        return;
      case 'exit':
        process.disconnect();
        return;
    }
  });
  // the supervisor is gone (crashed, SIGKILLed): nothing left to work for
  process.on('disconnect', () => process.exit(0));
}
