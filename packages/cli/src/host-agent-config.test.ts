import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@vaultdist/agent';
import { testdir } from '../../../scripts/test-utils/src/index.js';
import { addToHostAgentConfig } from './host-agent-config.js';
import type { NodeSettings } from './node-dir.js';

const settings = (root: string, name: string, agentAuth: NodeSettings['agentAuth'], port: number): NodeSettings => ({
  version: 1,
  node: `${name}@127.0.0.1`,
  dir: join(root, name),
  vaultAddr: 'https://vault.test:8200',
  vaultCaCert: '/etc/vaultdist/vault-ca.pem',
  mount: 'pki_dist',
  role: `vaultdist-${name}`,
  baseRole: 'erlang-node',
  policyPrefix: 'vaultdist-node',
  registryMount: 'vaultdist',
  keyType: 'ec-p256',
  ttl: '',
  distPort: port,
  listenInterface: '127.0.0.1',
  tlsVersions: ['tlsv1.3'],
  modules: ['vaultdist_reload'],
  certAuthMount: 'cert',
  certAuthRole: `vaultdist-${name}`,
  healthPort: 9464,
  agentAuth,
  approleMount: 'approle',
  connectAll: true,
  crl: false,
  owner: null,
}) as NodeSettings;

it('one host config: nodes added and replaced by name, each with its own identity, one health port, valid for the agent', async () => {
  const t = testdir();
  const path = join(t.dir, 'agent.yaml');
  const a = await addToHostAgentConfig(path, settings(t.dir, 'foo', 'cert', 9101));
  expect(a).toMatchObject({ changed: true, nodes: ['foo@127.0.0.1'] });
  const b = await addToHostAgentConfig(path, settings(t.dir, 'bar', 'approle', 9102));
  expect(b.nodes).toEqual(['bar@127.0.0.1', 'foo@127.0.0.1']);
  // a re-run of foo replaces its entry, nothing changes
  expect(await addToHostAgentConfig(path, settings(t.dir, 'foo', 'cert', 9101))).toMatchObject({ changed: false, nodes: ['bar@127.0.0.1', 'foo@127.0.0.1'] });
  const loaded = await loadConfig({ path, env: {} });
  expect(loaded.errors).toEqual([]);
  const c = loaded.config!;
  expect(c.health.port).toBe(9464);
  expect(c.nodes.map((n) => [n.name, n.auth?.method, n.auth && 'name' in n.auth ? n.auth.name : undefined])).toEqual([
    ['bar@127.0.0.1', 'approle', undefined],
    ['foo@127.0.0.1', 'cert', 'vaultdist-foo'],
  ]);
  expect(readFileSync(path, 'utf8')).toContain('vaultdist init node` adds each node');
  t.cleanup();
});
