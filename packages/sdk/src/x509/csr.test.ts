import * as x509 from '@peculiar/x509';
import { parseNodeName } from '../node-name.js';
import { buildCsr, nodeSans } from './csr.js';
import { generateKeyPair } from './keys.js';

describe('nodeSans (the identity profile)', () => {
  it('puts an IP host in DNS and IP SANs and the node name in a URI SAN, never in the CN', () => {
    expect(nodeSans(parseNodeName('foo@127.0.0.1'))).toEqual({
      commonName: '127.0.0.1',
      dns: ['127.0.0.1'],
      ips: ['127.0.0.1'],
      uris: ['erlang://foo@127.0.0.1'],
    });
  });
  it('uses DNS only for DNS hosts and brackets IPv6 in the URI', () => {
    expect(nodeSans(parseNodeName('app@node1.example.com')).ips).toEqual([]);
    expect(nodeSans(parseNodeName('app@::1')).uris).toEqual(['erlang://app@[::1]']);
  });
});

describe('buildCsr', () => {
  it.each(['ec-p256', 'ec-p384', 'rsa-2048'] as const)('builds a verifiable %s CSR carrying every SAN', async (keyType) => {
    const keys = await generateKeyPair(keyType);
    const sans = nodeSans(parseNodeName('foo@127.0.0.1'));
    const pem = await buildCsr({ keys, keyType, sans });
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(await csr.verify()).toBe(true);
    expect(csr.subject).toBe('CN=127.0.0.1');
    const san = new x509.SubjectAlternativeNameExtension(csr.getExtension('2.5.29.17')!.rawData);
    expect(san.names.items.map((n) => `${n.type}:${n.value}`)).toEqual(['dns:127.0.0.1', 'ip:127.0.0.1', 'url:erlang://foo@127.0.0.1']);
  });
});
