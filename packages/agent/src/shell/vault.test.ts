/**
 * Kubernetes auth from the agent config (msw: there is no Kubernetes API here, and OpenBao's
 * kubernetes login validates the JWT against one). The config is validated like a file, the agent's
 * own client factory logs in with role + the JWT read from `jwtFile`, and a rotated token file is read
 * again after a 403.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { PERMISSION_DENIED, testdir, vaultErrors, vaultOk } from '../../../../scripts/test-utils/src/index.js';
import { validateConfig } from '../config/schema.js';
import type { Logger } from '../ports.js';
import { classifyError, exitCodeFor } from '../errors.js';
import { createAgentVaultClient } from './vault.js';

const ADDR = 'http://vault.test:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const jwt = (n: number) => `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwOiR7bn0ifQ${n}.c2lnbmF0dXJl`;

const nodes = [{ name: 'app@app-0.app.default.svc.cluster.local', dir: '/var/lib/vaultdist/app', mount: 'pki_dist', role: 'erlang-node', reload: { strategy: 'poll' }, verify: { port: 9100 } }];

describe('agent auth method "kubernetes"', () => {
  it('validates: defaults mount and jwtFile, requires role, names the key', () => {
    const ok = validateConfig({ vault: { address: ADDR, auth: { method: 'kubernetes', role: 'app' } }, nodes });
    expect(ok.errors).toEqual([]);
    expect(ok.config!.vault.auth).toEqual({ method: 'kubernetes', mount: 'kubernetes', role: 'app', jwtFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
    const bad = validateConfig({ vault: { address: ADDR, auth: { method: 'kubernetes', jwtFile: 'token' } }, nodes });
    expect(bad.errors).toEqual(expect.arrayContaining([expect.stringMatching(/^vault\.auth\.role: is required/), expect.stringMatching(/^vault\.auth\.jwtFile: must be an absolute path/)]));
  });

  it('logs in with role + the JWT from jwtFile, and re-reads the file after a 403', async () => {
    const t = testdir();
    try {
      const file = join(t.dir, 'token');
      writeFileSync(file, `${jwt(1)}\n`);
      const { config, errors } = validateConfig({ vault: { address: ADDR, auth: { method: 'kubernetes', mount: 'k8s-prod', role: 'app', jwtFile: file } }, nodes });
      expect(errors).toEqual([]);
      const logins: unknown[] = [];
      const used: string[] = [];
      server.use(
        http.post(`${ADDR}/v1/auth/k8s-prod/login`, async ({ request }) => {
          expect(request.headers.get('x-vault-token')).toBeNull();
          logins.push(await request.json());
          return HttpResponse.json(vaultOk(null, { auth: { client_token: `hvs.k8s${logins.length}AAAAAAAAAAAAAAAAAAAAAAAA`, accessor: 'a', policies: ['vaultdist-node'], metadata: null, lease_duration: 1200, renewable: true } }));
        }),
        http.get(`${ADDR}/v1/auth/token/lookup-self`, ({ request }) => {
          const token = request.headers.get('x-vault-token') ?? '';
          used.push(token);
          if (token.startsWith('hvs.k8s1')) {
            // the projected token rotated on disk and Vault revoked the old login
            writeFileSync(file, jwt(2));
            return HttpResponse.json(vaultErrors(PERMISSION_DENIED), { status: 403 });
          }
          return HttpResponse.json(vaultOk({ ttl: 1200, renewable: true, policies: ['vaultdist-node'] }));
        }),
      );
      const lines: string[] = [];
      const logger: Logger = { debug: (m, s) => lines.push(s + JSON.stringify(m)), info: (m, s) => lines.push(s + JSON.stringify(m)), warn: (m, s) => lines.push(s + JSON.stringify(m)), error: (m, s) => lines.push(s + JSON.stringify(m)) };
      const vault = createAgentVaultClient(config!, config!.vault.auth, logger);
      await vault.read('auth/token/lookup-self');
      expect(logins).toEqual([
        { role: 'app', jwt: jwt(1) },
        { role: 'app', jwt: jwt(2) },
      ]);
      expect(used.map((u) => u.slice(0, 8))).toEqual(['hvs.k8s1', 'hvs.k8s2']);
      // the JWT is a credential: never logged
      for (const l of lines) expect(l).not.toContain('c2lnbmF0dXJl');
    } finally {
      t.cleanup();
    }
  });
});

describe('login failures are auth failures (exit 12)', () => {
  const approle = () => validateConfig({ vault: { address: ADDR, auth: { method: 'approle', roleId: 'r-1', secretId: 's-1' } }, nodes }).config!;
  const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

  it.each([
    ['400 invalid role or secret ID (what OpenBao answers a wrong secret_id)', 400, 'invalid role or secret ID', 'auth'],
    ['403 permission denied', 403, 'permission denied', 'auth'],
    // issue #14: a 5xx from a login is Vault being unavailable (exit 11), not an auth failure (12)
    ['500 internal error at login: Vault unavailable, not auth', 500, 'internal error', 'vault-unavailable'],
    ['502 from a balancer at login', 502, 'bad gateway', 'vault-unavailable'],
    ['503 sealed: Vault unavailable, not auth', 503, 'Vault is sealed', 'vault-unavailable'],
    // …except cert auth's 500 for an expired client certificate (what OpenBao answers): a credential problem
    ["500 failed to verify client's certificate", 500, "failed to verify client's certificate: x509: certificate has expired or is not yet valid", 'auth'],
  ])('%s', async (_what, status, text, kind) => {
    server.use(http.post(`${ADDR}/v1/auth/approle/login`, () => HttpResponse.json(vaultErrors(text), { status })));
    const c = approle();
    const vault = createAgentVaultClient(c, c.vault.auth, quiet);
    const e = await vault.read('auth/token/lookup-self').catch((x: unknown) => x);
    expect(classifyError(e)).toBe(kind);
    expect(exitCodeFor(classifyError(e))).toBe(kind === 'auth' ? 12 : 11);
    expect((e as Error).message).toContain(text);
  });

  it('an issue error after a good login stays an issue error (13)', async () => {
    server.use(
      http.post(`${ADDR}/v1/auth/approle/login`, () => HttpResponse.json(vaultOk(null, { auth: { client_token: 'hvs.okAAAAAAAAAAAAAAAAAAAAAAAAA', accessor: 'a', policies: [], metadata: null, lease_duration: 600, renewable: true } }))),
      http.post(`${ADDR}/v1/pki/sign/node`, () => HttpResponse.json(vaultErrors('common name not allowed by this role'), { status: 400 })),
    );
    const c = approle();
    const vault = createAgentVaultClient(c, c.vault.auth, quiet);
    const e = await vault.write('pki/sign/node', { csr: 'x' }).catch((x: unknown) => x);
    expect(classifyError(e)).toBe('issue');
  });
});
