import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { PERMISSION_DENIED, vaultErrors, vaultOk } from '../../../scripts/test-utils/src/index.js';
import { createVaultClient } from './client.js';
import {
  isVaultHttpError,
  isVaultNetworkError,
  isVaultPermissionDeniedError,
  isVaultResponseError,
  isVaultSealedError,
  isConfigError,
} from './errors.js';
import { silentLogger } from './logger.js';

const ADDR = 'http://vault.test:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const client = (extra = {}) =>
  createVaultClient({ address: ADDR, token: 'hvs.TESTTOKENTESTTOKENTESTTOKEN', env: {}, logger: silentLogger, retry: { baseDelayMs: 1, maxDelayMs: 20 }, ...extra });

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('createVaultClient faults (msw)', () => {
  it('maps 503 "Vault is sealed" to VaultSealedError', async () => {
    server.use(http.get(`${ADDR}/v1/pki/roles/x`, () => HttpResponse.json(vaultErrors('Vault is sealed'), { status: 503 })));
    const e = await failure(client({ retry: { retries: 0 } }).read('pki/roles/x'));
    expect(isVaultSealedError(e)).toBe(true);
  });

  it('maps 403 to VaultPermissionDeniedError keeping every Vault error, without the token', async () => {
    server.use(http.post(`${ADDR}/v1/pki/sign/node`, () => HttpResponse.json(vaultErrors(PERMISSION_DENIED, 'second error'), { status: 403 })));
    const e = await failure(client().write('pki/sign/node', { csr: 'x' }));
    expect(isVaultPermissionDeniedError(e)).toBe(true);
    expect((e as unknown as { errors: string[] }).errors).toEqual([PERMISSION_DENIED, 'second error']);
    expect(e.message).toContain('permission denied; second error');
    expect(JSON.stringify({ ...e, message: e.message })).not.toContain('TESTTOKEN');
  });

  it('retries an idempotent read after 429 with Retry-After, then succeeds', async () => {
    let calls = 0;
    server.use(
      http.get(`${ADDR}/v1/sys/mounts`, () => {
        calls++;
        return calls === 1
          ? HttpResponse.json(vaultErrors('rate limit quota exceeded'), { status: 429, headers: { 'Retry-After': '0' } })
          : HttpResponse.json(vaultOk({ 'pki/': { type: 'pki' } }));
      }),
    );
    const r = await client().read<Record<string, unknown>>('sys/mounts');
    expect(calls).toBe(2);
    expect(r.data).toEqual({ 'pki/': { type: 'pki' } });
  });

  it('retries 502/503 storms on reads up to the limit, but never retries a certificate-creating write', async () => {
    let reads = 0;
    let writes = 0;
    server.use(
      http.get(`${ADDR}/v1/pki/cert/ca`, () => {
        reads++;
        return HttpResponse.json(vaultErrors('upstream'), { status: 502 });
      }),
      http.post(`${ADDR}/v1/pki/issue/node`, () => {
        writes++;
        // a 502 may come after the write was executed (503/429 prove it was not: those are resent)
        return HttpResponse.json(vaultErrors('upstream'), { status: 502 });
      }),
    );
    const e1 = await failure(client({ retry: { retries: 3, baseDelayMs: 1, unavailableBudgetMs: 0 } }).read('pki/cert/ca'));
    expect(isVaultHttpError(e1) && e1.status).toBe(502);
    expect(reads).toBe(4);
    const e2 = await failure(client({ retry: { retries: 3, baseDelayMs: 1 } }).write('pki/issue/node', { common_name: 'x' }));
    expect(isVaultHttpError(e2) && e2.status).toBe(502);
    expect(writes).toBe(1);
  });

  it('reports a connection reset as VaultNetworkError, never as an HTTP status', async () => {
    server.use(http.get(`${ADDR}/v1/sys/mounts`, () => HttpResponse.error()));
    const e = await failure(client({ retry: { retries: 1, unavailableBudgetMs: 0 } }).read('sys/mounts'));
    expect(isVaultNetworkError(e)).toBe(true);
    expect(isVaultHttpError(e)).toBe(false);
  });

  it('reports malformed JSON in a 200 as VaultResponseError', async () => {
    server.use(http.get(`${ADDR}/v1/sys/mounts`, () => new HttpResponse('{"data": {"pki/": ', { status: 200, headers: { 'Content-Type': 'application/json' } })));
    const e = await failure(client().read('sys/mounts'));
    expect(isVaultResponseError(e)).toBe(true);
  });

  it('hands Vault warnings to the caller (a silently capped TTL)', async () => {
    const warning = 'TTL "48h0m0s" is longer than permitted maxTTL "24h0m0s", so maxTTL is being used';
    server.use(http.post(`${ADDR}/v1/pki/sign/node`, () => HttpResponse.json(vaultOk({ certificate: 'x' }, { warnings: [warning] }))));
    const seen: string[] = [];
    const r = await client({ onWarning: (w: string) => seen.push(w) }).write('pki/sign/node', { csr: 'x', ttl: '48h' });
    expect(r.warnings).toEqual([warning]);
    expect(seen).toEqual([warning]);
  });

  it('stops at once when the caller aborts', async () => {
    server.use(http.get(`${ADDR}/v1/sys/mounts`, () => HttpResponse.json(vaultErrors('x'), { status: 503 })));
    const ac = new AbortController();
    const p = client({ retry: { retries: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 } }).read('sys/mounts', { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('caller gave up')), 50);
    await expect(p).rejects.toThrow('caller gave up');
  });
});

describe('connection configuration', () => {
  it('reads BAO_* over VAULT_* and parses VAULT_SKIP_VERIFY strictly', () => {
    const c = createVaultClient({ env: { BAO_ADDR: 'http://bao:8200', VAULT_ADDR: 'http://vault:8200', VAULT_SKIP_VERIFY: 'false' }, logger: silentLogger });
    expect(c.connection.address).toBe('http://bao:8200');
    expect(c.connection.skipVerify).toBe(false);
    expect(c.connection.sources.address).toBe('BAO_ADDR');
  });
  it('names the variable at fault', () => {
    let e: unknown;
    try {
      createVaultClient({ env: { VAULT_SKIP_VERIFY: 'maybe' }, logger: silentLogger });
    } catch (err) {
      e = err;
    }
    expect(isConfigError(e)).toBe(true);
    expect((e as Error).message).toContain('VAULT_SKIP_VERIFY');
  });
});
