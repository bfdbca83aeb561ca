import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { EC, testdir } from '../../../../scripts/test-utils/src/index.js';
import { isCertificateError, isWriteError } from '../errors.js';
import { caSubjectHash, opensslNameHash, parseCrl, writeCrlDir } from './crl.js';

async function ca(name: string) {
  const keys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name,
    notBefore: new Date(Date.UTC(2020, 0, 1)),
    notAfter: new Date(Date.UTC(2040, 0, 1)),
    keys,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true)],
  });
  return { cert, keys, pem: `${cert.toString('pem')}\n` };
}

async function crl(issuer: Awaited<ReturnType<typeof ca>>, serials: string[], o: { thisUpdate?: Date; nextUpdate?: Date } = {}) {
  const c = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: o.thisUpdate ?? new Date(Date.now() - 60_000),
    nextUpdate: o.nextUpdate ?? new Date(Date.now() + 3600_000),
    signingAlgorithm: EC,
    signingKey: issuer.keys.privateKey,
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(Date.UTC(2026, 0, 1)) })),
  });
  return `${c.toString('pem')}\n`;
}

describe('CRL hash directory (OTP ssl_crl_hash_dir layout)', () => {
  const t = testdir();
  afterAll(() => t.cleanup());

  it('computes the same issuer-name hash as `openssl x509 -hash` and OTP public_key:short_name_hash/1', async () => {
    const names = [
      'CN=vaultdist root',
      'CN=  Mixed   CASE  Root , O=Example\tOrg, C=DE',
      'CN=Ünïcödé Wurzel €, OU=ops',
      'CN=a, O=b, OU=c, L=d, ST=e, C=US',
    ];
    const cas = await Promise.all(names.map(ca));
    const ours = cas.map((c) => caSubjectHash(c.pem));
    const files = cas.map((c, i) => {
      const f = join(t.dir, `ca${i}.pem`);
      writeFileSync(f, c.pem);
      return f;
    });
    const openssl = files.map((f) => execFileSync('openssl', ['x509', '-noout', '-hash', '-in', f], { encoding: 'utf8' }).trim());
    // One erl for all names: decode each PEM and hash its subject as ssl_crl_hash_dir does.
    const expr = `lists:foreach(fun(F) -> {ok,B}=file:read_file(F), [{'Certificate',D,_}]=public_key:pem_decode(B), C=public_key:pkix_decode_cert(D,otp), io:format("~s~n",[public_key:short_name_hash(element(7, element(2, C)))]) end, [${files.map((f) => `"${f}"`).join(',')}]), halt().`;
    const erl = execFileSync('erl', ['-noshell', '-eval', expr], { encoding: 'utf8' }).trim().split('\n');
    expect(ours).toEqual(openssl);
    expect(ours).toEqual(erl);
    expect(new Set(ours).size).toBe(names.length);
  });

  it('parses a CRL and lists revoked serials in Vault notation', async () => {
    const root = await ca('CN=crl parse root');
    const info = parseCrl(await crl(root, ['0A1B', '2c3d4e']));
    expect(info.revoked.map((r) => r.serial).sort()).toEqual(['0a:1b', '2c:3d:4e']);
    expect(info.issuerHash).toBe(caSubjectHash(root.pem));
    expect(parseCrl(new Uint8Array(info.der)).pem).toBe(info.pem);
  });

  it.each([
    ['empty', ''],
    ['a certificate instead of a CRL', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
    ['garbage base64', '-----BEGIN X509 CRL-----\nAAECAwQF\n-----END X509 CRL-----\n'],
  ])('rejects %s with a typed error', (_n, input) => {
    expect(() => parseCrl(input)).toThrow(expect.objectContaining({ code: 'CERTIFICATE' }));
  });

  it('rejects non-Name bytes', () => {
    for (const bad of [new Uint8Array([]), new Uint8Array([0x30, 0x05, 0x31]), new Uint8Array([0x02, 0x01, 0x00]), new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])]) {
      let err: unknown;
      try {
        opensslNameHash(bad);
      } catch (e) {
        err = e;
      }
      expect(isCertificateError(err)).toBe(true);
    }
  });

  it('writes <hash>.r0 behind an atomically swapped symlink, skips identical content, keeps one previous set', async () => {
    const root = await ca('CN=crl dir root');
    const base = join(t.dir, 'node1');
    const dir = join(base, 'crl');
    const crl1 = await crl(root, ['01']);
    const r1 = await writeCrlDir(dir, [crl1], [root.pem]);
    const hash = caSubjectHash(root.pem);
    expect(r1).toMatchObject({ changed: true, files: [`${hash}.r0`] });
    expect(lstatSync(dir).isSymbolicLink()).toBe(true);
    expect(readlinkSync(dir)).toMatch(/^\.crl\.sets\/[a-z0-9-]+$/);
    expect(readFileSync(join(dir, `${hash}.r0`), 'utf8')).toBe(parseCrl(crl1).pem);
    expect((await writeCrlDir(dir, [crl1], [root.pem])).changed).toBe(false);
    const crl2 = await crl(root, ['01', '02']);
    expect((await writeCrlDir(dir, [crl2], [root.pem])).changed).toBe(true);
    expect(parseCrl(readFileSync(join(dir, `${hash}.r0`), 'utf8')).revoked).toHaveLength(2);
    expect(readdirSync(join(base, '.crl.sets'))).toHaveLength(2);
    await writeCrlDir(dir, [await crl(root, ['03'])], [root.pem]);
    expect(readdirSync(join(base, '.crl.sets'))).toHaveLength(2);
  });

  it('numbers several CRLs of the same issuer name densely, newest first, one file per issuer hash', async () => {
    const a = await ca('CN=issuer a');
    const b = await ca('CN=issuer b');
    const older = await crl(a, ['01'], { thisUpdate: new Date(Date.now() - 7200_000) });
    const newer = await crl(a, ['01', '02']);
    const dir = join(t.dir, 'multi', 'crl');
    const r = await writeCrlDir(dir, [older, newer, await crl(b, [])], [a.pem, b.pem]);
    const ha = caSubjectHash(a.pem);
    const hb = caSubjectHash(b.pem);
    expect([...r.files].sort()).toEqual([`${ha}.r0`, `${ha}.r1`, `${hb}.r0`].sort());
    expect(parseCrl(readFileSync(join(dir, `${ha}.r0`), 'utf8')).revoked).toHaveLength(2);
  });

  it('refuses a CRL not signed by the given CAs, a stale CRL and garbage, writing nothing', async () => {
    const root = await ca('CN=the real root');
    const impostor = await ca('CN=the real root'); // same name, other key
    const dir = join(t.dir, 'refuse', 'crl');
    const attempts: [string, () => Promise<unknown>][] = [
      ['chain', async () => writeCrlDir(dir, [await crl(impostor, ['01'])], [root.pem])],
      ['expired', async () => writeCrlDir(dir, [await crl(root, [], { thisUpdate: new Date(Date.now() - 7200_000), nextUpdate: new Date(Date.now() - 3600_000) })], [root.pem])],
      ['parse', async () => writeCrlDir(dir, ['-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n'], [root.pem])],
      ['chain', async () => writeCrlDir(dir, [await crl(root, [])], [])],
      ['parse', async () => writeCrlDir(dir, [], [root.pem])],
    ];
    for (const [name, run] of attempts) {
      let err: unknown;
      try {
        await run();
      } catch (e) {
        err = e;
      }
      expect([isCertificateError(err), (err as { problem?: string }).problem]).toEqual([true, name]);
    }
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(t.dir, 'refuse', '.crl.sets'))).toBe(false);
  });

  it('takes over an empty directory but refuses a non-empty one it does not manage', async () => {
    const root = await ca('CN=takeover root');
    const empty = join(t.dir, 'empty', 'crl');
    mkdirSync(empty, { recursive: true });
    expect((await writeCrlDir(empty, [await crl(root, [])], [root.pem])).changed).toBe(true);
    const full = join(t.dir, 'full', 'crl');
    mkdirSync(full, { recursive: true });
    writeFileSync(join(full, 'keep.txt'), 'mine');
    expect(isWriteError(await writeCrlDir(full, [await crl(root, [])], [root.pem]).catch((e: unknown) => e))).toBe(true);
    expect(readFileSync(join(full, 'keep.txt'), 'utf8')).toBe('mine');
    expect(isWriteError(await writeCrlDir('relative/crl', [await crl(root, [])], [root.pem]).catch((e: unknown) => e))).toBe(true);
  });
});
