/**
 * `vaultdist init node` re-runs on a host with a running node (issue #14 part 6, real OpenBao + a real
 * OTP node started from the generated vm.args):
 * - `--connect-all false` reaches the node and is kept when init node runs again without it;
 * - a re-run never silently drops the user's edit to vm.args: the edited file stays, the new rendering
 *   goes to vm.args.new, and the output says so;
 * - a re-run that replaces the credential set reloads the running node, which then serves the new
 *   certificate (was: a new set on disk, the old one served until a restart);
 * - one agent config for the host: each init node adds its node to DIR/../agent.yaml, which the agent
 *   accepts (`--check`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../packages/agent/src/index.js';
import { parseCertificate, probeDistCertificate } from '../../packages/sdk/src/index.js';
import { splitPem } from '../../packages/sdk/src/internal.js';
import { suffix, testVault } from '../helpers/vault.js';
import { useInitVaultCleanup, useTestdir } from '../helpers/setup.js';
import { sharedFreePort, startNode } from '../helpers/erlang.js';
import { REPO_ROOT } from '../helpers/scripts.js';
import { cleanEnv, runCommand, vaultdist } from '../../packages/cli/test/helpers.js';

const AGENT_BIN = join(REPO_ROOT, 'packages', 'agent', 'bin.js');

describe('init node re-runs: connect_all kept, user edits kept, running node reloaded, one host agent config', () => {
  const id = suffix();
  const names = { mount: `pki-rr-${id}`, rootMount: `pki-rr-${id}-root`, role: `node-${id}`, policy: `vaultdist-rr-${id}`, approle: `approle-rr-${id}`, cert: `cert-rr-${id}` };
  const v = testVault();
  const tmp = useTestdir();
  const env = { BAO_ADDR: v.addr, BAO_TOKEN: v.token };
  useInitVaultCleanup(names, ['foo@127.0.0.1', 'bar@127.0.0.1']);

  const leafOf = (dir: string) => parseCertificate(splitPem(readFileSync(join(dir, 'bundle.pem'), 'utf8')).find((b) => b.label === 'CERTIFICATE')!.pem);
  const served = async (dir: string, port: number) => {
    const pems = splitPem(readFileSync(join(dir, 'bundle.pem'), 'utf8'));
    return probeDistCertificate({
      host: '127.0.0.1',
      port,
      cert: pems.filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem).join(''),
      key: pems.find((b) => b.label.endsWith('PRIVATE KEY'))!.pem,
      ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      servername: '127.0.0.1',
      timeoutMs: 3000,
    });
  };

  it('keeps --connect-all false and the user\'s vm.args edit, reloads the running node, adds both nodes to one host config', async () => {
    const iv = await vaultdist(
      ['init', 'vault', '--mount', names.mount, '--root-mount', names.rootMount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle, '--cert-mount', names.cert, '--allowed-hosts', '127.0.0.1'],
      { env, allowPrintedToken: 'init vault prints the response-wrapped secret_id once (its purpose)' },
    );
    expect(iv.code).toBe(0);
    const [fooPort, barPort] = [await sharedFreePort(['127.0.0.1']), await sharedFreePort(['127.0.0.1'])];
    const healthPort = await sharedFreePort(['127.0.0.1']);
    const host = join(tmp.dir, 'host');
    const fooDir = join(host, 'foo');
    const common = ['--mount', names.mount, '--role', names.role, '--policy', names.policy, '--approle-mount', names.approle, '--cert-auth-mount', names.cert, '--health-port', String(healthPort)];
    const initFoo = (extra: string[] = []) => vaultdist(['init', 'node', '--name', 'foo@127.0.0.1', '--dir', fooDir, '--dist-port', String(fooPort), ...common, ...extra], { env });

    // (1) --connect-all false reaches vm.args and the running node
    const first = await initFoo(['--connect-all', 'false']);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    expect(readFileSync(join(fooDir, 'vm.args'), 'utf8')).toMatch(/^-connect_all false$/m);
    const foo = await startNode({ name: 'foo@127.0.0.1', dir: fooDir, flags: ['-args_file', join(fooDir, 'vm.args')] });
    expect(await foo.eval('init:get_argument(connect_all)')).toBe('{ok,[["false"]]}');
    const firstSerial = leafOf(fooDir).serial;
    expect((await served(fooDir, fooPort)).serial).toBe(firstSerial);

    // (2) a re-run without the flag keeps it
    const again = await initFoo();
    expect(again.code).toBe(0);
    expect(readFileSync(join(fooDir, 'vm.args'), 'utf8')).toMatch(/^-connect_all false$/m);

    // (3) the user's edit survives a re-run; the new rendering is put next to it
    const edited = `${readFileSync(join(fooDir, 'vm.args'), 'utf8')}## local tuning\n-kernel net_ticktime 30\n`;
    writeFileSync(join(fooDir, 'vm.args'), edited);
    const forced = await initFoo(['--force-issue']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(fooDir, 'vm.args'), 'utf8')).toBe(edited);
    expect(existsSync(join(fooDir, 'vm.args.new'))).toBe(true);
    expect(readFileSync(join(fooDir, 'vm.args.new'), 'utf8')).toMatch(/^-connect_all false$/m);
    expect(`${forced.stdout}${forced.stderr}`).toContain('vm.args has local changes');

    // (4) the forced re-run replaced the set: the running node was reloaded and serves the new certificate
    const newSerial = leafOf(fooDir).serial;
    expect(newSerial).not.toBe(firstSerial);
    expect(forced.stdout).toContain(`now serves certificate ${newSerial}`);
    expect((await served(fooDir, fooPort)).serial).toBe(newSerial);

    // (5) one agent config for the host: bar is added next to foo
    const bar = await vaultdist(['init', 'node', '--name', 'bar@127.0.0.1', '--dir', join(host, 'bar'), '--dist-port', String(barPort), ...common], { env });
    expect(bar.code).toBe(0);
    const hostConfig = join(host, 'agent.yaml');
    expect(bar.stdout).toContain(`vaultdist agent --config ${hostConfig}`);
    const cfg = parseConfigText(readFileSync(hostConfig, 'utf8'), hostConfig).value as { health: { port: number }; nodes: { name: string; auth: { method: string } }[] };
    expect(cfg.nodes.map((n) => n.name).sort()).toEqual(['bar@127.0.0.1', 'foo@127.0.0.1']);
    expect(cfg.health.port).toBe(healthPort);
    // each node logs in as itself (its own identity, issue #12)
    expect(cfg.nodes.every((n) => n.auth && n.auth.method)).toBe(true);
    const check = await runCommand(process.execPath, [AGENT_BIN, '--check', '-c', hostConfig], { env: cleanEnv(env) });
    expect(check.stderr).toBe('');
    expect(check.stdout).toContain('config ok: 2 node(s)');
  }, 180_000);
});
