import { EXIT_CODE_TABLE, EXIT_CODES } from './exit-codes.js';
import { credentialSetParts, crlIssuerCandidates } from './files/live-set.js';
import { KEY_TYPES, NODE_KEY_TYPES, DEFAULT_KEY_TYPE } from './key-types.js';
import { certificateBlocks, joinPem, pemBody, privateKeyBlock, splitPem } from './pem.js';

const cert = (s: string) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(s).toString('base64')}\n-----END CERTIFICATE-----`;
const key = (label: string) => `-----BEGIN ${label}-----\n${Buffer.from('k').toString('base64')}\n-----END ${label}-----`;

describe('pem', () => {
  it('finds certificate blocks verbatim, in order, ignoring text around them', () => {
    const text = `junk\n${cert('leaf')}\n\n${key('PRIVATE KEY')}\n${cert('int')}trailing`;
    expect(certificateBlocks(text)).toEqual([cert('leaf'), cert('int')]);
    expect(certificateBlocks('no pem here')).toEqual([]);
  });

  it('finds the private key whatever its PKCS label, only with a matching END line', () => {
    for (const label of ['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY']) expect(privateKeyBlock(`${cert('a')}\n${key(label)}\n`)).toBe(key(label));
    expect(privateKeyBlock('-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----')).toBeUndefined();
  });

  it('joins blocks with exactly one newline each, and strips the armour for comparison', () => {
    expect(joinPem([cert('a'), `${cert('b')}\n\n`])).toBe(`${cert('a')}\n${cert('b')}\n`);
    expect(pemBody(cert('a'))).toBe(Buffer.from('a').toString('base64'));
    expect(splitPem(joinPem([cert('a')])).map((b) => b.der.toString())).toEqual(['a']);
  });
});

describe('live credential set', () => {
  const files = { bundle: `${key('PRIVATE KEY')}\n${cert('leaf')}\n${cert('int')}\n`, ca: `${cert('root')}\n` };

  it('splits bundle.pem and ca.pem into key, leaf, chain and anchors, each block ending with a newline', () => {
    expect(credentialSetParts(files)).toEqual({
      keyPem: `${key('PRIVATE KEY')}\n`,
      leafPem: `${cert('leaf')}\n`,
      chainPems: [`${cert('int')}\n`],
      trustPems: [`${cert('root')}\n`],
    });
    expect(credentialSetParts({ bundle: '', ca: '' })).toEqual({ keyPem: undefined, leafPem: undefined, chainPems: [], trustPems: [] });
  });

  it('CRL issuers are the anchors, then the chain (never the leaf)', () => {
    expect(crlIssuerCandidates(files)).toEqual([`${cert('root')}\n`, `${cert('int')}\n`]);
  });
});

describe('shared tables', () => {
  it('exit codes: one row per code, unique', () => {
    const codes = Object.values(EXIT_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    expect(EXIT_CODE_TABLE.map(([c]) => c).sort((a, b) => a - b)).toEqual([...codes].sort((a, b) => a - b));
  });

  it('node key types are SDK key types, the default among them', () => {
    for (const t of NODE_KEY_TYPES) expect(KEY_TYPES).toContain(t);
    expect(NODE_KEY_TYPES).toContain(DEFAULT_KEY_TYPE);
    expect(NODE_KEY_TYPES).not.toContain('ed25519');
  });
});
