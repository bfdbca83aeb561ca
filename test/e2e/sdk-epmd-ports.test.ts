/**
 * distFlags' per-node port options (`epmdPorts`, `epmdPortBase`) with the compiled companion module
 * (packages/cli/erlang/src/vaultdist_epmd.erl) on real OTP 25 nodes: two nodes on the SAME IP, each on
 * its own port (one from the map, one derived from the base), started from distFlags output only,
 * connect over mutual-TLS distribution with Vault-signed certificates. The shared fallback port
 * (`distPort`) is left unused, so a node that ignored the per-node options could not be reached.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distFlags, issueNodeCredentials, renderOptfile } from '../../packages/sdk/src/index.js';
import { compileErlang, sharedFreePort, startNode, tcpOpen } from '../helpers/erlang.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const ERLANG = join(fileURLToPath(import.meta.url), '..', '..', '..', 'packages', 'cli', 'erlang', 'src');
const IP = '127.0.0.1';

describe('distFlags epmdPorts / epmdPortBase with vaultdist_epmd on real nodes', () => {
  const pki = useTestPki();
  const tmp = useTestdir();
  let ebin: string;
  beforeAll(async () => {
    ebin = compileErlang([join(ERLANG, 'vaultdist_epmd.erl')]);
  }, 90_000);

  async function optfileFor(node: string): Promise<{ dir: string; optfile: string }> {
    const dir = join(tmp.dir, node.replace(/[@.]/g, '_'));
    const r = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node, dir });
    const optfile = join(dir, 'ssl_dist.conf');
    writeFileSync(optfile, renderOptfile({ bundleFile: r.written.bundlePath, caFile: r.written.caPath }));
    return { dir, optfile };
  }

  /** Three distinct free ports on IP: two node ports and the unused fallback. */
  async function threePorts(): Promise<[number, number, number]> {
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await sharedFreePort([IP]));
    return [...ports] as [number, number, number];
  }

  it('two nodes on one IP, ports from the map and from the base, connect over TLS', async () => {
    const [mapPort, derivedPort, fallback] = await threePorts();
    // "web" is in the map under its full name; "worker7" is not, so it gets base + 7.
    const base = derivedPort - 7;
    const a = await optfileFor(`web@${IP}`);
    const b = await optfileFor(`worker7@${IP}`);
    // Every node gets the same flags (the fleet-wide port plan), only its optfile differs.
    const flags = (optfile: string) =>
      distFlags({
        optfile,
        distPort: fallback,
        epmdModule: 'vaultdist_epmd',
        epmdPorts: { [`web@${IP}`]: mapPort },
        epmdPortBase: base,
        codePaths: [ebin],
        listenInterface: IP,
      });
    expect(flags(a.optfile).join(' ')).toContain(`-vaultdist_epmd_ports web@${IP}=${mapPort} -vaultdist_epmd_port_base ${base}`);

    const web = await startNode({ name: `web@${IP}`, dir: a.dir, flags: flags(a.optfile) });
    const worker = await startNode({ name: `worker7@${IP}`, dir: b.dir, flags: flags(b.optfile) });

    // Each node listens on its own port on the shared IP; nothing on the fallback.
    expect(await web.eval(`vaultdist_epmd:port_for(web, "${IP}")`)).toBe(`{ok,${mapPort}}`);
    expect(await web.eval(`vaultdist_epmd:port_for(worker7, "${IP}")`)).toBe(`{ok,${derivedPort}}`);
    expect(await tcpOpen(IP, mapPort)).toBe(true);
    expect(await tcpOpen(IP, derivedPort)).toBe(true);
    expect(await tcpOpen(IP, fallback)).toBe(false);

    // Both directions, over TLS 1.3 mutual-TLS distribution.
    expect(await worker.ping(`web@${IP}`)).toBe('pong');
    expect(await web.nodes()).toEqual([`worker7@${IP}`]);
    expect(await web.ping(`worker7@${IP}`)).toBe('pong');
    expect(
      await web.eval(`[{_, Ctrl}] = erlang:system_info(dist_ctrl), {ok, S} = tls_sender:dist_tls_socket(Ctrl), ssl:connection_information(S, [protocol])`),
    ).toBe("{ok,[{protocol,'tlsv1.3'}]}");
    // The connection runs between the two configured ports (worker dialled web's map port).
    expect(
      await worker.eval(
        `[{_, Ctrl}] = erlang:system_info(dist_ctrl), {ok, S} = tls_sender:dist_tls_socket(Ctrl), {ok, {_, P}} = ssl:peername(S), P`,
      ),
    ).toBe(String(mapPort));
    expect(await web.eval('net_adm:names()')).toBe('{error,address}');
  }, 90_000);
});
