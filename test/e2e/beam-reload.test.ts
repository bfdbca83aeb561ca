/**
 * The companion reload module (packages/cli/erlang/src/vaultdist_reload.erl) on real OTP 25 nodes with
 * Vault-issued certificates: after the credential files are swapped, a node keeps serving the old
 * certificate until the distribution PEM cache is cleared; reload/0, SIGHUP and the content poller each
 * make it serve the new one, while the existing distribution link stays up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distFlags, issueNodeCredentials, probeDistCertificate, renderOptfile, type IssueNodeCredentialsResult } from '../../packages/sdk/src/index.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { compileErlang, sharedFreePort, startNode, type ErlNode } from '../helpers/erlang.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const RELOAD_SRC = join(ROOT, 'packages', 'cli', 'erlang', 'src', 'vaultdist_reload.erl');
const HOSTS = ['127.0.0.1', '127.0.0.2'];

/** Polls until `pred` holds (a deadline for async effects, not a speed assertion). */
async function eventually<T>(what: string, fn: () => Promise<T>, pred: (v: T) => boolean, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!pred(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: condition not reached within ${timeoutMs} ms (last value ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}

/** Serial (Vault format aa:bb:…) of the certificate the peer presented on the live dist connection. */
const PEER_SERIAL = (peer: string) =>
  `begin {_, Ctrl} = lists:keyfind('${peer}', 1, erlang:system_info(dist_ctrl)), {ok, S} = tls_sender:dist_tls_socket(Ctrl), ` +
  `{ok, Der} = ssl:peercert(S), C = public_key:pkix_decode_cert(Der, otp), ` +
  `string:lowercase(integer_to_list(element(3, element(2, C)), 16)) end`;

const hexToVault = (h: string) => {
  const s = h.replace(/^"|"$/g, '');
  return (s.length % 2 ? `0${s}` : s).match(/../g)!.join(':');
};

describe('vaultdist_reload on real OTP 25 nodes', () => {
  const pki = useTestPki();
  const tmp = useTestdir();
  let ebin: string;
  let port: number;
  const dirs: Record<string, string> = {};
  const issued: Record<string, IssueNodeCredentialsResult> = {};
  let foo: ErlNode;
  let bar: ErlNode;

  const issue = async (name: string) => {
    issued[name] = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: name, dir: dirs[name]! });
    return issued[name]!;
  };

  /** Probes `host`'s dist port with the other node's credentials; returns the served serial. */
  const served = async (host: string, asNode: string) => {
    const b = readFileSync(join(dirs[asNode]!, 'bundle.pem'), 'utf8');
    const p = await probeDistCertificate({ host, port, cert: b, key: b, ca: readFileSync(join(dirs[asNode]!, 'ca.pem'), 'utf8'), servername: host });
    if (!p.ok) throw new Error(`probe of ${host}:${port} failed: ${p.error}`);
    return p.serial!;
  };

  beforeAll(async () => {
    ebin = compileErlang([RELOAD_SRC]);
    port = await sharedFreePort(HOSTS);
    for (const n of ['foo@127.0.0.1', 'bar@127.0.0.2']) {
      dirs[n] = join(tmp.dir, n.replace(/[@.]/g, '_'));
      const r = await issue(n);
      writeFileSync(join(dirs[n]!, 'ssl_dist.conf'), renderOptfile({ bundleFile: r.written.bundlePath, caFile: r.written.caPath }));
    }
    const flags = (n: string, ip: string) => [
      ...distFlags({ optfile: join(dirs[n]!, 'ssl_dist.conf'), distPort: port, listenInterface: ip, codePaths: [ebin] }),
    ];
    // foo: SIGHUP handler + pidfile at boot; bar: content poller only (no SIGHUP handler).
    foo = await startNode({
      name: 'foo@127.0.0.1',
      dir: dirs['foo@127.0.0.1']!,
      flags: [...flags('foo@127.0.0.1', '127.0.0.1'), '-vaultdist_sighup', 'true', '-vaultdist_pidfile', join(dirs['foo@127.0.0.1']!, 'beam.pid'), '-s', 'vaultdist_reload', 'start'],
    });
    const barDir = dirs['bar@127.0.0.2']!;
    bar = await startNode({
      name: 'bar@127.0.0.2',
      dir: barDir,
      flags: [
        ...flags('bar@127.0.0.2', '127.0.0.2'),
        '-vaultdist_poll', `${join(barDir, 'bundle.pem')},${join(barDir, 'ca.pem')}`,
        '-vaultdist_poll_ms', '200',
        '-s', 'vaultdist_reload', 'start',
      ],
    });
  }, 60_000);

  it('serves the old certificate after a file swap until reload/0, then the new one; the live link stays up', async () => {
    expect(await foo.ping('bar@127.0.0.2')).toBe('pong');
    const ctrlBefore = await bar.eval(`element(2, lists:keyfind('foo@127.0.0.1', 1, erlang:system_info(dist_ctrl)))`);
    const first = issued['foo@127.0.0.1']!.issued.serial;
    expect(hexToVault(await bar.eval(PEER_SERIAL('foo@127.0.0.1')))).toBe(first);
    expect(await served('127.0.0.1', 'bar@127.0.0.2')).toBe(first);

    // The pidfile holds beam.smp's pid, written at boot by `-s vaultdist_reload start`.
    expect(Number(readFileSync(join(dirs['foo@127.0.0.1']!, 'beam.pid'), 'utf8').trim())).toBe(await foo.osPid());

    // Swap foo's files (atomic symlink swap). Without a reload the node still serves the old serial.
    const second = (await issue('foo@127.0.0.1')).issued.serial;
    expect(second).not.toBe(first);
    expect(await served('127.0.0.1', 'bar@127.0.0.2')).toBe(first);

    // reload/0 (plain erl: the ssl application's own cache is not running).
    expect(await foo.eval('vaultdist_reload:reload()')).toBe('{ok,#{dist => ok,ssl => not_running}}');
    expect(await served('127.0.0.1', 'bar@127.0.0.2')).toBe(second);
    expect(foo.log()).toMatch(/vaultdist_reload: TLS distribution certificates reloaded \(trigger api\)/);

    // Concurrent calls are safe: all succeed.
    expect(
      await foo.eval(
        `Self = self(), [spawn(fun() -> Self ! vaultdist_reload:reload() end) || _ <- lists:seq(1, 8)], lists:usort([receive R -> R after 10000 -> timeout end || _ <- lists:seq(1, 8)])`,
      ),
    ).toBe('[{ok,#{dist => ok,ssl => not_running}}]');

    // The existing connection was never touched: same controller, still carrying the first certificate.
    expect(await bar.eval(`element(2, lists:keyfind('foo@127.0.0.1', 1, erlang:system_info(dist_ctrl)))`)).toBe(ctrlBefore);
    expect(hexToVault(await bar.eval(PEER_SERIAL('foo@127.0.0.1')))).toBe(first);
    expect(await bar.eval(`rpc:call('foo@127.0.0.1', erlang, node, [])`)).toBe(`'foo@127.0.0.1'`);
  }, 60_000);

  it('reloads on SIGHUP (the pid from the pidfile), and survives 5 SIGHUPs in a row', async () => {
    const ctrlBefore = await bar.eval(`element(2, lists:keyfind('foo@127.0.0.1', 1, erlang:system_info(dist_ctrl)))`);
    const pid = Number(readFileSync(join(dirs['foo@127.0.0.1']!, 'beam.pid'), 'utf8').trim());
    const before = await served('127.0.0.1', 'bar@127.0.0.2');
    const third = (await issue('foo@127.0.0.1')).issued.serial;
    expect(await served('127.0.0.1', 'bar@127.0.0.2')).toBe(before);

    process.kill(pid, 'SIGHUP');
    await eventually('foo serves the new serial after SIGHUP', () => served('127.0.0.1', 'bar@127.0.0.2'), (s) => s === third);
    await eventually('SIGHUP reload logged', async () => foo.log(), (l) => /reloaded \(trigger sighup\)/.test(l));

    // Five back to back (the kernel may coalesce pending HUPs into fewer deliveries: at least one more reload).
    for (let i = 0; i < 5; i++) process.kill(pid, 'SIGHUP');
    await eventually('more SIGHUP reloads logged', async () => (foo.log().match(/reloaded \(trigger sighup\)/g) ?? []).length, (n) => n >= 2);
    expect(foo.alive).toBe(true);
    expect(await foo.eval('1 + 1')).toBe('2');
    expect(await served('127.0.0.1', 'bar@127.0.0.2')).toBe(third);
    expect(await bar.eval(`element(2, lists:keyfind('foo@127.0.0.1', 1, erlang:system_info(dist_ctrl)))`)).toBe(ctrlBefore);
    expect(await foo.ping('bar@127.0.0.2')).toBe('pong');
  }, 60_000);

  it('the content poller reloads when the files change, with no signal', async () => {
    const before = issued['bar@127.0.0.2']!.issued.serial;
    expect(await served('127.0.0.2', 'foo@127.0.0.1')).toBe(before);
    const next = (await issue('bar@127.0.0.2')).issued.serial;
    await eventually('bar serves the new serial (poller)', () => served('127.0.0.2', 'foo@127.0.0.1'), (s) => s === next);
    expect(bar.log()).toMatch(/reloaded \(trigger poll\)/);
    expect(await foo.nodes()).toEqual(['bar@127.0.0.2']);
  }, 60_000);

  it('clears the ssl application cache too when it runs', async () => {
    expect(await foo.eval('{ok, _} = application:ensure_all_started(ssl), vaultdist_reload:reload()')).toBe('{ok,#{dist => ok,ssl => ok}}');
  }, 60_000);
});
