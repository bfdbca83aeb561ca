/**
 * The SDK's own PKCS#10 encoder (createCsr, used by requestNodeCertificate) against a real OpenBao:
 * for every key type and SAN shape, OpenBao accepts the CSR, and the certificate it signs carries
 * exactly the requested CN and SANs, matches the key, and chains to the mount's root.
 */
import { isIP } from 'node:net';
import {
  KEY_TYPES,
  parseCertificate,
  parseNodeName,
  validateCredentials,
  type KeyType,
} from '../../packages/sdk/src/index.js';
import {
  createCsr,
  exportKeyObjectPem,
  generateNodeKeyObjects,
  keyMatchesCertificate,
  nodeSans,
  requestNodeCertificate,
  signCsr,
  splitChain,
  verifyChain,
  type NodeKeyObjects,
  type NodeSans,
} from '../../packages/sdk/src/internal.js';
import { useTestPki } from '../helpers/setup.js';

/** The IP as @peculiar/x509 prints it back (IPv6 compressed, lowercase). */
const canonicalIp = (ip: string) => (isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip);

const SHAPES: [string, NodeSans][] = [
  ['IPv4 node', nodeSans(parseNodeName('fast@127.0.0.1'))],
  // (OpenBao refuses an IPv6 literal as CN, "common name ::1 not allowed by this role", so nodeSans'
  // profile for an IPv6-named node cannot be signed as is; the IPv6 SAN encoding is checked here.)
  ['IPv6 SANs', { commonName: 'fast6.example.test', dns: ['fast6.example.test'], ips: ['::1', 'fd00::5', '2001:db8::7:0:1'], uris: ['erlang://fast6@[::1]'] }],
  ['short DNS node', nodeSans(parseNodeName('fast@localhost'))],
  ['long DNS node + extra DNS and IPs', nodeSans(parseNodeName('web-1@node1.example.test'), { dns: ['alias.example.test'], ips: ['10.0.0.5', 'fd00::5'] })],
  ['many SANs (DER long-form lengths)', { commonName: 'big.example.test', dns: Array.from({ length: 30 }, (_, i) => `n${i}.example.test`), ips: Array.from({ length: 10 }, (_, i) => `10.1.${i}.${i + 1}`), uris: ['erlang://big@big.example.test'] }],
];

describe('createCsr (SDK DER encoder) signed by a real OpenBao', () => {
  // key_type "any": the role signs whatever key the CSR carries.
  const pki = useTestPki({ role: { keyType: 'any', keyBits: 0 } });
  const keys = new Map<KeyType, NodeKeyObjects>();
  beforeAll(async () => {
    for (const t of KEY_TYPES) keys.set(t, await generateNodeKeyObjects(t));
  }, 60_000);

  describe.each(KEY_TYPES.map((k) => [k]))('%s', (keyType) => {
    it.each(SHAPES)('%s', async (_shape, sans) => {
      const k = keys.get(keyType)!;
      const signed = await signCsr(pki.vault, { mount: pki.mount, role: pki.role, csr: createCsr({ privateKey: k.privateKey, keyType, sans }) });
      const leaf = parseCertificate(signed.certificate);
      expect(leaf.subject).toBe(`CN=${sans.commonName}`);
      // OpenBao adds a DNS-name CN to the DNS SANs (use_csr_sans); nothing else is added or lost.
      const wantDns = new Set([...sans.dns, ...(isIP(sans.commonName) ? [] : [sans.commonName])]);
      expect([...leaf.dns].sort()).toEqual([...wantDns].sort());
      expect([...leaf.ips].sort()).toEqual([...sans.ips].map(canonicalIp).sort());
      expect(leaf.uris).toEqual(sans.uris);
      expect(leaf.serial).toBe(signed.serial);
      expect(keyMatchesCertificate(exportKeyObjectPem(k.privateKey), leaf)).toBe(true);
      const { intermediates } = splitChain(signed.caChain);
      await verifyChain(signed.certificate, intermediates, [pki.rootPem], new Date());
    });
  });

  it.each([['fast@127.0.0.1'], ['fast@node2.example.test']])('requestNodeCertificate(%s) with extra SANs validates as a whole node set', async (name) => {
    const node = parseNodeName(name);
    const c = await requestNodeCertificate(pki.vault, { mount: pki.mount, role: pki.role, node, extraDns: ['extra.example.test'], extraIps: ['10.9.8.7'] });
    const leaf = await validateCredentials({ keyPem: c.privateKey, certPem: c.certificate, chainPems: [], trustPems: [pki.rootPem], node });
    expect(leaf.dns).toContain('extra.example.test');
    expect(leaf.ips).toContain('10.9.8.7');
    expect(c.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });
});
