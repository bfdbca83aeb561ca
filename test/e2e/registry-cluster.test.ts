/**
 * vaultdist_cluster's promises on real TLS nodes (issue #13), with peers files written by the test in
 * the agent's format (registry-discovery.test.ts covers the agent writing them from a real plugin):
 * - `-connect_all false`: it dials only the members in ITS peers file; a node it only learns about
 *   through a peer stays unconnected;
 * - connect_all on (OTP's default, global with prevent_overlapping_partitions): a member that joins
 *   while the nodes' peers files disagree for a moment meshes in without any node going down (the
 *   new node's own file lists everyone; global only ever has it dial out). Noted while writing this:
 *   a node whose peers file lacks a node that global asks it to connect to fails that connect, and
 *   global then DISCONNECTS a peer "to prevent overlapping partitions"; the registry flow avoids
 *   that case because the joining node is always the one that knows everyone;
 * - hidden: a `-hidden` node's connections stay hidden, and `hidden true` attaches a visible node
 *   without joining the mesh;
 * - it never disconnects a node that left the peers file, and it backs off from a dead member;
 * - a wrong or stale port in a peers file reaches nobody else (10 of 10 pings to names whose entry
 *   points at another node's port: pang, no connection on either side).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distFlags } from '../../packages/sdk/src/index.js';
import { parseDistPortFile, renderPeersFile, type PeerEntry } from '../../packages/sdk/src/internal.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { compileErlang, startNode, type ErlNode } from '../helpers/erlang.js';
import { eventually, issueNodeDir } from '../helpers/otp27.js';
import { readFileSync } from 'node:fs';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const ERLANG = join(ROOT, 'packages', 'cli', 'erlang', 'src');

describe('vaultdist_cluster on real TLS nodes', () => {
  const pki = useTestPki();
  const tmp = useTestdir('vaultdist-cluster-');
  let ebin: string;
  const port = new Map<string, number>();
  const dirOf = (n: string) => join(tmp.dir, n.replace(/@.*/, ''));

  beforeAll(async () => {
    ebin = compileErlang([join(ERLANG, 'vaultdist_epmd.erl'), join(ERLANG, 'vaultdist_cluster.erl')]);
  }, 90_000);

  /** Starts a node on a dynamic port with an (initially empty) peers file and the companion. */
  async function start(name: string, o: { connectAllFalse?: boolean; hidden?: boolean; clusterHidden?: boolean; noCompanion?: boolean } = {}): Promise<ErlNode> {
    const dir = dirOf(name);
    const { optfile } = await issueNodeDir(pki, dir, name);
    writeFileSync(join(dir, 'peers'), '');
    const base = distFlags({ optfile, distPort: 1, epmdModule: 'vaultdist_epmd', codePaths: [ebin], listenInterface: '127.0.0.1', connectAllFalse: o.connectAllFalse, hidden: o.hidden });
    base.splice(base.indexOf('-erl_epmd_port'), 2);
    const node = await startNode({
      name,
      dir,
      flags: [
        ...base,
        '-vaultdist_epmd_port_file', join(dir, 'dist.port'),
        '-vaultdist_epmd_peers_file', join(dir, 'peers'),
        '-vaultdist_cluster_interval_ms', '200',
        ...(o.clusterHidden ? ['-vaultdist_cluster_hidden', 'true'] : []),
        ...(o.noCompanion ? [] : ['-s', 'vaultdist_cluster', 'start']),
      ],
    });
    port.set(name, parseDistPortFile(readFileSync(join(dir, 'dist.port'), 'utf8'))!.port);
    return node;
  }

  /** Writes `name`'s peers file listing `members` (as the agent would). */
  const peers = (name: string, members: string[], extra: PeerEntry[] = []) =>
    writeFileSync(
      join(dirOf(name), 'peers'),
      renderPeersFile({ cluster: 'c', state: 'fresh', staleSince: undefined, peers: [...members.map((m) => ({ node: m, host: '127.0.0.1', port: port.get(m)!, state: 'live' as const, expiresAt: undefined, otpRelease: undefined, serial: undefined })), ...extra] }),
    );

  const sorted = async (n: ErlNode, kind: 'visible' | 'hidden' = 'visible') => (await n.nodes(kind)).sort();

  it('with -connect_all false it connects only its own members; hidden stays hidden; never disconnects; backs off from a dead member', async () => {
    const [A, B, C] = ['ca@127.0.0.1', 'cb@127.0.0.1', 'cc@127.0.0.1'];
    const a = await start(A, { connectAllFalse: true });
    const b = await start(B, { connectAllFalse: true });
    const c = await start(C, { connectAllFalse: true });
    // a knows b; b knows a and c; c knows b (+ a member that is dead)
    peers(A, [A, B]);
    peers(B, [A, B, C]);
    peers(C, [B, C], [{ node: 'dead@127.0.0.1', host: '127.0.0.1', port: 1, state: 'stale', expiresAt: undefined, otpRelease: undefined, serial: undefined }]);
    await eventually('b connected to a and c', () => sorted(b), (ns) => ns.join() === [A, C].join());
    await eventually('c connected to b', () => sorted(c), (ns) => ns.join() === [B].join());
    // a never connects to c: c is not in a's peers file and global does not mesh with connect_all false
    await new Promise((r) => setTimeout(r, 1500));
    expect(await sorted(a)).toEqual([B]);
    expect(await sorted(c)).toEqual([B]);
    // the dead member: one warning, then backoff (1 + 2 + 4 ... intervals), not a dial every 200 ms
    const st = await c.eval('maps:get(failing, vaultdist_cluster:status())');
    const fails = Number(/\{'dead@127.0.0.1',(\d+)\}/.exec(st)?.[1]);
    expect(fails).toBeGreaterThanOrEqual(1);
    // a dial every 200 ms would have failed dozens of times by now; doubling delays (0.2, 0.4, 0.8 …
    // 12.6 s for 6) stay in single digits even when a loaded machine stretches the steps above
    expect(fails).toBeLessThanOrEqual(8);
    expect(c.log().match(/vaultdist_cluster: cannot connect to dead@127.0.0.1/g)?.length).toBe(1);

    // b leaves a's peers file (deregistered, evicted or its token revoked): a stays connected
    peers(A, [A]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await sorted(a)).toEqual([B]);
    // ... and after the connection drops, a does not dial b again (b's own file still lists a, so
    // b's companion reconnects from its side: discovery, not authorisation)
    peers(B, [B, C]);
    expect(await a.eval(`erlang:disconnect_node('${B}')`)).toBe('true');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await sorted(a)).toEqual([]);

    // a -hidden node with the companion: its connections are hidden on both sides
    const H = 'ch@127.0.0.1';
    const h = await start(H, { hidden: true });
    peers(H, [B, C, H]);
    await eventually('h hidden-connected to b and c', () => sorted(h, 'hidden'), (ns) => ns.join() === [B, C].join());
    expect(await sorted(h)).toEqual([]);
    expect(await sorted(b)).toEqual([C]);
    expect(await sorted(b, 'hidden')).toEqual([H]);

    // hidden: true on a visible node: attaches without joining the visible mesh. Started the way a
    // supervisor does (Elixir's `{:vaultdist_cluster, peers_file: "…", hidden: true}` calls
    // child_spec/1 with a keyword list and a binary path; a map works too)
    const V = 'cv@127.0.0.1';
    const v = await start(V, { noCompanion: true });
    peers(V, [B, V]);
    expect(await v.eval(`begin #{id := vaultdist_cluster, start := {M, F, A}} = vaultdist_cluster:child_spec([{peers_file, <<"${join(dirOf(V), 'peers')}">>}, {hidden, true}, {interval_ms, 200}]), {ok, Pid} = apply(M, F, A), unlink(Pid), ok end`)).toBe('ok');
    await eventually('v hidden-connected to b', () => sorted(v, 'hidden'), (ns) => ns.join() === [B].join());
    expect(await sorted(v)).toEqual([]);
    expect(await sorted(b)).toEqual([C]);
  }, 120_000);

  it('a wrong or stale port in the peers file reaches nobody else: the dialled node must answer with the name dialled', async () => {
    const [P, Q] = ['cp@127.0.0.1', 'cq@127.0.0.1'];
    const p = await start(P, { connectAllFalse: true });
    const q = await start(Q, { connectAllFalse: true });
    // p's file says "ghost" (and "cr", a node that is gone) listen on q's port: a stale entry, or a
    // registration that lies about its port
    const lying = (node: string): PeerEntry => ({ node, host: '127.0.0.1', port: port.get(Q)!, state: 'stale', expiresAt: undefined, otpRelease: undefined, serial: undefined });
    // ... and q itself is listed at a dead port for now (it restarted; p's file is not updated yet)
    const deadQ: PeerEntry = { node: Q, host: '127.0.0.1', port: 1, state: 'live', expiresAt: undefined, otpRelease: undefined, serial: undefined };
    peers(P, [P], [lying('ghost@127.0.0.1'), lying('cr@127.0.0.1'), deadQ]);
    peers(Q, [Q]);
    let pongs = 0;
    for (let i = 0; i < 5; i++) for (const n of ['ghost@127.0.0.1', 'cr@127.0.0.1']) if ((await p.ping(n)) === 'pong') pongs++;
    await new Promise((r) => setTimeout(r, 1000));
    expect(pongs).toBe(0);
    expect(await p.nodes('connected')).toEqual([]);
    expect(await q.nodes('connected')).toEqual([]);
    // q's entry gets its real port: dialled at once, not after the backoff its dead port earned
    // (5 failures at a 200 ms interval: the next try would be 3.2 s after the 5th)
    await eventually('5 failed dials of q at its dead port', () => p.eval('maps:get(failing, vaultdist_cluster:status())'), (f) => Number(/'cq@127.0.0.1',(\d+)/.exec(f)?.[1] ?? 0) >= 5, 10_000);
    const t0 = Date.now();
    peers(P, [P, Q]);
    // (without the reset the next try comes ~3.1 s later; 2.5 s leaves room for a loaded machine)
    await eventually('p dials q on its new port', () => p.nodes(), (ns) => ns.includes(Q), 2500);
    process.stderr.write(`[registry-cluster] moved entry dialled ${Date.now() - t0} ms after the peers file changed\n`);
  }, 60_000);

  it('connect_all on (the default): a new member joins while the peers files disagree, no node goes down', async () => {
    const [D, E, F] = ['cd@127.0.0.1', 'ce@127.0.0.1', 'cf@127.0.0.1'];
    const d = await start(D);
    const e = await start(E);
    peers(D, [D, E]);
    peers(E, [D, E]);
    await eventually('d and e connected', () => sorted(d), (ns) => ns.join() === [E].join());
    const watch = (n: ErlNode) => n.eval(`begin P = spawn(fun() -> ok = net_kernel:monitor_nodes(true), (fun L() -> receive {nodedown, N} -> io:format("NODEDOWN ~p~n", [N]), L(); _ -> L() end end)() end), register(vd_watch, P), ok end`);
    await watch(d);
    await watch(e);
    // f registers: its own file has everyone at once (the agent reads the members right after
    // registering), d's file gets f first, e's only 2 s later (agents refresh independently)
    const f = await start(F);
    peers(F, [D, E, F]);
    peers(D, [D, E, F]);
    await eventually('f meshed with d and e', () => sorted(f), (ns) => ns.join() === [D, E].join());
    await new Promise((r) => setTimeout(r, 2000));
    peers(E, [D, E, F]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await sorted(d)).toEqual([E, F]);
    expect(await sorted(e)).toEqual([D, F]);
    for (const n of [d, e, f]) expect(n.log()).not.toMatch(/NODEDOWN|overlapping partitions/);
  }, 60_000);
});
