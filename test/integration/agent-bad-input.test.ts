/**
 * Bad Vault answers (faults a real OpenBao cannot produce, so msw): a certificate for another key, a
 * certificate from another CA, an already-expired certificate. Each is rejected BEFORE anything is
 * written (the live set stays byte-identical), and shows in logs, metrics and health.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { writeCredentialSet } from '../../packages/sdk/src/index.js';
import { createAgent, validateConfig, type Logger } from '../../packages/agent/src/index.js';
import { makeCa, makeLeaf, testdir, vaultOk, type TestCa } from '../../scripts/test-utils/src/index.js';

const ADDR = 'http://vault.invalid:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const NODE = 'foo@127.0.0.1';

describe('agent rejects bad Vault answers before writing', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let tmp: ReturnType<typeof testdir>;
  let dir: string;

  beforeAll(async () => {
    ca = await makeCa('agent test root');
    otherCa = await makeCa('some other root');
    tmp = testdir();
    dir = join(tmp.dir, 'foo');
    // a valid live set, close to expiry so the agent wants to renew
    const now = Date.now();
    const live = await makeLeaf({ ca, serial: '0a0b', notBefore: new Date(now - 3600_000), notAfter: new Date(now + 60_000) });
    await writeCredentialSet(dir, { privateKey: live.keyPem, certificate: live.certPem, chain: [], caBundle: [ca.pem] });
  });
  afterAll(() => tmp?.cleanup());

  const cases: [string, string, () => Promise<{ certificate: string; private_key: string; ca_chain: string[] }>][] = [
    [
      'a certificate for another key',
      'key-mismatch',
      async () => {
        const good = await makeLeaf({ ca, serial: '1001', notBefore: new Date(Date.now() - 1000), notAfter: new Date(Date.now() + 3600_000) });
        const other = await makeLeaf({ ca, serial: '1002' });
        return { certificate: good.certPem, private_key: other.keyPem, ca_chain: [ca.pem] };
      },
    ],
    [
      'a certificate from another CA',
      'chain',
      async () => {
        const rogue = await makeLeaf({ ca: otherCa, serial: '2001', notBefore: new Date(Date.now() - 1000), notAfter: new Date(Date.now() + 3600_000) });
        return { certificate: rogue.certPem, private_key: rogue.keyPem, ca_chain: [ca.pem] };
      },
    ],
    [
      'an already-expired certificate',
      'expired',
      async () => {
        const old = await makeLeaf({ ca, serial: '3001', notBefore: new Date(Date.UTC(2020, 0, 1)), notAfter: new Date(Date.UTC(2021, 0, 1)) });
        return { certificate: old.certPem, private_key: old.keyPem, ca_chain: [ca.pem] };
      },
    ],
    [
      // trust pinning (#12): whoever answers as Vault with a self-consistent chain to a root the node
      // never trusted would otherwise replace ca.pem and take over who the node trusts
      'a consistent answer chaining to a root the set in use does not chain to',
      'trust-anchor',
      async () => {
        const rogue = await makeLeaf({ ca: otherCa, serial: '4001', notBefore: new Date(Date.now() - 1000), notAfter: new Date(Date.now() + 3600_000) });
        return { certificate: rogue.certPem, private_key: rogue.keyPem, ca_chain: [otherCa.pem] };
      },
    ],
  ];

  it.each(cases)('%s', async (_what, problem, answer) => {
    const a = await answer();
    server.use(
      http.post(`${ADDR}/v1/pki/issue/node`, () =>
        HttpResponse.json(vaultOk({ certificate: a.certificate, issuing_ca: a.ca_chain[0], ca_chain: a.ca_chain, private_key: a.private_key, private_key_type: 'ec', serial_number: 'aa:bb', expiration: 0 })),
      ),
    );
    const before = { bundle: readFileSync(join(dir, 'bundle.pem'), 'utf8'), ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), current: readlinkSync(join(dir, 'current')) };
    const logs: { msg: string; meta: Record<string, unknown> }[] = [];
    const rec = (meta: object, msg: string) => void logs.push({ msg, meta: meta as Record<string, unknown> });
    const logger: Logger = { debug: rec, info: rec, warn: rec, error: rec, fatal: rec };
    const v = validateConfig({
      vault: { address: ADDR, auth: { method: 'token', token: 'test' } },
      health: { enabled: false },
      nodes: [{ name: NODE, dir, mount: 'pki', role: 'node', mode: 'issue', reload: { strategy: 'poll' }, verify: { enabled: false } }],
    });
    const agent = createAgent(v.config!, { ports: { logger } });
    const r = await agent.runOnce({ force: true });

    expect(r.exitCode).toBe(13);
    expect(r.nodes[0]!.result).toMatchObject({ ok: false, kind: 'rejected' });
    // nothing written: the same bytes, the same live set
    expect({ bundle: readFileSync(join(dir, 'bundle.pem'), 'utf8'), ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), current: readlinkSync(join(dir, 'current')) }).toEqual(before);
    // logs
    const failure = logs.find((l) => l.msg.startsWith('renewal failed'));
    expect(failure?.meta).toMatchObject({ node: NODE, kind: 'rejected' });
    expect(String(failure?.meta.err)).toContain(problem);
    expect(logs.some((l) => l.msg === 'credential set written')).toBe(false);
    // metrics
    const text = await agent.metrics.registry.metrics();
    expect(text).toContain(`vaultdist_agent_rejected_credentials_total{node="${NODE}",problem="${problem}"} 1`);
    expect(text).toContain(`vaultdist_agent_renew_failures_total{node="${NODE}",kind="rejected"} 1`);
    expect(text).not.toMatch(/vaultdist_agent_renewals_total\{[^}]*\} [1-9]/);
    // health: the old set is still valid but the failure is reported
    const h = agent.health();
    expect(h.nodes[0]!.reasons.join(' ')).toContain('last rejected failure');
    expect(agent.status()[0]!.cert?.serial).toBe('0a:0b');
  });
});
