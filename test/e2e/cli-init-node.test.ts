/**
 * The CLI's whole path on real components: `init vault` on the run's OpenBao, `init node` for two
 * nodes (one through the printed AppRole credentials, one with a token), both started from nothing but
 * the vm.args `init node` wrote, connecting over mutual TLS; a third node without a certificate is
 * refused; `doctor` calls the setup clean and `status`/`render` report what is on disk.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distFlags, parseCertificate } from '../../packages/sdk/src/index.js';
import { splitPem } from '../../packages/sdk/src/internal.js';
import { suffix, testVault } from '../helpers/vault.js';
import { useInitVaultCleanup, useTestdir } from '../helpers/setup.js';
import { sharedFreePort, startNode } from '../helpers/erlang.js';
import { epmdNames } from '../../packages/cli/src/commands/doctor/probes.js';
import { spawn } from 'node:child_process';
import { CLI_BIN, cleanEnv, vaultdist } from '../../packages/cli/test/helpers.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const parse = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; check?: string; severity?: string; clean?: boolean; message?: string });

describe('vaultdist init node: two nodes from the generated files, mTLS only', () => {
  const id = suffix();
  const names = { mount: `pki-cli-${id}`, rootMount: `pki-cli-${id}-root`, role: `node-${id}`, policy: `vaultdist-node-${id}`, approle: `approle-${id}`, cert: `cert-${id}` };
  const v = testVault();
  const tmp = useTestdir();
  useInitVaultCleanup(names, ['foo@127.0.0.1', 'bar@127.0.0.2']);

  it('connects foo and bar over mTLS from vm.args alone and refuses a certificate-less node', async () => {
    const iv = await vaultdist(
      ['init', 'vault', '--json', '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle, '--cert-mount', names.cert, '--allowed-hosts', HOSTS.join(','), '--node', 'foo@127.0.0.1'],
      { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token }, allowPrintedToken: 'init vault prints the response-wrapped secret_id once (its purpose)' },
    );
    expect(iv.code).toBe(0);
    // foo's own identity (issue #12): its role_id + wrapped secret_id, from `init vault --node foo@127.0.0.1`
    const creds = (JSON.parse(iv.stdout) as { nodes: { roleId: string; wrappedSecretId: { token: string } }[] }).nodes[0]!;

    const port = await sharedFreePort(HOSTS);
    const fooDir = join(tmp.dir, 'foo');
    const barDir = join(tmp.dir, 'bar');
    const healthPort = await sharedFreePort(['127.0.0.1']);
    const common = ['--mount', names.mount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle, '--dist-port', String(port), '--cert-auth-mount', names.cert, '--health-port', String(healthPort)];
    // foo: only the AppRole role_id + the response-wrapped secret_id that init vault printed (no token).
    const foo = await vaultdist(['init', 'node', '--name', 'foo@127.0.0.1', '--dir', fooDir, ...common, '--role-id', creds.roleId, '--wrapped-secret-id', creds.wrappedSecretId.token], {
      env: { VAULT_ADDR: v.addr },
    });
    expect(foo.stderr).not.toMatch(/error/);
    expect(foo.code).toBe(0);
    expect(foo.stdout).toContain(`erl -args_file ${fooDir}/vm.args`);
    expect(foo.stdout).toMatch(/iex --name foo@127\.0\.0\.1 --erl '-proto_dist vaultdist_tls -ssl_dist_optfile /);
    // bar: an operator token (init node creates bar's identity, then signs as bar).
    const bar = await vaultdist(['init', 'node', '--name', 'bar@127.0.0.2', '--dir', barDir, ...common, '--json'], { env: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token } });
    expect(bar.code).toBe(0);
    const barRes = JSON.parse(bar.stdout) as { serial: string; files: Record<string, string> };
    expect(Object.keys(barRes.files).sort()).toEqual(['agent.yaml', 'env.sh.eex', 'iex.sh', 'remote.vm.args.eex', 'ssl_dist.conf', 'vaultdist.json', 'vm.args', 'vm.args.eex']);

    // What was written: key 0600, identity profile, vm.args usable with -args_file, agent config.
    expect(statSync(join(fooDir, 'bundle.pem')).mode & 0o777).toBe(0o600);
    const barLeaf = parseCertificate(splitPem(readFileSync(join(barDir, 'bundle.pem'), 'utf8')).find((b) => b.label === 'CERTIFICATE')!.pem);
    expect(barLeaf.serial).toBe(barRes.serial);
    expect(barLeaf.uris).toEqual(['erlang://bar@127.0.0.2']);
    expect(barLeaf.dns).toContain('127.0.0.2');
    const vmArgs = readFileSync(join(fooDir, 'vm.args'), 'utf8');
    expect(vmArgs).toMatch(/^-proto_dist vaultdist_tls$/m);
    expect(vmArgs).toMatch(new RegExp(`^-erl_epmd_port ${port}$`, 'm'));
    expect(readFileSync(join(barDir, 'agent.yaml'), 'utf8')).toMatch(/name: bar@127\.0\.0\.2/);

    // Both nodes start from their vm.args only (the harness adds its control channel and the cookie).
    const fooNode = await startNode({ name: 'foo@127.0.0.1', dir: fooDir, flags: ['-args_file', join(fooDir, 'vm.args')] });
    const barNode = await startNode({ name: 'bar@127.0.0.2', dir: barDir, flags: ['-args_file', join(barDir, 'vm.args')] });
    expect(await fooNode.ping('bar@127.0.0.2')).toBe('pong');
    expect(await fooNode.nodes()).toEqual(['bar@127.0.0.2']);
    expect(
      await fooNode.eval(`[{_, Ctrl}] = erlang:system_info(dist_ctrl), {ok, S} = tls_sender:dist_tls_socket(Ctrl), ssl:connection_information(S, [protocol])`),
    ).toBe("{ok,[{protocol,'tlsv1.3'}]}");
    // Neither node registered with an epmd (vaultdist_epmd never contacts one; if some other process
    // runs an epmd on this host, it must not know our nodes).
    const epmd = await epmdNames('127.0.0.1');
    // (Names are shared with other test files' nodes, so match on our distribution port.)
    if (epmd.state === 'answering') expect(epmd.names.filter((n) => n.port === port)).toEqual([]);
    expect(await fooNode.eval('init:get_argument(epmd_module)')).toBe('{ok,[["vaultdist_epmd"]]}');

    // A node with TLS distribution and the right CA but no certificate of its own is refused.
    const nocertDir = join(tmp.dir, 'nocert');
    const optfile = join(nocertDir, 'ssl_dist.conf');
    await vaultdist(['render', 'ssl_dist.conf', '--dir', fooDir]).then((r) => {
      expect(r.code).toBe(0);
      const text = r.stdout.replace(/\{certfile, "[^"]*"\},\s*|\{keyfile, "[^"]*"\},\s*/g, '');
      mkdirSync(nocertDir, { recursive: true });
      writeFileSync(optfile, text);
    });
    const nocert = await startNode({ name: 'nocert@127.0.0.3', dir: nocertDir, flags: distFlags({ optfile, distPort: port, listenInterface: '127.0.0.3' }) });
    expect(await nocert.ping('foo@127.0.0.1')).toBe('pang');
    expect(await nocert.nodes()).toEqual([]);
    expect(await fooNode.nodes()).toEqual(['bar@127.0.0.2']);
    // the refusal shows on either side (the vaultdist_tls carrier logs it on the dialling node)
    expect(`${fooNode.log()}${nocert.log()}`).toMatch(/Certificate required|no_client_certificate_provided/);

    // doctor: the correct setup is clean (exit 0), with the live probes passing.
    const doc = await vaultdist(['doctor', '--dir', fooDir, '--probe', `127.0.0.2:${port}`, '--json']);
    const lines = parse(doc.stdout);
    expect(lines.filter((l) => l.severity === 'error')).toEqual([]);
    expect(doc.code).toBe(0);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', clean: true });
    const passed = lines.filter((l) => l.severity === 'ok').map((l) => l.check);
    expect(passed).toEqual(expect.arrayContaining(['optfile', 'agent.config', 'key.permissions', 'cert.key_match', 'cert.chain', 'cert.expiry', 'dist.plaintext', 'dist.client_cert', 'dist.mtls', 'dist.served_cert']));

    // status and render report what is on disk.
    const st = await vaultdist(['status', '--dir', fooDir, '--dir', barDir, '--json']);
    expect(st.code).toBe(0);
    const nodes = (JSON.parse(st.stdout) as { nodes: { node: string; serial: string; secondsLeft: number }[] }).nodes;
    expect(nodes.map((n) => n.node)).toEqual(['foo@127.0.0.1', 'bar@127.0.0.2']);
    expect(nodes[1]!.serial).toBe(barRes.serial);
    expect(nodes[0]!.secondsLeft).toBeGreaterThan(3600);
    const rendered = await vaultdist(['render', 'vm.args', '--dir', fooDir]);
    expect(rendered.stdout).toBe(vmArgs);

    // The generated agent config drives a real renewal: AppRole login from DIR/approle (0600), new
    // certificate, SIGHUP to the node through the pidfile vaultdist_reload wrote, served serial verified.
    expect(statSync(join(fooDir, 'approle', 'secret-id')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(fooDir, 'agent.yaml'), 'utf8')).toMatch(/method: approle/);
    const oldSerial = nodes[0]!.serial;
    const agent = await vaultdist(['agent', '--config', join(fooDir, 'agent.yaml'), '--once', '--force', '--no-health', '--log-level', 'warn']);
    expect(agent.stderr).not.toMatch(/"level":(50|60)/);
    expect(agent.code).toBe(0);
    const after = JSON.parse((await vaultdist(['status', '--dir', fooDir, '--json'])).stdout) as { nodes: { serial: string }[] };
    expect(after.nodes[0]!.serial).not.toBe(oldSerial);
    const served = await vaultdist(['doctor', '--dir', fooDir, '--probe', `127.0.0.1:${port}`, '--json']);
    expect(parse(served.stdout).find((l) => l.check === 'dist.served_cert')!.message).toContain(after.nodes[0]!.serial);
    expect(await fooNode.ping('bar@127.0.0.2')).toBe('pong');

    // `vaultdist agent` as a daemon: status shows its /healthz answer; SIGTERM stops it with exit 0.
    const daemon = spawn(process.execPath, [CLI_BIN, 'agent', '--config', join(fooDir, 'agent.yaml'), '--log-level', 'warn'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let daemonErr = '';
    daemon.stderr!.on('data', (d) => (daemonErr += d));
    const exited = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
    try {
      let st2: { nodes: { agent: { reachable: boolean; body: unknown }; lastAgentResult: { phase: string; ready: boolean } | null }[] } | undefined;
      for (let i = 0; i < 100; i++) {
        st2 = JSON.parse((await vaultdist(['status', '--dir', fooDir, '--json'])).stdout);
        if (st2!.nodes[0]!.agent.reachable) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(st2!.nodes[0]!.agent).toMatchObject({ reachable: true, body: expect.objectContaining({ live: true }) });
      expect(st2!.nodes[0]!.lastAgentResult).toMatchObject({ phase: expect.any(String) });
      const human = await vaultdist(['status', '--dir', fooDir]);
      expect(human.stdout).toMatch(/agent:\s+phase \S+/);
    } finally {
      daemon.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(daemonErr).not.toMatch(/"level":(50|60)/);

    // Re-running init node keeps the fresh certificate and rewrites nothing.
    const again = await vaultdist(['init', 'node', '--name', 'foo@127.0.0.1', '--dir', fooDir, ...common, '--json'], { env: { VAULT_ADDR: v.addr } });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ issued: false, written: [] });
  }, 120_000);
});
