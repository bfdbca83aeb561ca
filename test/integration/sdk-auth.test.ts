/**
 * Every SDK auth method against the real OpenBao dev server (Kubernetes is msw-only in
 * packages/sdk/src/auth/auth.test.ts: there is no Kubernetes API to review tokens here).
 */
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import {
  appRoleAuth,
  certAuth,
  createVaultClient,
  isVaultHttpError,
  issueNodeCredentials,
  jwtAuth,
  parseNodeName,
  silentLogger,
  startTokenRenewal,
  tokenAuth,
  unwrapSecretId,
  type VaultClient,
} from '../../packages/sdk/src/index.js';
import {
  createSecretId,
  ensureAppRole,
  ensureAuthMethod,
  ensureCertRole,
  ensureJwtConfig,
  ensureJwtRole,
  ensurePolicy,
  lookupSelf,
  nodePolicy,
  readRoleId,
  renewSelf,
  requestNodeCertificate,
} from '../../packages/sdk/src/internal.js';
import { adminClient, createTestPki, suffix, testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

/** A compact ES256 JWT signed locally (what a CI identity provider would hand out). */
export function signJwt(privateKeyPem: string, claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64(claims)}`;
  const sig = sign('sha256', Buffer.from(input), { key: createPrivateKey(privateKeyPem), dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

describe('SDK auth methods against a real OpenBao', () => {
  const sfx = suffix();
  const admin = adminClient();
  const policy = `vd-node-${sfx}`;
  const mounts = { approle: `approle-${sfx}`, cert: `cert-${sfx}`, jwt: `jwt-${sfx}` };
  const pki = useTestPki();
  const tmp = useTestdir();

  beforeAll(async () => {
    await ensurePolicy(admin, policy, nodePolicy(pki.mount, pki.role));
    await ensureAuthMethod(admin, mounts.approle, 'approle');
    await ensureAuthMethod(admin, mounts.cert, 'cert');
    await ensureAuthMethod(admin, mounts.jwt, 'jwt');
  });
  afterAll(async () => {
    for (const m of Object.values(mounts)) await admin.delete(`sys/auth/${m}`);
    await admin.delete(`sys/policies/acl/${policy}`);
  });

  const nodeClient = (auth: Parameters<typeof createVaultClient>[0] extends infer O ? (O extends { auth?: infer A } ? A : never) : never, extra = {}): VaultClient =>
    createVaultClient({ address: testVault().addr, env: {}, logger: silentLogger, auth, ...extra });

  it('token: lookup-self and renew-self on a child token', async () => {
    const created = await admin.write('auth/token/create', { policies: [policy], ttl: '60s', renewable: true, no_default_policy: false });
    const token = created.auth!.client_token;
    const vault = nodeClient(tokenAuth({ token }));
    const me = await lookupSelf(vault);
    expect(me.policies).toEqual(expect.arrayContaining(['default', policy]));
    expect(me.renewable).toBe(true);
    expect(me.ttlSeconds).toBeGreaterThan(0);
    expect(me.ttlSeconds).toBeLessThanOrEqual(60);
    const r = await renewSelf(vault, { increment: '120s' });
    expect(r.leaseDurationSeconds).toBe(120);
    expect((await lookupSelf(vault)).ttlSeconds).toBeGreaterThan(60);
    // and the token can do what its policy allows
    const cert = await requestNodeCertificate(vault, { mount: pki.mount, role: pki.role, node: parseNodeName('tok@127.0.0.1') });
    expect(cert.certificate).toContain('BEGIN CERTIFICATE');
  });

  it('token: the renewal watcher keeps a short-lived token alive until its max TTL, then reports it', async () => {
    const created = await admin.write('auth/token/create', { policies: [policy], ttl: '6s', explicit_max_ttl: '10s', renewable: true });
    const vault = nodeClient(tokenAuth({ token: created.auth!.client_token }));
    const leases: number[] = [];
    const res = await startTokenRenewal({ vault, leaseDurationSeconds: created.auth!.lease_duration, onRenewed: (r) => leases.push(r.leaseDurationSeconds) }).done;
    expect(res.reason).toBe('max-ttl');
    expect(res.renewals).toBeGreaterThanOrEqual(2);
    expect(leases[0]).toBe(6);
    // Vault capped the last renewal at the token's max TTL
    expect(leases.at(-1)!).toBeLessThan(6);
  }, 30_000);

  it('token: a revoked token makes the watcher report denied (renewal no longer possible)', async () => {
    const created = await admin.write('auth/token/create', { policies: [policy], ttl: '60s', renewable: true });
    const token = created.auth!.client_token;
    await admin.write('auth/token/revoke', { token });
    const vault = nodeClient(tokenAuth({ token }));
    const res = await startTokenRenewal({
      vault,
      leaseDurationSeconds: 60,
      clock: { monotonicMs: () => 0, sleep: async () => {} },
    }).done;
    expect(res.reason).toBe('denied');
    expect(res.error?.name).toBe('VaultPermissionDeniedError');
  });

  it('AppRole: wrapped secret_id unwrapped once, login, sign; a second unwrap fails', async () => {
    const first = await ensureAppRole(admin, 'node', { mount: mounts.approle, tokenPolicies: [policy], tokenTtl: '20m', tokenMaxTtl: '1h' });
    expect(first.changed).toBe(true);
    const roleId = await readRoleId(admin, 'node', { mount: mounts.approle });
    const wrapped = await createSecretId(admin, 'node', { mount: mounts.approle, metadata: { node: 'foo@127.0.0.1' } });
    if (!wrapped.wrapped) throw new Error('expected a wrapped secret_id');
    expect(wrapped.creationPath).toBe(`auth/${mounts.approle}/role/node/secret-id`);
    expect(wrapped.ttlSeconds).toBe(120);

    const auth = appRoleAuth({ roleId, wrappingToken: wrapped.wrappingToken, mount: mounts.approle });
    const vault = nodeClient(auth);
    const me = await lookupSelf(vault);
    expect(me.policies).toContain(policy);
    expect(auth.current?.()?.leaseDurationSeconds).toBe(1200);
    const cert = await requestNodeCertificate(vault, { mount: pki.mount, role: pki.role, node: parseNodeName('foo@127.0.0.1') });
    expect(cert.caChain.length).toBeGreaterThan(0);

    // The wrapping token is single-use: a second unwrap (an attacker replaying it) fails.
    let err: unknown;
    try {
      await unwrapSecretId(admin, wrapped.wrappingToken);
    } catch (e) {
      err = e;
    }
    expect(isVaultHttpError(err) && err.status).toBe(400);
    expect((err as Error).message).toMatch(/wrapping token is not valid or does not exist/);
    expect((err as Error).message).not.toContain(wrapped.wrappingToken);

    // After a 403 (token revoked behind our back) the strategy logs in again with the unwrapped
    // secret_id, without unwrapping a second time, and the request is replayed.
    await admin.write('auth/token/revoke', { token: auth.current!()!.token });
    expect((await lookupSelf(vault)).policies).toContain(policy);
  });

  it('AppRole: a wrong secret_id is a typed 400 that names neither the role_id nor the secret_id', async () => {
    await ensureAppRole(admin, 'node', { mount: mounts.approle, tokenPolicies: [policy], tokenTtl: '20m', tokenMaxTtl: '1h' });
    const roleId = await readRoleId(admin, 'node', { mount: mounts.approle });
    const vault = nodeClient(appRoleAuth({ roleId, secretId: 'not-the-secret-id-0000', mount: mounts.approle }));
    let err: unknown;
    try {
      await lookupSelf(vault);
    } catch (e) {
      err = e;
    }
    expect(isVaultHttpError(err) && err.status).toBe(400);
    expect((err as Error).message).toMatch(/invalid role or secret ID/);
    expect((err as Error).message).not.toContain('not-the-secret-id');
    expect((err as Error).message).not.toContain(roleId);
  });

  it('TLS cert auth: a node certificate from the PKI logs in over HTTPS; after rotation a new login uses the new certificate', async () => {
    const v = testVault();
    await ensureCertRole(admin, 'nodes', { mount: mounts.cert, certificate: pki.rootPem, tokenPolicies: [policy], tokenTtl: '10m', allowedUriSans: ['erlang://*'] });
    const dir = join(tmp.dir, 'cert-node');
    const first = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'cert@127.0.0.1', dir });
    const auth = certAuth({ certFile: first.written.bundlePath, name: 'nodes', mount: mounts.cert });
    const vault = createVaultClient({ address: v.tlsAddr, caCertPath: v.caCertPath, env: {}, logger: silentLogger, auth });
    const decimal = (serial: string) => BigInt(`0x${serial.replace(/:/g, '')}`).toString();

    const me1 = await vault.read<{ meta: Record<string, string>; accessor: string; policies: string[] }>('auth/token/lookup-self');
    expect(me1.data.policies).toContain(policy);
    expect(me1.data.meta.cert_name).toBe('nodes');
    expect(me1.data.meta.serial_number).toBe(decimal(first.leaf.serial));
    // the token is reused while the certificate is unchanged
    const me1b = await vault.read<{ accessor: string }>('auth/token/lookup-self');
    expect(me1b.data.accessor).toBe(me1.data.accessor);

    // rotation: a new certificate lands in the same bundle path
    const second = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'cert@127.0.0.1', dir });
    expect(second.leaf.serial).not.toBe(first.leaf.serial);
    const me2 = await vault.read<{ meta: Record<string, string>; accessor: string }>('auth/token/lookup-self');
    expect(me2.data.meta.serial_number).toBe(decimal(second.leaf.serial));
    expect(me2.data.accessor).not.toBe(me1.data.accessor);
  });

  it('TLS cert auth: the certificate can come from VAULT_CLIENT_CERT / VAULT_CLIENT_KEY', async () => {
    const v = testVault();
    await ensureCertRole(admin, 'nodes', { mount: mounts.cert, certificate: pki.rootPem, tokenPolicies: [policy], tokenTtl: '10m', allowedUriSans: ['erlang://*'] });
    const res = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'envcert@127.0.0.1', dir: join(tmp.dir, 'env-cert') });
    const env = { VAULT_ADDR: v.tlsAddr, VAULT_CACERT: v.caCertPath, VAULT_CLIENT_CERT: res.written.bundlePath, VAULT_CLIENT_KEY: res.written.bundlePath };
    const vault = createVaultClient({ env, logger: silentLogger, auth: certAuth({ mount: mounts.cert }) });
    expect((await lookupSelf(vault)).policies).toContain(policy);
    // without any certificate the strategy says what is missing
    const bare = createVaultClient({ env: { VAULT_ADDR: v.tlsAddr, VAULT_CACERT: v.caCertPath }, logger: silentLogger, auth: certAuth({ mount: mounts.cert }) });
    await expect(lookupSelf(bare)).rejects.toThrow(/VAULT_CLIENT_CERT/);
  });

  it('TLS cert auth: a certificate from a CA the role does not trust is refused', async () => {
    const v = testVault();
    const other = await createTestPki({ commonName: 'untrusted CA' });
    try {
      const dir = join(tmp.dir, 'rogue-node');
      const res = await issueNodeCredentials(other.vault, { mount: other.mount, role: other.role, node: 'rogue@127.0.0.1', dir });
      const vault = createVaultClient({ address: v.tlsAddr, caCertPath: v.caCertPath, env: {}, logger: silentLogger, auth: certAuth({ certFile: res.written.bundlePath, mount: mounts.cert }) });
      let err: unknown;
      try {
        await lookupSelf(vault);
      } catch (e) {
        err = e;
      }
      expect(isVaultHttpError(err) && err.status).toBe(400);
      expect((err as Error).message).toMatch(/invalid certificate|no chain matching/);
    } finally {
      await other.cleanup();
    }
  });

  it('JWT: OpenBao validates a locally signed token with jwt_validation_pubkeys', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await ensureJwtConfig(admin, { mount: mounts.jwt, jwtValidationPubkeys: [pub], boundIssuer: 'https://ci.example' });
    await ensureJwtRole(admin, 'deployer', { mount: mounts.jwt, boundAudiences: ['vaultdist'], userClaim: 'sub', tokenPolicies: [policy], tokenTtl: '5m' });
    const now = Math.floor(Date.now() / 1000);
    const jwt = signJwt(priv, { iss: 'https://ci.example', sub: 'pipeline-42', aud: 'vaultdist', iat: now, nbf: now - 5, exp: now + 300 });
    const vault = nodeClient(jwtAuth({ role: 'deployer', jwt, mount: mounts.jwt }));
    const me = await lookupSelf(vault);
    expect(me.policies).toContain(policy);
    expect(me.displayName).toContain('pipeline-42');

    // a token for another audience is refused with a typed error
    const wrongAud = signJwt(priv, { iss: 'https://ci.example', sub: 'x', aud: 'someone-else', iat: now, exp: now + 300 });
    let err: unknown;
    try {
      await lookupSelf(nodeClient(jwtAuth({ role: 'deployer', jwt: wrongAud, mount: mounts.jwt })));
    } catch (e) {
      err = e;
    }
    expect(isVaultHttpError(err) && err.status).toBe(400);
    expect((err as Error).message).toMatch(/aud/);
    expect((err as Error).message).not.toContain(wrongAud);
  });
});
