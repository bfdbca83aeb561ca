/**
 * Post-swap verification against a stand-in distribution port (a Node TLS server that keeps serving
 * the OLD certificate, as an OTP 25 node does when nobody clears its PEM cache): the failure is
 * counted and reported (exit 15, metric, readiness), the next attempt reloads and verifies again
 * WITHOUT issuing another certificate, and once the port serves the new serial the node is in line.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAgent, validateConfig } from '../../packages/agent/src/index.js';
import { testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/;
const CERTS = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

describe('agent verification of the served serial', () => {
  const pki = useTestPki();
  const tmp = useTestdir();
  let server: Server | undefined;
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('counts a node that keeps serving the old certificate, then reloads without re-issuing', async () => {
    const dir = join(tmp.dir, 'node');
    const ctx = () => {
      const b = readFileSync(join(dir, 'bundle.pem'), 'utf8');
      return { key: KEY.exec(b)![0], cert: (b.match(CERTS) ?? []).join('\n') };
    };
    const cfg = (verify: Record<string, unknown>) =>
      validateConfig({
        vault: { address: testVault().addr, auth: { method: 'token', token: testVault().token } },
        health: { enabled: false },
        nodes: [{ name: 'ver@127.0.0.1', dir, mount: pki.mount, role: pki.role, reload: { strategy: 'command', command: ['true'] }, verify }],
      }).config!;
    // set A, served by the stand-in port
    expect((await createAgent(cfg({ enabled: false })).runOnce()).exitCode).toBe(0);
    const a = ctx();
    server = createServer({ ...a });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const verify = { port, deadlineMs: 600, retryIntervalMs: 100, probeTimeoutMs: 1000 };

    // forced renewal: set B is written, but the port still serves A
    const agent1 = createAgent(cfg(verify));
    const r1 = await agent1.runOnce({ force: true });
    expect(r1.exitCode).toBe(15);
    expect(r1.nodes[0]!.result).toMatchObject({ ok: false, kind: 'verify' });
    const m1 = await agent1.metrics.registry.metrics();
    expect(m1).toContain('vaultdist_agent_reload_verify_failures_total{node="ver@127.0.0.1"} 1');
    expect(m1).toContain('vaultdist_agent_renewals_total{node="ver@127.0.0.1"} 1');
    expect(agent1.health().nodes[0]).toMatchObject({ ready: false, reasons: expect.arrayContaining(['new certificate not yet served']) });
    const serialB = agent1.status()[0]!.cert!.serial;

    // a new agent run (e.g. after a restart) sees disk ≠ served and only reloads + verifies: no new certificate
    const agent2 = createAgent(cfg(verify));
    const r2 = await agent2.runOnce();
    expect(r2.exitCode).toBe(15);
    expect(await agent2.metrics.registry.metrics()).not.toMatch(/vaultdist_agent_renewals_total\{[^}]*\} [1-9]/);
    expect(agent2.status()[0]!.cert!.serial).toBe(serialB);

    // the node picks up the new files: the pending reload is retried, verified, and the node is in line
    server.setSecureContext(ctx());
    const r3 = await agent2.runOnce();
    expect(r3).toMatchObject({ exitCode: 0, nodes: [{ result: { ok: true, action: 'reloaded', serial: serialB } }] });
    expect(agent2.health().nodes[0]!.ready).toBe(true);
    expect(await agent2.metrics.registry.metrics()).not.toMatch(/vaultdist_agent_renewals_total\{[^}]*\} [1-9]/);
    // a fresh start finds disk = served: nothing to do
    expect((await createAgent(cfg(verify)).runOnce()).nodes[0]!.result).toMatchObject({ ok: true, action: 'none', serial: serialB });
  });
});
