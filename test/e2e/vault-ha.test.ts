/**
 * Issue #14 part 2 acceptance, on a real 3-server OpenBao raft cluster on loopback (127.0.0.11–13)
 * with Debian's haproxy in front (TCP mode, health-checked) for the balancer case.
 *
 * Load, for the whole run: SDK clients signing fresh CSRs back to back (three with the address list,
 * each starting at another server; three through haproxy), and two agents (address list / haproxy),
 * each renewing two nodes whose certificates live 30 s.
 * Faults, one after the other: kill -9 the active server; seal a standby; SIGSTOP the active server.
 * Then: every SDK call succeeded (each rode out the faults through failover and retries, none waited
 * longer than the election plus a few timeouts), every agent renewed after the last fault, and no
 * node's certificate on disk was ever expired.
 *
 * Also here, since it needs a server whose seals can be counted: the path-traversal attack
 * (`--role ../../sys/seal`) never reaches sys/seal.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  createVaultClient,
  isConfigError,
  parseNodeName,
  silentLogger,
  type VaultClient,
} from '../../packages/sdk/src/index.js';
import {
  buildCsr,
  ensureMount,
  ensureRole,
  ensureRootCa,
  generateKeyPair,
  nodeRoleBody,
  nodeSans,
  signCsr,
} from '../../packages/sdk/src/internal.js';
import { createAgent, validateConfig, type AttemptResult } from '../../packages/agent/src/index.js';
import { startRaftCluster, type RaftCluster } from '../../scripts/vault-dev/src/raft.js';
import { startHaproxy, type Haproxy } from '../../scripts/vault-dev/src/haproxy.js';
import { testdir } from '../helpers/vault.js';

const MOUNT = 'pki';
const ROLE = 'node';
const TIMEOUT_MS = 2000;

interface CallLog {
  client: string;
  ok: number;
  failed: string[];
  maxMs: number;
}

describe('HA: 3-server OpenBao raft cluster + haproxy', () => {
  let cluster: RaftCluster;
  let lb: Haproxy;
  let tmp: ReturnType<typeof testdir>;
  let admin: VaultClient;

  beforeAll(async () => {
    tmp = testdir('vaultdist-ha-');
    cluster = await startRaftCluster();
    lb = await startHaproxy(cluster.servers.map((s) => ({ host: s.host, port: s.port })));
    admin = createVaultClient({ address: cluster.addrList, token: cluster.rootToken, env: {}, logger: silentLogger });
    await ensureMount(admin, MOUNT, { maxLeaseTtl: '87600h' });
    await ensureRootCa(admin, MOUNT, { commonName: 'vaultdist HA test root', ttl: '8760h' });
    await ensureRole(admin, MOUNT, ROLE, nodeRoleBody({ allowAnyName: true, ttl: '30s', maxTtl: '1h', extra: { not_before_duration: '1s' } }));
  }, 90_000);
  afterAll(async () => {
    await lb?.stop();
    await cluster?.stop();
    tmp?.cleanup();
  });

  it('path segments are validated at the client: --role ../../sys/seal never seals the cluster', async () => {
    const sealedBefore = await Promise.all([1, 2, 3].map((i) => cluster.state(i)));
    for (const role of ['../../sys/seal', '..%2f..%2fsys/seal', 'x/../../../sys/seal']) {
      const csr = await buildCsr({ keys: await generateKeyPair('ec-p256'), keyType: 'ec-p256', sans: nodeSans(parseNodeName('a@127.0.0.1')) });
      const e = await signCsr(admin, { mount: MOUNT, role, csr }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isConfigError(e)).toBe(true);
      expect((e as Error).message).toContain(JSON.stringify(`${MOUNT}/sign/${role}`));
    }
    const after = await Promise.all([1, 2, 3].map((i) => cluster.state(i)));
    expect(after.filter((s) => s === 'sealed')).toHaveLength(0);
    expect(after).toEqual(sealedBefore);
  });

  it('read-your-writes: a role written through the cluster signs at once, even when a standby serves the sign', async () => {
    const active = await cluster.waitActive();
    const standbyFirst = [...cluster.servers.filter((x) => x.index !== active), cluster.servers[active - 1]!].map((x) => x.addr);
    const csr = await buildCsr({ keys: await generateKeyPair('ec-p256'), keyType: 'ec-p256', sans: nodeSans(parseNodeName('ryw@127.0.0.1')) });
    const failures: string[] = [];
    for (let i = 0; i < 8; i++) {
      const role = `ryw-${i}`;
      await ensureRole(admin, MOUNT, role, nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '1h' }));
      // what `init node` does: the operator writes the node's role, then the node's client signs
      const node = admin.extend({ address: standbyFirst });
      await signCsr(node, { mount: MOUNT, role, csr }).catch((e: Error) => failures.push(e.message));
    }
    expect(failures).toEqual([]);
  });

  it('kill -9 the active, seal a standby, SIGSTOP the active: every client and agent recovers, no certificate expires', async () => {
    const t0 = Date.now();
    const phase = (name: string) => console.log(`[ha +${((Date.now() - t0) / 1000).toFixed(1)}s] ${name}`);
    // --- SDK clients: three on the address list (each starting elsewhere), three through haproxy
    const addrs = cluster.servers.map((s) => s.addr);
    const clients: { name: string; vault: VaultClient }[] = [
      ...[0, 1, 2].map((k) => ({ name: `list${k}`, vault: createVaultClient({ address: [...addrs.slice(k), ...addrs.slice(0, k)], token: cluster.rootToken, env: {}, logger: silentLogger, retry: { timeoutMs: TIMEOUT_MS } }) })),
      ...[0, 1, 2].map((k) => ({ name: `lb${k}`, vault: createVaultClient({ address: lb.addr, token: cluster.rootToken, env: {}, logger: silentLogger, retry: { timeoutMs: TIMEOUT_MS } }) })),
    ];
    const logs: CallLog[] = clients.map((c) => ({ client: c.name, ok: 0, failed: [], maxMs: 0 }));
    let running = true;
    const csrs = await Promise.all([0, 1, 2, 3].map(async () => buildCsr({ keys: await generateKeyPair('ec-p256'), keyType: 'ec-p256', sans: nodeSans(parseNodeName('load@127.0.0.1')) })));
    const loops = clients.map(async (c, k) => {
      const log = logs[k]!;
      for (let n = 0; running; n++) {
        const t = performance.now();
        try {
          await signCsr(c.vault, { mount: MOUNT, role: ROLE, csr: csrs[n % csrs.length]! });
          log.ok++;
        } catch (e) {
          log.failed.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${(e as Error).message}`);
        }
        log.maxMs = Math.max(log.maxMs, performance.now() - t);
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    // --- agents: address list and haproxy, two nodes each, 30 s certificates
    const expiredSeen: string[] = [];
    const agentRuns: { name: string; renewedAfter: (ms: number) => boolean; stop: () => Promise<void>; dirs: string[] }[] = [];
    for (const [name, address] of [['agent-list', cluster.addrList], ['agent-lb', lb.addr]] as const) {
      const nodes = [1, 2].map((i) => {
        const dir = join(tmp.dir, `${name}-${i}`);
        mkdirSync(dir, { recursive: true });
        return { name: `${name.replace('-', '')}${i}@127.0.0.1`, dir, mount: MOUNT, role: ROLE, ttl: '30s', reload: { strategy: 'poll' }, verify: { enabled: false } };
      });
      const v = validateConfig({
        vault: { address, auth: { method: 'token', token: cluster.rootToken }, requestTimeoutMs: TIMEOUT_MS },
        schedule: { renewAtFraction: 0.3, jitterFraction: 0.05, minRemainingSeconds: 5, backoff: { initialMs: 200, maxMs: 1000, jitterFraction: 0.25 } },
        health: { enabled: false },
        nodes,
      });
      expect(v.errors).toEqual([]);
      const renewals: number[] = [];
      const agent = createAgent(v.config!, {
        hooks: {
          onAttempt: (_n: string, r: AttemptResult) => {
            if (r.ok && r.action === 'renewed') renewals.push(Date.now());
          },
        },
      });
      const ac = new AbortController();
      const run = agent.run(ac.signal);
      agentRuns.push({ name, dirs: nodes.map((n) => n.dir), renewedAfter: (ms) => renewals.some((t) => t > ms), stop: async () => (ac.abort(), await run) });
    }
    // every 250 ms: the certificate on disk of every node is valid now
    const sampler = setInterval(() => {
      for (const a of agentRuns) {
        for (const d of a.dirs) {
          let pem: string;
          try {
            pem = readFileSync(join(d, 'bundle.pem'), 'utf8');
          } catch {
            continue; // not issued yet
          }
          const cert = new X509Certificate(pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----')));
          if (new Date(cert.validTo).getTime() <= Date.now()) expiredSeen.push(`${d} at +${Date.now() - t0} ms`);
        }
      }
    }, 250);

    try {
      await new Promise((r) => setTimeout(r, 3000));
      // 1. kill -9 the active server
      const a1 = await cluster.waitActive();
      phase(`kill -9 server ${a1} (active)`);
      const k0 = Date.now();
      await cluster.kill(a1);
      const a2 = await cluster.waitActive({ exclude: [a1] });
      phase(`server ${a2} active after ${Date.now() - k0} ms; restarting ${a1}`);
      await new Promise((r) => setTimeout(r, 3000));
      await cluster.start(a1);

      // 2. seal a standby (restarted, left sealed)
      const sb = [1, 2, 3].find((i) => i !== a2)!;
      phase(`seal standby ${sb}`);
      await cluster.seal(sb);
      await new Promise((r) => setTimeout(r, 4000));
      await cluster.unseal(sb);

      // 3. SIGSTOP the active server
      const a3 = await cluster.waitActive();
      phase(`SIGSTOP server ${a3} (active)`);
      const f0 = Date.now();
      cluster.freeze(a3);
      const a4 = await cluster.waitActive({ exclude: [a3] });
      phase(`server ${a4} active after ${Date.now() - f0} ms`);
      await new Promise((r) => setTimeout(r, 4000));
      cluster.thaw(a3);
      phase(`SIGCONT server ${a3}`);
      const lastFault = Date.now();
      // let every agent renew once more (30 s certificates at 0.3: a renewal at least every ~10 s)
      const deadline = Date.now() + 25_000;
      while (!agentRuns.every((a) => a.renewedAfter(lastFault)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      phase('agents renewed after the last fault');
    } finally {
      running = false;
      await Promise.all(loops);
      clearInterval(sampler);
      for (const a of agentRuns) await a.stop();
    }

    console.log('SDK calls per client:', logs.map((l) => `${l.client}: ${l.ok} ok, ${l.failed.length} failed, max ${Math.round(l.maxMs)} ms`).join('; '));
    for (const l of logs) {
      expect({ client: l.client, failed: l.failed }).toEqual({ client: l.client, failed: [] });
      expect(l.ok).toBeGreaterThan(20);
    }
    expect(agentRuns.map((a) => [a.name, a.renewedAfter(0)])).toEqual(agentRuns.map((a) => [a.name, true]));
    expect(expiredSeen).toEqual([]);
  }, 110_000);
});
