/**
 * The renew loop with fake Clock/Random ports and a Vault that is down (msw network errors): the loop
 * really sleeps between failures, the sleeps grow and stay capped, never zero, and nothing is written.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { writeCredentialSet } from '@vaultdist/sdk';
import { makeCa, makeLeaf, testdir } from '../../../../scripts/test-utils/src/index.js';
import { createAgent } from '../agent.js';
import { validateConfig, type AgentConfig } from '../config/schema.js';
import type { Clock, Logger } from '../ports.js';

const ADDR = 'http://vault.test:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function fakeClock(start: Date, stopAfterSleeps: number, controller: AbortController) {
  let wall = start.getTime();
  let mono = 0;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => new Date(wall),
    monotonicMs: () => mono,
    async sleep(ms, signal) {
      signal.throwIfAborted();
      sleeps.push(ms);
      wall += ms;
      mono += ms;
      if (sleeps.length >= stopAfterSleeps) controller.abort(new Error('enough'));
      signal.throwIfAborted();
    },
  };
  return { clock, sleeps };
}

const logs: { level: string; msg: string; meta: object }[] = [];
const logger: Logger = {
  debug: (meta, msg) => logs.push({ level: 'debug', msg, meta }),
  info: (meta, msg) => logs.push({ level: 'info', msg, meta }),
  warn: (meta, msg) => logs.push({ level: 'warn', msg, meta }),
  error: (meta, msg) => logs.push({ level: 'error', msg, meta }),
  fatal: (meta, msg) => logs.push({ level: 'fatal', msg, meta }),
};

function config(dir: string): AgentConfig {
  const r = validateConfig({
    vault: { address: ADDR, auth: { method: 'token', token: 'test-token' } },
    // no early wake-up probe: this file checks the plain backoff sleeps (scheduler.test.ts checks the probe)
    schedule: { backoff: { initialMs: 1000, maxMs: 16000, jitterFraction: 0.5 }, vaultProbeIntervalMs: 0 },
    health: { enabled: false },
    nodes: [{ name: 'foo@127.0.0.1', dir: join(dir, 'foo'), mount: 'pki', role: 'node', reload: { strategy: 'poll' }, verify: { enabled: false } }],
  });
  if (!r.config) throw new Error(r.errors.join('\n'));
  return r.config;
}

describe('renew loop during a Vault outage (fake clock)', () => {
  it('sleeps between failures: growing, capped, never zero; nothing written', async () => {
    const tmp = testdir();
    let calls = 0;
    server.use(
      // the token is fine (not renewable): only the renewals see the outage (the token loop has its own test)
      http.get(`${ADDR}/v1/auth/token/lookup-self`, () => HttpResponse.json({ data: { accessor: 'acc', ttl: 0, renewable: false, policies: ['default'] } })),
      http.post(`${ADDR}/v1/pki/sign/node`, () => {
        calls++;
        return HttpResponse.error();
      }),
    );
    const controller = new AbortController();
    const { clock, sleeps } = fakeClock(new Date(Date.UTC(2026, 0, 1)), 12, controller);
    let draws = 0;
    const agent = createAgent(config(tmp.dir), { ports: { clock, random: { next: () => [0, 0.99, 0.5][draws++ % 3]! }, logger } });
    await agent.run(controller.signal);
    // one Vault call per attempt (SDK retries are off: the agent's backoff is the only retry layer)
    expect(calls).toBe(sleeps.length);
    // the first retry is jittered too (issue #14): never below initialMs × (1 − 0.5)
    expect(sleeps.every((s) => s >= 500)).toBe(true);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(16000);
    for (let i = 1; i < sleeps.length; i++) {
      // non-decreasing until the cap is reached; at the cap, within [cap/2, cap]
      if (sleeps[i - 1]! < 8000) expect(sleeps[i]!).toBeGreaterThanOrEqual(sleeps[i - 1]!);
      else expect(sleeps[i]!).toBeGreaterThanOrEqual(8000);
    }
    expect(sleeps.filter((s) => s >= 8000).length).toBeGreaterThanOrEqual(5);
    const st = agent.status()[0]!;
    expect(st.consecutiveFailures).toBe(calls);
    expect(st.lastFailure?.kind).toBe('vault-unreachable');
    expect(existsSync(join(tmp.dir, 'foo', 'bundle.pem'))).toBe(false);
    expect(agent.health()).toMatchObject({ ready: false });
    const metrics = await agent.metrics.registry.metrics();
    expect(metrics).toContain(`vaultdist_agent_renew_failures_total{node="foo@127.0.0.1",kind="vault-unreachable"} ${calls}`);
    expect(logs.filter((l) => l.msg === 'retrying after backoff').length).toBe(sleeps.length);
    tmp.cleanup();
  });

  it('fails before the first renewal when an output directory is not writable (exit kind write)', async () => {
    const tmp = testdir();
    const c = config(tmp.dir);
    // a directory below a regular file: mkdir fails with ENOTDIR (as root, permissions would not stop us)
    writeFileSync(join(tmp.dir, 'file'), '');
    c.nodes[0]!.dir = join(tmp.dir, 'file', 'foo');
    const agent = createAgent(c, { ports: { logger } });
    await expect(agent.run(new AbortController().signal)).rejects.toMatchObject({ kind: 'write' });
    tmp.cleanup();
  });

  it('escalates as expiry nears: error logs, escalation metric and readiness while the old set stays live', async () => {
    const tmp = testdir();
    const ca = await makeCa('escalation root');
    const nb = new Date(Date.UTC(2026, 0, 1));
    const na = new Date(Date.UTC(2026, 0, 2));
    const leaf = await makeLeaf({ ca, serial: '0c', notBefore: nb, notAfter: na });
    const c = config(tmp.dir);
    await writeCredentialSet(c.nodes[0]!.dir, { privateKey: leaf.keyPem, certificate: leaf.certPem, chain: [], caBundle: [ca.pem] });
    server.use(
      // the token is fine (not renewable): only the renewals see the outage (the token loop has its own test)
      http.get(`${ADDR}/v1/auth/token/lookup-self`, () => HttpResponse.json({ data: { accessor: 'acc', ttl: 0, renewable: false, policies: ['default'] } })),
      http.post(`${ADDR}/v1/pki/sign/node`, () => HttpResponse.error()),
    );
    const controller = new AbortController();
    // 95% of the lifetime gone: critical (below 10% left)
    const { clock } = fakeClock(new Date(nb.getTime() + 0.95 * 86400_000), 3, controller);
    logs.length = 0;
    const agent = createAgent(c, { ports: { clock, random: { next: () => 0.5 }, logger } });
    await agent.run(controller.signal);
    expect(logs.find((l) => l.msg === 'using the credential set on disk')).toBeDefined();
    const failures = logs.filter((l) => l.msg.startsWith('renewal failed'));
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((l) => l.level === 'error' && (l.meta as { expiryLevel: string }).expiryLevel === 'critical' && !('level' in (l.meta as object)))).toBe(true);
    expect(await agent.metrics.registry.metrics()).toContain('vaultdist_agent_escalation_level{node="foo@127.0.0.1"} 2');
    const h = agent.health();
    expect(h.ready).toBe(false);
    expect(h.nodes[0]!.reasons.join('; ')).toContain('certificate critical');
    expect(agent.status()[0]!.cert?.serial).toBe('0c');
    tmp.cleanup();
  });
});
