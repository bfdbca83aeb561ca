/**
 * Compatibility lane: certificate rotation on OTP 27. The distribution still caches cert, key and CA
 * in `ssl_pem_cache_dist` (ssl 11.2 source: the same `{unconditionally_clear_pem_cache, _}` clause as
 * ssl 10.8 on OTP 25), so after the credential files are swapped a node keeps serving the old
 * certificate until the companion module vaultdist_reload (compiled by the host's OTP 25 erlc: OTP 27
 * loads those beams) clears that cache, by call or by SIGHUP; the live link is untouched.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distFlags, probeDistCertificate } from '../../packages/sdk/src/index.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { compileErlang, sharedFreePort, startNode } from '../helpers/erlang.js';
import { describeOtp27, eventually, issueNodeDir, logMatches } from '../helpers/otp27.js';

const REPO = join(fileURLToPath(import.meta.url), '..', '..', '..');
const RELOAD_SRC = join(REPO, 'packages', 'cli', 'erlang', 'src', 'vaultdist_reload.erl');
const HOSTS = ['127.0.0.1', '127.0.0.2'];
const CTRL = (peer: string) => `element(2, lists:keyfind('${peer}', 1, erlang:system_info(dist_ctrl)))`;

describeOtp27('OTP 27: rotate and reload with vaultdist_reload', (lane) => {
  const pki = useTestPki();
  const tmp = useTestdir('vaultdist-otp27-');

  it('serves the old certificate after a swap until reload/0 or SIGHUP; the live link stays up', async () => {
    const ebin = compileErlang([RELOAD_SRC]);
    const port = await sharedFreePort(HOSTS);
    const fooDir = join(tmp.dir, 'foo');
    let foo = await issueNodeDir(pki, fooDir, 'foo@127.0.0.1');
    const bar = await issueNodeDir(pki, join(tmp.dir, 'bar'), 'bar@127.0.0.2');
    const pidfile = join(fooDir, 'beam.pid');
    const fooNode = await startNode({
      name: 'foo@127.0.0.1',
      dir: fooDir,
      erl: lane().erl,
      flags: [
        ...distFlags({ optfile: foo.optfile, distPort: port, listenInterface: '127.0.0.1', codePaths: [ebin] }),
        ...['-vaultdist_sighup', 'true', '-vaultdist_pidfile', pidfile, '-s', 'vaultdist_reload', 'start'],
      ],
    });
    const barNode = await startNode({ name: 'bar@127.0.0.2', dir: bar.dir, erl: lane().erl, flags: distFlags({ optfile: bar.optfile, distPort: port, listenInterface: '127.0.0.2' }) });
    expect(await fooNode.eval('erlang:system_info(otp_release)')).toBe('"27"');

    const served = async () => {
      const b = readFileSync(bar.bundle, 'utf8');
      const p = await probeDistCertificate({ host: '127.0.0.1', port, cert: b, key: b, ca: readFileSync(bar.ca, 'utf8'), servername: '127.0.0.1' });
      if (!p.ok) throw new Error(`probe of foo failed: ${p.error}`);
      return p.serial!;
    };

    expect(await barNode.ping('foo@127.0.0.1')).toBe('pong');
    const ctrl = await barNode.eval(CTRL('foo@127.0.0.1'));
    const first = foo.res.issued.serial;
    expect(await served()).toBe(first);
    // The dist PEM cache exists on 27 and still refreshes only every 120 s by default (#state.clear).
    expect(await fooNode.eval('element(4, sys:get_state(ssl_pem_cache_dist))')).toBe('120000');

    // Swap foo's files (the SDK's atomic symlink swap; the optfile is unchanged). No reload: old cert.
    foo = await issueNodeDir(pki, fooDir, 'foo@127.0.0.1');
    const second = foo.res.issued.serial;
    expect(second).not.toBe(first);
    expect(await served()).toBe(first);

    // reload/0: the private message is still understood on OTP 27.
    expect(await fooNode.eval('vaultdist_reload:reload()')).toBe('{ok,#{dist => ok,ssl => not_running}}');
    expect(await served()).toBe(second);

    // SIGHUP to the pid in the pidfile (the wrapper execs down to beam.smp, so it is the harness's pid).
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    expect(pid).toBe(fooNode.pid);
    expect(pid).toBe(await fooNode.osPid());
    foo = await issueNodeDir(pki, fooDir, 'foo@127.0.0.1');
    const third = foo.res.issued.serial;
    expect(await served()).toBe(second);
    process.kill(pid, 'SIGHUP');
    await eventually('foo serves the third serial after SIGHUP', served, (s) => s === third);
    await logMatches(fooNode, /reloaded \(trigger sighup\)/);
    expect(fooNode.alive).toBe(true);

    // The existing link was never touched: same controller, still up.
    expect(await barNode.eval(CTRL('foo@127.0.0.1'))).toBe(ctrl);
    expect(await barNode.eval(`rpc:call('foo@127.0.0.1', erlang, node, [])`)).toBe(`'foo@127.0.0.1'`);
  }, 120_000);
});
