import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { PERMISSION_DENIED, testdir, vaultErrors, vaultOk } from '../../../../scripts/test-utils/src/index.js';
import { createVaultClient } from '../client.js';
import { isConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { appRoleAuth } from './approle.js';
import { kubernetesAuth } from './kubernetes.js';
import { tokenAuth } from './token.js';

const ADDR = 'http://vault.test:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const authBlock = (token: string, lease = 1200) => ({
  client_token: token,
  accessor: 'acc',
  policies: ['default'],
  metadata: null,
  lease_duration: lease,
  renewable: true,
});

describe('login strategies (msw)', () => {
  it('AppRole: unwraps the secret_id once, logs in, and after a 403 logs in again once and replays', async () => {
    const seen: { unwraps: string[]; logins: unknown[]; tokens: string[] } = { unwraps: [], logins: [], tokens: [] };
    let n = 0;
    server.use(
      http.post(`${ADDR}/v1/sys/wrapping/unwrap`, ({ request }) => {
        seen.unwraps.push(request.headers.get('x-vault-token') ?? '');
        return HttpResponse.json(vaultOk({ secret_id: 'sid-1', secret_id_accessor: 'a' }));
      }),
      http.post(`${ADDR}/v1/auth/approle/login`, async ({ request }) => {
        expect(request.headers.get('x-vault-token')).toBeNull();
        seen.logins.push(await request.json());
        return HttpResponse.json(vaultOk(null, { auth: authBlock(`hvs.token${++n}AAAAAAAAAAAAAAAAAAAAAAAA`) }));
      }),
      http.get(`${ADDR}/v1/secret/x`, ({ request }) => {
        const t = request.headers.get('x-vault-token') ?? '';
        seen.tokens.push(t);
        // the first token was revoked behind our back
        return t.startsWith('hvs.token1') ? HttpResponse.json(vaultErrors(PERMISSION_DENIED), { status: 403 }) : HttpResponse.json(vaultOk({ v: 1 }));
      }),
    );
    const vault = createVaultClient({ address: ADDR, env: {}, logger: silentLogger, auth: appRoleAuth({ roleId: 'rid', wrappingToken: 'hvs.WRAPPINGWRAPPINGWRAPPING' }) });
    const r = await vault.read<{ v: number }>('secret/x');
    expect(r.data).toEqual({ v: 1 });
    expect(seen.unwraps).toEqual(['hvs.WRAPPINGWRAPPINGWRAPPING']);
    expect(seen.logins).toEqual([
      { role_id: 'rid', secret_id: 'sid-1' },
      { role_id: 'rid', secret_id: 'sid-1' },
    ]);
    expect(seen.tokens.map((t) => t.slice(0, 10))).toEqual(['hvs.token1', 'hvs.token2']);
    expect(vault.auth?.current?.()?.leaseDurationSeconds).toBe(1200);
  });

  it('AppRole: a second 403 after the replay is final (one re-login, not a loop)', async () => {
    let logins = 0;
    server.use(
      http.post(`${ADDR}/v1/auth/approle/login`, () => HttpResponse.json(vaultOk(null, { auth: authBlock(`hvs.t${++logins}AAAAAAAAAAAAAAAAAAAAAAAAAA`) }))),
      http.get(`${ADDR}/v1/secret/x`, () => HttpResponse.json(vaultErrors(PERMISSION_DENIED), { status: 403 })),
    );
    const vault = createVaultClient({ address: ADDR, env: {}, logger: silentLogger, auth: appRoleAuth({ roleId: 'rid', secretId: 'sid' }) });
    await expect(vault.read('secret/x')).rejects.toHaveProperty("name", "VaultPermissionDeniedError");
    expect(logins).toBe(2);
  });

  it('shares one in-flight login between concurrent requests', async () => {
    let logins = 0;
    server.use(
      http.post(`${ADDR}/v1/auth/approle/login`, async () => {
        logins++;
        await new Promise((r) => setTimeout(r, 20));
        return HttpResponse.json(vaultOk(null, { auth: authBlock('hvs.sharedAAAAAAAAAAAAAAAAAAAAAA') }));
      }),
      http.get(`${ADDR}/v1/secret/:n`, () => HttpResponse.json(vaultOk({}))),
    );
    const vault = createVaultClient({ address: ADDR, env: {}, logger: silentLogger, auth: appRoleAuth({ roleId: 'rid', secretId: 'sid' }) });
    await Promise.all([vault.read('secret/a'), vault.read('secret/b'), vault.read('secret/c')]);
    expect(logins).toBe(1);
  });

  it('Kubernetes (msw only: no Kubernetes API here): re-reads the service-account token file at each login', async () => {
    const t = testdir();
    try {
      const file = join(t.dir, 'token');
      const jwt = (n: number) => `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6${n}In0.c2ln`;
      writeFileSync(file, `${jwt(1)}\n`);
      const bodies: unknown[] = [];
      server.use(
        http.post(`${ADDR}/v1/auth/k8s-prod/login`, async ({ request }) => {
          bodies.push(await request.json());
          return HttpResponse.json(vaultOk(null, { auth: authBlock(`hvs.k8s${bodies.length}AAAAAAAAAAAAAAAAAAAAAA`) }));
        }),
        http.get(`${ADDR}/v1/secret/x`, ({ request }) => {
          if (!request.headers.get('x-vault-token')?.startsWith('hvs.k8s1')) return HttpResponse.json(vaultOk({}));
          // the projected token rotated on disk and the old Vault token was revoked
          writeFileSync(file, jwt(2));
          return HttpResponse.json(vaultErrors(PERMISSION_DENIED), { status: 403 });
        }),
      );
      const vault = createVaultClient({ address: ADDR, env: {}, logger: silentLogger, auth: kubernetesAuth({ role: 'node', jwtFile: file, mount: 'k8s-prod' }) });
      await vault.read('secret/x');
      expect(bodies).toEqual([
        { role: 'node', jwt: jwt(1) },
        { role: 'node', jwt: jwt(2) },
      ]);
    } finally {
      t.cleanup();
    }
  });

  it('rejects bad options with ConfigError naming the field', () => {
    const cases: [() => unknown, string][] = [
      [() => appRoleAuth({ roleId: '', secretId: 'x' }), 'roleId'],
      [() => appRoleAuth({ roleId: 'r', secretId: 'x', wrappingToken: 'y' }), 'secretId'],
      [() => appRoleAuth({ roleId: 'r', mount: '../sys' }), 'mount'],
      [() => kubernetesAuth({ role: '' }), 'role'],
      [() => tokenAuth({ token: ' ' }), 'token'],
    ];
    for (const [f, field] of cases) {
      let e: unknown;
      try {
        f();
      } catch (err) {
        e = err;
      }
      expect(isConfigError(e)).toBe(true);
      expect((e as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(field);
    }
  });
});
