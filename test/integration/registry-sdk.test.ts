/**
 * The SDK's registry client against the real plugin on the run's OpenBao (mounted by the global
 * setup at VAULTDIST_TEST_REGISTRY_MOUNT): operator config round trip, a node identity (its own
 * policy, as in the plan's identity model) registering, reading itself and a peer through the
 * read-only members path, renewing, the operator evicting, and inputs refused before any request.
 */
import {
  createVaultClient,
  deregisterNode,
  evictNode,
  isConfigError,
  isNodeNameError,
  isVaultPermissionDeniedError,
  listMembers,
  readClusterConfig,
  readMember,
  registerNode,
  renewRegistration,
  silentLogger,
  writeClusterConfig,
} from '../../packages/sdk/src/index.js';
import { adminClient, suffix, testVault } from '../helpers/vault.js';

describe('registry client on the real plugin', () => {
  const v = testVault();
  const mount = process.env.VAULTDIST_TEST_REGISTRY_MOUNT ?? 'vaultdist';
  const cluster = `sdk-${suffix()}`;
  const admin = adminClient();
  const nodeClient = async (node: string) => {
    const policy = `vaultdist-sdk-${suffix()}`;
    await admin.write(`sys/policies/acl/${policy}`, {
      policy: [
        `path "${mount}/clusters/+/nodes/${node}" { capabilities = ["create", "update", "delete"] }`,
        `path "${mount}/clusters/+/members" { capabilities = ["read", "list"] }`,
        `path "${mount}/clusters/+/members/*" { capabilities = ["read", "list"] }`,
      ].join('\n'),
    });
    const t = await admin.write('auth/token/create', { policies: [policy], ttl: '10m' });
    return createVaultClient({ address: v.addr, token: t.auth!.client_token, env: {}, logger: silentLogger, retry: { retries: 0 } });
  };

  it('config round trip, register/read/renew as the node, evict as the operator', async () => {
    await writeClusterConfig(admin, { mount, cluster, allowedNodes: ['*@127.0.0.1'], ttl: '30s', maxTtl: '5m' });
    expect(await readClusterConfig(admin, { mount, cluster })).toEqual({ allowedNodes: ['*@127.0.0.1'], ttl: '30s', maxTtl: '300s' });
    expect(await readClusterConfig(admin, { mount, cluster: `none-${suffix()}` })).toBeUndefined();

    const a = await nodeClient('sa@127.0.0.1');
    const b = await nodeClient('sb@127.0.0.1');
    const ra = await registerNode(a, { mount, cluster, node: 'sa@127.0.0.1', port: 41001, otpRelease: '25', serial: '0A:1B', meta: { zone: 'z1' } });
    expect(ra).toMatchObject({ node: 'sa@127.0.0.1', host: '127.0.0.1', port: 41001, leaseDurationSeconds: 30, renewable: true });
    expect(ra.leaseId).toMatch(new RegExp(`^${mount}/clusters/${cluster}/nodes/sa@127.0.0.1/`));
    await registerNode(b, { mount, cluster, node: 'sb@127.0.0.1', port: 41002 });
    // another node's name: Vault's ACL (the node policy covers its own path only)
    expect(isVaultPermissionDeniedError(await registerNode(b, { mount, cluster, node: 'sa@127.0.0.1', port: 1 }).catch((e: unknown) => e))).toBe(true);
    // b reads a through the read-only members path
    expect(await readMember(b, { mount, cluster, node: 'sa@127.0.0.1' })).toMatchObject({ node: 'sa@127.0.0.1', port: 41001, otpRelease: '25', serial: '0a:1b', meta: { zone: 'z1' } });
    expect((await listMembers(a, { mount, cluster })).members.map((m) => [m.node, m.port])).toEqual([
      ['sa@127.0.0.1', 41001],
      ['sb@127.0.0.1', 41002],
    ]);
    expect((await renewRegistration(a, { leaseId: ra.leaseId })).leaseDurationSeconds).toBe(30);
    // the operator evicts a; b deregisters itself
    expect(await evictNode(admin, { mount, cluster, node: 'sa@127.0.0.1' })).toBe(true);
    expect(await readMember(b, { mount, cluster, node: 'sa@127.0.0.1' })).toBeUndefined();
    expect(await deregisterNode(b, { mount, cluster, node: 'sb@127.0.0.1' })).toBe(true);
    expect((await listMembers(admin, { mount, cluster })).members).toEqual([]);
    await admin.delete(`${mount}/clusters/${cluster}`);
  });

  it('refuses bad input before any request (a client pointed at a closed port never reports a network error)', async () => {
    const dead = createVaultClient({ address: 'http://127.0.0.1:1', token: 'x', env: {}, logger: silentLogger, retry: { retries: 0 } });
    for (const bad of [{ port: 0 }, { port: 70000 }, { cluster: 'a/b' }, { otpRelease: '2 7' }, { host: 'a b' }]) {
      const e = await registerNode(dead, { mount, cluster, node: 'sa@127.0.0.1', port: 41001, ...bad }).catch((x: unknown) => x);
      expect(isConfigError(e)).toBe(true);
    }
    expect(isNodeNameError(await registerNode(dead, { mount, cluster, node: 'sa@::1', port: 1 }).catch((x: unknown) => x))).toBe(true);
  });
});
