import { validateConfig } from './config/schema.js';
import { workerMode } from './main.js';

const node = (extra: Record<string, unknown> = {}) => ({ name: 'a@10.0.0.5', dir: '/var/lib/vaultdist/a', mount: 'pki', role: 'node', reload: { strategy: 'poll' }, verify: { enabled: false }, ...extra });
const cfg = (extra: Record<string, unknown>, nodes = [node()]) => {
  const r = validateConfig({ vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 't' } }, nodes, ...extra });
  if (!r.config) throw new Error(r.errors.join('; '));
  return r.config;
};

describe('worker.mode (issue #16: a fork costs ~0.4 s of CPU)', () => {
  it.each([
    ['default: a work process', {}, [node()], 'process'],
    ['CRL every 5 min (default interval): a work process', {}, [node({ crl: { enabled: true } })], 'process'],
    ['CRL every 30 s: inline', {}, [node({ crl: { enabled: true, refreshIntervalSeconds: 30 } })], 'inline'],
    ['the registry (member refresh every 10 s): inline', { registry: { enabled: true } }, [node()], 'inline'],
    ['the registry on, every node out of it: a work process', { registry: { enabled: true } }, [node({ registry: { enabled: false } })], 'process'],
    ['explicit process wins', { registry: { enabled: true }, worker: { mode: 'process' } }, [node()], 'process'],
    ['explicit inline wins', { worker: { mode: 'inline' } }, [node()], 'inline'],
  ] as const)('%s', (_name, extra, nodes, want) => {
    expect(workerMode(cfg(extra, [...nodes]))).toBe(want);
  });
});
