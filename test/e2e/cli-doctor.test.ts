/**
 * `vaultdist doctor` against seeded real problems: an epmd with a registered plain node, a node running
 * plaintext inet_tcp distribution, a node whose optfile has verify_none, a key file readable by others,
 * a certificate expiring inside the margin; and a correct node reported clean.
 *
 * epmd: started on 127.0.0.201 with a random port (never 4369: epmd also binds the loopback address
 * implicitly, and other tests assert 127.0.0.1:4369 is closed); the plain node registers through
 * ERL_EPMD_PORT, and is killed by PID afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distFlags } from '../../packages/sdk/src/index.js';
import { testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { sharedFreePort, startNode, tcpOpen } from '../helpers/erlang.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';

interface Line {
  type: string;
  check?: string;
  severity?: string;
  target?: string;
  message?: string;
  fix?: string;
  clean?: boolean;
}
const parse = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
const errors = (lines: Line[]) => lines.filter((l) => l.severity === 'error');

describe('vaultdist doctor finds seeded problems on real nodes', () => {
  const pki = useTestPki();
  let epmd: ChildProcess | undefined;
  const tmp = useTestdir();
  const v = testVault();
  afterAll(async () => {
    if (epmd?.pid && epmd.exitCode === null) epmd.kill('SIGKILL');
  });

  const initNode = async (name: string, dir: string, extra: string[] = []) => {
    const r = await vaultdist(['init', 'node', '--name', name, '--dir', dir, '--mount', pki.mount, '--role', pki.role, '--policy', `vd-${pki.mount}`, ...extra], { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token } });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
  };

  it('reports epmd name leaks and a plaintext inet_tcp node', async () => {
    // An epmd on 127.0.0.201 (random port), and a plain node that registers with it.
    const epmdPort = await sharedFreePort(['127.0.0.1', '127.0.0.201']);
    epmd = spawn('epmd', ['-port', String(epmdPort)], { env: { ...process.env, ERL_EPMD_ADDRESS: '127.0.0.201' }, stdio: 'ignore' });
    for (let i = 0; i < 50 && !(await tcpOpen('127.0.0.201', epmdPort)); i++) await new Promise((r) => setTimeout(r, 100));
    const plain = await startNode({
      name: 'plain@127.0.0.201',
      dir: join(tmp.dir, 'plain'),
      flags: ['-start_epmd', 'false', '-kernel', 'inet_dist_use_interface', '{127,0,0,201}'],
      env: { ERL_EPMD_PORT: String(epmdPort) },
    });
    // The port epmd hands out for it (asked through the node's own epmd client).
    const distPort = Number(await plain.eval(`{port, P, _} = erl_epmd:port_please("plain", {127,0,0,201}), P`));
    expect(distPort).toBeGreaterThan(0);

    const doc = await vaultdist(['doctor', '--epmd', `127.0.0.201:${epmdPort}`, '--probe', `127.0.0.201:${distPort}`, '--json']);
    expect(doc.code).toBe(20);
    const lines = parse(doc.stdout);
    const leak = lines.find((l) => l.check === 'epmd.names')!;
    expect(leak).toMatchObject({ severity: 'error', target: `127.0.0.201:${epmdPort}` });
    expect(leak.message).toContain(`plain (dist port ${distPort})`);
    expect(leak.fix).toMatch(/-start_epmd false/);
    expect(lines.find((l) => l.check === 'dist.plaintext')).toMatchObject({ severity: 'error', target: `127.0.0.201:${distPort}` });
    expect(lines.at(-1)).toMatchObject({ type: 'summary', clean: false });

    // Human output names the same findings with a fix line each.
    const human = await vaultdist(['doctor', '--epmd', `127.0.0.201:${epmdPort}`, '--probe', `127.0.0.201:${distPort}`]);
    expect(human.code).toBe(20);
    expect(human.stdout).toMatch(/ERROR epmd\.names/);
    expect(human.stdout).toMatch(/ERROR dist\.plaintext/);
    expect(human.stdout).toMatch(/fix: start the node with -proto_dist vaultdist_tls/);
  }, 120_000);

  it('reports verify_none (file and live node), a world-readable key, an expiring certificate; and a correct node as clean', async () => {
    const port = await sharedFreePort(['127.0.0.202', '127.0.0.203']);
    const weakDir = join(tmp.dir, 'weak');
    const goodDir = join(tmp.dir, 'good');
    await initNode('weak@127.0.0.202', weakDir, ['--dist-port', String(port)]);
    await initNode('good@127.0.0.203', goodDir, ['--dist-port', String(port), '--ttl', '10m']);

    // A node whose server options say verify_none (and so cannot demand a client certificate).
    const weakOpt = join(weakDir, 'weak.conf');
    const text = readFileSync(join(weakDir, 'ssl_dist.conf'), 'utf8');
    const [server, client] = text.split('{client,');
    writeFileSync(weakOpt, `${server!.replace('{verify, verify_peer}', '{verify, verify_none}').replace(/,\s*\{fail_if_no_peer_cert, true\}/, '')}{client,${client}`);
    // on OTP's inet_tls: the vaultdist_tls carrier refuses a peer without a certificate whatever the
    // optfile says, so only a node off the carrier can be this weak
    await startNode({ name: 'weak@127.0.0.202', dir: weakDir, flags: distFlags({ optfile: weakOpt, distPort: port, listenInterface: '127.0.0.202', carrier: 'inet_tls' }) });
    const good = await startNode({ name: 'good@127.0.0.203', dir: goodDir, flags: ['-args_file', join(goodDir, 'vm.args')] });
    expect(await good.ping('weak@127.0.0.202')).toBe('pong');

    const weak = await vaultdist(['doctor', '--optfile', weakOpt, '--probe', `127.0.0.202:${port}`, '--json']);
    expect(weak.code).toBe(20);
    const wl = parse(weak.stdout);
    expect(errors(wl).map((l) => l.check)).toEqual(expect.arrayContaining(['optfile.verify_none', 'optfile.server.verify_peer', 'optfile.server.fail_if_no_peer_cert', 'dist.client_cert']));
    expect(wl.find((l) => l.check === 'optfile.verify_none')!.fix).toMatch(/verify_peer/);

    // The correct node is clean: default margin (a third of a 10 min lifetime), live probe included.
    const clean = await vaultdist(['doctor', '--dir', goodDir, '--probe', `127.0.0.203:${port}`]);
    expect(clean.stdout).toMatch(/doctor: clean/);
    expect(clean.code).toBe(0);

    // The same certificate is inside a 1 h margin: on disk and as served by the node.
    const margin = await vaultdist(['doctor', '--dir', goodDir, '--probe', `127.0.0.203:${port}`, '--margin', '1h', '--json']);
    expect(margin.code).toBe(20);
    expect(errors(parse(margin.stdout)).map((l) => l.check).sort()).toEqual(['cert.expiry', 'dist.served_cert']);

    // A key file readable by others.
    const keyFile = realpathSync(join(goodDir, 'bundle.pem'));
    chmodSync(keyFile, 0o644);
    const perm = await vaultdist(['doctor', '--dir', goodDir, '--json']);
    expect(perm.code).toBe(20);
    const p = errors(parse(perm.stdout));
    expect(p.map((l) => l.check)).toEqual(['key.permissions']);
    expect(p[0]!.message).toMatch(/0644: readable by everyone/);
    expect(p[0]!.fix).toBe(`chmod 600 ${join(goodDir, 'bundle.pem')}`);

    // `vaultdist issue` (one-off, for scripts) writes a fresh set (0600 again): the local checks pass.
    const before = JSON.parse((await vaultdist(['status', '--dir', goodDir, '--json'])).stdout) as { nodes: { serial: string }[] };
    const issued = await vaultdist(['issue', '--dir', goodDir, '--json'], { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token } });
    expect(issued.code).toBe(0);
    const res = JSON.parse(issued.stdout) as { node: string; serial: string; notAfter: string };
    expect(res.node).toBe('good@127.0.0.203');
    expect(res.serial).not.toBe(before.nodes[0]!.serial);
    const fixed = await vaultdist(['doctor', '--dir', goodDir]);
    expect(fixed.stdout).toMatch(/doctor: clean/);
    expect(fixed.code).toBe(0);
  }, 120_000);

  it('rejects a doctor call with nothing to check (exit 2) and a bad address', async () => {
    const none = await vaultdist(['doctor']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--dir DIR/);
    const bad = await vaultdist(['doctor', '--probe', 'nohostport']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--probe: "nohostport" is not HOST:PORT/);
  }, 30_000);
});
