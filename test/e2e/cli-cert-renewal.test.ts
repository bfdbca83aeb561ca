/**
 * Renewal with the node's own certificate (cert auth), as `init vault` + `init node` set it up against
 * an HTTPS OpenBao: the agent holds no token and no secret_id, only the node's bundle.pem.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminClient, suffix, testVault } from '../helpers/vault.js';
import { useInitVaultCleanup, useTestdir } from '../helpers/setup.js';
import { sharedFreePort, startNode } from '../helpers/erlang.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { nodeIdentityNames } from '../../packages/sdk/src/index.js';

describe('vaultdist: cert-auth renewal over HTTPS', () => {
  const id = suffix();
  const names = { mount: `pki-cli-${id}`, rootMount: `pki-cli-${id}-root`, role: `node-${id}`, policy: `vaultdist-node-${id}`, cert: `cert-${id}` };
  const v = testVault();
  const tmp = useTestdir();
  useInitVaultCleanup(names, ['solo@127.0.0.4']);

  it('the agent renews with the node certificate only, and the node serves the new one', async () => {
    const tlsEnv = { VAULT_ADDR: v.tlsAddr, VAULT_CACERT: v.caCertPath };
    const iv = await vaultdist(
      ['init', 'vault', '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy, '--auth', 'cert', '--cert-mount', names.cert, '--allowed-hosts', '127.0.0.4', '--leaf-ttl', '1h'],
      { env: { ...tlsEnv, VAULT_TOKEN: v.token } },
    );
    expect(iv.code).toBe(0);
    expect(iv.stdout).toContain(`+ enable auth cert at ${names.cert}/`);

    const port = await sharedFreePort(['127.0.0.4']);
    const health = await sharedFreePort(['127.0.0.1']);
    const dir = join(tmp.dir, 'solo');
    const init = await vaultdist(
      ['init', 'node', '--name', 'solo@127.0.0.4', '--dir', dir, '--mount', names.mount, '--role', names.role, '--policy', names.policy, '--cert-auth-mount', names.cert, '--dist-port', String(port), '--health-port', String(health)],
      { env: { ...tlsEnv, VAULT_TOKEN: v.token } },
    );
    expect(init.stderr).not.toMatch(/warning|error/);
    expect(init.code).toBe(0);
    const agentYaml = readFileSync(join(dir, 'agent.yaml'), 'utf8');
    expect(agentYaml).toMatch(/method: cert/);
    // the node's own cert-auth role (issue #12): only a certificate with URI SAN erlang://solo@127.0.0.4 logs in there
    const solo = nodeIdentityNames('solo@127.0.0.4', { policyPrefix: names.policy });
    expect(agentYaml).toContain(`name: ${solo.role}`);
    expect((await adminClient().read(`auth/${names.cert}/certs/${solo.role}`)).data).toMatchObject({ allowed_uri_sans: ['erlang://solo@127.0.0.4'], token_policies: [solo.policy] });
    expect(agentYaml).toContain(`caCert: ${v.caCertPath}`);
    expect(agentYaml).not.toMatch(/token:|secretId/);

    const node = await startNode({ name: 'solo@127.0.0.4', dir, flags: ['-args_file', join(dir, 'vm.args')] });
    const before = (JSON.parse((await vaultdist(['status', '--dir', dir, '--json'])).stdout) as { nodes: { serial: string }[] }).nodes[0]!.serial;
    // No token anywhere in the agent's environment.
    const agent = await vaultdist(['agent', '--config', join(dir, 'agent.yaml'), '--once', '--force', '--no-health', '--log-level', 'warn']);
    expect(agent.stderr).not.toMatch(/"level":(50|60)/);
    expect(agent.code).toBe(0);
    const after = (JSON.parse((await vaultdist(['status', '--dir', dir, '--json'])).stdout) as { nodes: { serial: string }[] }).nodes[0]!.serial;
    expect(after).not.toBe(before);
    const doc = await vaultdist(['doctor', '--dir', dir, '--probe', `127.0.0.4:${port}`, '--json']);
    const served = doc.stdout.trim().split('\n').map((l) => JSON.parse(l) as { check?: string; message?: string }).find((l) => l.check === 'dist.served_cert');
    expect(served!.message).toContain(after);
    expect(doc.code).toBe(0);
    expect(node.alive).toBe(true);
  }, 120_000);
});
