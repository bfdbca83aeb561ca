/**
 * renderOptfile's optional hostname-check customisation (`ipSanHostnameMatch`) on a real OTP 25
 * node pair: certificates that carry the node's address only as an IP SAN (what a CA that refuses
 * IP literals as DNS names issues) fail OTP's default `{dns_id, Host}` check, and pass with it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  distFlags,
  nodeIdentityUri,
  parseNodeName,
  renderOptfile,
  writeCredentialSet,
} from '../../packages/sdk/src/index.js';
import {
  buildCsr,
  exportPrivateKeyPem,
  generateKeyPair,
  signCsr,
  splitChain,
  verifyChain,
} from '../../packages/sdk/src/internal.js';
import { sharedFreePort, startNode } from '../helpers/erlang.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

describe('optfile ipSanHostnameMatch on real nodes', () => {
  const pki = useTestPki();
  const tmp = useTestdir();

  /** A certificate with the address only as an IP SAN (no DNS:<ip>), and an optfile for it. */
  async function ipOnlyNode(name: string, ipSanHostnameMatch: boolean) {
    const node = parseNodeName(name);
    const keys = await generateKeyPair('ec-p256');
    const csr = await buildCsr({ keys, keyType: 'ec-p256', sans: { commonName: `${node.name}.nodes.test`, dns: [], ips: [node.host], uris: [nodeIdentityUri(node)] } });
    const signed = await signCsr(pki.vault, { mount: pki.mount, role: pki.role, csr });
    const { intermediates, roots } = splitChain(signed.caChain);
    await verifyChain(signed.certificate, intermediates, roots, new Date());
    const dir = join(tmp.dir, `${name.replace(/[@.]/g, '_')}-${ipSanHostnameMatch}`);
    const w = await writeCredentialSet(dir, { privateKey: await exportPrivateKeyPem(keys.privateKey), certificate: signed.certificate, chain: intermediates, caBundle: roots });
    const optfile = join(dir, 'ssl_dist.conf');
    writeFileSync(optfile, renderOptfile({ bundleFile: w.bundlePath, caFile: w.caPath, ipSanHostnameMatch }));
    return { dir, optfile };
  }

  async function pair(a: string, b: string, match: boolean) {
    const port = await sharedFreePort(HOSTS);
    const [ha, hb] = [a.split('@')[1]!, b.split('@')[1]!];
    const fa = await ipOnlyNode(a, match);
    const fb = await ipOnlyNode(b, match);
    const na = await startNode({ name: a, dir: fa.dir, flags: distFlags({ optfile: fa.optfile, distPort: port, listenInterface: ha }) });
    await startNode({ name: b, dir: fb.dir, flags: distFlags({ optfile: fb.optfile, distPort: port, listenInterface: hb }) });
    return na;
  }

  it('IP-SAN-only certificates: pang with the default check (hostname_check_failed), pong with ipSanHostnameMatch', async () => {
    const strict = await pair('sa@127.0.0.1', 'sb@127.0.0.2', false);
    expect(await strict.ping('sb@127.0.0.2')).toBe('pang');
    const reason = /hostname_check_failed/;
    for (let i = 0; i < 100 && !reason.test(strict.log()); i++) await new Promise((r) => setTimeout(r, 50)); // async logger
    expect(strict.log()).toMatch(reason);

    const relaxed = await pair('ra@127.0.0.3', 'rb@127.0.0.4', true);
    expect(await relaxed.ping('rb@127.0.0.4')).toBe('pong');
    expect(await relaxed.nodes()).toEqual(['rb@127.0.0.4']);
  });
});
