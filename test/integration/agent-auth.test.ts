/**
 * The agent's Vault auth against the real OpenBao: TLS cert auth with the node's own bundle.pem (after
 * every rotation the next renewal logs in again with the NEW certificate), and AppRole.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { issueNodeCredentials, createVaultClient, silentLogger } from '../../packages/sdk/src/index.js';
import {
  createSecretId,
  ensureAppRole,
  ensureAuthMethod,
  ensureCertRole,
  ensurePolicy,
  nodePolicy,
  readRoleId,
  lookupSelf,
} from '../../packages/sdk/src/internal.js';
import { createAgent, validateConfig, type Logger } from '../../packages/agent/src/index.js';
import { adminClient, suffix, testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

describe('agent auth against a real OpenBao', () => {
  const sfx = suffix();
  const admin = adminClient();
  const policy = `vd-agent-${sfx}`;
  const mounts = { cert: `cert-agent-${sfx}`, approle: `approle-agent-${sfx}` };
  const pki = useTestPki();
  const tmp = useTestdir();

  beforeAll(async () => {
    await ensurePolicy(admin, policy, nodePolicy(pki.mount, pki.role));
    await ensureAuthMethod(admin, mounts.cert, 'cert');
    await ensureAuthMethod(admin, mounts.approle, 'approle');
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

  it('cert auth with the node bundle: a fresh login with the new certificate after each rotation', async () => {
    const v = testVault();
    await ensureCertRole(admin, 'nodes', { mount: mounts.cert, certificate: pki.rootPem, tokenPolicies: [policy], tokenTtl: '10m', allowedUriSans: ['erlang://*'] });
    const dir = join(tmp.dir, 'cert-node');
    // bootstrap: the first set comes from an admin (e.g. `vaultdist init node`)
    await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'cert@127.0.0.1', dir });
    const bundle = join(dir, 'bundle.pem');
    const cfg = validateConfig({
      vault: { address: v.tlsAddr, caCert: v.caCertPath, auth: { method: 'cert', mount: mounts.cert, name: 'nodes', certFile: bundle, keyFile: bundle } },
      health: { enabled: false },
      nodes: [{ name: 'cert@127.0.0.1', dir, mount: pki.mount, role: pki.role, reload: { strategy: 'poll' }, verify: { enabled: false } }],
    });
    expect(cfg.errors).toEqual([]);
    const { logs, logger } = recorder();
    const agent = createAgent(cfg.config!, { ports: { logger } });
    const serials: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await agent.runOnce({ force: true });
      expect(r.exitCode).toBe(0);
      serials.push((r.nodes[0]!.result as { serial: string }).serial);
    }
    expect(new Set(serials).size).toBe(3);
    // one login per renewal: the token bound to the old certificate is never reused after a rotation
    expect(logs.filter((l) => l.msg === 'vault login succeeded').map((l) => l.meta.method)).toEqual(['cert', 'cert', 'cert']);
  });

  it('AppRole with role_id and a secret_id file', async () => {
    await ensureAppRole(admin, 'agent', { mount: mounts.approle, tokenPolicies: [policy], tokenTtl: '10m' });
    const roleId = await readRoleId(admin, 'agent', { mount: mounts.approle });
    const secret = await createSecretId(admin, 'agent', { mount: mounts.approle, wrapTtl: false });
    if (secret.wrapped) throw new Error('expected an unwrapped secret_id');
    const secretFile = join(tmp.dir, 'secret-id');
    writeFileSync(secretFile, `${secret.secretId}\n`, { mode: 0o600 });
    const cfg = validateConfig({
      vault: { address: testVault().addr, auth: { method: 'approle', mount: mounts.approle, roleId, secretIdFile: secretFile } },
      health: { enabled: false },
      nodes: [{ name: 'app@127.0.0.1', dir: join(tmp.dir, 'approle-node'), mount: pki.mount, role: pki.role, reload: { strategy: 'poll' }, verify: { enabled: false } }],
    });
    expect(cfg.errors).toEqual([]);
    const { logs, logger } = recorder();
    const r = await createAgent(cfg.config!, { ports: { logger } }).runOnce();
    expect(r.exitCode).toBe(0);
    expect(r.nodes[0]!.result).toMatchObject({ ok: true, action: 'renewed' });
    expect(logs.some((l) => l.msg === 'vault login succeeded' && l.meta.method === 'approle')).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(secret.secretId);
  });

  it('token: a renewable token outlives its first TTL while the daemon runs (SDK renewal watcher)', async () => {
    const created = await admin.write('auth/token/create', { policies: [policy], ttl: '6s', explicit_max_ttl: '120s', renewable: true });
    const token = created.auth!.client_token;
    const cfg = validateConfig({
      vault: { address: testVault().addr, auth: { method: 'token', token } },
      health: { enabled: false },
      nodes: [{ name: 'tok@127.0.0.1', dir: join(tmp.dir, 'token-node'), mount: pki.mount, role: pki.role, reload: { strategy: 'poll' }, verify: { enabled: false } }],
    });
    const { logger, logs } = recorder();
    const controller = new AbortController();
    const running = createAgent(cfg.config!, { ports: { logger } }).run(controller.signal);
    // wait past the token's original 6 s lease (a condition, not a speed assertion)
    await new Promise((r) => setTimeout(r, 8000));
    const probe = createVaultClient({ address: testVault().addr, token, env: {}, logger: silentLogger });
    const me = await lookupSelf(probe).catch((e) => {
      throw new Error(`${e.message}\n${JSON.stringify(logs)}`);
    });
    expect(me.ttlSeconds).toBeGreaterThan(0);
    controller.abort();
    await running;
  }, 30_000);
});
