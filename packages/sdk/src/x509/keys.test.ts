import { isCertificateError } from '../errors.js';
import { splitPem, toPem } from '../pem.js';

describe('splitPem', () => {
  it('splits a bundle into re-encoded blocks with their labels, ignoring text around them', () => {
    const a = toPem(Buffer.from('first'), 'CERTIFICATE');
    const b = toPem(Buffer.from('second'), 'PRIVATE KEY');
    const blocks = splitPem(`junk\n${a}between\n${b.replace(/\n/g, '\r\n  ')}`);
    expect(blocks.map((x) => [x.label, x.der.toString()])).toEqual([
      ['CERTIFICATE', 'first'],
      ['PRIVATE KEY', 'second'],
    ]);
    expect(blocks[1]!.pem).toBe(b);
  });
  it.each(['', '!!!', '\n  \n', '===='])('a block whose body %j decodes to nothing is CertificateError parse', (body) => {
    let err: unknown;
    try {
      splitPem(`${toPem(Buffer.from('ok'), 'CERTIFICATE')}-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`);
    } catch (e) {
      err = e;
    }
    expect(isCertificateError(err) && err.problem).toBe('parse');
    expect((err as Error).message).toContain('PEM block 2 (CERTIFICATE)');
  });
});
