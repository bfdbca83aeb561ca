/**
 * CA rotation end to end on a 3-node cluster: CA1 → CA2 in the documented order
 *   1. every node trusts CA1 + CA2 (reload each),
 *   2. every node gets a CA2 leaf (reload each),
 *   3. every node drops CA1 (reload each),
 * and after EVERY single-node step, every ordered pair of nodes makes a fresh connection
 * (disconnect_node + ping) and a probe sees the serial the node should now serve.
 * Reload = vaultdist_reload:reload() (packages/cli/erlang), which clears the dist PEM cache.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  distFlags,
  isCertificateError,
  issueNodeCredentials,
  probeDistCertificate,
  renderOptfile,
  writeCredentialSet,
} from '../../packages/sdk/src/index.js';
import {
  ensureIntermediateCa,
  ensureMount,
  ensureRole,
  ensureRootCa,
  nodeRoleBody,
  removeMount,
  type NodeCertificate,
} from '../../packages/sdk/src/internal.js';
import { adminClient, suffix } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { compileErlang, sharedFreePort, startNode, type ErlNode } from '../helpers/erlang.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const RELOAD_SRC = join(process.cwd(), 'packages/cli/erlang/src/vaultdist_reload.erl');

interface Member {
  name: string;
  host: string;
  dir: string;
  node: ErlNode;
  issued: NodeCertificate;
  trust: string[];
}

describe('CA rotation CA1 → CA2 with no moment where two healthy nodes cannot connect', () => {
  const ca1 = useTestPki({ commonName: 'vaultdist rotation CA1' });
  const ca2 = useTestPki({ commonName: 'vaultdist rotation CA2' });
  const tmp = useTestdir();

  it('moves the cluster and keeps every pair connecting at every step', async () => {
    const ebin = compileErlang([RELOAD_SRC]);
    const port = await sharedFreePort(HOSTS);
    const members: Member[] = [];
    for (const [i, host] of HOSTS.slice(0, 3).entries()) {
      const name = `rot${i + 1}@${host}`;
      const dir = join(tmp.dir, `rot${i + 1}`);
      const res = await issueNodeCredentials(ca1.vault, { mount: ca1.mount, role: ca1.role, node: name, dir, trust: [ca1.rootPem] });
      const optfile = join(dir, 'ssl_dist.conf');
      writeFileSync(optfile, renderOptfile({ bundleFile: res.written.bundlePath, caFile: res.written.caPath }));
      // connect_all false + no overlapping-partition prevention: each ping tests exactly one pair, and
      // global does not tear down other links when the test cuts one.
      const flags = [...distFlags({ optfile, distPort: port, listenInterface: host, connectAllFalse: true }), '-kernel', 'prevent_overlapping_partitions', 'false'];
      const node = await startNode({ name, dir, codePaths: [ebin], flags });
      members.push({ name, host, dir, node, issued: res.issued, trust: [ca1.rootPem] });
    }

    const log: string[] = [];
    const reload = async (m: Member) => expect(await m.node.eval('vaultdist_reload:reload()')).toMatch(/^\{ok,/);
    const write = (m: Member) =>
      writeCredentialSet(m.dir, { privateKey: m.issued.privateKey, certificate: m.issued.certificate, chain: [], caBundle: m.trust });

    /** Every ordered pair makes a FRESH connection; every node serves the serial we expect. */
    async function checkAll(step: string): Promise<void> {
      for (const a of members) {
        for (const b of members) {
          if (a === b) continue;
          await a.node.eval(`erlang:disconnect_node('${b.name}')`);
          const r = await a.node.ping(b.name);
          expect([step, a.name, b.name, r]).toEqual([step, a.name, b.name, 'pong']);
        }
      }
      for (const [i, b] of members.entries()) {
        const a = members[(i + 1) % members.length]!;
        const bundle = readFileSync(join(a.dir, 'bundle.pem'), 'utf8');
        const p = await probeDistCertificate({ host: b.host, port, servername: b.host, cert: bundle, key: bundle, ca: readFileSync(join(a.dir, 'ca.pem'), 'utf8') });
        expect([step, b.name, p.ok, p.serial]).toEqual([step, b.name, true, b.issued.serial]);
      }
      log.push(`${step.padEnd(44)} 6/6 pairs pong, 3/3 probes ok`);
    }

    await checkAll('0 all on CA1');

    // 1. Trust both roots, one node at a time.
    for (const m of members) {
      m.trust = [ca1.rootPem, ca2.rootPem];
      await write(m);
      await reload(m);
      await checkAll(`1 ${m.name} trusts CA1+CA2`);
    }
    // 2. New leaves from CA2, one node at a time (the bundle keeps both roots).
    for (const m of members) {
      const res = await issueNodeCredentials(ca2.vault, { mount: ca2.mount, role: ca2.role, node: m.name, dir: m.dir, trust: m.trust });
      m.issued = res.issued;
      await reload(m);
      await checkAll(`2 ${m.name} serves a CA2 leaf`);
    }
    // 3. Drop CA1, one node at a time.
    for (const m of members) {
      m.trust = [ca2.rootPem];
      await write(m);
      await reload(m);
      await checkAll(`3 ${m.name} trusts CA2 only`);
    }

    // Control: CA1 is really gone. A node with a fresh CA1 leaf (trusting both) is refused.
    const oldName = `rot4@${HOSTS[3]}`;
    const oldDir = join(tmp.dir, 'rot4');
    const old = await issueNodeCredentials(ca1.vault, { mount: ca1.mount, role: ca1.role, node: oldName, dir: oldDir, trust: [ca1.rootPem, ca2.rootPem] });
    const oldOpt = join(oldDir, 'ssl_dist.conf');
    writeFileSync(oldOpt, renderOptfile({ bundleFile: old.written.bundlePath, caFile: old.written.caPath }));
    const oldNode = await startNode({ name: oldName, dir: oldDir, flags: distFlags({ optfile: oldOpt, distPort: port, listenInterface: HOSTS[3]! }) });
    expect(await oldNode.ping(members[0]!.name)).toBe('pang');
    // TLS 1.3: the server's CertificateRequest names its CAs (now CA2 only); an OTP client whose leaf
    // does not chain to one of them sends no certificate, so the refusal reads "Certificate required".
    const why = members[0]!.node.log().split('\n').find((l) => /Unknown CA|Certificate required/.test(l));
    expect(why).toBeDefined();
    log.push(`control: CA1 leaf after rotation -> pang (${why!.trim()})`);
    console.log(`CA rotation on 3 real nodes:\n  ${log.join('\n  ')}`);
  }, 300_000);

  it('rotates the issuing intermediate under one root (narrowed trust, pinned renewals): old + new announced, then the old dropped', async () => {
    // root R → I1 (in use) and I2 (next). Nodes trust exactly their issuing intermediate(s) + R.
    const vault = adminClient();
    const s = suffix();
    const [root, m1, m2] = [`rot-r-${s}`, `rot-i1-${s}`, `rot-i2-${s}`];
    try {
      for (const m of [root, m1, m2]) await ensureMount(vault, m, { maxLeaseTtl: '87600h' });
      await ensureRootCa(vault, root, { commonName: `rotation root ${s}`, ttl: '8760h' });
      const i1 = (await ensureIntermediateCa(vault, m1, { rootMount: root, commonName: `rotation I1 ${s}`, ttl: '4000h' })).certificate!;
      const i2 = (await ensureIntermediateCa(vault, m2, { rootMount: root, commonName: `rotation I2 ${s}`, ttl: '4000h' })).certificate!;
      for (const m of [m1, m2]) await ensureRole(vault, m, 'node', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h' }));
      const ebin = compileErlang([RELOAD_SRC]);
      const port = await sharedFreePort(HOSTS);
      const nodes: { name: string; dir: string; node: ErlNode; serial: string }[] = [];
      for (const [i, host] of HOSTS.slice(0, 3).entries()) {
        const name = `irot${i + 1}@${host}`;
        const dir = join(tmp.dir, `irot${i + 1}`);
        // first issuance: no ca.pem yet, Vault's issuing CA (I1) + its chain to R are taken on first use
        const res = await issueNodeCredentials(vault, { mount: m1, role: 'node', node: name, dir });
        const optfile = join(dir, 'ssl_dist.conf');
        writeFileSync(optfile, renderOptfile({ bundleFile: res.written.bundlePath, caFile: res.written.caPath }));
        const flags = [...distFlags({ optfile, distPort: port, listenInterface: host, connectAllFalse: true }), '-kernel', 'prevent_overlapping_partitions', 'false'];
        nodes.push({ name, dir, node: await startNode({ name, dir, codePaths: [ebin], flags }), serial: res.issued.serial });
      }
      const log: string[] = [];
      const reload = async (n: (typeof nodes)[number]) => expect(await n.node.eval('vaultdist_reload:reload()')).toMatch(/^\{ok,/);
      async function checkAll(step: string): Promise<void> {
        for (const a of nodes) {
          for (const b of nodes) {
            if (a === b) continue;
            await a.node.eval(`erlang:disconnect_node('${b.name}')`);
            expect([step, a.name, b.name, await a.node.ping(b.name)]).toEqual([step, a.name, b.name, 'pong']);
          }
        }
        log.push(`${step.padEnd(40)} 6/6 pairs pong`);
      }
      /** A client-only node with a fresh leaf from `mount`, trusting the root: refused by every member? */
      let probeN = 0;
      async function outsider(mount: string, why: RegExp): Promise<string> {
        const name = `out${++probeN}@127.0.0.9`;
        const dir = join(tmp.dir, `irot-out${probeN}`);
        const res = await issueNodeCredentials(vault, { mount, role: 'node', node: name, dir, pinned: false });
        const optfile = join(dir, 'ssl_dist.conf');
        writeFileSync(optfile, renderOptfile({ bundleFile: res.written.bundlePath, caFile: res.written.caPath }));
        const n = await startNode({ name, dir, flags: distFlags({ optfile, distPort: port, noListen: true, hidden: true, carrier: 'inet_tls' }) });
        const before = nodes[0]!.node.log().length;
        const r = await n.ping(nodes[0]!.name);
        await n.stop();
        const line = nodes[0]!.node.log().slice(before).split('\n').find((l) => why.test(l));
        return `${r}${line ? ` (${line.trim()})` : ''}`;
      }

      await checkAll('0 all on I1');
      const i2Early = await outsider(m2, /not_issued_by_a_pinned_issuing_ca/);
      expect(i2Early).toMatch(/^pang \(.*not_issued_by_a_pinned_issuing_ca/);
      log.push(`control: an I2 leaf before the rotation -> ${i2Early}`);
      // without the rotation step a renewal from I2 is refused (trust pinning), files untouched
      const pinned = await issueNodeCredentials(vault, { mount: m2, role: 'node', node: nodes[0]!.name, dir: nodes[0]!.dir }).then(
        () => 'adopted',
        (e: unknown) => (isCertificateError(e) ? e.problem : String(e)),
      );
      expect(pinned).toBe('trust-anchor');
      log.push(`renewal from I2 before it is announced -> ${pinned}`);

      // 1. announce I1 + I2 (the rotation step), one node at a time
      for (const n of nodes) {
        n.serial = (await issueNodeCredentials(vault, { mount: m1, role: 'node', node: n.name, dir: n.dir, extraTrust: [i1, i2] })).issued.serial;
        await reload(n);
        await checkAll(`1 ${n.name} trusts I1+I2`);
      }
      // 2. Vault issues from I2 (accepted: announced), one node at a time
      for (const n of nodes) {
        n.serial = (await issueNodeCredentials(vault, { mount: m2, role: 'node', node: n.name, dir: n.dir, extraTrust: [i1, i2] })).issued.serial;
        await reload(n);
        await checkAll(`2 ${n.name} serves an I2 leaf`);
      }
      // 3. the announcement removed: the next renewal keeps I2 (in use) and drops I1
      for (const n of nodes) {
        n.serial = (await issueNodeCredentials(vault, { mount: m2, role: 'node', node: n.name, dir: n.dir })).issued.serial;
        expect(readFileSync(join(n.dir, 'ca.pem'), 'utf8')).not.toContain(i1.trim());
        await reload(n);
        await checkAll(`3 ${n.name} trusts I2 only`);
      }
      const i1Late = await outsider(m1, /not_issued_by_a_pinned_issuing_ca/);
      expect(i1Late).toMatch(/^pang \(.*not_issued_by_a_pinned_issuing_ca/);
      log.push(`control: an I1 leaf after the rotation -> ${i1Late}`);
      console.log(`issuing-intermediate rotation on 3 real nodes (vaultdist_tls):\n  ${log.join('\n  ')}`);
    } finally {
      for (const m of [m1, m2, root]) await removeMount(vault, m).catch(() => undefined);
    }
  }, 300_000);
});
