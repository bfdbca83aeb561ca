/**
 * Recovery of an expired node (issue #14 part 6, real OpenBao over TLS): a node that renews with cert
 * auth cannot log in once its certificate has expired (agent stopped longer than the TTL, host asleep).
 * - without bootstrap credentials: the renewal fails as an auth failure, /healthz says "expired" (not
 *   "missing") and carries the exact recovery command, which is also logged;
 * - with the node's bootstrap AppRole credentials in DIR/approle (what `vaultdist init node` writes for
 *   AppRole renewals): the agent logs in with them and renews by itself.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueNodeCredentials } from '../../packages/sdk/src/index.js';
import {
  createSecretId,
  ensureAppRole,
  ensureAuthMethod,
  ensureCertRole,
  ensurePolicy,
  nodePolicy,
  readRoleId,
} from '../../packages/sdk/src/internal.js';
import { createAgent, validateConfig, type Logger } from '../../packages/agent/src/index.js';
import { adminClient, suffix, testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

describe('expired node recovery (cert auth)', () => {
  const sfx = suffix();
  const admin = adminClient();
  const policy = `vd-exp-${sfx}`;
  const mounts = { cert: `cert-exp-${sfx}`, approle: `approle-exp-${sfx}` };
  const pki = useTestPki();
  const tmp = useTestdir();

  beforeAll(async () => {
    await ensurePolicy(admin, policy, nodePolicy(pki.mount, pki.role));
    await ensureAuthMethod(admin, mounts.cert, 'cert');
    await ensureAuthMethod(admin, mounts.approle, 'approle');
    await ensureCertRole(admin, 'nodes', { mount: mounts.cert, certificate: pki.rootPem, tokenPolicies: [policy], tokenTtl: '10m', allowedUriSans: ['erlang://*'] });
    await ensureAppRole(admin, 'node', { mount: mounts.approle, tokenPolicies: [policy], tokenTtl: '10m' });
  });
  afterAll(async () => {
    for (const m of Object.values(mounts)) await admin.delete(`sys/auth/${m}`);
    await admin.delete(`sys/policies/acl/${policy}`);
  });

  const recorder = () => {
    const logs: { msg: string; meta: Record<string, unknown> }[] = [];
    const rec = (meta: object, msg: string) => void logs.push({ msg, meta: meta as Record<string, unknown> });
    const logger: Logger = { debug: rec, info: rec, warn: rec, error: rec, fatal: rec, child: () => logger };
    return { logs, logger };
  };

  /** A node directory whose certificate expired a moment ago. */
  async function expiredNode(name: string): Promise<{ dir: string; config: ReturnType<typeof validateConfig>['config'] }> {
    const v = testVault();
    const dir = join(tmp.dir, name);
    await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: `${name}@127.0.0.1`, dir, ttl: '2s' });
    await new Promise((res) => setTimeout(res, 2500));
    const bundle = join(dir, 'bundle.pem');
    const config = validateConfig({
      vault: { address: v.tlsAddr, caCert: v.caCertPath, auth: { method: 'cert', mount: mounts.cert, name: 'nodes', certFile: bundle, keyFile: bundle } },
      health: { enabled: false },
      nodes: [{ name: `${name}@127.0.0.1`, dir, mount: pki.mount, role: pki.role, ttl: '1h', reload: { strategy: 'poll' }, verify: { enabled: false } }],
    }).config;
    return { dir, config };
  }

  it('without bootstrap credentials: auth failure, health "expired" with the exact command', async () => {
    const { dir, config } = await expiredNode('stuck');
    const { logs, logger } = recorder();
    const agent = createAgent(config!, { ports: { logger } });
    const r = await agent.runOnce();
    // OpenBao answers the expired client certificate with a 500: still an auth failure (12), not "unavailable"
    expect(r.exitCode).toBe(12);
    const h = agent.health().nodes[0]!;
    expect(h.level).toBe('expired');
    expect(h.reasons).toContain('certificate expired');
    const recovery = h.reasons.find((x) => x.startsWith('recover with: '))!;
    expect(recovery).toContain(`vaultdist issue --dir ${dir} --vault-addr ${testVault().tlsAddr} --vault-cacert ${testVault().caCertPath}`);
    const failed = logs.find((l) => l.msg === 'renewal failed; certificate expired')!;
    expect(failed.meta.recovery).toContain('vaultdist issue --dir');
    expect(logs.some((l) => l.msg === 'credential set on disk has expired; renewing')).toBe(true);
  });

  it('with DIR/approle credentials: renews by itself with them', async () => {
    const { dir, config } = await expiredNode('selfheal');
    mkdirSync(join(dir, 'approle'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'approle', 'role-id'), `${await readRoleId(admin, 'node', { mount: mounts.approle })}\n`, { mode: 0o600 });
    const sid = await createSecretId(admin, 'node', { mount: mounts.approle, wrapTtl: false });
    if (sid.wrapped) throw new Error('expected a plain secret_id');
    writeFileSync(join(dir, 'approle', 'secret-id'), `${sid.secretId}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'vaultdist.json'), JSON.stringify({ approleMount: mounts.approle }));
    const { logs, logger } = recorder();
    const agent = createAgent(config!, { ports: { logger } });
    const r = await agent.runOnce();
    expect(r.nodes[0]!.result).toMatchObject({ ok: true, action: 'renewed' });
    expect(logs.some((l) => l.msg === "no valid certificate for cert auth; renewing with the node's bootstrap AppRole credentials")).toBe(true);
    expect(agent.health().nodes[0]).toMatchObject({ level: 'ok' });
    expect(agent.status()[0]!.recovery).toBeUndefined();
  });
});
