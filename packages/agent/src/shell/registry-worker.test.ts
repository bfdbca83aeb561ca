/**
 * The registry worker with a fake Clock, an injected probe and msw as the plugin: when it registers,
 * renews and registers again; the peers file through a Vault outage (kept, marked stale, `since` fixed
 * at the first failure); a restarted node's new port; no hot loop; a clean stop deregisters and a
 * reload does not.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { createVaultClient, silentLogger, type AuthStrategy } from '@vaultdist/sdk';
import { parsePeersFile } from '@vaultdist/sdk/internal';
import { testdir } from '../../../../scripts/test-utils/src/index.js';
import { validateConfig, type AgentConfig } from '../config/schema.js';
import { initialNodeStatus } from '../core/state.js';
import { mathRandom, nodeFs, nodeProcess, type Clock, type Logger } from '../ports.js';
import { createMetrics } from './metrics.js';
import { RegistryWorker } from './registry-worker.js';

const ADDR = 'http://vault.test:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The plugin as msw: registrations with a lease of `leaseSeconds`, renew, members, delete; `down` = network errors. */
function fakePlugin(o: { leaseSeconds: number; now: () => Date; maxSeconds?: number }) {
  const st = { down: false, renewStatus: 200, calls: [] as string[], regs: new Map<string, { port: number; serial?: string; expires: Date; created: Date }>() };
  const guard = () => (st.down ? HttpResponse.error() : undefined);
  server.use(
    http.post(`${ADDR}/v1/vaultdist/clusters/c1/nodes/:node`, async ({ request, params }) => {
      const g = guard();
      if (g) return g;
      const b = (await request.json()) as { port: number; serial?: string };
      st.calls.push(`register ${b.port}`);
      const expires = new Date(o.now().getTime() + o.leaseSeconds * 1000);
      st.regs.set(String(params.node), { port: b.port, serial: b.serial, expires, created: o.now() });
      return HttpResponse.json({ lease_id: `vaultdist/clusters/c1/nodes/${String(params.node)}/L${st.calls.length}`, lease_duration: o.leaseSeconds, renewable: true, data: { node: params.node, host: '127.0.0.1', port: b.port, generation: st.calls.length } });
    }),
    http.put(`${ADDR}/v1/sys/leases/renew`, () => {
      const g = guard();
      if (g) return g;
      st.calls.push('renew');
      if (st.renewStatus !== 200) return HttpResponse.json({ errors: ['lease not found'] }, { status: st.renewStatus });
      // like Vault: a renewal never extends past the lease's max_ttl
      const r = [...st.regs.values()][0]!;
      const left = o.maxSeconds === undefined ? o.leaseSeconds : Math.min(o.leaseSeconds, Math.floor(o.maxSeconds - (o.now().getTime() - r.created.getTime()) / 1000));
      if (left <= 0) return HttpResponse.json({ errors: ['lease expired'] }, { status: 400 });
      r.expires = new Date(o.now().getTime() + left * 1000);
      return HttpResponse.json({ lease_id: 'x/renewed', lease_duration: left, renewable: true });
    }),
    http.get(`${ADDR}/v1/vaultdist/clusters/c1/members`, () => {
      const g = guard();
      if (g) return g;
      st.calls.push('members');
      const members = [...st.regs.entries()].map(([node, r]) => ({ node, host: '127.0.0.1', port: r.port, serial: r.serial ?? '', otp_release: '', expires_at: r.expires.toISOString() }));
      return HttpResponse.json({ data: { cluster: 'c1', members: [{ node: 'peer@127.0.0.1', host: '127.0.0.1', port: 40001, expires_at: new Date(o.now().getTime() + o.leaseSeconds * 1000).toISOString() }, ...members] } });
    }),
    http.delete(`${ADDR}/v1/vaultdist/clusters/c1/nodes/:node`, ({ params }) => {
      const g = guard();
      if (g) return g;
      st.calls.push('deregister');
      st.regs.delete(String(params.node));
      return new HttpResponse(null, { status: 204 });
    }),
  );
  return st;
}

/** A login-based identity whose token the test replaces (like AppRole/cert logins): `current()` reports it. */
function loginAuth(clockNow: () => number) {
  const st = { token: 'hvs.LOGIN-ONE-TOKEN-AAAAAAAAAAAAAAAA', obtainedAtMs: clockNow(), leaseSeconds: 120 };
  const auth: AuthStrategy = {
    kind: 'test-login',
    getToken: async () => st.token,
    invalidate: () => false,
    current: () => ({ token: st.token, leaseDurationSeconds: st.leaseSeconds, renewable: true, obtainedAtMs: st.obtainedAtMs }),
  };
  return { auth, st };
}

function setup(dir: string, o: { auth?: AuthStrategy } = {}) {
  let wall = Date.UTC(2026, 10, 29, 12, 0, 0);
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
    },
  };
  const r = validateConfig({
    vault: { address: ADDR, auth: { method: 'token', token: 'test-token' } },
    health: { enabled: false },
    registry: { enabled: true, cluster: 'c1', refreshIntervalSeconds: 5, renewAtFraction: 0.5 },
    nodes: [{ name: 'foo@127.0.0.1', dir, mount: 'pki', role: 'node', reload: { strategy: 'poll' }, verify: { enabled: false } }],
  });
  const config: AgentConfig = r.config!;
  const vault = createVaultClient({ address: ADDR, ...(o.auth ? { auth: o.auth } : { token: 'test-token' }), env: {}, logger: silentLogger, retry: { retries: 0 } });
  let served: string | undefined = '0a:0b';
  const worker = new RegistryWorker(
    {
      config: () => config,
      ports: { clock, random: mathRandom, fs: nodeFs, logger: quiet, process: nodeProcess },
      metrics: createMetrics(),
      vault,
      logger: quiet,
      hooks: {},
      nodeStatus: initialNodeStatus('foo@127.0.0.1'),
      probe: async () => served,
    },
    config.nodes[0]!,
  );
  return { worker, clock, sleeps, serve: (s: string | undefined) => (served = s), advance: (ms: number) => ((wall += ms), (mono += ms)) };
}

const tick = async (w: RegistryWorker, clock: Clock) => {
  const ms = await w.tick(new AbortController().signal);
  await clock.sleep(ms, new AbortController().signal);
  return ms;
};

describe('registry worker (fake clock, msw plugin)', () => {
  it('registers once the node serves on the port from dist.port, renews at half the lease, re-registers a lost lease or a new port', async () => {
    const t = testdir();
    try {
      const s = setup(t.dir);
      const plugin = fakePlugin({ leaseSeconds: 20, now: s.clock.now });
      // no dist.port, no configured port: waits (never hot)
      expect(await tick(s.worker, s.clock)).toBeGreaterThanOrEqual(100);
      expect(s.worker.status.waiting).toMatch(/no port yet/);
      expect(plugin.calls.filter((c) => c.startsWith('register'))).toEqual([]);
      writeFileSync(join(t.dir, 'dist.port'), 'port 41000\notp_release 25\nos_pid 1\nname foo\n');
      s.serve(undefined);
      await tick(s.worker, s.clock);
      expect(s.worker.status.waiting).toMatch(/does not serve a certificate on port 41000/);
      s.serve('0a:0b');
      await tick(s.worker, s.clock);
      expect(plugin.calls.filter((c) => c.startsWith('register'))).toEqual(['register 41000']);
      expect(s.worker.status).toMatchObject({ registered: true, port: 41000, serial: '0a:0b' });
      // the peers file right after registering: the peer + this node, fresh
      const f = parsePeersFile(readFileSync(join(t.dir, 'peers'), 'utf8'));
      expect(f.peers.map((p) => `${p.node} ${p.port} ${p.state}`)).toEqual(['foo@127.0.0.1 41000 live', 'peer@127.0.0.1 40001 live']);
      // renew at 10 s of a 20 s lease
      plugin.calls.length = 0;
      for (let i = 0; i < 6; i++) await tick(s.worker, s.clock);
      expect(plugin.calls.filter((c) => c === 'renew').length).toBeGreaterThanOrEqual(1);
      expect(s.sleeps.every((ms) => ms >= 100 && ms <= 5000)).toBe(true);
      // Vault no longer knows the lease (400): registered again on the next tick
      plugin.renewStatus = 400;
      plugin.calls.length = 0;
      for (let i = 0; i < 6 && !plugin.calls.includes('register 41000'); i++) await tick(s.worker, s.clock);
      expect(plugin.calls).toContain('register 41000');
      plugin.renewStatus = 200;
      // the node restarted on another port
      writeFileSync(join(t.dir, 'dist.port'), 'port 41999\notp_release 25\nos_pid 2\nname foo\n');
      await tick(s.worker, s.clock);
      expect(plugin.regs.get('foo@127.0.0.1')?.port).toBe(41999);
    } finally {
      t.cleanup();
    }
  });

  it('near the max_ttl it registers again instead of renewing into a 400: no failure, no gap', async () => {
    const t = testdir();
    try {
      writeFileSync(join(t.dir, 'dist.port'), 'port 41000\n');
      const s = setup(t.dir);
      const plugin = fakePlugin({ leaseSeconds: 20, maxSeconds: 60, now: s.clock.now });
      const start = s.clock.now().getTime();
      let gaps = 0;
      while (s.clock.now().getTime() - start < 200_000) {
        await tick(s.worker, s.clock);
        if (!s.worker.status.registered) gaps++;
      }
      expect(gaps).toBe(0);
      expect(s.worker.status.lastError).toBeUndefined();
      const regs = plugin.calls.filter((c) => c.startsWith('register')).length;
      // one registration per ~max_ttl (60 s) over 200 s, not one per renewal
      expect(regs).toBeGreaterThanOrEqual(3);
      expect(regs).toBeLessThanOrEqual(6);
    } finally {
      t.cleanup();
    }
  });

  it('registers again under the new token when the identity logs in anew, and before its token ends', async () => {
    const t = testdir();
    try {
      writeFileSync(join(t.dir, 'dist.port'), 'port 41000\n');
      let wall = 0;
      const login = loginAuth(() => wall);
      const s = setup(t.dir, { auth: login.auth });
      wall = s.clock.now().getTime();
      login.st.obtainedAtMs = wall;
      const plugin = fakePlugin({ leaseSeconds: 30, now: s.clock.now });
      const tokens: string[] = [];
      server.events.on('request:start', ({ request }) => {
        if (request.method === 'POST' && request.url.includes('/nodes/')) tokens.push(request.headers.get('x-vault-token') ?? '');
      });
      try {
        await tick(s.worker, s.clock);
        expect(tokens).toEqual([login.st.token]);
        // (1) a new login (e.g. the cert rotated): the next tick registers under it
        s.advance(20_000);
        login.st.token = 'hvs.LOGIN-TWO-TOKEN-BBBBBBBBBBBBBBBB';
        login.st.obtainedAtMs = s.clock.now().getTime();
        await tick(s.worker, s.clock);
        expect(tokens.at(-1)).toBe(login.st.token);
        expect(tokens).toHaveLength(2);
        // (2) no new login, but the token ends in < 5 s: registered again before (that request is
        // where the strategy logs in anew), once per token
        const ends = login.st.obtainedAtMs + login.st.leaseSeconds * 1000;
        let n = 0;
        while (s.clock.now().getTime() < ends - 5000 && n++ < 200) await tick(s.worker, s.clock);
        await tick(s.worker, s.clock);
        expect(tokens).toHaveLength(3);
        for (let i = 0; i < 10; i++) await tick(s.worker, s.clock);
        expect(tokens).toHaveLength(3);
        expect(plugin.calls.filter((c) => c.startsWith('register'))).toHaveLength(3);
      } finally {
        server.events.removeAllListeners();
      }
    } finally {
      t.cleanup();
    }
  });

  it('keeps the last-known members through an outage: state stale since the first failure, entries stale past their lease', async () => {
    const t = testdir();
    try {
      mkdirSync(t.dir, { recursive: true });
      writeFileSync(join(t.dir, 'dist.port'), 'port 41000\n');
      const s = setup(t.dir);
      const plugin = fakePlugin({ leaseSeconds: 20, now: s.clock.now });
      await tick(s.worker, s.clock);
      expect(s.worker.status.state).toBe('fresh');
      plugin.down = true;
      const downAt = s.clock.now().getTime();
      let f = parsePeersFile(readFileSync(join(t.dir, 'peers'), 'utf8'));
      for (let i = 0; i < 20; i++) await tick(s.worker, s.clock);
      f = parsePeersFile(readFileSync(join(t.dir, 'peers'), 'utf8'));
      expect(f.state).toBe('stale');
      // `since` is the first failed refresh, not the latest
      expect(f.staleSince!.getTime() - downAt).toBeLessThanOrEqual(5000);
      expect(f.peers.map((p) => `${p.node} ${p.state}`)).toEqual(['foo@127.0.0.1 stale', 'peer@127.0.0.1 stale']);
      expect(s.worker.status).toMatchObject({ state: 'stale', members: 2, staleMembers: 2 });
      // the lease is over: no longer registered (renewals failed for the whole lease)
      expect(s.worker.status.registered).toBe(false);
      // no hot loop while everything fails: 20 ticks of the outage span more than 15 s (a retry at
      // every tick, the bug this pins, took 6.9 s); a short sleep only lands right before a due event
      // (the lease's end, the next refresh), never below 100 ms, never longer than the refresh interval
      const outage = s.sleeps.slice(-20);
      expect(outage.reduce((a, b) => a + b, 0)).toBeGreaterThan(15_000);
      expect(Math.min(...outage)).toBeGreaterThanOrEqual(100);
      expect(Math.max(...outage)).toBeLessThanOrEqual(5000);
      // a restarted agent reads the stale file back; Vault back: fresh again
      const s2 = setup(t.dir);
      await s2.worker.loadFromDisk();
      expect(s2.worker.status).toMatchObject({ state: 'stale', members: 2 });
      plugin.down = false;
      await tick(s2.worker, s2.clock);
      expect(parsePeersFile(readFileSync(join(t.dir, 'peers'), 'utf8')).state).toBe('fresh');
    } finally {
      t.cleanup();
    }
  });

  it('deregisters on a clean stop, not when the registration is kept for a reload', async () => {
    const t = testdir();
    try {
      writeFileSync(join(t.dir, 'dist.port'), 'port 41000\n');
      for (const keep of [false, true]) {
        const s = setup(t.dir);
        const plugin = fakePlugin({ leaseSeconds: 20, now: s.clock.now });
        const stop = new AbortController();
        const sleep = s.clock.sleep;
        s.clock.sleep = async (ms, signal) => {
          await sleep(ms, signal);
          if (s.worker.status.registered) {
            if (keep) s.worker.keepRegistration();
            stop.abort(new Error('stop'));
          }
          signal.throwIfAborted();
        };
        await s.worker.run(stop.signal);
        expect(plugin.calls.includes('deregister')).toBe(!keep);
        server.resetHandlers();
      }
    } finally {
      t.cleanup();
    }
  });
});
