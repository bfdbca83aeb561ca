/**
 * Every idempotent admin call of the SDK, run twice against the real OpenBao: the first run changes
 * Vault, the second reports `changed: false`, and Vault is read back to prove the state.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  appRoleBody,
  ensureAppRole,
  ensureAuthMethod,
  ensureCertRole,
  ensureIntermediateCa,
  ensureJwtConfig,
  ensureJwtRole,
  ensureMount,
  ensurePolicy,
  ensureRole,
  ensureRootCa,
  nodePolicy,
  nodeRoleBody,
  readRoleId,
  removeMount,
  type Changed,
} from '../../packages/sdk/src/internal.js';
import { adminClient, suffix } from '../helpers/vault.js';

describe('SDK admin calls are idempotent (run twice against OpenBao)', () => {
  const vault = adminClient();
  const sfx = suffix();
  const root = `adm-root-${sfx}`;
  const int = `adm-int-${sfx}`;
  const auth = { approle: `adm-approle-${sfx}`, cert: `adm-cert-${sfx}`, jwt: `adm-jwt-${sfx}` };
  const policy = `adm-policy-${sfx}`;

  afterAll(async () => {
    for (const m of Object.values(auth)) await vault.delete(`sys/auth/${m}`);
    await vault.delete(`sys/policies/acl/${policy}`);
    await removeMount(vault, int);
    await removeMount(vault, root);
  });

  async function twice<T extends Changed>(f: () => Promise<T>): Promise<[T, T]> {
    const a = await f();
    const b = await f();
    expect(a.changed).toBe(true);
    expect(b.changed).toBe(false);
    return [a, b];
  }

  it('PKI: mounts, tune, root, intermediate, role', async () => {
    await twice(() => ensureMount(vault, root, { maxLeaseTtl: '87600h' }));
    await twice(() => ensureMount(vault, int, { maxLeaseTtl: '8760h' }));
    // a different max TTL is a change (tune), then stable again
    await twice(() => ensureMount(vault, int, { maxLeaseTtl: '43800h' }));
    expect((await vault.read<{ max_lease_ttl: number }>(`sys/mounts/${int}/tune`)).data.max_lease_ttl).toBe(43800 * 3600);

    const [r1, r2] = await twice(() => ensureRootCa(vault, root, { commonName: `adm root ${sfx}` }));
    expect(r2.certificate).toBe(r1.certificate);
    const [i1, i2] = await twice(() => ensureIntermediateCa(vault, int, { rootMount: root, commonName: `adm int ${sfx}` }));
    expect(i2.certificate).toBe(i1.certificate);
    // the intermediate mount knows the root (set-signed got the whole chain)
    const chain = (await vault.request('GET', `${int}/ca_chain`, { raw: true })).text ?? '';
    expect(chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);

    const body = nodeRoleBody({ allowedDomains: ['dist.example.internal'], allowSubdomains: true, ttl: '24h', maxTtl: '72h' });
    await twice(() => ensureRole(vault, int, 'erlang-node', body));
    const role = (await vault.read<Record<string, unknown>>(`${int}/roles/erlang-node`)).data;
    expect(role).toMatchObject({ allowed_domains: ['dist.example.internal'], allow_subdomains: true, server_flag: true, client_flag: true, ttl: 86400, max_ttl: 259200, allowed_uri_sans: ['erlang://*'] });
    // changing one field is reported by name, then stable
    const [changed] = await twice(() => ensureRole(vault, int, 'erlang-node', { ...body, max_ttl: '96h' }));
    expect(changed.action).toContain('max_ttl');
  });

  it('policy and auth methods', async () => {
    const text = nodePolicy(int, 'erlang-node');
    await twice(() => ensurePolicy(vault, policy, text));
    expect((await vault.read<{ policy: string }>(`sys/policies/acl/${policy}`)).data.policy.trim()).toBe(text.trim());
    for (const [type, path] of Object.entries(auth)) await twice(() => ensureAuthMethod(vault, path, type));
    const mounts = (await vault.read<Record<string, { type: string }>>('sys/auth')).data;
    expect(mounts[`${auth.approle}/`]?.type).toBe('approle');
    expect(mounts[`${auth.cert}/`]?.type).toBe('cert');
    expect(mounts[`${auth.jwt}/`]?.type).toBe('jwt');
    // the same path with another type is an error, not a silent success
    await expect(ensureAuthMethod(vault, auth.cert, 'approle')).rejects.toThrow(/has type cert/);
  });

  it('AppRole role and role-id; cert role; JWT config and role', async () => {
    const appRole = { mount: auth.approle, tokenPolicies: [policy], tokenTtl: '20m', tokenMaxTtl: '1h', secretIdTtl: '24h', secretIdNumUses: 0 };
    await twice(() => ensureAppRole(vault, 'node', appRole));
    const ar = (await vault.read<Record<string, unknown>>(`auth/${auth.approle}/role/node`)).data;
    expect(ar).toMatchObject({ token_policies: [policy], token_ttl: 1200, token_max_ttl: 3600, secret_id_ttl: 86400, bind_secret_id: true });
    expect(appRoleBody(appRole)).not.toHaveProperty('token_bound_cidrs');
    expect(await readRoleId(vault, 'node', { mount: auth.approle })).toBe(await readRoleId(vault, 'node', { mount: auth.approle }));

    const intPem = (await vault.read<{ certificate: string }>(`${int}/cert/ca`)).data.certificate;
    const certRole = { mount: auth.cert, certificate: intPem, tokenPolicies: [policy], tokenTtl: '10m', allowedUriSans: ['erlang://*'] };
    await twice(() => ensureCertRole(vault, 'nodes', certRole));
    const cr = (await vault.read<Record<string, unknown>>(`auth/${auth.cert}/certs/nodes`)).data;
    expect(String(cr.certificate).trim()).toBe(intPem.trim());
    expect(cr).toMatchObject({ token_policies: [policy], token_ttl: 600, allowed_uri_sans: ['erlang://*'] });

    const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await twice(() => ensureJwtConfig(vault, { mount: auth.jwt, jwtValidationPubkeys: [pub], boundIssuer: 'https://ci.example' }));
    const jc = (await vault.read<Record<string, unknown>>(`auth/${auth.jwt}/config`)).data;
    expect(jc.bound_issuer).toBe('https://ci.example');
    expect((jc.jwt_validation_pubkeys as string[]).map((k) => k.trim())).toEqual([pub.trim()]);
    await twice(() => ensureJwtRole(vault, 'deployer', { mount: auth.jwt, boundAudiences: ['vaultdist'], tokenPolicies: [policy], tokenTtl: '5m' }));
    const jr = (await vault.read<Record<string, unknown>>(`auth/${auth.jwt}/role/deployer`)).data;
    expect(jr).toMatchObject({ role_type: 'jwt', user_claim: 'sub', bound_audiences: ['vaultdist'], token_policies: [policy], token_ttl: 300 });
  });
});
