/**
 * Input hardening (issue #7): seeded property tests for configuration parsing (resolveVaultConnection)
 * and Vault response parsing (normalizeChain; signCsr/issueNodeCredentials against answers a real
 * server would not give, served by msw). Every bad input must give a typed error and write nothing.
 *
 * Reproduce a run: VAULTDIST_FUZZ_SEED=<seed>; more cases: VAULTDIST_FUZZ_RUNS=N.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import {
  createVaultClient,
  isCertificateError,
  isConfigError,
  isVaultResponseError,
  isVaultSdkError,
  issueNodeCredentials,
  resolveVaultConnection,
  silentLogger,
} from '../../packages/sdk/src/index.js';
import { normalizeChain, signCsr, splitPem } from '../../packages/sdk/src/internal.js';
import { makeCa, makeLeaf, prng, vaultOk, type Rng } from '../../scripts/test-utils/src/index.js';
import { testdir } from '../helpers/vault.js';

const SEED = Number(process.env.VAULTDIST_FUZZ_SEED ?? Date.now() % 1_000_000);
const RUNS = Number(process.env.VAULTDIST_FUZZ_RUNS ?? 300);

const CHARS = ['a', 'Z', '0', ':', '/', '.', '@', '%', ' ', '\n', '"', '\\', 'é', '😀', '-', '?', '#', '[', ']', '\0'];
const str = (r: Rng, max = 12) => Array.from({ length: r.int(max + 1) }, () => r.pick(CHARS)).join('');
function fail(msg: string): never {
  throw new Error(`${msg}\n(reproduce with VAULTDIST_FUZZ_SEED=${SEED})`);
}

const SECRET = 'hvs.SECRET-TOKEN-MUST-NOT-LEAK';
const ENV_KEYS = ['ADDR', 'TOKEN', 'CACERT', 'CAPATH', 'CLIENT_CERT', 'CLIENT_KEY', 'NAMESPACE', 'SKIP_VERIFY', 'TLS_SERVER_NAME'];
const OPTION_KEYS = ['address', 'token', 'caCertPath', 'caPath', 'clientCertPath', 'clientKeyPath', 'namespace', 'skipVerify', 'tlsServerName'];

describe(`input hardening: config and Vault response parsing (seed ${SEED})`, () => {
  it('resolveVaultConnection: a resolved connection or a ConfigError naming the option/variable; never the token', () => {
    const r = prng(SEED);
    let errors = 0;
    for (let i = 0; i < RUNS * 3; i++) {
      const env: Record<string, string> = {};
      for (const k of ENV_KEYS) {
        if (!r.bool(0.3)) continue;
        const v =
          k === 'ADDR'
            ? r.pick(['http://127.0.0.1:8200', 'https://vault.example:8200/', 'ftp://x', 'vault:8200', '', str(r), 'http://[::1]:8200', 'https://u:p@h/'])
            : k === 'SKIP_VERIFY'
              ? r.pick(['true', 'FALSE', ' 1 ', '0', '', 'yes', 'off', 'maybe', str(r, 4)])
              : k === 'TOKEN'
                ? SECRET
                : str(r);
        env[`${r.bool() ? 'BAO' : 'VAULT'}_${k}`] = v;
      }
      const options: Record<string, unknown> = {};
      if (r.bool(0.2)) options.address = r.pick(['http://h:1', str(r), '']);
      if (r.bool(0.1)) options.skipVerify = r.bool();
      if (r.bool(0.1)) options.token = SECRET;
      let res;
      try {
        res = resolveVaultConnection(options, env);
      } catch (e) {
        if (!isConfigError(e)) fail(`resolveVaultConnection(${JSON.stringify(options)}, ${JSON.stringify(env)}) threw non-typed ${String(e)}`);
        errors++;
        const allowed = new Set([...OPTION_KEYS, ...ENV_KEYS.flatMap((k) => [`BAO_${k}`, `VAULT_${k}`])]);
        const bad = e.issues.filter((x: { path: string }) => !allowed.has(x.path));
        if (bad.length) fail(`ConfigError names unknown paths ${JSON.stringify(bad)}`);
        if (e.message.includes(SECRET)) fail('a ConfigError message contains the token');
        continue;
      }
      if (!/^https?:\/\//.test(res.address) || res.address.endsWith('/')) fail(`resolved address ${JSON.stringify(res.address)}`);
      if (typeof res.skipVerify !== 'boolean') fail('skipVerify is not a boolean');
      const sv = env.BAO_SKIP_VERIFY ?? env.VAULT_SKIP_VERIFY;
      if (options.skipVerify === undefined && sv !== undefined && res.skipVerify !== ['1', 'true', 't', 'yes', 'on'].includes(sv.trim().toLowerCase())) {
        fail(`SKIP_VERIFY=${JSON.stringify(sv)} resolved to ${res.skipVerify}`);
      }
    }
    expect(errors).toBeGreaterThan(0);
  });

  it('normalizeChain: a list of clean PEM certificates, or a VaultResponseError', async () => {
    const r = prng(SEED + 1);
    const ca = await makeCa('fuzz root');
    const pieces = [ca.pem, ca.pem.replace('MII', 'M#I'), '-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----', 'garbage', ''];
    const value = (depth: number): unknown => {
      switch (r.int(depth > 2 ? 5 : 7)) {
        case 0:
          return r.pick(pieces);
        case 1:
          return Array.from({ length: r.int(3) }, () => r.pick(pieces)).join(r.pick(['\n', '', ' ']));
        case 2:
          return r.pick([null, undefined, 0, 42, true, Number.NaN]);
        case 3:
          return str(r, 30);
        case 4:
          return { certificate: r.pick(pieces) };
        default:
          return Array.from({ length: r.int(4) }, () => value(depth + 1));
      }
    };
    for (let i = 0; i < RUNS * 3; i++) {
      const v = value(0);
      let out: string[];
      try {
        out = normalizeChain(v);
      } catch (e) {
        if (!isVaultResponseError(e)) fail(`normalizeChain(${JSON.stringify(v)?.slice(0, 200)}) threw non-typed ${String(e)}`);
        continue;
      }
      for (const p of out) if (!/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/.test(p)) fail(`normalizeChain returned ${JSON.stringify(p)}`);
    }
  });

  it('fixed (sdk vault/config.ts): a bad `address` option is reported under the path "address", a bad env var under its name', () => {
    const issuePath = (o: Record<string, string>, env: Record<string, string>) => {
      try {
        resolveVaultConnection(o, env);
      } catch (x) {
        return isConfigError(x) ? x.issues.map((i) => i.path) : String(x);
      }
      return 'resolved';
    };
    expect(issuePath({ address: 'not a url' }, {})).toEqual(['address']);
    expect(issuePath({ address: 'ftp://x' }, { VAULT_ADDR: 'http://ok:1' })).toEqual(['address']);
    expect(issuePath({}, { BAO_ADDR: 'not a url' })).toEqual(['BAO_ADDR']);
    expect(issuePath({ clientCertPath: '/c.pem' }, {})).toEqual(['clientKeyPath']);
    expect(issuePath({}, { VAULT_CLIENT_KEY: '/k.pem' })).toEqual(['VAULT_CLIENT_CERT']);
  });

  it('fixed (sdk x509/keys.ts splitPem): a PEM block with an empty body is a typed error, not a TypeError', () => {
    const empty = '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----';
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (x) {
        return x;
      }
      return undefined;
    };
    const fromSplit = thrown(() => splitPem(empty));
    expect(isCertificateError(fromSplit) && fromSplit.problem).toBe('parse');
    // From a Vault answer it is the answer that is wrong: VaultResponseError, the parse error as cause.
    const fromChain = thrown(() => normalizeChain(empty));
    expect(isVaultResponseError(fromChain) && isCertificateError(fromChain.cause)).toBe(true);
    expect(isVaultSdkError(fromChain)).toBe(true);
  });

  describe('Vault answers a real server would not give (msw)', () => {
    const ADDR = 'http://vault.fuzz.test:8200';
    const server = setupServer();
    const t = testdir();
    beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
    afterEach(() => server.resetHandlers());
    afterAll(() => {
      server.close();
      t.cleanup();
    });
    const vault = () => createVaultClient({ address: ADDR, token: SECRET, env: {}, logger: silentLogger, retry: { retries: 0 } });

    it('issueNodeCredentials: every garbage sign answer is a typed error and nothing is written', async () => {
      const r = prng(SEED + 2);
      const ca = await makeCa('fuzz issuing CA');
      const other = await makeLeaf({ ca, dns: ['127.0.0.1'], ips: ['127.0.0.1'], uris: ['erlang://foo@127.0.0.1'] });
      const certs = [other.certPem, ca.pem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'BEGIN CERTIFICATE', '', 42, null, ['x'], { a: 1 }];
      const bodies: (() => Response)[] = [
        () => new HttpResponse('<html>502 Bad Gateway</html>', { status: 200, headers: { 'content-type': 'text/html' } }),
        () => new HttpResponse('{"data": {"certificate": "-----BEGIN', { status: 200, headers: { 'content-type': 'application/json' } }),
        () => new HttpResponse('', { status: 200 }),
        () => HttpResponse.json([]),
        () => HttpResponse.json({ data: null }),
        () => HttpResponse.json({ errors: [] }, { status: 200 }),
      ];
      const n = Math.max(30, RUNS / 5);
      for (let i = 0; i < n; i++) {
        const make =
          r.bool(0.2)
            ? r.pick(bodies)
            : () =>
                HttpResponse.json(
                  vaultOk({
                    ...(r.bool(0.9) ? { certificate: r.pick(certs) } : {}),
                    ...(r.bool(0.7) ? { issuing_ca: r.pick(certs) } : {}),
                    ...(r.bool(0.7) ? { ca_chain: r.bool() ? [r.pick(certs), r.pick(certs)] : r.pick(certs) } : {}),
                    ...(r.bool(0.7) ? { serial_number: r.pick([other.serial, 'zz:zz', 7, '']) } : {}),
                    ...(r.bool(0.7) ? { expiration: r.pick([Math.floor(Date.now() / 1000) + 3600, 'soon', -1, 1e20]) } : {}),
                  }),
                );
        server.use(http.post(`${ADDR}/v1/pki/sign/node`, () => make()));
        const dir = join(t.dir, `n${i}`);
        let err: unknown;
        try {
          await issueNodeCredentials(vault(), { mount: 'pki', role: 'node', node: 'foo@127.0.0.1', dir });
        } catch (e) {
          err = e;
        }
        if (!isVaultSdkError(err)) fail(`case ${i}: expected a typed error, got ${err === undefined ? 'success' : String(err)}`);
        if ((err as Error).message.includes(SECRET)) fail(`case ${i}: the error message contains the token`);
        if (existsSync(dir)) fail(`case ${i}: ${dir} was created although the answer was refused`);
      }
    });

    it('fixed (sdk pki/sign.ts toSigned): an answer without expiration/serial is a VaultResponseError naming the field, not Invalid Date / ""', async () => {
      const ca = await makeCa('toSigned CA');
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const answers: [Record<string, unknown>, string][] = [
        [{ certificate: ca.pem, issuing_ca: ca.pem }, 'serial_number'],
        [{ certificate: ca.pem, issuing_ca: ca.pem, expiration: exp }, 'serial_number'],
        [{ certificate: ca.pem, issuing_ca: ca.pem, expiration: exp, serial_number: '' }, 'serial_number'],
        [{ certificate: ca.pem, issuing_ca: ca.pem, serial_number: 'aa:bb' }, 'expiration'],
        [{ certificate: ca.pem, issuing_ca: ca.pem, serial_number: 'aa:bb', expiration: 'soon' }, 'expiration'],
        [{ certificate: ca.pem, issuing_ca: ca.pem, serial_number: 'aa:bb', expiration: 1e20 }, 'expiration'],
      ];
      for (const [body, field] of answers) {
        server.use(http.post(`${ADDR}/v1/pki/sign/node`, () => HttpResponse.json(vaultOk(body))));
        const out = await signCsr(vault(), { mount: 'pki', role: 'node', csr: 'x' }).catch((e: unknown) => e);
        expect(isVaultResponseError(out) && out.message).toContain(field);
      }
      server.use(http.post(`${ADDR}/v1/pki/sign/node`, () => HttpResponse.json(vaultOk({ certificate: ca.pem, issuing_ca: ca.pem, serial_number: 'AA:bb', expiration: exp }))));
      const ok = await signCsr(vault(), { mount: 'pki', role: 'node', csr: 'x' });
      expect(ok.serial).toBe('aa:bb');
      expect(ok.expiration.getTime()).toBe(exp * 1000);
    });
  });
});
