/**
 * Revocation on real nodes: the optfile enables CRL checking for distribution
 * (`{crl_check, peer}` + `ssl_crl_hash_dir`), the CRL directory is written by `writeCrlDir` from
 * OpenBao's CRL, and a revoked node is refused on its next connection while an unrevoked one connects.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { join } from 'node:path';
import {
  distFlags,
  fetchCrl,
  issueNodeCredentials,
  probeDistCertificate,
  renderOptfile,
  revokeCertificate,
} from '../../packages/sdk/src/index.js';
import { writeCrlDir } from '../../packages/sdk/src/internal.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { sharedFreePort, startNode, type ErlNode } from '../helpers/erlang.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

describe('revocation: a revoked peer is refused on its next connection', () => {
  const pki = useTestPki();
  const tmp = useTestdir();

  beforeAll(async () => {
    // As `vaultdist init vault --urls` does: leaves then carry a CRL distribution point (an http URL).
    // OTP's ssl_crl_hash_dir still finds the CRL by issuer hash (the attack matrix covers leaves without one).
    await pki.vault.write(`${pki.mount}/config/urls`, { issuing_certificates: [`http://127.0.0.1:1/v1/${pki.mount}/ca`], crl_distribution_points: [`http://127.0.0.1:1/v1/${pki.mount}/crl`] });
  });

  it('refuses the revoked node in both directions, keeps the others connecting, with no reload', async () => {
    const port = await sharedFreePort(HOSTS);
    const names = ['ra@127.0.0.1', 'rb@127.0.0.2', 'rc@127.0.0.3'];
    const crl0 = await fetchCrl(pki.vault, pki.mount);
    const setups: { name: string; dir: string; crlDir: string; res: Awaited<ReturnType<typeof issueNodeCredentials>>; host: string }[] = [];
    for (const name of names) {
      const dir = join(tmp.dir, name.replace(/[@.]/g, '_'));
      const res = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: name, dir });
      expect(new x509.X509Certificate(res.issued.certificate).getExtension('2.5.29.31')).not.toBeNull();
      const crlDir = join(dir, 'crl');
      await writeCrlDir(crlDir, [crl0.pem], [pki.rootPem]);
      const optfile = join(dir, 'ssl_dist.conf');
      writeFileSync(optfile, renderOptfile({ bundleFile: res.written.bundlePath, caFile: res.written.caPath, crl: { check: 'peer', crlDir } }));
      setups.push({ name, dir, crlDir, res, host: name.split('@')[1]! });
    }
    const nodes: ErlNode[] = [];
    for (const s of setups) {
      nodes.push(await startNode({ name: s.name, dir: s.dir, flags: distFlags({ optfile: join(s.dir, 'ssl_dist.conf'), distPort: port, listenInterface: s.host }) }));
    }
    const [a, b, c] = nodes as [ErlNode, ErlNode, ErlNode];

    // Before: everyone connects with CRL checking on (an empty, fresh CRL is present).
    expect(await a.ping(names[1]!)).toBe('pong');
    expect(await c.ping(names[0]!)).toBe('pong');
    expect(await c.ping(names[1]!)).toBe('pong');

    // Revoke rc's certificate by serial; refresh every node's CRL directory (what the agent does).
    const revoked = await revokeCertificate(pki.vault, { mount: pki.mount, serial: setups[2]!.res.issued.serial });
    expect(revoked).toMatchObject({ state: 'revoked', serial: setups[2]!.res.issued.serial });
    const crl1 = await fetchCrl(pki.vault, pki.mount);
    expect(crl1.revoked.map((r) => r.serial)).toContain(setups[2]!.res.issued.serial);
    for (const s of setups) expect((await writeCrlDir(s.crlDir, [crl1.pem], [pki.rootPem])).changed).toBe(true);

    // Live connections are not re-checked (TLS validates at handshake time): cut them, as an operator would.
    for (const n of [a, b]) await n.eval(`erlang:disconnect_node('${names[2]}')`);
    await c.eval(`[erlang:disconnect_node(N) || N <- nodes()], ok`);
    expect(await c.nodes()).toEqual([]);

    // rc → ra: ra (server) refuses rc's revoked client certificate.
    expect(await c.ping(names[0]!)).toBe('pang');
    // ra → rc: ra (client) refuses rc's revoked server certificate.
    expect(await a.ping(names[2]!)).toBe('pang');
    expect(await a.nodes()).not.toContain(names[2]);
    const aLog = a.log();
    expect(aLog).toMatch(/Certificate Revoked|certificate_revoked/);
    // The unrevoked pair still makes fresh connections.
    await a.eval(`erlang:disconnect_node('${names[1]}')`);
    expect(await b.ping(names[0]!)).toBe('pong');
    expect(await a.nodes()).toEqual([names[1]]);

    // A probe with rc's credentials is refused too; with rb's it succeeds.
    const creds = (i: number) => {
      const bundle = readFileSync(join(setups[i]!.dir, 'bundle.pem'), 'utf8');
      return { cert: bundle, key: bundle, ca: readFileSync(join(setups[i]!.dir, 'ca.pem'), 'utf8') };
    };
    const bad = await probeDistCertificate({ host: '127.0.0.1', port, servername: '127.0.0.1', ...creds(2) });
    const good = await probeDistCertificate({ host: '127.0.0.1', port, servername: '127.0.0.1', ...creds(1) });
    expect(bad.ok).toBe(false);
    expect(good.ok).toBe(true);
    // Fail-closed: a node whose CRL directory has no CRL for the issuer (never written, or deleted)
    // refuses every peer with crl_check=peer: the agent must keep the directory filled and fresh.
    const dDir = join(tmp.dir, 'rd');
    const dRes = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'rd@127.0.0.4', dir: dDir });
    mkdirSync(join(dDir, 'crl'));
    writeFileSync(join(dDir, 'ssl_dist.conf'), renderOptfile({ bundleFile: dRes.written.bundlePath, caFile: dRes.written.caPath, crl: { check: 'peer', crlDir: join(dDir, 'crl') } }));
    const d = await startNode({ name: 'rd@127.0.0.4', dir: dDir, flags: distFlags({ optfile: join(dDir, 'ssl_dist.conf'), distPort: port, noListen: true }) });
    expect(await d.ping(names[0]!)).toBe('pang');
    // The log line is written asynchronously: poll for it (bounded), then assert on it.
    let dLine: string | undefined;
    for (let i = 0; i < 100 && !dLine; i++) {
      dLine = d.log().split('\n').find((l) => /ALERT/.test(l));
      if (!dLine) await new Promise((r) => setTimeout(r, 50));
    }
    expect(dLine).toMatch(/revocation_status_undetermined|Bad Certificate/);
    console.log(
      [
        'revocation on real nodes (OTP 25, crl_check=peer, ssl_crl_hash_dir):',
        `  revoked serial ${revoked.serial} at ${revoked.revokedAt?.toISOString()}`,
        `  rc -> ra: pang; ra -> rc: pang; rb -> ra: pong`,
        `  ra log: ${aLog.split('\n').find((l) => /Revoked|revoked/.test(l))?.trim()}`,
        `  probe with rc's cert: ${bad.error}`,
        `  rd with an empty CRL dir -> ra: pang; rd log: ${dLine?.trim()}`,
      ].join('\n'),
    );
  });
});
