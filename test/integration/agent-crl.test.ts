/**
 * The agent keeps a node's CRL directory fresh (real OpenBao):
 * - `--once` (runOnce) writes DIR/crl as OTP's hash directory, with metrics and health;
 * - after a revocation the next refresh carries the serial;
 * - a failing refresh keeps the old directory byte for byte, is counted, logged and shown in health;
 * - the daemon loop backs off on failures (sleeps grow, capped by the refresh interval, never past the
 *   live CRL's nextUpdate) and refreshes on schedule after success.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { revokeCertificate } from '../../packages/sdk/src/index.js';
import { caSubjectHash, parseCrl } from '../../packages/sdk/src/internal.js';
import { createAgent, createMetrics, validateConfig, type AgentConfig, type Clock, type Logger } from '../../packages/agent/src/index.js';
import { CrlWorker } from '../../packages/agent/src/shell/crl-worker.js';
import { initialNodeStatus } from '../../packages/agent/src/core/state.js';
import { mathRandom, nodeFs, nodeProcess } from '../../packages/agent/src/ports.js';
import { createAgentVaultClient } from '../../packages/agent/src/shell/vault.js';
import { testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const logs: { level: string; msg: string; meta: Record<string, unknown> }[] = [];
const logger: Logger = {
  debug: (meta, msg) => logs.push({ level: 'debug', msg, meta: meta as Record<string, unknown> }),
  info: (meta, msg) => logs.push({ level: 'info', msg, meta: meta as Record<string, unknown> }),
  warn: (meta, msg) => logs.push({ level: 'warn', msg, meta: meta as Record<string, unknown> }),
  error: (meta, msg) => logs.push({ level: 'error', msg, meta: meta as Record<string, unknown> }),
};

describe('agent CRL refresh', () => {
  const pki = useTestPki();
  const tmp = useTestdir();

  const cfg = (dir: string, crl: Record<string, unknown> = {}): AgentConfig => {
    const r = validateConfig({
      vault: { address: testVault().addr, auth: { method: 'token', token: testVault().token } },
      health: { enabled: false },
      schedule: { backoff: { initialMs: 1000, maxMs: 64000, jitterFraction: 0 } },
      nodes: [{ name: 'crl@127.0.0.1', dir, mount: pki.mount, role: pki.role, reload: { strategy: 'poll' }, verify: { enabled: false }, crl: { enabled: true, ...crl } }],
    });
    if (!r.config) throw new Error(r.errors.join('\n'));
    return r.config;
  };
  const crlFiles = (dir: string) => readdirSync(join(dir, 'crl')).sort();
  const liveCrl = (dir: string) => parseCrl(readFileSync(join(dir, 'crl', `${caSubjectHash(pki.rootPem)}.r0`), 'utf8'));

  it('--once writes the hash directory, picks up a revocation, and keeps the old CRL when a refresh fails', async () => {
    const dir = join(tmp.dir, 'once');
    const metrics = createMetrics();
    const agent = createAgent(cfg(dir), { metrics, ports: { logger } });
    const first = await agent.runOnce();
    expect(first.exitCode).toBe(0);
    expect(first.nodes[0]!.result).toMatchObject({ ok: true, action: 'renewed' });
    expect(first.nodes[0]!.crl).toMatchObject({ ok: true, changed: true, files: [`${caSubjectHash(pki.rootPem)}.r0`], revoked: 0 });
    expect(crlFiles(dir)).toEqual([`${caSubjectHash(pki.rootPem)}.r0`]);
    const text = await metrics.registry.metrics();
    const nextUpdate = liveCrl(dir).nextUpdate!;
    expect(text).toContain(`vaultdist_agent_crl_next_update_seconds{node="crl@127.0.0.1"} ${nextUpdate.getTime() / 1000}`);
    expect(text).toMatch(/vaultdist_agent_crl_refreshes_total\{node="crl@127\.0\.0\.1"\} 1/);
    expect(text).toMatch(/vaultdist_agent_crl_level\{node="crl@127\.0\.0\.1"\} 0/);
    expect(agent.health().nodes[0]).toMatchObject({ ready: true, crl: 'ok' });

    // Revoke the node's certificate: the next --once refresh lists it.
    const serial = first.nodes[0]!.result.ok ? first.nodes[0]!.result.serial! : '';
    await revokeCertificate(pki.vault, { mount: pki.mount, serial });
    const second = await createAgent(cfg(dir), { ports: { logger } }).runOnce();
    expect(second.nodes[0]!.crl).toMatchObject({ ok: true, changed: true, revoked: 1 });
    expect(liveCrl(dir).revoked.map((r) => r.serial)).toEqual([serial]);
    const before = readFileSync(join(dir, 'crl', crlFiles(dir)[0]!), 'utf8');

    // A refresh that fails (the mount does not exist): typed failure, exit code, old CRL untouched.
    logs.length = 0;
    const badMetrics = createMetrics();
    const bad = createAgent(cfg(dir, { mounts: ['no-such-pki'] }), { metrics: badMetrics, ports: { logger } });
    const third = await bad.runOnce();
    expect(third.nodes[0]!.crl).toMatchObject({ ok: false });
    expect(third.exitCode).not.toBe(0);
    expect(readFileSync(join(dir, 'crl', crlFiles(dir)[0]!), 'utf8')).toBe(before);
    expect(logs.find((l) => l.msg === 'CRL refresh failed; the old CRL directory stays')).toMatchObject({ level: 'warn', meta: { node: 'crl@127.0.0.1', consecutiveFailures: 1 } });
    // the CRL level is `crlLevel` in the meta: a `level` key would clash with pino's own
    expect(logs.find((l) => l.msg === 'CRL refresh failed; the old CRL directory stays')!.meta).toMatchObject({ crlLevel: expect.any(String) });
    expect(logs.find((l) => l.msg === 'CRL refresh failed; the old CRL directory stays')!.meta).not.toHaveProperty('level');
    expect(await badMetrics.registry.metrics()).toMatch(/vaultdist_agent_crl_refresh_failures_total\{node="crl@127\.0\.0\.1",kind="[a-z-]+"\} 1/);
    // The live CRL read from disk is still fresh: ready, with the failure as a reason.
    const h = bad.health().nodes[0]!;
    expect(h).toMatchObject({ ready: true, crl: 'ok' });
    expect(h.reasons.join('\n')).toMatch(/last CRL refresh failure/);
  });

  it('daemon (real clock): a revocation reaches the CRL directory within the refresh interval, /healthz shows the CRL', async () => {
    const dir = join(tmp.dir, 'daemon');
    const first = await createAgent(cfg(dir), { ports: { logger } }).runOnce();
    expect(first.exitCode).toBe(0);
    const serial = first.nodes[0]!.result.ok ? first.nodes[0]!.result.serial! : '';
    const c = { ...cfg(dir, { refreshIntervalSeconds: 1 }), health: { enabled: true, host: '127.0.0.1', port: 0 } };
    const refreshes: { ok: boolean; revoked: number }[] = [];
    const agent = createAgent(c, { ports: { logger }, hooks: { onCrlRefresh: (_n, r) => refreshes.push({ ok: r.ok, revoked: r.ok ? r.revoked : -1 }) } });
    const controller = new AbortController();
    const running = agent.run(controller.signal);
    const until = async (what: string, cond: () => boolean) => {
      // bounded wait for an event (the refresh interval is 1 s); no timing is asserted
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
      if (!cond()) throw new Error(`timed out waiting for ${what}`);
    };
    try {
      await until('the start-up refresh', () => refreshes.length > 0);
      expect(refreshes[0]!.ok).toBe(true);
      const before = refreshes[0]!.revoked;
      expect(liveCrl(dir).revoked.map((r) => r.serial)).not.toContain(serial);
      await revokeCertificate(pki.vault, { mount: pki.mount, serial });
      await until('a refresh carrying the revocation', () => refreshes.some((r) => r.revoked === before + 1));
      expect(liveCrl(dir).revoked.map((r) => r.serial)).toContain(serial);
      const addr = agent.healthAddress()!;
      const body = (await (await fetch(`http://${addr.host}:${addr.port}/healthz`)).json()) as { nodes: { crl: string }[]; status: { crl: { revokedCount: number; dir: string } }[] };
      expect(body.nodes[0]!.crl).toBe('ok');
      expect(body.status[0]!.crl).toMatchObject({ dir: join(dir, 'crl') });
      expect(body.status[0]!.crl.revokedCount).toBeGreaterThanOrEqual(1);
    } finally {
      controller.abort();
      await running;
    }
  });

  it('daemon loop: failures back off (growing, capped by the interval, never past nextUpdate), success refreshes on schedule', async () => {
    const dir = join(tmp.dir, 'loop');
    // a credential set and a first CRL on disk
    expect((await createAgent(cfg(dir), { ports: { logger } }).runOnce()).exitCode).toBe(0);
    const nextUpdate = liveCrl(dir).nextUpdate!;

    const run = async (c: AgentConfig, stopAfter: number) => {
      const controller = new AbortController();
      const sleeps: { ms: number; reason: string }[] = [];
      let wall = Date.now();
      const start = wall;
      // fake time: sleeps return at once (no timed assertions), the wall clock advances
      const clock: Clock = {
        now: () => new Date(wall),
        monotonicMs: () => wall,
        async sleep(ms, signal) {
          signal.throwIfAborted();
          wall += ms;
        },
      };
      const node = c.nodes[0]!;
      const w = new CrlWorker(
        {
          config: () => c,
          ports: { clock, random: mathRandom, fs: nodeFs, logger, process: nodeProcess },
          metrics: createMetrics(),
          vault: createAgentVaultClient(c, c.vault.auth, logger),
          logger,
          hooks: {
            onCrlSleep: (_n, ms, reason) => {
              sleeps.push({ ms, reason });
              if (sleeps.length >= stopAfter) controller.abort(new Error('enough'));
            },
          },
        },
        node,
        initialNodeStatus(node.name),
      );
      await w.run(controller.signal);
      return { sleeps, status: w.status, start };
    };

    const failing = await run(cfg(dir, { mounts: ['no-such-pki'], refreshIntervalSeconds: 20 }), 8);
    expect(failing.sleeps.every((s) => s.reason === 'backoff')).toBe(true);
    expect(failing.sleeps.map((s) => s.ms)).toEqual([1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000]);
    expect(failing.status.consecutiveFailures).toBe(8);
    expect(failing.status.present).toBe(true); // the old CRL read from disk is still the live one

    // A short-lived CRL (config/crl expiry 20s): the backoff is cut so that no sleep crosses nextUpdate.
    await pki.vault.write(`${pki.mount}/config/crl`, { expiry: '20s' });
    await pki.vault.read(`${pki.mount}/crl/rotate`);
    expect((await createAgent(cfg(dir), { ports: { logger } }).runOnce()).exitCode).toBe(0);
    const shortNext = liveCrl(dir).nextUpdate!.getTime();
    const short = await run(cfg(dir, { mounts: ['no-such-pki'], refreshIntervalSeconds: 60 }), 6);
    let t = short.start;
    const ends = short.sleeps.map((s) => (t += s.ms));
    const crossing = ends.findIndex((e) => e >= shortNext);
    expect(crossing).toBeGreaterThan(0);
    // the sleep that reaches nextUpdate ends exactly there (the fake wall clock only moves in sleeps)
    expect(ends[crossing]).toBe(shortNext);
    await pki.vault.write(`${pki.mount}/config/crl`, { expiry: '72h' });
    await pki.vault.read(`${pki.mount}/crl/rotate`);
    expect((await createAgent(cfg(dir), { ports: { logger } }).runOnce()).exitCode).toBe(0);

    const ok = await run(cfg(dir, { refreshIntervalSeconds: 30 }), 3);
    expect(ok.sleeps).toEqual([
      { ms: 30000, reason: 'schedule' },
      { ms: 30000, reason: 'schedule' },
      { ms: 30000, reason: 'schedule' },
    ]);
    expect(ok.status).toMatchObject({ consecutiveFailures: 0, refreshes: 3, present: true });
    expect(ok.status.nextUpdate!.getTime()).toBeGreaterThanOrEqual(nextUpdate.getTime());
  });
});
