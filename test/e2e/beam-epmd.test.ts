/**
 * The companion epmd module (vaultdist_epmd) with the vaultdist_tls carrier on real OTP 25 nodes with
 * Vault-issued certificates: several nodes share one IP on different configured ports, no epmd is
 * contacted at all (a canary listener standing in for epmd sees nothing, while a control node with the
 * default erl_epmd does reach it), and a node presenting another node's valid certificate on the same
 * host is refused before nodeup (the attack matrix measures that case in depth).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distFlags, issueNodeCredentials, renderOptfile } from '../../packages/sdk/src/index.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { compileErlang, portFreeOn, startNode, tcpOpen } from '../helpers/erlang.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const ERLANG = join(ROOT, 'packages', 'cli', 'erlang', 'src');

async function eventually<T>(what: string, fn: () => Promise<T>, pred: (v: T) => boolean, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!pred(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms (last ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}

/** A base port B with B+1..B+n free on 127.0.0.1. */
async function freeBase(n: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const b = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let k = 1; k <= n && ok; k++) ok = await portFreeOn(b + k, ['127.0.0.1']);
    if (ok) return b;
  }
  throw new Error('no free port range');
}

/** A TCP listener standing in for epmd: counts every connection it receives. */
async function canary(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  if (!a || typeof a !== 'object') throw new Error('canary has no port');
  return { port: a.port, connections: () => count, close: () => new Promise((r) => server.close(() => r())) };
}

describe('vaultdist_epmd with the vaultdist_tls carrier on real OTP 25 nodes', () => {
  const pki = useTestPki();
  const tmp = useTestdir();
  let ebin: string;
  let can: Awaited<ReturnType<typeof canary>>;

  beforeAll(async () => {
    ebin = compileErlang([join(ERLANG, 'vaultdist_epmd.erl')]);
    can = await canary();
  }, 90_000);
  afterAll(async () => {
    await can?.close();
  });

  async function optfileFor(node: string): Promise<string> {
    const dir = join(tmp.dir, node.replace(/[@.]/g, '_'));
    const r = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node, dir });
    const optfile = join(dir, 'ssl_dist.conf');
    writeFileSync(optfile, renderOptfile({ bundleFile: r.written.bundlePath, caFile: r.written.caPath }));
    return optfile;
  }

  it('same-IP nodes on configured ports connect without any epmd contact; an impostor is refused before nodeup', async () => {
    const base = await freeBase(3);
    const optN1 = await optfileFor('n1@127.0.0.1');
    const optN2 = await optfileFor('n2@127.0.0.1');
    // Every node gets the same port configuration: n1/n2 derived from the base, "evil" from the map.
    // `-epmd_port` points the (unused) epmd client at the canary: any epmd contact would show up there.
    const epmdFlags = (optfile: string) => [
      ...distFlags({ optfile, distPort: base + 1, epmdModule: 'vaultdist_epmd', codePaths: [ebin], listenInterface: '127.0.0.1' }),
      '-vaultdist_epmd_port_base', String(base),
      '-vaultdist_epmd_ports', `evil=${base + 3}`,
      '-epmd_port', String(can.port),
    ];
    const n1 = await startNode({ name: 'n1@127.0.0.1', dir: join(tmp.dir, 'n1'), flags: epmdFlags(optN1) });
    const n2 = await startNode({ name: 'n2@127.0.0.1', dir: join(tmp.dir, 'n2'), flags: epmdFlags(optN2) });

    expect(await n2.ping('n1@127.0.0.1')).toBe('pong');
    expect(await n1.nodes()).toEqual(['n2@127.0.0.1']);
    // Both on 127.0.0.1, each on its own port.
    expect(await tcpOpen('127.0.0.1', base + 1)).toBe(true);
    expect(await tcpOpen('127.0.0.1', base + 2)).toBe(true);
    expect(await n1.eval(`vaultdist_epmd:port_for("n2", "127.0.0.1")`)).toBe(`{ok,${base + 2}}`);
    expect(await n1.eval('net_adm:names()')).toBe('{error,address}');

    // "evil" presents n2's perfectly valid certificate (same host, same CA).
    const evil = await startNode({ name: 'evil@127.0.0.1', dir: join(tmp.dir, 'evil'), flags: epmdFlags(optN2) });
    expect(await evil.ping('n1@127.0.0.1')).toBe('pang');
    await eventually('n1 logs the refusal', async () => n1.log(), (l) => /vaultdist_tls: refused .* before nodeup: claimed node evil@127\.0\.0\.1, certificate is for n2@127\.0\.0\.1/.test(l));
    expect(await n1.nodes('connected')).toEqual(['n2@127.0.0.1']);

    // No epmd contact: the canary saw nothing. (An epmd started by another process on the machine may
    // listen on 4369; if so, none of these nodes is registered with it.)
    expect(can.connections()).toBe(0);
    if (await tcpOpen('127.0.0.1', 4369)) {
      expect(execFileSync('epmd', ['-names'], { encoding: 'utf8' })).not.toMatch(/^name (n1|n2|evil) at/m);
    }

    // Control: a node with OTP's default erl_epmd and the same -epmd_port DOES try the canary (it
    // registers with "an epmd if one runs"), so the zero above is meaningful.
    const optCtl = await optfileFor('ctl@127.0.0.2');
    const ctl = await startNode({
      name: 'ctl@127.0.0.2',
      dir: join(tmp.dir, 'ctl'),
      flags: [...distFlags({ optfile: optCtl, distPort: base + 1, listenInterface: '127.0.0.2' }), '-epmd_port', String(can.port)],
    });
    await eventually('the default erl_epmd contacts the canary', async () => can.connections(), (n) => n > 0);
    await ctl.stop();
  }, 90_000);

  it('refuses to start distribution when no port is configured for the node itself, naming the node', async () => {
    const opt = await optfileFor('lost@127.0.0.1');
    const lost = await startNode({
      name: 'lost@127.0.0.1',
      dir: join(tmp.dir, 'lost'),
      flags: ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', opt, '-start_epmd', 'false', '-epmd_module', 'vaultdist_epmd', '-pa', ebin],
      waitReady: false,
    });
    expect(await lost.waitExit()).not.toBe(0);
    // At this point of the boot the logger prints nothing yet; OTP prints the error term itself.
    expect(lost.log()).toContain(`Protocol 'inet_tls': register/listen error: {vaultdist_epmd,{no_port,"lost@127.0.0.1"}}`);
  }, 90_000);
});
