import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPeersFile } from '@vaultdist/sdk/internal';
import { testdir } from '../../../../../scripts/test-utils/src/index.js';
import { membershipLine, readMembership } from '../status/registry.js';
import { registryFindings } from './registry.js';

const NOW = new Date(Date.UTC(2026, 10, 29, 12, 0, 0));
const at = (s: number) => new Date(NOW.getTime() + s * 1000);
const peer = (node: string, state: 'live' | 'stale', exp: Date) => ({ node, host: '127.0.0.1', port: 41000, state, expiresAt: exp, otpRelease: '25', serial: undefined });

describe('registry membership in status and doctor', () => {
  let t: ReturnType<typeof testdir>;
  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  it('fresh file with this node: ok', async () => {
    writeFileSync(join(t.dir, 'peers'), renderPeersFile({ cluster: 'prod', state: 'fresh', staleSince: undefined, peers: [peer('a@127.0.0.1', 'live', at(30)), peer('b@127.0.0.1', 'live', at(30))] }));
    const m = await readMembership(t.dir, 'a@127.0.0.1', NOW);
    expect(m).toMatchObject({ state: 'fresh', cluster: 'prod', self: 'listed', staleMembers: [], overdue: [] });
    expect(membershipLine(m)).toBe('cluster prod: 2 member(s); this node registered');
    const f = await registryFindings(t.dir, 'a@127.0.0.1', NOW, {});
    expect(f.map((x) => `${x.check}:${x.severity}`)).toEqual(['registry.peers:ok', 'registry.self:ok']);
  });

  it('stale file (Vault outage): warns with the age and the stale entries', async () => {
    writeFileSync(join(t.dir, 'peers'), renderPeersFile({ cluster: 'prod', state: 'stale', staleSince: at(-300), peers: [peer('a@127.0.0.1', 'stale', at(-200)), peer('b@127.0.0.1', 'live', at(30))] }));
    const m = await readMembership(t.dir, 'a@127.0.0.1', NOW);
    expect(membershipLine(m)).toMatch(/STALE since 2026-11-29T11:55:00.000Z .*stale: a@127.0.0.1; this node listed \(stale\)/);
    const f = await registryFindings(t.dir, 'a@127.0.0.1', NOW, {});
    expect(f[0]).toMatchObject({ check: 'registry.stale', severity: 'warning' });
    expect(f[0]!.message).toMatch(/members not refreshed for 5m.*2 last-known member\(s\), 1 past their lease \(a@127.0.0.1\)/);
  });

  it('a fresh file whose entries are past their lease: the agent stopped; a node not listed is not findable', async () => {
    writeFileSync(join(t.dir, 'peers'), renderPeersFile({ cluster: 'prod', state: 'fresh', staleSince: undefined, peers: [peer('b@127.0.0.1', 'live', at(-60))] }));
    const f = await registryFindings(t.dir, 'a@127.0.0.1', NOW, {});
    expect(f.map((x) => `${x.check}:${x.severity}`)).toEqual(['registry.agent:warning', 'registry.self:info']);
  });

  it('agent.yaml registers the node but vm.args does not read the peers file: a wiring warning', async () => {
    writeFileSync(join(t.dir, 'agent.yaml'), `vault: {address: "http://127.0.0.1:8200", auth: {method: token, token: x}}\nregistry: {enabled: true, cluster: prod}\nnodes:\n  - {name: a@127.0.0.1, dir: "${t.dir}", mount: pki, role: node, reload: {strategy: poll}}\n`);
    const noFlag = await registryFindings(t.dir, 'a@127.0.0.1', NOW, {}, { path: join(t.dir, 'vm.args'), text: '-epmd_module vaultdist_epmd\n' });
    expect(noFlag.map((x) => `${x.check}:${x.severity}`)).toEqual(['registry.vmargs:warning', 'registry.peers:warning']);
    const other = await registryFindings(t.dir, 'a@127.0.0.1', NOW, {}, { path: join(t.dir, 'vm.args'), text: '-vaultdist_epmd_peers_file /elsewhere/peers\n' });
    expect(other[0]!.message).toMatch(/reads peers from \/elsewhere\/peers, the agent writes .*\/peers/);
    const right = await registryFindings(t.dir, 'a@127.0.0.1', NOW, {}, { path: join(t.dir, 'vm.args'), text: `-vaultdist_epmd_peers_file ${join(t.dir, 'peers')}\n` });
    expect(right.map((x) => x.check)).toEqual(['registry.peers']);
  });

  it('no peers file and no agent.yaml: nothing to say', async () => {
    expect(await registryFindings(t.dir, 'a@127.0.0.1', NOW, {})).toEqual([]);
    expect(membershipLine(await readMembership(t.dir, 'a@127.0.0.1', NOW))).toBeUndefined();
  });
});
