/**
 * "renewal margin longer than the certificate allows; capped" is logged once per certificate lifetime,
 * not at every renewal (issue #14: twice per renewal for short certificates, a permanent false alarm).
 */
import { join } from 'node:path';
import { writeCredentialSet, type VaultClient } from '@vaultdist/sdk';
import { makeCa, makeLeaf, testdir } from '../../../../scripts/test-utils/src/index.js';
import { validateConfig } from '../config/schema.js';
import { mathRandom, nodeFs, nodeProcess, type Clock, type Logger } from '../ports.js';
import { createMetrics } from './metrics.js';
import { NodeWorker } from './node-worker.js';

it('the capped-margin warning: once per certificate lifetime', async () => {
  const tmp = testdir();
  const ca = await makeCa('margin root');
  const nb = new Date(Date.UTC(2026, 0, 1));
  const leaf = await makeLeaf({ ca, serial: '0e', notBefore: nb, notAfter: new Date(nb.getTime() + 600_000) }); // 10 min
  const dir = join(tmp.dir, 'foo');
  await writeCredentialSet(dir, { privateKey: leaf.keyPem, certificate: leaf.certPem, chain: [], caBundle: [ca.pem] });
  const config = validateConfig({
    vault: { address: 'http://vault.test:8200', auth: { method: 'token', token: 't' } },
    schedule: { minRemainingSeconds: 3600 }, // longer than the certificate
    nodes: [{ name: 'foo@127.0.0.1', dir, mount: 'pki', role: 'node', reload: { strategy: 'poll' }, verify: { enabled: false } }],
  }).config!;
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (_m, msg) => void warnings.push(msg), error() {} };
  const clock: Clock = { now: () => new Date(nb.getTime() + 60_000), monotonicMs: () => 0, sleep: async () => {} };
  const w = new NodeWorker({ config: () => config, ports: { clock, random: mathRandom, fs: nodeFs, logger, process: nodeProcess }, metrics: createMetrics(), vault: {} as VaultClient, logger, hooks: {} }, config.nodes[0]!);
  for (let i = 0; i < 3; i++) expect(await w.loadFromDisk()).toBeDefined();
  expect(warnings.filter((m) => m.startsWith('renewal margin longer than the certificate allows'))).toHaveLength(1);
  tmp.cleanup();
});
