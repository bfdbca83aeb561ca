/**
 * The attack matrix (issues #7, #12, #15): one real OpenBao with vaultdist's PKI shape (a root mount
 * and the issuing intermediate mount, plus a second intermediate under the same root, `web`), one real
 * victim node `srv@127.0.0.1` configured the way vaultdist renders it (the vaultdist_tls carrier,
 * trust = the issuing intermediate only, mutual TLS 1.3 + 1.2 with modern suites, CRL checking, no
 * epmd), and one attacker per case. Every case must be refused; the table printed at the end shows,
 * per case, what was expected and what was observed, with the log line or error that shows why.
 *
 * The identity cases are measured ON THE VICTIM: 30 spawn requests sent as the impostor's first
 * message (each a fresh connection; a spawn that ran leaves a marker file), an rpc, the nodeup events
 * the victim saw (a monitor_nodes collector), and the victim's log line naming the claimed and the
 * certified node.
 *
 * Attackers are client-only nodes (`-dist_listen false`) on OTP's own inet_tls (an attacker runs what
 * it likes), except where the victim dials: there the attacker listens on the address it dials.
 *
 * VAULTDIST_ATTACK_BASELINE=1 runs the same attacks against the configuration before #12 (inet_tls,
 * ca.pem = the root, renewals adopting whatever Vault answers): the identity rows then fail, which is
 * how the rows were checked to fail on the old code.
 */
import { readdirSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import {
  distFlags,
  fetchCrl,
  isCertificateError,
  issueNodeCredentials,
  parseNodeName,
  probeDistCertificate,
  renderOptfile,
  revokeCertificate,
  writeCredentialSet,
  type VaultClient,
} from '../../packages/sdk/src/index.js';
import {
  buildCsr,
  ensureIntermediateCa,
  ensureMount,
  ensureRole,
  ensureRootCa,
  exportPrivateKeyPem,
  generateKeyPair,
  nodeRoleBody,
  nodeSans,
  removeMount,
  writeCrlDir,
  type NodeSans,
} from '../../packages/sdk/src/internal.js';
import { adminClient, createTestPki, suffix, testdir, type TestPki } from '../helpers/vault.js';
import { sharedFreePort, startNode, stopAllNodes, tcpOpen, type ErlNode } from '../helpers/erlang.js';

const SRV = 'srv@127.0.0.1';
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
const BASELINE = process.env.VAULTDIST_ATTACK_BASELINE === '1';
const TRIES = 30;

interface Row {
  name: string;
  expected: string;
  observed: string;
  refused: boolean;
}

/**
 * Signs a CSR for `node` on `role` WITHOUT the SDK's validation (attackers hold bad certificates).
 * `path` overrides the endpoint (e.g. `root/sign-intermediate` for a CA:TRUE "leaf").
 */
async function rawCredentials(vault: VaultClient, mount: string, role: string, node: string, extra: Record<string, unknown> = {}, o: { sans?: (s: NodeSans) => NodeSans; path?: string } = {}) {
  const keys = await generateKeyPair('ec-p256');
  const base = nodeSans(parseNodeName(node));
  const csr = await buildCsr({ keys, keyType: 'ec-p256', sans: o.sans ? o.sans(base) : base });
  const r = await vault.write<{ certificate: string; serial_number: string; expiration: number; ca_chain?: string[] }>(o.path ? `${mount}/${o.path}` : `${mount}/sign/${role}`, { csr, format: 'pem', ttl: '1h', ...extra }, { idempotent: false });
  return { certificate: r.data.certificate, serial: r.data.serial_number, expiration: new Date(r.data.expiration * 1000), privateKey: await exportPrivateKeyPem(keys.privateKey) };
}

interface Hierarchy {
  root: string;
  rootPem: string;
  /** vaultdist's issuing intermediate (the victim's PKI mount). */
  dist: string;
  distPem: string;
  /** A second intermediate under the same root (Vault's default kind of role, any name). */
  web: string;
  vault: VaultClient;
  cleanup(): Promise<void>;
}

/** root → dist (issuing) + root → web, as `vaultdist init vault` lays out a root and its intermediate. */
async function createHierarchy(): Promise<Hierarchy> {
  const vault = adminClient();
  const s = suffix();
  const [root, dist, web] = [`atk-root-${s}`, `atk-dist-${s}`, `atk-web-${s}`];
  for (const m of [root, dist, web]) await ensureMount(vault, m, { maxLeaseTtl: '87600h' });
  const r = await ensureRootCa(vault, root, { commonName: `attack matrix root ${s}`, ttl: '8760h' });
  const d = await ensureIntermediateCa(vault, dist, { rootMount: root, commonName: `attack matrix dist CA ${s}`, ttl: '4000h' });
  await ensureIntermediateCa(vault, web, { rootMount: root, commonName: `attack matrix web CA ${s}`, ttl: '4000h' });
  for (const m of [dist, web]) await ensureRole(vault, m, 'node', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h' }));
  return { root, rootPem: r.certificate!, dist, distPem: d.certificate!, web, vault, cleanup: async () => { for (const m of [dist, web, root]) await removeMount(vault, m); } };
}

/**
 * The first log line matching `re`, joined with its continuation: OTP prints an alert as
 * "TLS server: … ALERT: …" followed by " - {reason}" on the next line.
 */
function reasonLine(text: string, re: RegExp): string | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  if (i < 0) return undefined;
  const cur = lines[i]!.trim();
  if (cur.startsWith('- ') && i > 0) return `${lines[i - 1]!.trim()} ${cur}`;
  const next = lines[i + 1]?.trim();
  return next?.startsWith('- ') ? `${cur} ${next}` : cur;
}

/** Waits until `pred()` holds (polling), returning its last value; never asserts on time. */
async function until<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, limitMs = 5000): Promise<T> {
  const end = Date.now() + limitMs;
  let v = await f();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    v = await f();
  }
  return v;
}

describe('attack matrix: every attack on a vaultdist node is refused, with the reason', () => {
  let h: Hierarchy;
  let pki: { vault: VaultClient; mount: string; role: string };
  let foreign: TestPki;
  let tmp: ReturnType<typeof testdir>;
  const rows: Row[] = [];

  beforeAll(async () => {
    h = await createHierarchy();
    pki = { vault: h.vault, mount: h.dist, role: 'node' };
    foreign = await createTestPki({ commonName: 'foreign CA' });
    await ensureRole(pki.vault, pki.mount, 'serveronly', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h', extra: { client_flag: false } }));
    await ensureRole(pki.vault, pki.mount, 'future', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h', extra: { not_before_bound: 'permit' } }));
    await ensureRole(pki.vault, pki.mount, 'noeku', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h', extra: { server_flag: false, client_flag: false } }));
    tmp = testdir();
  });
  afterAll(async () => {
    await stopAllNodes();
    await h?.cleanup();
    await foreign?.cleanup();
    tmp?.cleanup();
    if (rows.length) {
      const w = [Math.max(4, ...rows.map((r) => r.name.length)), Math.max(8, ...rows.map((r) => r.expected.length))];
      const line = (a: string, b: string, c: string) => `${a.padEnd(w[0]!)} | ${b.padEnd(w[1]!)} | ${c}`;
      console.log([`attack matrix (${BASELINE ? 'BASELINE: the configuration before #12' : 'vaultdist_tls carrier'}, OpenBao, loopback):`, line('case', 'expected', 'observed'), line('-'.repeat(w[0]!), '-'.repeat(w[1]!), '--------'), ...rows.map((r) => line(r.name, r.expected, r.observed))].join('\n'));
    }
  });

  it('refuses every case', async () => {
    const port = await sharedFreePort(HOSTS);
    // The victim runs the carrier with ca.pem = issuing intermediate + root (what issueNodeCredentials
    // writes now); the baseline runs OTP's inet_tls with ca.pem = the root (what `init node` wrote before #12).
    const carrier = BASELINE ? ('inet_tls' as const) : ('vaultdist_tls' as const);
    const anchors = BASELINE ? [h.rootPem] : [h.distPem, h.rootPem];
    const chain = [h.distPem];

    // An expiring certificate first, so it has expired by the time its case runs (no fixed sleep).
    const expiring = await rawCredentials(pki.vault, pki.mount, pki.role, 'expired@127.0.0.9', { ttl: '2s' });

    // ---- the victim ----------------------------------------------------------------------------------
    const srvDir = join(tmp.dir, 'srv');
    const srvCreds = await rawCredentials(pki.vault, pki.mount, pki.role, SRV);
    const srvSet = await writeCredentialSet(srvDir, { ...srvCreds, chain, caBundle: anchors });
    const crlDir = join(srvDir, 'crl');
    await writeCrlDir(crlDir, [(await fetchCrl(pki.vault, pki.mount)).pem], [h.distPem]);
    const srvOptfile = renderOptfile({ bundleFile: srvSet.bundlePath, caFile: srvSet.caPath, versions: ['tlsv1.3', 'tlsv1.2'], crl: { check: 'peer', crlDir } });
    // the baseline optfile as rendered before #15: OTP's default TLS 1.2 suites (no ciphers option)
    writeFileSync(join(srvDir, 'ssl_dist.conf'), BASELINE ? srvOptfile.replace(/\{ciphers, "[^"]*"\},\n\s*/g, '') : srvOptfile);
    const srv = await startNode({
      name: SRV,
      dir: srvDir,
      flags: distFlags({ optfile: join(srvDir, 'ssl_dist.conf'), distPort: port, listenInterface: '127.0.0.1', carrier }),
    });
    // Victim-side instrumentation: every nodeup it ever sees (visible and hidden).
    await srv.eval(
      `begin P = self(), spawn(fun() -> ets:new(vd_ups, [named_table, public, duplicate_bag]), ok = net_kernel:monitor_nodes(true, [{node_type, all}]), P ! ready, L = fun Loop() -> receive {nodeup, N, _} -> ets:insert(vd_ups, {N}), Loop(); _ -> Loop() end end, L() end), receive ready -> ok end end`,
    );
    const nodeups = async (node: string) => Number(await srv.eval(`length(ets:lookup(vd_ups, '${node}'))`));

    let attackerN = 0;
    /** Starts an attacker node (inet_tls; client-only unless it listens where the victim dials). */
    async function attacker(
      name: string,
      creds: { certificate: string; privateKey: string; trust: string[]; chain?: string[] } | 'no-cert' | 'plaintext',
      o: { cookie?: string; listen?: string } = {},
    ): Promise<ErlNode> {
      const dir = join(tmp.dir, `atk${++attackerN}`);
      let flags: string[];
      if (creds === 'plaintext') {
        flags = ['-start_epmd', 'false', '-erl_epmd_port', String(port), '-dist_listen', 'false', '-hidden'];
      } else {
        const set =
          creds === 'no-cert'
            ? await writeCredentialSet(dir, { ...srvCreds, chain, caBundle: [h.rootPem] })
            : await writeCredentialSet(dir, { certificate: creds.certificate, privateKey: creds.privateKey, chain: creds.chain ?? [], caBundle: creds.trust });
        let text = renderOptfile({ bundleFile: set.bundlePath, caFile: set.caPath });
        if (creds === 'no-cert') {
          // Same trust, but the client side presents no certificate at all.
          const [server, client] = text.split('{client,');
          text = `${server}{client,${client!.replace(/\{certfile, "[^"]*"\},\n\s*|\{keyfile, "[^"]*"\},\n\s*/g, '')}`;
        }
        writeFileSync(join(dir, 'ssl_dist.conf'), text);
        flags = distFlags({ optfile: join(dir, 'ssl_dist.conf'), distPort: port, carrier: 'inet_tls', ...(o.listen ? { listenInterface: o.listen } : { noListen: true, hidden: true }) });
      }
      return startNode({ name, dir, flags, ...(o.cookie ? { cookie: o.cookie } : {}) });
    }
    /** Credentials from our issuing CA, sent with the chain (trusting the root, like any node before #12). */
    const ours = async (node: string, role = pki.role, extra: Record<string, unknown> = {}, o: Parameters<typeof rawCredentials>[5] = {}) => ({
      ...(await rawCredentials(pki.vault, pki.mount, role, node, extra, o)),
      trust: [h.rootPem],
      chain,
    });

    /** Pings srv from the attacker; returns the ping result and the first new srv log line matching `why`. */
    async function attack(node: ErlNode, victim: ErlNode, target: string, why: RegExp) {
      const before = victim.log().length;
      const r = await node.ping(target);
      const line = await until(
        () => reasonLine(victim.log().slice(before), why),
        (l) => l !== undefined,
      );
      return { ping: r, line: line?.trim() };
    }

    /**
     * The identity measurement, on the victim: TRIES spawn requests, each the first message of a fresh
     * connection (a spawn that runs writes a marker file on the victim), then an rpc; the nodeups the
     * victim saw for the attacker's name; the victim's log line matching `why`.
     */
    let runN = 0;
    async function impostor(a: ErlNode, why: RegExp) {
      const markers = join(tmp.dir, `markers-${++runN}`);
      mkdirSync(markers, { recursive: true });
      const before = srv.log().length;
      const reasons = await a.eval(
        `[begin erlang:disconnect_node('${SRV}'), {P, R} = spawn_monitor('${SRV}', file, write_file, ["${markers}/" ++ integer_to_list(I), <<"ran">>]), receive {'DOWN', R, process, P, Why} -> Why after 10000 -> timeout end end || I <- lists:seq(1, ${TRIES})]`,
        120_000,
      );
      const rpc = await a.eval(`rpc:call('${SRV}', erlang, node, [], 5000)`);
      const ran = readdirSync(markers).length;
      const ups = await nodeups(a.name);
      const line = await until(() => reasonLine(srv.log().slice(before), why), (l) => l !== undefined);
      const outcomes = [...new Set(reasons.replace(/^\[|\]$/g, '').split(','))].join('/');
      return { ran, ups, rpc, line: line?.trim(), ok: ran === 0 && ups === 0 && /badrpc/.test(rpc) && !!line, summary: `spawns ran ${ran}/${TRIES} (${outcomes}), rpc ${rpc}, nodeups on srv ${ups}` };
    }

    const record = (name: string, expected: string, refused: boolean, observed: string) => rows.push({ name, expected, observed, refused });

    // 1. No client certificate.
    {
      const a = await attacker('nocert@127.0.0.9', 'no-cert');
      const r = await attack(a, srv, SRV, /Certificate required|no_client_certificate/);
      record('no client certificate', 'pang, TLS alert', r.ping === 'pang' && !!r.line, `${r.ping}; srv: ${r.line}`);
    }
    // 2. Certificate from a foreign CA (that trusts our CA, so it would accept us).
    {
      const c = await rawCredentials(foreign.vault, foreign.mount, foreign.role, 'foreign@127.0.0.9');
      const a = await attacker('foreign@127.0.0.9', { ...c, trust: [foreign.rootPem, h.rootPem] });
      const r = await attack(a, srv, SRV, /Unknown CA|Certificate required/);
      // An OTP client that is told the server's CAs (TLS 1.3 certificate_authorities, inet_tls) sends
      // no certificate; one that sends it anyway (Node's TLS) gets "unknown ca".
      const before = srv.log().length;
      const p = await probeDistCertificate({ host: '127.0.0.1', port, servername: '127.0.0.1', cert: c.certificate, key: c.privateKey, ca: h.distPem });
      const probeLine = await until(() => reasonLine(srv.log().slice(before), /Unknown CA/), (l) => l !== undefined);
      record(
        'certificate from a foreign CA',
        'pang, TLS alert',
        r.ping === 'pang' && !!r.line && !p.ok && !!probeLine,
        `${r.ping}; srv: ${r.line} | forced (Node TLS client): ${p.errorCode}; srv: ${probeLine}`,
      );
    }
    // 3. Not yet valid. OpenBao 2.7.2 honours `not_before` on pki/issue but silently ignores it on
    //    pki/sign (request field and role field alike: measured), so this one is issued.
    {
      const notBefore = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const r0 = await pki.vault.write<{ certificate: string; private_key: string; not_before?: number }>(
        `${pki.mount}/issue/future`,
        { common_name: '127.0.0.9', alt_names: '127.0.0.9', ip_sans: '127.0.0.9', uri_sans: 'erlang://future@127.0.0.9', not_before: notBefore, ttl: '2h', private_key_format: 'pkcs8' },
        { idempotent: false },
      );
      expect((r0.data.not_before ?? 0) * 1000).toBeGreaterThan(Date.now());
      const a = await attacker('future@127.0.0.9', { certificate: r0.data.certificate, privateKey: r0.data.private_key, trust: [h.rootPem], chain });
      const r = await attack(a, srv, SRV, /Certificate Expired/);
      record('not yet valid (not_before +1h)', 'pang, validity alert', r.ping === 'pang' && !!r.line, `${r.ping}; srv: ${r.line}`);
    }
    // 4. Server-only certificate (role client_flag=false: EKU serverAuth only).
    {
      const a = await attacker('srvonly@127.0.0.9', await ours('srvonly@127.0.0.9', 'serveronly'));
      const r = await attack(a, srv, SRV, /invalid_ext_key_?usage/ /* OTP 25: {bad_cert,invalid_ext_key_usage}; OTP 27: {invalid_ext_keyusage,...} */);
      record('server-only certificate (no clientAuth)', 'pang, bad EKU', r.ping === 'pang' && !!r.line, `${r.ping}; srv: ${r.line}`);
    }
    // 5. Revoked: a valid certificate, revoked, CRL refreshed on srv (no reload).
    {
      const c = await ours('revoked@127.0.0.9');
      await revokeCertificate(pki.vault, { mount: pki.mount, serial: c.serial });
      await writeCrlDir(crlDir, [(await fetchCrl(pki.vault, pki.mount)).pem], [h.distPem]);
      const a = await attacker('revoked@127.0.0.9', c);
      const r = await attack(a, srv, SRV, /Certificate Revoked/);
      record('revoked', 'pang, Certificate Revoked', r.ping === 'pang' && !!r.line, `${r.ping}; srv: ${r.line}`);
    }
    // 6. Plaintext inet_tcp peer.
    {
      const a = await attacker('plain@127.0.0.9', 'plaintext');
      const r = await attack(a, srv, SRV, /unsupported_record_type/);
      record('plaintext inet_tcp peer', 'pang, not TLS', r.ping === 'pang' && !!r.line, `${r.ping}; srv: ${r.line}`);
    }
    // 7. Valid certificate, wrong cookie: the cookie is still checked after TLS.
    {
      const a = await attacker('cookie@127.0.0.9', await ours('cookie@127.0.0.9'), { cookie: 'not-the-cookie' });
      const r = await attack(a, srv, SRV, /Invalid challenge|rejected/);
      record('valid certificate, wrong cookie', 'pang, challenge fails', r.ping === 'pang' && !!r.line, `${r.ping}; srv: ${r.line}`);
    }
    // 8. Wrong host: srv dials bar@127.0.0.2; whoever listens there has a valid cert for another host.
    {
      const imp = await attacker('bar@127.0.0.2', await ours('bar@127.0.0.7'), { listen: '127.0.0.2' });
      const before = srv.log().length;
      const p = await srv.ping('bar@127.0.0.2');
      const line = await until(() => reasonLine(srv.log().slice(before), /hostname_check_failed/), (l) => l !== undefined);
      record('wrong host (impostor at 127.0.0.2, cert for .7)', 'pang, hostname check', p === 'pang' && !!line, `${p}; srv (client side): ${line?.trim()}`);
      await imp.stop();
    }
    // 9. Expired (issued with a 2 s TTL at the start of this test).
    {
      await until(() => Date.now(), (now) => now > expiring.expiration.getTime() + 1000, 10_000);
      const a = await attacker('expired@127.0.0.9', { ...expiring, trust: [h.rootPem], chain });
      const r = await attack(a, srv, SRV, /Certificate Expired/);
      record('expired (TTL 2s, waited)', 'pang, Certificate Expired', r.ping === 'pang' && !!r.line, `${r.ping}; srv: ${r.line}`);
    }
    // 10. #12: a node started from evil's files under another name (imp) connects to srv.
    {
      const a = await attacker('imp@127.0.0.9', await ours('evil@127.0.0.9'));
      const r = await impostor(a, /vaultdist_tls: refused .*claimed node imp@127\.0\.0\.9, certificate is for evil@127\.0\.0\.9/);
      record('valid cert under another node name (evil\'s files as imp)', `0/${TRIES} spawns, rpc fails, no nodeup`, r.ok, `${r.summary}; srv: ${r.line}`);
    }
    // 11. #12: nothing registered that a connected peer could stop or reconfigure. A legitimate peer
    //     sends `stop` to every vaultdist* name and exit signals to it, then the impostor tries again.
    {
      const friend = await attacker('friend2@127.0.0.9', await ours('friend2@127.0.0.9'));
      const names = await friend.eval(
        `[begin {N, '${SRV}'} ! stop, catch exit(rpc:call('${SRV}', erlang, whereis, [N]), kill), N end || N <- rpc:call('${SRV}', erlang, registered, []), lists:prefix("vaultdist", atom_to_list(N))]`,
      );
      await friend.stop();
      const a = await attacker('imp2@127.0.0.9', await ours('evil2@127.0.0.9'));
      const r = await impostor(a, /vaultdist_tls: refused .*claimed node imp2@127\.0\.0\.9, certificate is for evil2@127\.0\.0\.9/);
      record('stop the identity check from a connected peer, then impersonate', `nothing to stop; 0/${TRIES} spawns`, r.ok && names === '[]', `vaultdist* processes registered on srv: ${names}; then ${r.summary}; srv: ${r.line}`);
    }
    // 12. #12: dialling side. srv dials bar@127.0.0.3; a sibling on the same host answers there with
    //     its own valid certificate (sib@127.0.0.3: host check passes).
    {
      const imp = await attacker('bar@127.0.0.3', await ours('sib@127.0.0.3'), { listen: '127.0.0.3' });
      const before = srv.log().length;
      const pings = [];
      for (let i = 0; i < 3; i++) pings.push(await srv.ping('bar@127.0.0.3'));
      const line = await until(() => reasonLine(srv.log().slice(before), /vaultdist_tls: refused server .*dialling bar@127\.0\.0\.3: certificate is for sib@127\.0\.0\.3/), (l) => l !== undefined);
      const ups = await nodeups('bar@127.0.0.3');
      record(
        'sibling certificate answering where srv dials (same host)',
        'pang, no nodeup',
        pings.every((p) => p === 'pang') && ups === 0 && !!line,
        `${pings.join('/')}, nodeups on srv ${ups}; srv (client side): ${line?.trim()}`,
      );
      await imp.stop();
    }
    // 13. #12: another intermediate under the same root (a second PKI mount, any name allowed). Its CRL
    //     goes into srv's CRL dir too, so CRL checking (which alone would refuse a CA it has no CRL
    //     for) is not what refuses it: the default `init node` files have no CRL checking.
    {
      const webPem = await fetchIssuing(h.vault, h.web);
      await writeCrlDir(crlDir, [(await fetchCrl(pki.vault, pki.mount)).pem, (await fetchCrl(h.vault, h.web)).pem], [h.distPem, webPem]);
      const c = await rawCredentials(h.vault, h.web, 'node', 'web@127.0.0.9');
      const a = await attacker('web@127.0.0.9', { ...c, trust: [h.rootPem], chain: [webPem] });
      const r = await impostor(a, /vaultdist_tls: refused .*not_issued_by_a_pinned_issuing_ca/);
      record('certificate from another intermediate under our root', `0/${TRIES} spawns, refused`, r.ok, `${r.summary}; srv: ${r.line}`);
    }
    // 14. #12: a certificate without the URI SAN (our CA, right host).
    {
      const a = await attacker('nouri@127.0.0.9', await ours('nouri@127.0.0.9', pki.role, {}, { sans: (x) => ({ ...x, uris: [] }) }));
      const r = await impostor(a, /vaultdist_tls: refused .*no_node_uri_san/);
      record('certificate without the erlang:// URI SAN', `0/${TRIES} spawns, refused`, r.ok, `${r.summary}; srv: ${r.line}`);
    }
    // 15. #15: a certificate without extended key usage (our CA, role with no EKU flags).
    {
      const a = await attacker('noeku@127.0.0.9', await ours('noeku@127.0.0.9', 'noeku'));
      const r = await impostor(a, /vaultdist_tls: refused .*no_extended_key_usage/);
      record('certificate without extended key usage', `0/${TRIES} spawns, refused`, r.ok, `${r.summary}; srv: ${r.line}`);
    }
    // 16. #15: a CA:TRUE certificate used as a leaf (our CA signed it as a sub-CA, with the node's SANs).
    {
      const c = await ours('subca@127.0.0.9', pki.role, { common_name: '127.0.0.9', uri_sans: 'erlang://subca@127.0.0.9', ip_sans: '127.0.0.9', alt_names: '127.0.0.9', use_csr_values: true }, { path: 'root/sign-intermediate' });
      const a = await attacker('subca@127.0.0.9', c);
      const r = await impostor(a, /vaultdist_tls: refused .*ca_certificate_as_leaf|unsupported_certificate|CA cert|bad_cert/i);
      record('CA:TRUE certificate used as a leaf', `0/${TRIES} spawns, refused`, r.ok, `${r.summary}; srv: ${r.line}`);
    }
    // 17. #15: TLS 1.2 with a CBC-SHA1 suite (srv allows TLS 1.2); the AEAD suite is the control.
    {
      const c = await ours('tls12@127.0.0.9');
      const hello = (ciphers: string) =>
        new Promise<string>((resolve) => {
          const sock = tls.connect({ host: '127.0.0.1', port, cert: `${c.certificate.trim()}\n${c.chain.join('')}`, key: c.privateKey, ca: h.rootPem, rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers });
          const t = setTimeout(() => (sock.destroy(), resolve('no answer within 5 s')), 5000);
          sock.once('secureConnect', () => {
            const name = sock.getCipher()?.name;
            clearTimeout(t);
            sock.destroy();
            resolve(`ok ${name}`);
          });
          sock.once('error', (e: NodeJS.ErrnoException) => (clearTimeout(t), resolve(`refused (${e.code ?? e.message})`)));
        });
      const cbc = await hello('ECDHE-ECDSA-AES128-SHA');
      const gcm = await hello('ECDHE-ECDSA-AES128-GCM-SHA256');
      record('TLS 1.2 with a CBC-SHA1 suite', 'handshake refused', cbc.startsWith('refused') && gcm.startsWith('ok'), `ECDHE-ECDSA-AES128-SHA: ${cbc}; control ECDHE-ECDSA-AES128-GCM-SHA256: ${gcm}`);
    }
    // 18. #12: at renewal, a Vault answer chaining to a different root (a self-consistent chain from a
    //     mount the node never trusted) is refused; the files in use stay byte-identical.
    {
      const dir = join(tmp.dir, 'renew');
      await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'renew@127.0.0.9', dir });
      const before = ['bundle.pem', 'ca.pem'].map((f) => readFileSync(join(dir, f), 'utf8'));
      let outcome: string;
      try {
        await issueNodeCredentials(foreign.vault, { mount: foreign.mount, role: foreign.role, node: 'renew@127.0.0.9', dir, ...(BASELINE ? { pinned: false as const } : {}) });
        outcome = 'adopted';
      } catch (e) {
        outcome = isCertificateError(e) ? `${e.problem}: ${e.message.slice(0, 140)}…` : String(e);
      }
      const same = ['bundle.pem', 'ca.pem'].every((f, i) => readFileSync(join(dir, f), 'utf8') === before[i]);
      record('renewal answer chaining to a different root', 'refused, files untouched', outcome.startsWith('trust-anchor') && same, `${outcome}; files ${same ? 'untouched' : 'REPLACED'}`);
    }
    // 19. #12, the documented role: the node's OWN certificate admits only its own hidden tooling
    //     (`rpc-TAG-srv@…`, as a release's bin/app rpc names itself), nothing else under that certificate.
    {
      const own = { ...srvCreds, trust: [h.rootPem], chain };
      const tool = await attacker('rpc-1a2b-srv@127.0.0.1', own);
      const toolRpc = await tool.eval(`rpc:call('${SRV}', erlang, node, [], 5000)`);
      await tool.stop();
      // a visible node must listen (-dist_listen false implies hidden): on .5, named as srv's tooling
      const vis = await attacker('rpc-3c4d-srv@127.0.0.1', own, { listen: '127.0.0.5' });
      const visPing = await vis.ping(SRV);
      await vis.stop();
      const a = await attacker('other@127.0.0.1', own);
      const r = await impostor(a, /vaultdist_tls: refused .*claimed node other@127\.0\.0\.1, certificate is for srv@127\.0\.0\.1 \(this node's own/);
      record(
        "the node's own certificate under another name",
        `0/${TRIES} spawns; only hidden rpc-TAG-srv in`,
        r.ok && visPing === 'pang' && toolRpc === "'srv@127.0.0.1'",
        `${r.summary}; visible rpc-3c4d-srv: ${visPing}; control: hidden rpc-1a2b-srv (own tooling) rpc -> ${toolRpc}; srv: ${r.line}`,
      );
    }
    // 20. epmd probe: nothing answers on 4369 on any node address; the node itself has no epmd.
    {
      const open = await Promise.all(HOSTS.map((x) => tcpOpen(x, 4369)));
      const names = await srv.eval('erl_epmd:names()');
      record('epmd probe on 4369', 'nothing listens', open.every((o) => !o) && /error/.test(names), `connect refused on ${HOSTS.length} addresses; srv erl_epmd:names() -> ${names}`);
    }
    // 21. A raw plaintext dist handshake (send_name) on the dist port.
    {
      const before = srv.log().length;
      const reply = await new Promise<{ bytes: Buffer; closed: boolean }>((resolve) => {
        const s = connect(port, '127.0.0.1');
        let got = Buffer.alloc(0);
        const name = Buffer.from('raw@127.0.0.9');
        const body = Buffer.concat([Buffer.from('n'), Buffer.from([0, 5]), Buffer.from([0x00, 0x07, 0x7f, 0xfd]), name]);
        const head = Buffer.alloc(2);
        head.writeUInt16BE(body.length);
        s.on('connect', () => s.write(Buffer.concat([head, body])));
        s.on('data', (d) => (got = Buffer.concat([got, d])));
        s.on('close', () => resolve({ bytes: got, closed: true }));
        s.on('error', () => undefined);
        const t = setTimeout(() => {
          s.destroy();
          resolve({ bytes: got, closed: false });
        }, 5000);
        s.on('close', () => clearTimeout(t));
      });
      const line = await until(() => reasonLine(srv.log().slice(before), /unsupported_record_type/), (l) => l !== undefined);
      const sawChallenge = reply.bytes.includes(Buffer.from('sok')) || reply.bytes.subarray(2, 3).toString() === 'n';
      record(
        'raw plaintext dist handshake on the dist port',
        'closed, no dist reply',
        reply.closed && !sawChallenge && !!line,
        `${reply.closed ? 'closed by srv' : 'still open'} after ${reply.bytes.length} bytes (${reply.bytes.subarray(0, 7).toString('hex') || 'none'}); srv: ${line?.trim()}`,
      );
    }

    // Sanity: the victim still works for a legitimate peer after all this, in both directions.
    {
      const c = await ours('friend@127.0.0.4');
      const a = await attacker('friend@127.0.0.4', c, { listen: '127.0.0.4' });
      expect(await a.ping(SRV)).toBe('pong');
      await a.eval(`erlang:disconnect_node('${SRV}')`);
      // srv dials back once it has seen the disconnect (a ping racing the teardown can answer pang)
      await until(() => srv.nodes('connected'), (ns) => !ns.includes('friend@127.0.0.4'));
      expect(await srv.ping('friend@127.0.0.4')).toBe('pong');
      expect(await until(() => nodeups('friend@127.0.0.4'), (n) => n === 2)).toBe(2);
    }

    expect(rows.filter((r) => !r.refused).map((r) => `${r.name}: ${r.observed}`)).toEqual([]);
    expect(rows.length).toBe(21);
  }, 600_000);
});

/** The CA certificate of a PKI mount (its default issuer). */
async function fetchIssuing(vault: VaultClient, mount: string): Promise<string> {
  const r = await vault.read<{ certificate: string }>(`${mount}/cert/ca`);
  return `${r.data!.certificate.trim()}\n`;
}
