/**
 * Issue #4 acceptance, outage: OpenBao (this test's OWN dev server) is stopped for longer than one
 * renewal interval but less than the certificate's remaining lifetime. The agent backs off (the sleeps
 * it really takes grow and cap, never zero), the old set stays live, the node never serves an expired
 * certificate, and the agent renews once OpenBao is back. Dev mode loses its storage on restart, so the
 * PKI is re-created with a NEW root: the trust bundle (Vault's new root + the old root from
 * trust.extraCaFiles) carries the node through that CA change too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createVaultClient,
  distFlags,
  issueNodeCredentials,
  probeDistCertificate,
  silentLogger,
  type VaultClient,
} from '../../packages/sdk/src/index.js';
import {
  ensureMount,
  ensureRole,
  ensureRootCa,
  nodeRoleBody,
} from '../../packages/sdk/src/internal.js';
import { renderOptfile } from '../../packages/sdk/src/index.js';
import { createAgent, validateConfig, type AttemptResult, type Logger } from '../../packages/agent/src/index.js';
import { startVaultDev, type VaultDev } from '../../scripts/vault-dev/src/index.js';
import { testdir } from '../helpers/vault.js';
import { compileErlang, sharedFreePort, startNode, stopAllNodes } from '../helpers/erlang.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const RELOAD_SRC = join(ROOT, 'packages', 'cli', 'erlang', 'src', 'vaultdist_reload.erl');
const NODE = 'foo@127.0.0.1';
const BACKOFF = { initialMs: 200, maxMs: 1600, jitterFraction: 0.5 };

async function makePki(vault: VaultClient): Promise<string> {
  await ensureMount(vault, 'pki', { maxLeaseTtl: '87600h' });
  const root = await ensureRootCa(vault, 'pki', { commonName: `outage root ${Date.now()}`, ttl: '8760h' });
  await ensureRole(vault, 'pki', 'node', nodeRoleBody({ allowAnyName: true, ttl: '40s', maxTtl: '1h', extra: { not_before_duration: '1s' } }));
  return root.certificate!;
}

describe('agent during an OpenBao outage', () => {
  let vd: VaultDev;
  let tmp: ReturnType<typeof testdir>;
  beforeAll(async () => {
    vd = await startVaultDev();
    tmp = testdir();
  });
  afterAll(async () => {
    await stopAllNodes();
    await vd?.stop();
    tmp?.cleanup();
  });

  it('backs off with growing, capped sleeps, never serves an expired certificate, and renews after the outage', async () => {
    const vault = createVaultClient({ address: vd.addr, token: vd.token, env: {}, logger: silentLogger });
    const rootA = await makePki(vault);
    const rootAFile = join(tmp.dir, 'root-a.pem');
    writeFileSync(rootAFile, rootA);
    const dir = join(tmp.dir, 'foo');
    const first = await issueNodeCredentials(vault, { mount: 'pki', role: 'node', node: NODE, dir, trust: [rootA] });
    writeFileSync(join(dir, 'ssl_dist.conf'), renderOptfile({ bundleFile: first.written.bundlePath, caFile: first.written.caPath }));
    const port = await sharedFreePort(['127.0.0.1']);
    const node = await startNode({
      name: NODE,
      dir,
      flags: [...distFlags({ optfile: join(dir, 'ssl_dist.conf'), distPort: port, listenInterface: '127.0.0.1', codePaths: [compileErlang([RELOAD_SRC])] }), '-vaultdist_sighup', 'true', '-vaultdist_pidfile', join(dir, 'beam.pid'), '-s', 'vaultdist_reload', 'start'],
    });

    const v = validateConfig({
      vault: { address: vd.addr, auth: { method: 'token', token: vd.token }, requestTimeoutMs: 2000 },
      schedule: { renewAtFraction: 0.25, jitterFraction: 0, minRemainingSeconds: 5, backoff: BACKOFF },
      health: { enabled: false },
      nodes: [{ name: NODE, dir, mount: 'pki', role: 'node', ttl: '40s', trust: { extraCaFiles: [rootAFile] }, reload: { strategy: 'signal', pidFile: join(dir, 'beam.pid'), handlerInstalled: true }, verify: { port } }],
    });
    expect(v.errors).toEqual([]);
    const backoffSleeps: number[] = [];
    const attempts: AttemptResult[] = [];
    const logs: { msg: string; meta: Record<string, unknown> }[] = [];
    const rec = (meta: object, msg: string) => void logs.push({ msg, meta: meta as Record<string, unknown> });
    const logger: Logger = { debug: rec, info: rec, warn: rec, error: rec, fatal: rec };
    let onEvent = () => {};
    const until = (pred: () => boolean) => new Promise<void>((res) => (onEvent = () => pred() && res()));
    const agent = createAgent(v.config!, {
      ports: { logger },
      hooks: {
        onSleep: (_n, ms, reason) => {
          if (reason === 'backoff') backoffSleeps.push(ms);
          onEvent();
        },
        onAttempt: (_n, r) => {
          attempts.push(r);
          onEvent();
        },
      },
    });

    // the outage starts right away: the first renewal (at ~1/4 of the lifetime) already fails
    await vd.pause();
    const controller = new AbortController();
    const running = agent.run(controller.signal);

    // meanwhile, new connections keep getting a certificate that has not expired
    const served: { at: number; serial?: string | undefined; notAfter?: Date | undefined; ok: boolean }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const b = readFileSync(join(dir, 'bundle.pem'), 'utf8');
        const p = await probeDistCertificate({ host: '127.0.0.1', port, cert: b, key: b, ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), servername: '127.0.0.1' });
        served.push({ at: Date.now(), serial: p.serial, notAfter: p.notAfter, ok: p.ok });
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    // enough failures to see the delays grow and reach the cap (200 → 400 → 800 → 1600 …)
    await until(() => backoffSleeps.length >= 8);
    const failuresDuringOutage = attempts.filter((a) => !a.ok).length;
    expect(attempts.every((a) => !a.ok && a.kind === 'vault-unreachable')).toBe(true);
    expect(agent.status()[0]!.cert?.serial).toBe(first.leaf.serial); // the old set is still live
    expect(readFileSync(join(dir, 'bundle.pem'), 'utf8')).toContain(first.issued.certificate.trim().slice(30, 90));

    // OpenBao comes back (empty: dev mode) with a new root CA. Trust is pinned (#12): its answers chain
    // to a root the node's ca.pem does not hold, so they are rejected (trust-anchor) until the operator
    // announces the new root through the CA-rotation step (trust.extraCaFiles, re-read at every renewal).
    await vd.restart();
    const rootB = await makePki(vault);
    await until(() => attempts.some((a) => !a.ok && a.kind === 'rejected'));
    const rejected = attempts.find((a) => !a.ok && a.kind === 'rejected') as { message: string };
    expect(rejected.message).toMatch(/trust-anchor/);
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).not.toContain(rootB.trim());
    writeFileSync(rootAFile, rootA + rootB);
    await until(() => attempts.some((a) => a.ok && a.action === 'renewed'));
    probing = false;
    await prober;
    controller.abort();
    await running;

    // the sleeps: never zero, non-decreasing until the cap, capped, and the cap reached
    console.log('backoff sleeps (ms):', backoffSleeps);
    // the first retry is jittered too (issue #14): within [initialMs / 2, initialMs]
    expect(backoffSleeps.every((s) => s >= BACKOFF.initialMs / 2 && s <= BACKOFF.maxMs)).toBe(true);
    for (let i = 1; i < backoffSleeps.length; i++) {
      if (backoffSleeps[i - 1]! < BACKOFF.maxMs / 2) expect(backoffSleeps[i]!).toBeGreaterThanOrEqual(backoffSleeps[i - 1]!);
    }
    expect(backoffSleeps.filter((s) => s >= BACKOFF.maxMs / 2).length).toBeGreaterThanOrEqual(3);
    expect(failuresDuringOutage).toBeGreaterThanOrEqual(8);

    // never an expired certificate, and the node now serves the new one from the new CA
    expect(served.length).toBeGreaterThan(3);
    for (const s of served) if (s.notAfter) expect(s.notAfter.getTime()).toBeGreaterThan(s.at);
    const renewed = attempts.find((a) => a.ok && a.action === 'renewed') as { serial: string };
    expect(renewed.serial).not.toBe(first.leaf.serial);
    const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
    expect(ca).toContain(rootA.trim());
    expect(ca).toContain(rootB.trim());
    const b = readFileSync(join(dir, 'bundle.pem'), 'utf8');
    const now = await probeDistCertificate({ host: '127.0.0.1', port, cert: b, key: b, ca, servername: '127.0.0.1' });
    expect(now).toMatchObject({ ok: true, serial: renewed.serial });
    expect(node.alive).toBe(true);
    expect(logs.some((l) => l.msg === 'retrying after backoff')).toBe(true);
  }, 120_000);
});
