/**
 * Grep-style leak test: run the SDK's flows (every auth method, sign and issue, renewal, failures)
 * against the real OpenBao with a capturing Logger at debug level, collect every log line and every
 * error (message, stack, JSON, util.inspect with causes), and assert that no token, secret_id,
 * wrapping token, JWT or private key appears anywhere.
 */
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  appRoleAuth,
  certAuth,
  createVaultClient,
  issueNodeCredentials,
  jwtAuth,
  parseNodeName,
  startTokenRenewal,
  tokenAuth,
  unwrapSecretId,
  type AuthStrategy,
  type Logger,
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
  requestNodeCertificate,
} from '../../packages/sdk/src/internal.js';
import { adminClient, suffix, testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

function signJwt(privateKeyPem: string, claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: createPrivateKey(privateKeyPem), dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

describe('nothing secret reaches a log line or an error', () => {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (m, meta) => lines.push(`debug ${m} ${JSON.stringify(meta ?? {})}`),
    info: (m, meta) => lines.push(`info ${m} ${JSON.stringify(meta ?? {})}`),
    warn: (m, meta) => lines.push(`warn ${m} ${JSON.stringify(meta ?? {})}`),
    error: (m, meta) => lines.push(`error ${m} ${JSON.stringify(meta ?? {})}`),
  };
  const errors: string[] = [];
  const secrets = new Map<string, string>();
  const addSecret = (what: string, value: string | undefined) => {
    if (value) secrets.set(value, what);
  };
  const addKey = (what: string, pem: string) => {
    // every base64 line of the key body: a partial leak counts too
    for (const l of pem.split('\n').filter((x) => x && !x.startsWith('-----'))) if (l.length >= 24) addSecret(what, l);
  };
  async function expectFailure(p: Promise<unknown>) {
    try {
      await p;
    } catch (e) {
      errors.push(String((e as Error).message), String((e as Error).stack), JSON.stringify(e), inspect(e, { depth: 10, showHidden: true }));
      return;
    }
    throw new Error('expected a failure');
  }

  const sfx = suffix();
  const admin = adminClient({ logger });
  const policy = `leak-${sfx}`;
  const mounts = { approle: `leak-approle-${sfx}`, cert: `leak-cert-${sfx}`, jwt: `leak-jwt-${sfx}` };
  const pki = useTestPki();
  const tmp = useTestdir();
  const client = (auth: AuthStrategy, extra = {}): VaultClient => createVaultClient({ address: testVault().addr, env: {}, logger, auth, retry: { baseDelayMs: 1 }, ...extra });

  beforeAll(async () => {
    addSecret('root token', testVault().token);
    await ensurePolicy(admin, policy, nodePolicy(pki.mount, pki.role));
    for (const [type, path] of Object.entries(mounts)) await ensureAuthMethod(admin, path, type);
  });
  afterAll(async () => {
    for (const m of Object.values(mounts)) await admin.delete(`sys/auth/${m}`);
    await admin.delete(`sys/policies/acl/${policy}`);
  });

  it('runs every flow, including failures, and finds no secret in the collected output', async () => {
    // token auth, renewal watcher, a revoked token
    const child = await admin.write('auth/token/create', { policies: [policy], ttl: '60s' });
    addSecret('child token', child.auth!.client_token);
    const tv = client(tokenAuth({ token: child.auth!.client_token }));
    await lookupSelf(tv);
    const watcher = startTokenRenewal({ vault: tv, leaseDurationSeconds: 60, logger, clock: { monotonicMs: () => 0, sleep: async () => {} } });
    await admin.write('auth/token/revoke', { token: child.auth!.client_token });
    expect((await watcher.done).reason).toBe('denied');
    await expectFailure(lookupSelf(tv));

    // AppRole: bare and wrapped secret_id, a wrong one, a replayed wrapping token
    await ensureAppRole(admin, 'node', { mount: mounts.approle, tokenPolicies: [policy], tokenTtl: '10m', secretIdNumUses: 0 });
    const roleId = await readRoleId(admin, 'node', { mount: mounts.approle });
    const bare = await createSecretId(admin, 'node', { mount: mounts.approle, wrapTtl: false });
    if (bare.wrapped) throw new Error('expected a bare secret_id');
    addSecret('secret_id', bare.secretId);
    const a1 = appRoleAuth({ roleId, secretId: bare.secretId, mount: mounts.approle });
    const av = client(a1);
    // sign (local key) and issue (Vault's key) through the AppRole token
    const signed = await requestNodeCertificate(av, { mount: pki.mount, role: pki.role, node: parseNodeName('leak@127.0.0.1') });
    addKey('signed private key', signed.privateKey);
    const issued = await requestNodeCertificate(av, { mount: pki.mount, role: pki.role, node: parseNodeName('leak@127.0.0.1'), mode: 'issue' });
    addKey('issued private key', issued.privateKey);
    addSecret('approle token', a1.current?.()?.token);
    const wrapped = await createSecretId(admin, 'node', { mount: mounts.approle });
    if (!wrapped.wrapped) throw new Error('expected a wrapped secret_id');
    addSecret('wrapping token', wrapped.wrappingToken);
    const a2 = appRoleAuth({ roleId, wrappingToken: wrapped.wrappingToken, mount: mounts.approle });
    await lookupSelf(client(a2));
    addSecret('approle token (wrapped)', a2.current?.()?.token);
    await expectFailure(unwrapSecretId(admin, wrapped.wrappingToken));
    await expectFailure(lookupSelf(client(appRoleAuth({ roleId, secretId: 'f00dfeed-0000-4000-8000-000000000000', mount: mounts.approle }))));
    addSecret('wrong secret_id', 'f00dfeed-0000-4000-8000-000000000000');
    // 403 → re-login → replay, logged at info
    await admin.write('auth/token/revoke', { token: a1.current!()!.token });
    await lookupSelf(av);
    addSecret('approle token (re-login)', a1.current?.()?.token);

    // cert auth over TLS, including a rotation
    const v = testVault();
    await ensureCertRole(admin, 'nodes', { mount: mounts.cert, certificate: pki.rootPem, tokenPolicies: [policy] });
    const dir = join(tmp.dir, 'cert');
    const creds = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'leak@127.0.0.1', dir });
    addKey('node key', creds.issued.privateKey);
    const ca = certAuth({ certFile: creds.written.bundlePath, mount: mounts.cert });
    const cv = createVaultClient({ address: v.tlsAddr, caCertPath: v.caCertPath, env: {}, logger, auth: ca });
    await lookupSelf(cv);
    addSecret('cert token', ca.current?.()?.token);
    const rotated = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'leak@127.0.0.1', dir });
    addKey('rotated node key', rotated.issued.privateKey);
    await lookupSelf(cv);
    addSecret('cert token (rotated)', ca.current?.()?.token);

    // JWT: a good and a refused token
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    addKey('jwt signing key', priv);
    await ensureJwtConfig(admin, { mount: mounts.jwt, jwtValidationPubkeys: [publicKey.export({ type: 'spki', format: 'pem' }).toString()] });
    await ensureJwtRole(admin, 'ci', { mount: mounts.jwt, boundAudiences: ['vaultdist'], tokenPolicies: [policy] });
    const now = Math.floor(Date.now() / 1000);
    const jwt = signJwt(priv, { sub: 'ci', aud: 'vaultdist', iat: now, exp: now + 300 });
    addSecret('jwt', jwt);
    const ja = jwtAuth({ role: 'ci', jwt, mount: mounts.jwt });
    await lookupSelf(client(ja));
    addSecret('jwt token', ja.current?.()?.token);
    const badJwt = signJwt(priv, { sub: 'ci', aud: 'other', iat: now, exp: now + 300 });
    addSecret('refused jwt', badJwt);
    await expectFailure(lookupSelf(client(jwtAuth({ role: 'ci', jwt: badJwt, mount: mounts.jwt }))));

    // a network failure with a token attached (the raw axios error would carry the headers)
    const closedPort = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    await expectFailure(
      createVaultClient({ address: `http://127.0.0.1:${closedPort}`, env: {}, logger, auth: tokenAuth({ token: testVault().token }), retry: { retries: 1, baseDelayMs: 1 } }).read('sys/mounts'),
    );

    // the flows really ran and produced output to search
    expect(lines.length).toBeGreaterThan(10);
    expect(errors.length).toBe(5 * 4);
    expect(secrets.size).toBeGreaterThan(20);
    const haystack = [...lines, ...errors].join('\n');
    const leaks = [...secrets].filter(([value]) => haystack.includes(value)).map(([, what]) => what);
    expect(leaks).toEqual([]);
    // and the output does talk about what happened (not an empty search)
    expect(haystack).toMatch(/vault login succeeded/);
    expect(haystack).toMatch(/permission denied; logging in again/);
    expect(haystack).toMatch(/ECONNREFUSED/);
  }, 60_000);
});
