/**
 * The agent's work-process pool (packages/agent/src/shell/worker-process.ts) on real child processes
 * (a small script speaking the protocol stands in for dist/worker.js, whose real jobs are covered by
 * agent-work-process.test.ts): a job's answer, logs and metrics reach the supervisor; a worker that
 * dies fails only its own jobs (never a successor's: found when a config reload's second load
 * failed); abort; idle exit; logins handed on; the linger. No OpenBao, but real processes: kept out
 * of the unit project (its 10 s budget).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../../packages/agent/src/errors.js';
import type { Logger } from '../../packages/agent/src/ports.js';
import { createMetrics } from '../../packages/agent/src/shell/metrics.js';
import { WorkerProcess, type LoginLease } from '../../packages/agent/src/shell/worker-process.js';

const FAKE = `
let logins = {};
process.on('message', (m) => {
  if (m.t === 'init') { logins = m.logins; return; }
  if (m.t === 'exit') { process.disconnect(); return; }
  if (m.t === 'abort') { process.send({ t: 'done', id: m.id, ok: false, error: { kind: 'internal', message: 'aborted' }, aborted: true }); return; }
  if (m.t !== 'job') return;
  const { id, job } = m;
  if (job.op === 'probe') {
    process.send({ t: 'log', bindings: [{ component: 'fake' }], level: 'info', meta: { pid: process.pid }, msg: 'probing' });
    process.send({ t: 'metric', name: 'renewals', method: 'inc', labels: { node: 'a@h' }, value: 2 });
    process.send({ t: 'logins', logins: { k: { token: 'tok-' + process.pid, leaseDurationSeconds: 60, renewable: true, obtainedAtMs: 1 } } });
    process.send({ t: 'done', id, ok: true, value: { pid: process.pid, adopted: logins.k ? logins.k.token : null } });
  } else if (job.op === 'token.lookup') {
    process.exit(3); // dies mid-job
  } else if (job.op === 'token.renew') {
    // never answers (aborted by the supervisor)
  } else {
    process.send({ t: 'done', id, ok: false, error: { kind: 'vault-unavailable', message: 'no such op ' + job.op, node: 'a@h' }, aborted: false });
  }
});
`;

describe('WorkerProcess', () => {
  let dir: string;
  let entry: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vaultdist-wp-'));
    entry = join(dir, 'fake-worker.cjs');
    writeFileSync(entry, FAKE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const logged: { bindings: unknown; meta: unknown; msg: string }[] = [];
  const logger = (bindings: object[] = []): Logger => ({
    debug() {},
    info: (meta, msg) => void logged.push({ bindings, meta, msg }),
    warn() {},
    error() {},
    child: (b) => logger([...bindings, b]),
  });

  const pools: WorkerProcess[] = [];
  afterEach(() => pools.splice(0).forEach((p) => p.close()));
  function pool(idleExitMs = 50, logins = new Map<string, LoginLease>()) {
    const metrics = createMetrics();
    const p = new WorkerProcess({ entry, config: {}, logger: logger(), metrics, clock: { monotonicMs: () => performance.now() }, idleExitMs, logins });
    pools.push(p);
    return { p, metrics, logins };
  }

  const until = async (pred: () => boolean) => {
    for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) if (pred()) return;
    throw new Error('condition not met within 5 s');
  };

  it('answers a job; its log line and metric reach the supervisor; the worker exits when idle; the next one adopts its login', async () => {
    const { p, metrics, logins } = pool();
    const first = await p.run<{ pid: number; adopted: string | null }>({ op: 'probe' });
    expect(first.adopted).toBeNull();
    expect(logged.find((l) => l.msg === 'probing')).toMatchObject({ bindings: [{ component: 'fake' }], meta: { pid: first.pid } });
    expect(await metrics.registry.metrics()).toMatch(/^vaultdist_agent_renewals_total\{node="a@h"\} 2$/m);
    expect(logins.get('k')?.token).toBe(`tok-${first.pid}`);
    await until(() => p.pid === undefined); // idle exit
    const second = await p.run<{ pid: number; adopted: string | null }>({ op: 'probe' });
    expect(second.pid).not.toBe(first.pid);
    expect(second.adopted).toBe(`tok-${first.pid}`);
    expect(p.spawned).toBe(2);
    expect(await metrics.registry.metrics()).toMatch(/^vaultdist_agent_work_processes_started_total 2$/m);
    p.close();
  });

  it("a worker's error keeps its kind and node; a worker that dies fails its own job only", async () => {
    const { p } = pool(10_000);
    const e = await p.run({ op: 'crl.refresh', node: 'a@h', state: {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AgentError);
    expect(e).toMatchObject({ kind: 'vault-unavailable', node: 'a@h', message: 'no such op crl.refresh' });
    const died = await p.run({ op: 'token.lookup' }).catch((x: unknown) => x);
    expect(died).toMatchObject({ kind: 'internal' });
    expect((died as Error).message).toMatch(/work process exited \(code 3\)/);
    // the next job gets a new worker and its own answer
    await expect(p.run({ op: 'probe' })).resolves.toMatchObject({ pid: expect.any(Number) });
    p.close();
  });

  it('a job of a new worker is not failed by its predecessor exiting (idle exit racing a new job)', async () => {
    const { p } = pool(0);
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 8; i++) {
      jobs.push(p.run({ op: 'probe' }));
      await new Promise((r) => setTimeout(r, i % 3)); // around the 0 ms idle exit
      await jobs[jobs.length - 1];
    }
    await expect(Promise.all(jobs)).resolves.toHaveLength(8);
    p.close();
  });

  it('a worker needed again soon after it exited stays longer (doubling, up to a minute): no fork per job for jobs that keep coming', async () => {
    const { p } = pool(50);
    await p.run({ op: 'probe' });
    expect(p.lingerMs).toBe(50);
    await until(() => p.pid === undefined);
    await p.run({ op: 'probe' }); // needed again at once: linger 1 s
    expect(p.lingerMs).toBe(1000);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.pid).toBeDefined(); // still there for the next job
    await p.run({ op: 'probe' });
    expect(p.spawned).toBe(2);
    p.close();
  });

  it('a work process that cannot start (no node binary, EAGAIN…) fails its job instead of hanging it, and the next job tries again', async () => {
    const p = new WorkerProcess({ entry, config: {}, logger: logger(), clock: { monotonicMs: () => performance.now() }, idleExitMs: 50, logins: new Map(), execPath: join(dir, 'no-such-node') });
    pools.push(p);
    for (let i = 1; i <= 2; i++) {
      const e = await p.run({ op: 'probe' }).catch((x: unknown) => x);
      expect(e).toMatchObject({ kind: 'internal', message: expect.stringMatching(/work process could not run: .*ENOENT/) });
      expect(p.spawned).toBe(i);
      expect(p.pid).toBeUndefined();
    }
  });

  it('a job whose state cannot be sent fails alone; the worker still answers the next one and exits when idle', async () => {
    const { p } = pool(50);
    const e = await p.run({ op: 'node.start', node: 'a@h', state: { f: () => 1 } }).catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'internal', message: expect.stringMatching(/cannot be sent/) });
    await expect(p.run({ op: 'probe' })).resolves.toMatchObject({ pid: expect.any(Number) });
    await until(() => p.pid === undefined);
  });

  it('abort: the job rejects with the signal reason', async () => {
    const { p } = pool(10_000);
    const ac = new AbortController();
    const job = p.run({ op: 'token.renew', increment: 60 }, ac.signal);
    setTimeout(() => ac.abort(new Error('stopping')), 50);
    await expect(job).rejects.toThrow('stopping');
    p.close();
  });
});
