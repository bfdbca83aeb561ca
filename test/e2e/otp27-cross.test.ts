/**
 * Compatibility lane: mixed clusters. An OTP 25 node (the host's erl) and an OTP 27 node (the trixie
 * root) connect over mutual TLS in both directions with the SDK's optfile, and an Elixir 1.18 node
 * (OTP 27) joins the OTP 25 node with the same flags passed through `elixir --erl`. Also records one
 * difference: an extra `-ssl_dist_opt` next to the optfile is ignored by OTP 25 but merged by OTP 27.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { distFlags, parseCertificate } from '../../packages/sdk/src/index.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { carrierEbin, compileErlang, sharedFreePort, startNode } from '../helpers/erlang.js';
import { describeOtp27, issueNodeDir } from '../helpers/otp27.js';

const REPO = join(fileURLToPath(import.meta.url), '..', '..', '..');
const RELOAD_SRC = join(REPO, 'packages', 'cli', 'erlang', 'src', 'vaultdist_reload.erl');
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const PEER = (peer: string) =>
  `begin {_, Ctrl} = lists:keyfind('${peer}', 1, erlang:system_info(dist_ctrl)), {ok, S} = tls_sender:dist_tls_socket(Ctrl), ` +
  `{ok, [{protocol, P}]} = ssl:connection_information(S, [protocol]), {ok, Der} = ssl:peercert(S), ` +
  `{P, integer_to_list(element(3, element(2, public_key:pkix_decode_cert(Der, otp))), 16)} end`;
const hexSerial = (vault: string) => vault.replace(/:/g, '').replace(/^0+/, '').toUpperCase();
const CIPHER = (peer: string) =>
  `begin {_, Ctrl} = lists:keyfind('${peer}', 1, erlang:system_info(dist_ctrl)), {ok, S} = tls_sender:dist_tls_socket(Ctrl), ` +
  `{ok, [{selected_cipher_suite, #{cipher := C}}]} = ssl:connection_information(S, [selected_cipher_suite]), C end`;
// Given to both nodes next to the optfile: OTP 25 ignores -ssl_dist_opt when an optfile is given;
// OTP 27 merges it with the optfile's options (optfile last, so the optfile wins on a repeated key).
const EXTRA_OPT = ['-ssl_dist_opt', 'client_ciphers', 'TLS_AES_128_GCM_SHA256'];

describeOtp27('OTP 25 <-> OTP 27 (and Elixir 1.18) over mTLS distribution', (lane) => {
  const pki = useTestPki();
  const tmp = useTestdir('vaultdist-otp27-');

  it('connects 25 -> 27 and 27 -> 25, each side seeing the other\'s Vault certificate over TLS 1.3; Elixir 1.18 joins', async () => {
    const port = await sharedFreePort(HOSTS);
    const a = await issueNodeDir(pki, join(tmp.dir, 'a25'), 'a25@127.0.0.1');
    const b = await issueNodeDir(pki, join(tmp.dir, 'b27'), 'b27@127.0.0.2');
    const flags = (optfile: string, ip: string, codePaths: string[] = []) => distFlags({ optfile, distPort: port, listenInterface: ip, codePaths });
    const a25 = await startNode({ name: 'a25@127.0.0.1', dir: a.dir, flags: [...flags(a.optfile, '127.0.0.1'), ...EXTRA_OPT] });
    const b27 = await startNode({ name: 'b27@127.0.0.2', dir: b.dir, erl: lane().erl, flags: [...flags(b.optfile, '127.0.0.2'), ...EXTRA_OPT] });
    expect(await a25.eval('erlang:system_info(otp_release)')).toBe('"25"');
    expect(await b27.eval('erlang:system_info(otp_release)')).toBe('"27"');

    // 25 dials 27 (25 is the TLS client, 27 the server).
    expect(await a25.ping('b27@127.0.0.2')).toBe('pong');
    expect(await a25.eval(PEER('b27@127.0.0.2'))).toBe(`{'tlsv1.3',"${hexSerial(b.res.issued.serial)}"}`);
    expect(await b27.eval(PEER('a25@127.0.0.1'))).toBe(`{'tlsv1.3',"${hexSerial(a.res.issued.serial)}"}`);
    // The 25 client ignored -ssl_dist_opt: the default TLS 1.3 suite preference (AES-256-GCM) was used.
    expect(await a25.eval(CIPHER('b27@127.0.0.2'))).toBe('aes_256_gcm');

    // Drop the link from both sides, then 27 dials 25.
    expect(await b27.eval(`erlang:disconnect_node('a25@127.0.0.1')`)).toBe('true');
    expect(await b27.nodes()).toEqual([]);
    expect(await b27.ping('a25@127.0.0.1')).toBe('pong');
    expect(await b27.eval(PEER('a25@127.0.0.1'))).toBe(`{'tlsv1.3',"${hexSerial(a.res.issued.serial)}"}`);
    expect(await a25.nodes()).toEqual(['b27@127.0.0.2']);
    // The 27 client merged -ssl_dist_opt into the optfile's options: only AES-128-GCM was offered.
    expect(await b27.eval(CIPHER('a25@127.0.0.1'))).toBe('aes_128_gcm');
    expect(await b27.eval(`rpc:call('a25@127.0.0.1', erlang, system_info, [otp_release])`)).toBe('"25"');

    // Elixir 1.18 on OTP 27: the same flags through --erl, the reload module on the code path.
    const ebin = compileErlang([RELOAD_SRC]);
    const e = await issueNodeDir(pki, join(tmp.dir, 'ex'), 'ex@127.0.0.3');
    expect(parseCertificate(readFileSync(e.bundle, 'utf8').replace(/^[\s\S]*?(?=-----BEGIN CERTIFICATE)/, '')).dns).toContain('127.0.0.3');
    const code =
      'IO.puts(inspect({System.version(), System.otp_release(), Node.ping(:"a25@127.0.0.1"), Node.list(), ' +
      ':rpc.call(:"a25@127.0.0.1", :erlang, :system_info, [:otp_release]), :vaultdist_reload.reload()}))';
    const { stdout } = await promisify(execFile)(
      lane().elixir,
      ['--name', 'ex@127.0.0.3', '--cookie', 'vaultdist-test-cookie', '--erl', flags(e.optfile, '127.0.0.3', [carrierEbin(lane().erl)]).join(' '), '-pa', ebin, '-e', code],
      { cwd: e.dir, timeout: 60000 },
    );
    const lines = stdout.trim().split('\n');
    expect(lines.at(-1)).toBe(`{"1.18.3", "27", :pong, [:"a25@127.0.0.1"], ~c"25", {:ok, %{dist: :ok, ssl: :not_running}}}`);
    // Elixir's Logger prints the reload module's notice (OTP logger events reach Elixir's console).
    expect(stdout).toMatch(/\[notice\] vaultdist_reload: TLS distribution certificates reloaded \(trigger :api\)/);
  }, 120_000);
});
