/**
 * The foundation's end-to-end path: a real OpenBao signs certificates for two real BEAM nodes, which
 * then connect over mutual-TLS distribution without epmd.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  distFlags,
  issueNodeCredentials,
  parseCertificate,
  probeDistCertificate,
  renderOptfile,
} from '../../packages/sdk/src/index.js';
import type { TestPki } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { sharedFreePort, startNode, tcpOpen } from '../helpers/erlang.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

describe('first end-to-end path: Vault-signed certificates, mTLS distribution, no epmd', () => {
  const pki = useTestPki();
  const foreign = useTestPki({ commonName: 'some other CA' });
  const tmp = useTestdir();

  async function nodeFiles(p: TestPki, nodeName: string, opts: { clientCert?: boolean } = {}) {
    const dir = join(tmp.dir, nodeName.replace(/[@.]/g, '_') + `-${p.mount}`);
    const res = await issueNodeCredentials(p.vault, { mount: p.mount, role: p.role, node: nodeName, dir });
    const optfile = join(dir, 'ssl_dist.conf');
    let text = renderOptfile({ bundleFile: res.written.bundlePath, caFile: res.written.caPath });
    if (opts.clientCert === false) {
      // A node that has no client certificate at all: drop certfile/keyfile from its client options.
      const [server, client] = text.split('{client,');
      text = `${server}{client,${client!.replace(/\{certfile, "[^"]*"\},\n\s*|\{keyfile, "[^"]*"\},\n\s*/g, '')}`;
    }
    writeFileSync(optfile, text);
    return { dir, optfile, res };
  }

  it('connects foo and bar over mTLS and refuses a certificate-less node and a foreign-CA node', async () => {
    const port = await sharedFreePort(HOSTS);
    const foo = await nodeFiles(pki, 'foo@127.0.0.1');
    const bar = await nodeFiles(pki, 'bar@127.0.0.2');

    // The identity profile: host in DNS (OTP checks {dns_id, Host}) and IP SANs, name in a URI SAN.
    const leaf = parseCertificate(readFileSync(join(bar.dir, 'bundle.pem'), 'utf8').replace(/^[\s\S]*?(?=-----BEGIN CERTIFICATE)/, ''));
    expect(leaf.dns).toContain('127.0.0.2');
    expect(leaf.ips).toContain('127.0.0.2');
    expect(leaf.uris).toEqual(['erlang://bar@127.0.0.2']);
    expect(leaf.emails).toEqual([]);

    const flags = (optfile: string, ip: string) => distFlags({ optfile, distPort: port, listenInterface: ip });
    const fooNode = await startNode({ name: 'foo@127.0.0.1', dir: foo.dir, flags: flags(foo.optfile, '127.0.0.1') });
    const barNode = await startNode({ name: 'bar@127.0.0.2', dir: bar.dir, flags: flags(bar.optfile, '127.0.0.2') });

    expect(await fooNode.ping('bar@127.0.0.2')).toBe('pong');
    expect(await fooNode.nodes()).toEqual(['bar@127.0.0.2']);
    // The live connection is TLS 1.3 (the dist controller is a tls_sender process, not a port).
    expect(
      await fooNode.eval(
        `[{_, Ctrl}] = erlang:system_info(dist_ctrl), {ok, S} = tls_sender:dist_tls_socket(Ctrl), ssl:connection_information(S, [protocol])`,
      ),
    ).toBe("{ok,[{protocol,'tlsv1.3'}]}");

    // The certificate bar's distribution port serves is the one Vault returned.
    const probe = await probeDistCertificate({
      host: '127.0.0.2',
      port,
      cert: readFileSync(join(foo.dir, 'bundle.pem'), 'utf8'),
      key: readFileSync(join(foo.dir, 'bundle.pem'), 'utf8'),
      ca: readFileSync(join(foo.dir, 'ca.pem'), 'utf8'),
      servername: '127.0.0.2',
    });
    expect(probe.ok).toBe(true);
    expect(probe.serial).toBe(bar.res.issued.serial);

    // A node with no client certificate is refused by the server (fail_if_no_peer_cert).
    const nocert = await nodeFiles(pki, 'nocert@127.0.0.3', { clientCert: false });
    const nocertNode = await startNode({ name: 'nocert@127.0.0.3', dir: nocert.dir, flags: flags(nocert.optfile, '127.0.0.3') });
    expect(await nocertNode.ping('foo@127.0.0.1')).toBe('pang');
    expect(await nocertNode.nodes()).toEqual([]);
    // the TLS alert reaches the node's log a moment after the refused ping (OTP 27 under load)
    expect(await logMatches(fooNode, /Certificate required|no_client_certificate_provided/)).toBe(true);

    // A node whose certificate comes from another CA is refused.
    const rogue = await nodeFiles(foreign, 'rogue@127.0.0.4');
    const rogueNode = await startNode({ name: 'rogue@127.0.0.4', dir: rogue.dir, flags: flags(rogue.optfile, '127.0.0.4') });
    expect(await rogueNode.ping('foo@127.0.0.1')).toBe('pang');
    expect(await fooNode.nodes()).toEqual(['bar@127.0.0.2']);
    expect(await logMatches(fooNode, /Unknown CA/)).toBe(true);

    // No epmd anywhere: nothing listens on 4369.
    expect(await tcpOpen('127.0.0.1', 4369)).toBe(false);
    expect(await fooNode.eval('erl_epmd:names()')).toMatch(/error|address/);
  });
});

/** Polls a node's log for up to 5 s: log lines are flushed asynchronously after the event. */
async function logMatches(node: { log(): string }, re: RegExp, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (re.test(node.log())) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return re.test(node.log());
}
