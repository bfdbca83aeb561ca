/**
 * The fast CSR path (x509/pkcs10.ts + der.ts) against @peculiar/x509: every CSR it makes, for every
 * key type and SAN shape, is parsed and verified by @peculiar/x509 and carries the requested names;
 * the signed part (CertificationRequestInfo) is byte for byte what buildCsr writes for the same key,
 * and for the deterministic signatures (RSA PKCS#1 v1.5, Ed25519) the whole CSR is.
 */
import { createPublicKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { isCertificateError } from '../errors.js';
import { parseNodeName } from '../node-name.js';
import { buildCsr, nodeSans, type NodeSans } from './csr.js';
import { ipBytes, oid, sequence, tlv } from './der.js';
import { keyAlgorithm, KEY_TYPES, type KeyType } from './keys.js';
import { splitPem } from '../pem.js';
import { certificationRequestInfo, createCsr, exportKeyObjectPem, generateNodeKeyObjects, privateKeyInfo, subjectPublicKeyInfo } from './pkcs10.js';
import { cachedRsaKey } from '../../../../scripts/test-utils/src/index.js';

/** Header length and content length of the TLV at `at`. */
function tlvAt(d: Buffer, at: number): { header: number; length: number } {
  const l = d[at + 1]!;
  if (!(l & 0x80)) return { header: 2, length: l };
  let length = 0;
  for (let k = 0; k < (l & 0x7f); k++) length = length * 256 + d[at + 2 + k]!;
  return { header: 2 + (l & 0x7f), length };
}

/** The complete TLVs directly inside the SEQUENCE `d` (a CSR: info, signature algorithm, signature). */
function children(d: Buffer): Buffer[] {
  const outer = tlvAt(d, 0);
  const out: Buffer[] = [];
  for (let at = outer.header; at < outer.header + outer.length; ) {
    const t = tlvAt(d, at);
    out.push(d.subarray(at, at + t.header + t.length));
    at += t.header + t.length;
  }
  return out;
}
const firstChild = (d: Buffer): Buffer => children(d)[0]!;

const der = (pem: string) => splitPem(pem)[0]!.der;

/** The same key as a WebCrypto pair, so buildCsr (@peculiar/x509) can sign with it. */
async function asCryptoKeyPair(privateKey: KeyObject, keyType: KeyType): Promise<CryptoKeyPair> {
  const alg = keyAlgorithm(keyType).generate as Algorithm;
  const subtle = webcrypto.subtle;
  return {
    privateKey: (await subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), alg, true, ['sign'])) as CryptoKey,
    publicKey: (await subtle.importKey('spki', createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), alg, true, ['verify'])) as CryptoKey,
  };
}

const SHAPES: [string, NodeSans][] = [
  ['IPv4 node', nodeSans(parseNodeName('foo@127.0.0.1'))],
  ['IPv6 node', nodeSans(parseNodeName('app@2001:db8::7'))],
  ['short DNS node', nodeSans(parseNodeName('app@localhost'))],
  ['long DNS node + extra DNS and IPs', nodeSans(parseNodeName('web-1@node1.example.com'), { dns: ['alias.example.com', 'other.example.org'], ips: ['10.0.0.5', '::1', 'fe80::1:2'] })],
  ['IP SANs only, CN not a host (UTF8String: "_" is not PrintableString)', { commonName: 'node_1.nodes.test', dns: [], ips: ['127.0.0.2'], uris: ['erlang://node_1@127.0.0.2'] }],
  // > 127 and > 255 content bytes: DER long-form lengths on every level
  ['many SANs (long-form lengths)', { commonName: 'big.example', dns: Array.from({ length: 40 }, (_, i) => `n${i}.cluster-${'x'.repeat(i)}.example`), ips: Array.from({ length: 20 }, (_, i) => `10.1.${i}.${i}`), uris: ['erlang://big@big.example'] }],
  ['non-ASCII CN', { commonName: 'nœud-€.example', dns: ['node.example'], ips: [], uris: ['erlang://n@node.example'] }],
];

const SIGNATURE_OIDS: Record<KeyType, string> = {
  'ec-p256': '1.2.840.10045.4.3.2',
  'ec-p384': '1.2.840.10045.4.3.3',
  'rsa-2048': '1.2.840.113549.1.1.11',
  'rsa-3072': '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
};

describe('createCsr (fast path) vs @peculiar/x509', () => {
  const keys = new Map<KeyType, KeyObject>();
  beforeAll(async () => {
    // RSA keys from the test key cache (generating RSA-3072 takes seconds); EC and Ed25519 fresh.
    for (const t of KEY_TYPES) keys.set(t, t === 'rsa-2048' ? cachedRsaKey(2048) : t === 'rsa-3072' ? cachedRsaKey(3072) : (await generateNodeKeyObjects(t)).privateKey);
  }, 30_000);

  describe.each(KEY_TYPES.map((k) => [k]))('%s', (keyType) => {
    it.each(SHAPES)('%s: parsed and verified by @peculiar/x509, same signed bytes as buildCsr', async (_shape, sans) => {
      const privateKey = keys.get(keyType)!;
      const pem = createCsr({ privateKey, keyType, sans });
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE REQUEST-----\n$/);
      const csr = new x509.Pkcs10CertificateRequest(pem);
      expect(await csr.verify()).toBe(true);
      expect(csr.subject).toBe(`CN=${sans.commonName}`);
      expect(children(der(pem))).toHaveLength(3);
      const san = new x509.SubjectAlternativeNameExtension(csr.getExtension('2.5.29.17')!.rawData);
      expect(san.names.items.map((n) => `${n.type}:${n.value}`)).toEqual([
        ...sans.dns.map((d) => `dns:${d}`),
        ...sans.ips.map((i) => `ip:${i}`),
        ...sans.uris.map((u) => `url:${u}`),
      ]);
      expect(Buffer.from(csr.publicKey.rawData).equals(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }))).toBe(true);

      const reference = der(await buildCsr({ keys: await asCryptoKeyPair(privateKey, keyType), keyType, sans }));
      expect(firstChild(der(pem)).toString('hex')).toBe(firstChild(reference).toString('hex'));
      // RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic: the whole request is identical.
      if (!keyType.startsWith('ec-')) expect(der(pem).toString('hex')).toBe(reference.toString('hex'));
    });
  });

  it('writes the signature AlgorithmIdentifier each key type needs (RSA with NULL parameters)', () => {
    const sans = SHAPES[0]![1];
    for (const keyType of KEY_TYPES) {
      const [, algorithm, signature] = children(der(createCsr({ privateKey: keys.get(keyType)!, keyType, sans })));
      const want = keyType.startsWith('rsa') ? sequence(oid(SIGNATURE_OIDS[keyType]), Buffer.from([5, 0])) : sequence(oid(SIGNATURE_OIDS[keyType]));
      expect(algorithm!.toString('hex')).toBe(want.toString('hex'));
      expect(signature![0]).toBe(0x03); // BIT STRING
      expect(signature![tlvAt(signature!, 0).header]).toBe(0); // no unused bits
    }
  });

  /**
   * SPKI and PKCS#8 built from the JWK equal OpenSSL's exports, key after key, until keys whose x, y
   * and d start with a zero byte (the padding cases) have all been seen, at least 200 keys per type.
   */
  it.each([
    ['ec-p256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
    ['ec-p384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
    ['ed25519', () => generateKeyPairSync('ed25519').privateKey],
  ] as [KeyType, () => KeyObject][])('%s: SubjectPublicKeyInfo and PKCS#8 are byte for byte OpenSSL\'s, zero-led components included', (keyType, make) => {
    const seen = new Set<string>();
    const want = keyType === 'ed25519' ? ['x', 'd'] : ['x', 'y', 'd'];
    let n = 0;
    for (; n < 5000 && (n < 200 || want.some((c) => !seen.has(c))); n++) {
      const k = make();
      const jwk = k.export({ format: 'jwk' });
      for (const c of want) if (Buffer.from((jwk as Record<string, string>)[c]!, 'base64url')[0] === 0) seen.add(c);
      const spki = subjectPublicKeyInfo(k, keyType);
      const spkiWant = createPublicKey(k).export({ type: 'spki', format: 'der' });
      if (!spki.equals(spkiWant)) throw new Error(`${keyType} SPKI differs:\n got  ${spki.toString('hex')}\n want ${spkiWant.toString('hex')}`);
      const p8 = privateKeyInfo(k);
      if (!p8.equals(k.export({ type: 'pkcs8', format: 'der' }))) throw new Error(`${keyType} PKCS#8 differs for key ${n}`);
    }
    expect([...seen].sort()).toEqual([...want].sort());
  });

  it('refuses to export a public key as a private key', () => {
    let err: unknown;
    try {
      exportKeyObjectPem(createPublicKey(keys.get('ec-p256')!));
    } catch (e) {
      err = e;
    }
    expect(isCertificateError(err) && err.problem).toBe('key-type');
  });

  it('leaves PKCS#8 of other key types (RSA, P-521, secp256k1) to OpenSSL', () => {
    for (const k of [keys.get('rsa-2048')!, generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey, generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey]) {
      expect(privateKeyInfo(k).equals(k.export({ type: 'pkcs8', format: 'der' }))).toBe(true);
    }
  });

  it('exports the private key as PKCS#8 PEM that node:crypto reads back as the same key', () => {
    for (const keyType of KEY_TYPES) {
      const k = keys.get(keyType)!;
      const pem = exportKeyObjectPem(k);
      expect(pem).toBe(k.export({ type: 'pkcs8', format: 'pem' }));
      expect(createPublicKey(pem).export({ type: 'spki', format: 'der' }).equals(createPublicKey(k).export({ type: 'spki', format: 'der' }))).toBe(true);
    }
  });

  it('refuses a key that does not match keyType, and a public key, with CertificateError key-type', () => {
    const sans = SHAPES[0]![1];
    const attempts: [KeyObject, KeyType][] = [
      [keys.get('ec-p384')!, 'ec-p256'],
      [keys.get('ec-p256')!, 'ec-p384'],
      [keys.get('rsa-2048')!, 'rsa-3072'],
      [keys.get('ed25519')!, 'ec-p256'],
      [keys.get('ec-p256')!, 'ed25519'],
      [createPublicKey(keys.get('ec-p256')!), 'ec-p256'],
      [keys.get('ec-p256')!, 'dsa' as KeyType],
    ];
    for (const [privateKey, keyType] of attempts) {
      let err: unknown;
      try {
        createCsr({ privateKey, keyType, sans });
      } catch (e) {
        err = e;
      }
      expect(isCertificateError(err) && err.problem).toBe('key-type');
    }
  });

  it.each([
    [{ dns: ['nöde.example'] }, /DNS SAN "nöde.example" is not ASCII/],
    [{ uris: ['erlang://nöde@h'] }, /URI SAN .* is not ASCII/],
    [{ ips: ['fe80::1%eth0'] }, /IP SAN "fe80::1%eth0" is not an IPv4 or IPv6 address/],
    [{ ips: ['300.1.1.1'] }, /IP SAN "300.1.1.1"/],
    [{ ips: ['host.example'] }, /IP SAN "host.example"/],
  ])('refuses SANs it cannot encode (%j) with CertificateError san', (bad, message) => {
    const sans = { ...SHAPES[0]![1], ...bad };
    let err: unknown;
    try {
      createCsr({ privateKey: keys.get('ec-p256')!, keyType: 'ec-p256', sans });
    } catch (e) {
      err = e;
    }
    expect(isCertificateError(err) && err.problem).toBe('san');
    expect((err as Error).message).toMatch(message);
  });

  it('encodes an IPv4-mapped IPv6 SAN as its 16 bytes (where @peculiar/x509 2.2 mis-parses the dotted tail)', async () => {
    const sans = { commonName: 'm.example', dns: [], ips: ['::ffff:127.0.0.1'], uris: [] };
    const csr = new x509.Pkcs10CertificateRequest(createCsr({ privateKey: keys.get('ec-p256')!, keyType: 'ec-p256', sans }));
    expect(await csr.verify()).toBe(true);
    const san = new x509.SubjectAlternativeNameExtension(csr.getExtension('2.5.29.17')!.rawData);
    expect(san.names.items.map((n) => `${n.type}:${n.value}`)).toEqual(['ip:::ffff:7f00:1']);
  });
});

describe('DER helpers', () => {
  it.each([
    ['127.0.0.1', '7f000001'],
    ['0.0.0.0', '00000000'],
    ['255.255.255.255', 'ffffffff'],
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['2001:db8::7', '20010db8000000000000000000000007'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1::', '00010000000000000000000000000000'],
    ['::ffff:127.0.0.1', '00000000000000000000ffff7f000001'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['ABCD::EF', 'abcd00000000000000000000000000ef'],
  ])('ipBytes(%s)', (ip, hex) => {
    expect(ipBytes(ip)?.toString('hex')).toBe(hex);
  });
  it.each(['', '1.2.3', '256.1.1.1', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', '1::2::3', 'x::1', 'localhost', '[::1]'])('ipBytes(%j) is undefined', (ip) => {
    expect(ipBytes(ip)).toBeUndefined();
  });
  it('encodes OIDs, short and long lengths as DER', () => {
    expect(oid('1.2.840.113549.1.1.11').toString('hex')).toBe('06092a864886f70d01010b');
    expect(oid('2.5.29.17').toString('hex')).toBe('0603551d11');
    expect(oid('1.3.132.0.34').toString('hex')).toBe('06052b81040022');
    expect(oid('2.999.3').toString('hex')).toBe('0603883703');
    expect(tlv(0x04, Buffer.alloc(127)).subarray(0, 2).toString('hex')).toBe('047f');
    expect(tlv(0x04, Buffer.alloc(128)).subarray(0, 3).toString('hex')).toBe('048180');
    expect(tlv(0x04, Buffer.alloc(256)).subarray(0, 4).toString('hex')).toBe('04820100');
    expect(tlv(0x04, Buffer.alloc(70000)).subarray(0, 5).toString('hex')).toBe('0483011170');
    expect(() => oid('1.40.1')).toThrow(RangeError);
    expect(() => oid('1')).toThrow(RangeError);
  });
  it('the CertificationRequestInfo has version 0 and an [0] attributes set holding one extensionRequest', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const info = certificationRequestInfo(subjectPublicKeyInfo(k, 'ec-p256'), SHAPES[0]![1]);
    const [version, , , attributes] = children(info);
    expect(version!.toString('hex')).toBe('020100');
    expect(attributes![0]).toBe(0xa0);
    const [extensionRequest] = children(Buffer.concat([Buffer.from([0x30]), attributes!.subarray(1)]));
    expect(children(extensionRequest!)[0]!.equals(oid('1.2.840.113549.1.9.14'))).toBe(true);
  });
});
