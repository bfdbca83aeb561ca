/**
 * Compatibility lane: the end-to-end path on Erlang/OTP 27 (Debian trixie root, scripts/otp27/).
 * Vault-issued certificates, the SDK's optfile and flags, unchanged: two OTP 27 nodes connect over
 * mutual TLS without epmd; a node without a client certificate and a node from a foreign CA are
 * refused; with the companion vaultdist_epmd no epmd is involved at all. Then the OTP 27 defaults that
 * matter when an optfile leaves options out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  distFlags,
  parseNodeName,
  probeDistCertificate,
  renderOptfile,
  writeCredentialSet,
  type Carrier,
} from '../../packages/sdk/src/index.js';
import {
  buildCsr,
  ensureRole,
  erlangString,
  exportPrivateKeyPem,
  generateKeyPair,
  nodeRoleBody,
  nodeSans,
} from '../../packages/sdk/src/internal.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { compileErlang, sharedFreePort, startNode, stopAllNodes, tcpOpen } from '../helpers/erlang.js';
import { describeOtp27, issueNodeDir, logMatches } from '../helpers/otp27.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const EPMD_SRC = join(fileURLToPath(import.meta.url), '..', '..', '..', 'packages', 'cli', 'erlang', 'src', 'vaultdist_epmd.erl');
const PROTOCOL = (peer: string) =>
  `begin {_, Ctrl} = lists:keyfind('${peer}', 1, erlang:system_info(dist_ctrl)), {ok, S} = tls_sender:dist_tls_socket(Ctrl), ssl:connection_information(S, [protocol]) end`;

describeOtp27('OTP 27: mTLS distribution with Vault-issued certificates', (lane) => {
  const pki = useTestPki();
  const foreign = useTestPki({ commonName: 'some other CA' });
  const tmp = useTestdir('vaultdist-otp27-');
  let port: number;

  beforeAll(async () => {
    port = await sharedFreePort(HOSTS);
  }, 60_000);
  afterEach(async () => {
    await stopAllNodes();
  }, 60_000);

  const dirOf = (name: string, tag: string) => join(tmp.dir, `${tag}-${name.replace(/[@.]/g, '_')}`);
  const flags = (optfile: string, ip: string, carrier: Carrier = 'vaultdist_tls') => distFlags({ optfile, distPort: port, listenInterface: ip, carrier });
  const start27 = (name: string, dir: string, optfile: string, carrier: Carrier = 'vaultdist_tls') =>
    startNode({ name, dir, erl: lane().erl, flags: flags(optfile, name.replace(/^.*@/, ''), carrier) });

  it('connects two OTP 27 nodes (TLS 1.3, no epmd) and refuses a certificate-less and a foreign-CA node', async () => {
    const foo = await issueNodeDir(pki, dirOf('foo@127.0.0.1', 'c'), 'foo@127.0.0.1');
    const bar = await issueNodeDir(pki, dirOf('bar@127.0.0.2', 'c'), 'bar@127.0.0.2');
    const fooNode = await start27('foo@127.0.0.1', foo.dir, foo.optfile);
    const barNode = await start27('bar@127.0.0.2', bar.dir, bar.optfile);
    expect(await fooNode.eval('erlang:system_info(otp_release)')).toBe(`"${lane().otpRelease}"`);
    expect(lane().otpRelease).toBe('27');

    expect(await fooNode.ping('bar@127.0.0.2')).toBe('pong');
    expect(await fooNode.nodes()).toEqual(['bar@127.0.0.2']);
    expect(await fooNode.eval(PROTOCOL('bar@127.0.0.2'))).toBe("{ok,[{protocol,'tlsv1.3'}]}");
    // rpc over the TLS link works (a real round trip, not only the handshake).
    expect(await barNode.eval(`rpc:call('foo@127.0.0.1', erlang, system_info, [otp_release])`)).toBe('"27"');

    // The served certificate is the one Vault issued.
    const probe = await probeDistCertificate({
      host: '127.0.0.2',
      port,
      cert: readFileSync(foo.bundle, 'utf8'),
      key: readFileSync(foo.bundle, 'utf8'),
      ca: readFileSync(foo.ca, 'utf8'),
      servername: '127.0.0.2',
    });
    expect(probe.ok).toBe(true);
    expect(probe.serial).toBe(bar.res.issued.serial);

    // No client certificate: refused by the server (fail_if_no_peer_cert).
    const nocert = await issueNodeDir(pki, dirOf('nocert@127.0.0.3', 'c'), 'nocert@127.0.0.3');
    const text = readFileSync(nocert.optfile, 'utf8');
    const [server, client] = text.split('{client,');
    writeFileSync(nocert.optfile, `${server}{client,${client!.replace(/\{certfile, "[^"]*"\},\n\s*|\{keyfile, "[^"]*"\},\n\s*/g, '')}`);
    const nocertNode = await start27('nocert@127.0.0.3', nocert.dir, nocert.optfile);
    expect(await nocertNode.ping('foo@127.0.0.1')).toBe('pang');
    expect(await nocertNode.nodes()).toEqual([]);
    await logMatches(fooNode, /generated SERVER ALERT: Fatal - Certificate required/);

    // A certificate from another CA: refused.
    const rogue = await issueNodeDir(foreign, dirOf('rogue@127.0.0.4', 'c'), 'rogue@127.0.0.4');
    const rogueNode = await start27('rogue@127.0.0.4', rogue.dir, rogue.optfile);
    expect(await rogueNode.ping('foo@127.0.0.1')).toBe('pang');
    expect(await fooNode.nodes()).toEqual(['bar@127.0.0.2']);
    await logMatches(fooNode, /Unknown CA/);

    // epmd-less with the default erl_epmd (the SDK's -erl_epmd_port): the node listens on the fixed
    // port and answers every port_please with it, without asking any epmd.
    expect(await tcpOpen('127.0.0.2', port)).toBe(true);
    expect(await fooNode.eval(`element(2, erl_epmd:port_please("bar", "127.0.0.2"))`)).toBe(String(port));
  }, 120_000);

  it('runs epmd-free with the companion module vaultdist_epmd on OTP 27: never registers with an epmd, even one that runs', async () => {
    const ebin = compileErlang([EPMD_SRC]);
    const n1 = await issueNodeDir(pki, dirOf('n1@127.0.0.1', 'e'), 'n1@127.0.0.1');
    const n2 = await issueNodeDir(pki, dirOf('n2@127.0.0.2', 'e'), 'n2@127.0.0.2');
    const f = (optfile: string, ip: string) => distFlags({ optfile, distPort: port, listenInterface: ip, epmdModule: 'vaultdist_epmd', codePaths: [ebin] });
    const a = await startNode({ name: 'n1@127.0.0.1', dir: n1.dir, erl: lane().erl, flags: f(n1.optfile, '127.0.0.1') });
    const b = await startNode({ name: 'n2@127.0.0.2', dir: n2.dir, erl: lane().erl, flags: f(n2.optfile, '127.0.0.2') });
    expect(await a.ping('n2@127.0.0.2')).toBe('pong');
    expect(await b.nodes()).toEqual(['n1@127.0.0.1']);
    expect(await a.eval('net_kernel:epmd_module()')).toBe('vaultdist_epmd');
    expect(await a.eval('net_adm:names()')).toBe('{error,address}');
    // Ask whatever epmd may answer on 127.0.0.1:4369 (none should, but this machine may have one left
    // by something else): with vaultdist_epmd our nodes are never in it.
    const registered = await a.eval(`case erl_epmd:names({127,0,0,1}) of {ok, Ns} -> [N || {N, _} <- Ns, lists:member(N, ["n1", "n2"])]; {error, _} -> [] end`);
    expect(registered).toBe('[]');
  }, 120_000);

  it('refuses a client certificate without clientAuth EKU, with OTP 27 wording', async () => {
    await ensureRole(pki.vault, pki.mount, 'serveronly', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h', extra: { client_flag: false } }));
    const srv = await issueNodeDir(pki, dirOf('srv@127.0.0.1', 'k'), 'srv@127.0.0.1');
    // The SDK refuses such a certificate, so sign the CSR directly (as an attacker would).
    const keys = await generateKeyPair('ec-p256');
    const csr = await buildCsr({ keys, keyType: 'ec-p256', sans: nodeSans(parseNodeName('eku@127.0.0.2')) });
    const signed = await pki.vault.write<{ certificate: string }>(`${pki.mount}/sign/serveronly`, { csr, format: 'pem', ttl: '1h' }, { idempotent: false });
    const dir = dirOf('eku@127.0.0.2', 'k');
    const set = await writeCredentialSet(dir, { certificate: signed.data.certificate, privateKey: await exportPrivateKeyPem(keys.privateKey), chain: [], caBundle: [pki.rootPem] });
    writeFileSync(join(dir, 'ssl_dist.conf'), renderOptfile({ bundleFile: set.bundlePath, caFile: set.caPath }));
    const srvNode = await start27('srv@127.0.0.1', srv.dir, srv.optfile);
    const eku = await start27('eku@127.0.0.2', dir, join(dir, 'ssl_dist.conf'));
    expect(await eku.ping('srv@127.0.0.1')).toBe('pang');
    // OTP 25 logs "Handshake Failure - {bad_cert,invalid_ext_key_usage}" here.
    await logMatches(srvNode, /generated SERVER ALERT: Fatal - Unsupported Certificate\n - \{invalid_ext_keyusage,\["id-kp-serverAuth"\]\}/);
  }, 120_000);

  it('OTP 27 defaults when an optfile leaves options out: client verifies (25 does not), server does not, dist forces TLS 1.2', async () => {
    // A hand-written "lax" optfile with only the file options (no verify, no versions), as many
    // guides show. The SDK never renders this; it is here to record what OTP 27 does with it.
    const lax = (dir: string, bundle: string, ca: string, clientExtra = '') => {
      const f = join(dir, 'lax.conf');
      const files = `{certfile, ${erlangString(bundle)}}, {keyfile, ${erlangString(bundle)}}, {cacertfile, ${erlangString(ca)}}`;
      writeFileSync(f, `[{server, [${files}]}, {client, [${files}${clientExtra}]}].\n`);
      return f;
    };
    const good = await issueNodeDir(pki, dirOf('lax@127.0.0.1', 'd'), 'lax@127.0.0.1');
    const evil = await issueNodeDir(foreign, dirOf('evil@127.0.0.2', 'd'), 'evil@127.0.0.2');
    // OTP's own inet_tls: this records OTP 27's defaults (the vaultdist_tls carrier refuses a peer
    // without a certificate whatever the optfile says: no URI SAN, no name).
    const laxNode = await start27('lax@127.0.0.1', good.dir, lax(good.dir, good.bundle, good.ca), 'inet_tls');
    // The attacker's node accepts anyone and verifies no one.
    const evilNode = await start27('evil@127.0.0.2', evil.dir, lax(evil.dir, evil.bundle, evil.ca, ', {verify, verify_none}'), 'inet_tls');

    // Client side: OTP 26+ defaults to verify_peer, so the lax node refuses the foreign-CA server.
    expect(await laxNode.ping('evil@127.0.0.2')).toBe('pang');
    await logMatches(laxNode, /Unknown CA/);
    // Server side: the default is still verify_none, so the foreign-CA node is let in.
    expect(await evilNode.ping('lax@127.0.0.1')).toBe('pong');
    expect(await laxNode.nodes()).toEqual(['evil@127.0.0.2']);
    // Without a versions option the distribution is still forced to TLS 1.2 (inet_tls_dist:dist_defaults/1).
    expect(await laxNode.eval(PROTOCOL('evil@127.0.0.2'))).toBe("{ok,[{protocol,'tlsv1.2'}]}");

    // The same lax optfile on OTP 25 (host erl): its client does NOT verify, so it joins the foreign-CA node.
    const good25 = await issueNodeDir(pki, dirOf('lax25@127.0.0.3', 'd'), 'lax25@127.0.0.3');
    const lax25 = await startNode({ name: 'lax25@127.0.0.3', dir: good25.dir, flags: flags(lax(good25.dir, good25.bundle, good25.ca), '127.0.0.3') });
    expect(await lax25.eval('erlang:system_info(otp_release)')).toBe('"25"');
    expect(await lax25.ping('evil@127.0.0.2')).toBe('pong');

    // secure_renegotiate with TLS-1.3-only versions (the SDK omits it then): still refused on OTP 27.
    const sr = await issueNodeDir(pki, dirOf('sr@127.0.0.4', 'd'), 'sr@127.0.0.4');
    writeFileSync(sr.optfile, readFileSync(sr.optfile, 'utf8').replace(/\{versions, \['tlsv1.3'\]\}/g, "{versions, ['tlsv1.3']}, {secure_renegotiate, true}"));
    expect(readFileSync(sr.optfile, 'utf8')).toContain('{secure_renegotiate, true}');
    const srNode = await start27('sr@127.0.0.4', sr.dir, sr.optfile);
    expect(await srNode.ping('lax@127.0.0.1')).toBe('pang');
    // ...and, as on OTP 25, silently: the failing node logs no report at all.
    expect(srNode.log()).not.toMatch(/REPORT/);
    // secure_renegotiate with TLS-1.3-only versions is still an option error on OTP 27 (the SDK omits it).
    expect(
      await laxNode.eval(
        `{ok, _} = application:ensure_all_started(ssl), ssl:connect("127.0.0.1", 1, [{versions, ['tlsv1.3']}, {secure_renegotiate, true}, {verify, verify_none}], 2000)`,
      ),
    ).toBe("{error,{options,incompatible,[secure_renegotiate,{versions,['tlsv1.3']}]}}");
  }, 120_000);
});
