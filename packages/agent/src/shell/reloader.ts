/**
 * Makes a node use a freshly written credential set (issue #4, erlang-tls-dist.md §5.5). OTP 25 reads
 * the distribution certificate through its own PEM cache, so replacing the files is not enough: the
 * node must clear `ssl_pem_cache_dist`, which `vaultdist_reload:reload/0` does. Four ways to get there:
 *
 * - `signal`: SIGHUP to the pid in `pidFile`. Only when the config declares the node runs vaultdist's
 *   handler: without it SIGHUP kills an OTP 25 node (the agent refuses, here and in the validator);
 * - `rpc`: a short-lived hidden TLS-distribution node (`-hidden -dist_listen false`) connects with the
 *   node's own credential set and calls `vaultdist_reload:reload()` on the target, then halts;
 * - `poll`: the node's own poller (`-vaultdist_poll`) notices the new content; nothing to do here;
 * - `command`: the user's argv (no shell), with VAULTDIST_NODE/DIR/SERIAL in the environment.
 */
import { join } from 'node:path';
import { CREDENTIAL_FILES, parseNodeName, renderOptfile } from '@vaultdist/sdk';
import { erlangAtom } from '@vaultdist/sdk/internal';
import type { NodeConfig } from '../config/schema.js';
import { AgentError } from '../errors.js';
import type { AgentPorts } from '../ports.js';

export interface ReloadOutcome {
  strategy: NodeConfig['reload']['strategy'];
  /** Free-form detail for the log (pid signalled, rpc result, command exit). */
  detail: Record<string, unknown>;
}

let rpcCounter = 0;

const COOKIE_OK = /^[\x21-\x7e]+$/;

async function readPid(ports: AgentPorts, node: NodeConfig, pidFile: string): Promise<number> {
  let text: string;
  try {
    text = await ports.fs.readFile(pidFile);
  } catch (e) {
    throw new AgentError('reload', `cannot read pid file ${pidFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { node: node.name, cause: e });
  }
  // The content is never echoed: the pid file may live in a directory the node user controls, and a
  // symlink planted there must not make a root agent print another file's first bytes.
  const pid = /^\d{1,10}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(pid) || pid <= 1) throw new AgentError('reload', `pid file ${pidFile} does not hold a pid`, { node: node.name });
  return pid;
}

/**
 * Whether a process's argv (`/proc/<pid>/cmdline`, NUL-separated) is a BEAM emulator running `node`:
 * argv[0] is `beam`/`beam.smp` (any build flavour), with `-name` or `-sname` followed by the node's full
 * name, or by its name part alone (OTP then adds the host). Pure.
 */
export function isBeamOfNode(cmdline: string, nodeName: string): boolean {
  const argv = cmdline.split('\0').filter((a) => a.length > 0);
  const exe = argv[0]?.split('/').pop() ?? '';
  if (!/^beam(\.[a-z]+)*$/.test(exe)) return false;
  const n = parseNodeName(nodeName);
  for (let i = 1; i < argv.length - 1; i++) {
    if (argv[i] !== '-name' && argv[i] !== '-sname') continue;
    const v = argv[i + 1]!;
    if (v === n.full || (!v.includes('@') && v === n.name)) return true;
  }
  return false;
}

/**
 * Before a signal: the pid must be a BEAM running this node (issue #15: a pid file holding another
 * process's pid made the agent kill an unrelated root process). Reads `/proc/<pid>/cmdline`; where
 * there is no /proc the signal strategy is refused (use `rpc` or `command`).
 */
async function checkPidIsNode(ports: AgentPorts, node: NodeConfig, pid: number, pidFile: string): Promise<void> {
  let cmdline: string;
  try {
    cmdline = await ports.fs.readFile(`/proc/${pid}/cmdline`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw new AgentError('reload', `pid ${pid} from ${pidFile} is not running (a stale pid file?); nothing signalled`, { node: node.name, cause: e });
    throw new AgentError('reload', `cannot check that pid ${pid} from ${pidFile} is the node (/proc/${pid}/cmdline: ${code ?? (e as Error).message}); nothing signalled (without /proc use reload strategy rpc or command)`, { node: node.name, cause: e });
  }
  if (!isBeamOfNode(cmdline, node.name)) {
    const exe = cmdline.split('\0')[0]?.split('/').pop()?.slice(0, 40) ?? '';
    throw new AgentError('reload', `pid ${pid} from ${pidFile} is not a BEAM running ${node.name} (it is ${JSON.stringify(exe)}); nothing signalled`, { node: node.name });
  }
}

/** Builds the hidden node's argv (exported for tests and `doctor`). */
export function rpcArgv(node: NodeConfig, o: { optfile: string; argsFile: string | undefined; uniq: string }): string[] {
  if (node.reload.strategy !== 'rpc') throw new Error('not an rpc node');
  const r = node.reload;
  const target = parseNodeName(node.name);
  const port = r.port ?? node.verify.port;
  if (port === null) throw new AgentError('config', 'rpc reload needs the distribution port', { node: node.name });
  // the target's vaultdist_tls carrier admits its own certificate only as hidden rpc-TAG-<node> tooling
  const self = `rpc-${o.uniq}-${target.name}@${target.host}`;
  const expr = [
    `T = ${erlangAtom(target.full)},`,
    'R = case net_kernel:connect_node(T) of',
    '  true -> rpc:call(T, vaultdist_reload, reload, [], 15000);',
    '  false -> {error, connect_failed}',
    'end,',
    'io:format("vaultdist_reload_result ~0p~n", [R]),',
    'erlang:halt(case R of {ok, _} -> 0; _ -> 3 end).',
  ].join(' ');
  const argv = [r.erl, target.mode === 'long' ? '-name' : '-sname', self, '-hidden', '-noshell', '-noinput', '-proto_dist', 'inet_tls', '-ssl_dist_optfile', o.optfile, '-dist_listen', 'false', '-start_epmd', 'false', '-erl_epmd_port', String(port)];
  if (r.epmdModule) argv.push('-epmd_module', r.epmdModule);
  for (const p of r.codePaths) argv.push('-pa', p);
  argv.push(...r.extraArgs);
  if (o.argsFile) argv.push('-args_file', o.argsFile);
  argv.push('-eval', expr);
  return argv;
}

export async function reloadNode(ports: AgentPorts, node: NodeConfig, serial: string, signal: AbortSignal): Promise<ReloadOutcome> {
  const r = node.reload;
  switch (r.strategy) {
    case 'signal': {
      if (!r.handlerInstalled) {
        throw new AgentError('config', `refusing to send ${r.signal}: the node is not declared to run vaultdist's handler (reload.handlerInstalled), and SIGHUP kills an OTP 25 node without one`, { node: node.name });
      }
      const pid = await readPid(ports, node, r.pidFile);
      await checkPidIsNode(ports, node, pid, r.pidFile);
      try {
        ports.process.kill(pid, r.signal);
      } catch (e) {
        throw new AgentError('reload', `cannot signal pid ${pid}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { node: node.name, cause: e });
      }
      return { strategy: 'signal', detail: { nodePid: pid, signal: r.signal } };
    }
    case 'poll':
      return { strategy: 'poll', detail: { intervalMs: r.intervalMs } };
    case 'command': {
      const res = await ports.process
        .run(r.command, { timeoutMs: r.timeoutMs, signal, env: { VAULTDIST_NODE: node.name, VAULTDIST_DIR: node.dir, VAULTDIST_SERIAL: serial } })
        .catch((e: unknown) => {
          throw new AgentError('reload', `reload command failed to start: ${(e as Error).message}`, { node: node.name, cause: e });
        });
      if (res.code !== 0) {
        throw new AgentError('reload', `reload command ${res.timedOut ? 'timed out' : `exited with ${res.code ?? res.signal}`}: ${res.stderr.trim().slice(-500)}`, { node: node.name });
      }
      return { strategy: 'command', detail: { exitCode: 0 } };
    }
    case 'rpc': {
      const optfile =
        r.optfile ??
        (await (async () => {
          const path = join(node.dir, 'reload-client.conf');
          const text = renderOptfile({
            bundleFile: join(node.dir, CREDENTIAL_FILES.bundle),
            caFile: join(node.dir, CREDENTIAL_FILES.ca),
            versions: r.tlsVersions,
            comment: [`client optfile of the agent's hidden reload node for ${node.name}`],
          });
          await ports.fs.writeFileAtomic(path, text, 0o644);
          return path;
        })());
      let cookie = r.cookie;
      if (!cookie && r.cookieFile) {
        try {
          cookie = (await ports.fs.readFile(r.cookieFile)).trim();
        } catch (e) {
          throw new AgentError('config', `cannot read cookie file ${r.cookieFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { node: node.name, cause: e });
        }
      }
      let argsFile: string | undefined;
      const uniq = `${process.pid}_${++rpcCounter}`;
      if (cookie) {
        if (!COOKIE_OK.test(cookie) || /["'\\#]/.test(cookie)) throw new AgentError('config', 'the cookie has characters that cannot be passed safely (quotes, backslash, #, spaces)', { node: node.name });
        // the cookie goes through a 0600 args file, never argv (visible in ps)
        argsFile = join(node.dir, `.reload-args-${uniq}`);
        await ports.fs.writeFileAtomic(argsFile, `-setcookie ${cookie}\n`, 0o600);
      }
      try {
        const argv = rpcArgv(node, { optfile, argsFile, uniq });
        const res = await ports.process.run(argv, { timeoutMs: r.timeoutMs, signal, cwd: node.dir });
        const line = /vaultdist_reload_result (.*)/.exec(res.stdout)?.[1]?.trim();
        if (res.code !== 0) {
          throw new AgentError('reload', `rpc reload of ${node.name} failed: ${res.timedOut ? 'timed out' : (line ?? `erl exited with ${res.code ?? res.signal}`)}${line?.includes('undef') ? ' (is vaultdist_reload on the node\'s code path?)' : ''}`, { node: node.name });
        }
        return { strategy: 'rpc', detail: { result: line } };
      } finally {
        if (argsFile) await import('node:fs/promises').then((f) => f.rm(argsFile!, { force: true }));
      }
    }
  }
}
