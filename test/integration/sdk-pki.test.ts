/** PKI calls of the SDK against the real OpenBao: sign and issue for every key type, chain shapes. */
import { createPublicKey } from 'node:crypto';
import {
  fetchCaChain,
  KEY_TYPES,
  parseCertificate,
  parseNodeName,
  validateCredentials,
  type KeyType,
} from '../../packages/sdk/src/index.js';
import {
  ensureIntermediateCa,
  ensureMount,
  ensureRole,
  ensureRootCa,
  nodeRoleBody,
  normalizeChain,
  removeMount,
  requestNodeCertificate,
  splitChain,
} from '../../packages/sdk/src/internal.js';
import { adminClient, suffix } from '../helpers/vault.js';

const describeKey = (pem: string) => {
  const k = createPublicKey(pem);
  return k.asymmetricKeyType === 'ed25519' ? 'ed25519' : `${k.asymmetricKeyType}-${k.asymmetricKeyDetails?.namedCurve ?? k.asymmetricKeyDetails?.modulusLength}`;
};
const EXPECTED: Record<KeyType, string> = { 'ec-p256': 'ec-prime256v1', 'ec-p384': 'ec-secp384r1', 'rsa-2048': 'rsa-2048', 'rsa-3072': 'rsa-3072', ed25519: 'ed25519' };

describe('SDK PKI against a real OpenBao (root → intermediate → leaf)', () => {
  const vault = adminClient();
  const sfx = suffix();
  const root = `pki-root-${sfx}`;
  const int = `pki-int-${sfx}`;
  let rootPem: string;
  let intPem: string;

  beforeAll(async () => {
    await ensureMount(vault, root, { maxLeaseTtl: '87600h' });
    await ensureMount(vault, int, { maxLeaseTtl: '43800h' });
    rootPem = (await ensureRootCa(vault, root, { commonName: `vaultdist root ${sfx}`, keyType: 'ec', keyBits: 384 })).certificate!;
    intPem = (await ensureIntermediateCa(vault, int, { rootMount: root, commonName: `vaultdist int ${sfx}` })).certificate!;
    // key_type "any": sign takes the CSR's key; issue honours the requested key_type (OpenBao >= 2.0)
    await ensureRole(vault, int, 'node', nodeRoleBody({ allowAnyName: true, keyType: 'any', keyBits: 0, ttl: '1h', maxTtl: '24h' }));
  });
  afterAll(async () => {
    await removeMount(vault, int);
    await removeMount(vault, root);
  });

  it('returns the same chain [intermediate, root] in all three shapes Vault uses', async () => {
    const signed = await requestNodeCertificate(vault, { mount: int, role: 'node', node: parseNodeName('chain@127.0.0.1') });
    // shape 1: array of PEM strings (sign/issue answers)
    const fromArray = signed.caChain;
    // shape 2: one concatenated PEM string (GET :mount/cert/ca_chain)
    const jsonChain = (await vault.read<{ ca_chain?: unknown; certificate?: unknown }>(`${int}/cert/ca_chain`)).data;
    expect(typeof (jsonChain.ca_chain ?? jsonChain.certificate)).toBe('string');
    const fromString = normalizeChain(jsonChain.ca_chain ?? jsonChain.certificate);
    // shape 3: raw PEM text (GET :mount/ca_chain, application/pkix-cert)
    const fromRaw = await fetchCaChain(vault, int);
    // the issuer JSON endpoint returns an array as well
    const issuer = (await vault.read<{ ca_chain: unknown }>(`${int}/issuer/default/json`)).data;
    const fromIssuer = normalizeChain(issuer.ca_chain);

    const norm = (pems: string[]) => pems.map((p) => parseCertificate(p).fingerprint256);
    const want = norm([intPem, rootPem]);
    expect(norm(fromArray)).toEqual(want);
    expect(norm(fromString)).toEqual(want);
    expect(norm(fromRaw)).toEqual(want);
    expect(norm(fromIssuer)).toEqual(want);
    expect(splitChain(fromRaw)).toEqual({ intermediates: [fromRaw[0]], roots: [fromRaw[1]] });
  });

  it.each(KEY_TYPES.map((k) => [k]))('sign (key made locally) with %s validates against the root', async (keyType) => {
    const node = parseNodeName('sign@127.0.0.1');
    const c = await requestNodeCertificate(vault, { mount: int, role: 'node', node, keyType });
    expect(c.mode).toBe('sign');
    expect(describeKey(c.privateKey)).toBe(EXPECTED[keyType]);
    const { intermediates, roots } = splitChain(c.caChain);
    const leaf = await validateCredentials({ keyPem: c.privateKey, certPem: c.certificate, chainPems: intermediates, trustPems: roots, node });
    expect(leaf.serial).toBe(c.serial);
    expect(leaf.uris).toEqual(['erlang://sign@127.0.0.1']);
  }, 30_000);

  it.each(KEY_TYPES.map((k) => [k]))('issue (opt-in, Vault makes the key) with %s validates against the root', async (keyType) => {
    const node = parseNodeName('issue@node1.example.test');
    const c = await requestNodeCertificate(vault, { mount: int, role: 'node', node, keyType, mode: 'issue' });
    expect(c.mode).toBe('issue');
    expect(c.privateKey).toContain('BEGIN PRIVATE KEY');
    expect(describeKey(c.privateKey)).toBe(EXPECTED[keyType]);
    const { intermediates, roots } = splitChain(c.caChain);
    const leaf = await validateCredentials({ keyPem: c.privateKey, certPem: c.certificate, chainPems: intermediates, trustPems: roots, node });
    expect(leaf.dns).toEqual(['node1.example.test']);
    expect(leaf.emails).toEqual([]);
  }, 30_000);

  it('hands the caller the warning when Vault silently caps the TTL', async () => {
    const c = await requestNodeCertificate(vault, { mount: int, role: 'node', node: parseNodeName('ttl@127.0.0.1'), ttl: '48h' });
    expect(c.warnings.join('\n')).toMatch(/longer than permitted maxTTL/);
    const leaf = parseCertificate(c.certificate);
    expect(leaf.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600_000 + 60_000);
  });
});
