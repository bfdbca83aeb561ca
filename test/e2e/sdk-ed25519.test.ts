/**
 * Does OTP 25 distribution accept Ed25519 node certificates? The SDK offers a key type only after a
 * real node pair has connected with it; the README quotes what this test observes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  distFlags,
  issueNodeCredentials,
  parseCertificate,
  probeDistCertificate,
  renderOptfile,
  type TlsVersion,
} from '../../packages/sdk/src/index.js';
import { ensureRole, nodeRoleBody } from '../../packages/sdk/src/internal.js';
import { sharedFreePort, startNode } from '../helpers/erlang.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

describe('Ed25519 node certificates on OTP 25 TLS distribution', () => {
  const pki = useTestPki();
  const tmp = useTestdir();
  beforeAll(async () => {
    await ensureRole(pki.vault, pki.mount, 'any', nodeRoleBody({ allowAnyName: true, keyType: 'any', keyBits: 0, ttl: '1h', maxTtl: '24h' }));
  });

  async function edNode(name: string, mode: 'sign' | 'issue', versions: TlsVersion[]) {
    const dir = join(tmp.dir, name.replace(/[@.]/g, '_'));
    const res = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: 'any', node: name, dir, keyType: 'ed25519', mode });
    const optfile = join(dir, 'ssl_dist.conf');
    writeFileSync(optfile, renderOptfile({ bundleFile: res.written.bundlePath, caFile: res.written.caPath, versions, keyType: 'ed25519' }));
    return { dir, optfile, res };
  }

  it('TLS 1.3: a pair with Ed25519 leaves (one key made locally, one by Vault) connects', async () => {
    const port = await sharedFreePort(HOSTS);
    const a = await edNode('eda@127.0.0.1', 'sign', ['tlsv1.3']);
    const b = await edNode('edb@127.0.0.2', 'issue', ['tlsv1.3']);
    expect(a.res.leaf.spki.length).toBe(44); // Ed25519 SubjectPublicKeyInfo
    expect(b.res.leaf.spki.length).toBe(44);
    const na = await startNode({ name: 'eda@127.0.0.1', dir: a.dir, flags: distFlags({ optfile: a.optfile, distPort: port, listenInterface: '127.0.0.1' }) });
    await startNode({ name: 'edb@127.0.0.2', dir: b.dir, flags: distFlags({ optfile: b.optfile, distPort: port, listenInterface: '127.0.0.2' }) });
    expect(await na.ping('edb@127.0.0.2')).toBe('pong');
    expect(await na.nodes()).toEqual(['edb@127.0.0.2']);
    const probe = await probeDistCertificate({
      host: '127.0.0.2',
      port,
      cert: a.res.issued.certificate,
      key: a.res.issued.privateKey,
      ca: a.res.issued.caChain.join(''),
      servername: '127.0.0.2',
    });
    expect(probe).toMatchObject({ ok: true, serial: b.res.leaf.serial, protocol: 'TLSv1.3' });
    expect(parseCertificate(b.res.issued.certificate).serial).toBe(probe.serial);
  });

  it('TLS 1.2 only: the same kind of pair is refused (why the SDK requires TLS 1.3 for Ed25519)', async () => {
    const port = await sharedFreePort(HOSTS);
    // renderOptfile refuses this combination; the optfile is written by hand to show why
    expect(() => renderOptfile({ bundleFile: '/b.pem', caFile: '/c.pem', versions: ['tlsv1.2'], keyType: 'ed25519' })).toThrow(/TLS 1.3/);
    const c = await edNode('edc@127.0.0.3', 'sign', ['tlsv1.3']);
    const d = await edNode('edd@127.0.0.4', 'sign', ['tlsv1.3']);
    for (const n of [c, d]) writeFileSync(n.optfile, renderOptfile({ bundleFile: n.res.written.bundlePath, caFile: n.res.written.caPath, versions: ['tlsv1.2'] }));
    const nc = await startNode({ name: 'edc@127.0.0.3', dir: c.dir, flags: distFlags({ optfile: c.optfile, distPort: port, listenInterface: '127.0.0.3' }) });
    const nd = await startNode({ name: 'edd@127.0.0.4', dir: d.dir, flags: distFlags({ optfile: d.optfile, distPort: port, listenInterface: '127.0.0.4' }) });
    expect(await nc.ping('edd@127.0.0.4')).toBe('pang');
    // observed on OTP 25.2.3 / ssl 10.8.7: the server rejects the ClientHello
    const alert = /generated SERVER ALERT: Fatal - Handshake Failure\s+- malformed_handshake_data/;
    for (let i = 0; i < 100 && !alert.test(nd.log()); i++) await new Promise((r) => setTimeout(r, 50)); // the logger writes asynchronously
    expect(nd.log()).toMatch(alert);
  });
});
