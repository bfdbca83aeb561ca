/**
 * The token renewal under the agent's scheduler (issue #14: with Vault down at start, a renewable
 * token was looked up once, failed, and never renewed for the life of the process). Fake Clock and
 * Random ports; Vault faults through msw.
 */
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { writeCredentialSet } from '@vaultdist/sdk';
import { makeCa, makeLeaf, testdir } from '../../../../scripts/test-utils/src/index.js';
import { createAgent } from '../agent.js';
import { validateConfig } from '../config/schema.js';
import type { Clock } from '../ports.js';

const ADDR = 'http://vault.test:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

it('Vault down at start: the token lookup is retried with jittered backoff, then the token is renewed', async () => {
  const tmp = testdir();
  const ca = await makeCa('token loop root');
  const start = new Date(Date.UTC(2026, 0, 1));
  const leaf = await makeLeaf({ ca, serial: '0d', notBefore: start, notAfter: new Date(start.getTime() + 30 * 86400_000) });
  const dir = join(tmp.dir, 'foo');
  await writeCredentialSet(dir, { privateKey: leaf.keyPem, certificate: leaf.certPem, chain: [], caBundle: [ca.pem] });
  let lookups = 0;
  let renews = 0;
  server.use(
    http.get(`${ADDR}/v1/auth/token/lookup-self`, () => (++lookups <= 3 ? HttpResponse.error() : HttpResponse.json({ data: { accessor: 'a1', ttl: 60, renewable: true, policies: ['p'] } }))),
    http.post(`${ADDR}/v1/auth/token/renew-self`, () => {
      renews++;
      return HttpResponse.json({ auth: { client_token: 'ignored', lease_duration: 60, renewable: true, policies: ['p'] } });
    }),
  );
  const config = validateConfig({
    vault: { address: ADDR, auth: { method: 'token', token: 'renewable-token' } },
    schedule: { vaultProbeIntervalMs: 0 },
    health: { enabled: false },
    nodes: [{ name: 'foo@127.0.0.1', dir, mount: 'pki', role: 'node', reload: { strategy: 'poll' }, verify: { enabled: false } }],
  }).config!;
  const controller = new AbortController();
  let wall = start.getTime() + 3600_000;
  let mono = 0;
  const clock: Clock = {
    now: () => new Date(wall),
    monotonicMs: () => mono,
    async sleep(ms, signal) {
      signal.throwIfAborted();
      await new Promise((res) => setImmediate(res));
      wall += ms;
      mono += ms;
      signal.throwIfAborted();
    },
  };
  const steps: { step: string; ms?: number | undefined }[] = [];
  const draws = [0.1, 0.9, 0.5, 0.3];
  let d = 0;
  const agent = createAgent(config, {
    ports: { clock, random: { next: () => draws[d++ % draws.length]! } },
    hooks: {
      onTokenStep: (step, ms) => {
        steps.push({ step, ms });
        if (step === 'renewed') controller.abort(new Error('done'));
      },
    },
  });
  await agent.run(controller.signal);
  expect(lookups).toBe(4);
  expect(renews).toBe(1);
  const backoffs = steps.filter((s) => s.step === 'lookup-failed').map((s) => s.ms!);
  expect(backoffs).toHaveLength(3);
  // jittered from the first retry on: within [initialMs/2, initialMs] for the first, growing, capped
  expect(backoffs[0]).toBeGreaterThanOrEqual(500);
  expect(backoffs[0]).toBeLessThan(1000);
  expect(backoffs[1]!).toBeGreaterThanOrEqual(backoffs[0]!);
  expect(backoffs[2]!).toBeGreaterThanOrEqual(backoffs[1]!);
  expect(steps.at(-1)).toEqual({ step: 'renewed', ms: undefined });
  tmp.cleanup();
});
