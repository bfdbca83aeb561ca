/**
 * The Elixir snippets the SDK renders, run by a real Elixir 1.14 / OTP 25 the way a release runs
 * them: env.sh sourced with $RELEASE_COMMAND set, then the `elixir` launcher with `--vm-args`.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  distFlags,
  iexCommand,
  issueNodeCredentials,
  parseNodeName,
  renderOptfile,
  renderReleaseEnvSh,
  renderReleaseRemoteVmArgs,
  renderReleaseVmArgs,
} from '../../packages/sdk/src/index.js';
import { shellQuote } from '../../packages/sdk/src/internal.js';
import { carrierEbin, sharedFreePort, startNode } from '../helpers/erlang.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const run = promisify(execFile);
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const COOKIE = 'vaultdist-test-cookie';

describe('Elixir release snippets on real nodes', () => {
  const pki = useTestPki();
  const tmp = useTestdir();

  async function creds(node: string) {
    const dir = join(tmp.dir, node.replace(/[@.]/g, '_'));
    const res = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node, dir });
    const optfile = join(dir, 'ssl_dist.conf');
    writeFileSync(optfile, renderOptfile({ bundleFile: res.written.bundlePath, caFile: res.written.caPath }));
    return { dir, optfile };
  }

  /** Runs `sh -c script` and returns stdout; the script's output ends with the inspected result. */
  async function sh(script: string, env: Record<string, string> = {}): Promise<string> {
    const { stdout } = await run('sh', ['-c', script], { env: { PATH: process.env.PATH!, HOME: tmp.dir, ...env }, timeout: 60_000 });
    return stdout.trim();
  }

  it('start (vm.args + env.sh), rpc (remote.vm.args + env.sh) and the iex/elixir --erl line all reach a TLS node', async () => {
    const port = await sharedFreePort(HOSTS);
    const foo = await creds('foo@127.0.0.1');
    await startNode({ name: 'foo@127.0.0.1', dir: foo.dir, flags: distFlags({ optfile: foo.optfile, distPort: port, listenInterface: '127.0.0.1' }) });

    // (1) a release-style `start`: static vm.args, dynamic flags from env.sh
    const bar = await creds('bar@127.0.0.2');
    writeFileSync(join(bar.dir, 'vm.args'), renderReleaseVmArgs({ listenInterface: '127.0.0.2' }));
    writeFileSync(join(bar.dir, 'env.sh'), renderReleaseEnvSh({ optfile: bar.optfile, distPort: port, node: parseNodeName('bar@127.0.0.2'), codePaths: [carrierEbin()] }));
    const startOut = await sh(
      `RELEASE_COMMAND=start; export RELEASE_COMMAND; . ${shellQuote(join(bar.dir, 'env.sh'))}; ` +
        `exec elixir --$RELEASE_DISTRIBUTION "$RELEASE_NODE" --cookie ${COOKIE} --vm-args ${shellQuote(join(bar.dir, 'vm.args'))} ` +
        `-e 'IO.inspect({Node.ping(:"foo@127.0.0.1"), :init.get_argument(:proto_dist), :init.get_argument(:dist_listen)})'`,
    );
    expect(startOut.split('\n').at(-1)).toBe("{:pong, {:ok, [['vaultdist_tls']]}, :error}");

    // (2) a release-style `rpc`: remote.vm.args + env.sh → hidden, TLS, not listening. It runs on
    // foo's own address, where listening on the fixed port would fail with eaddrinuse.
    const rpc = await creds('rpc@127.0.0.1');
    writeFileSync(join(rpc.dir, 'remote.vm.args'), renderReleaseRemoteVmArgs());
    writeFileSync(join(rpc.dir, 'env.sh'), renderReleaseEnvSh({ optfile: rpc.optfile, distPort: port, codePaths: [carrierEbin()] }));
    const rpcOut = await sh(
      `RELEASE_COMMAND=rpc; export RELEASE_COMMAND; . ${shellQuote(join(rpc.dir, 'env.sh'))}; ` +
        `exec elixir --hidden --name rpc@127.0.0.1 --cookie ${COOKIE} --vm-args ${shellQuote(join(rpc.dir, 'remote.vm.args'))} ` +
        `-e 'IO.inspect({Node.ping(:"foo@127.0.0.1"), :init.get_argument(:dist_listen)})'`,
    );
    expect(rpcOut.split('\n').at(-1)).toMatch(/^\{:pong, \{:ok, \[\['false'\]/);

    // …and the same node without the remote branch (a `start` on foo's address) cannot even boot
    writeFileSync(join(rpc.dir, 'vm.args'), renderReleaseVmArgs());
    const clash = await sh(
      `RELEASE_COMMAND=start; export RELEASE_COMMAND; . ${shellQuote(join(rpc.dir, 'env.sh'))}; ` +
        `elixir --name rpc@127.0.0.1 --cookie ${COOKIE} --vm-args ${shellQuote(join(rpc.dir, 'vm.args'))} -e 'IO.inspect(:booted)' 2>&1; echo "exit=$?"`,
    );
    expect(clash).toMatch(/eaddrinuse/);
    expect(clash).not.toContain(':booted');

    // (3) the ad-hoc line (`elixir` has the same launcher as `iex`; iex would wait for input)
    // with its own identity: the carrier lets a peer in only under the name in its certificate
    const adhoc = await creds('adhoc@127.0.0.1');
    const line = iexCommand({ command: 'elixir', node: parseNodeName('adhoc@127.0.0.1'), optfile: adhoc.optfile, distPort: port, noListen: true, hidden: true, codePaths: [carrierEbin()] });
    const adhocOut = await sh(`${line} --cookie ${COOKIE} -e 'IO.inspect(Node.ping(:"foo@127.0.0.1"))'`);
    expect(adhocOut.split('\n').at(-1)).toBe(':pong');
  }, 120_000);
});
