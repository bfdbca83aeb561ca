import { validateConfig, type NodeConfig } from '../config/schema.js';
import { mathRandom, systemClock, type AgentPorts } from '../ports.js';
import { isBeamOfNode, reloadNode, rpcArgv } from './reloader.js';

const node = (reload: Record<string, unknown>, extra: Record<string, unknown> = {}): NodeConfig => {
  const r = validateConfig({
    vault: { auth: { method: 'token', token: 't' } },
    nodes: [{ name: 'bar@127.0.0.2', dir: '/var/lib/vaultdist/bar', mount: 'pki', role: 'node', reload, verify: { port: 4370 }, ...extra }],
  });
  if (!r.config) throw new Error(r.errors.join('\n'));
  return r.config.nodes[0]!;
};

function fakePorts(files: Record<string, string> = {}) {
  const kills: [number, string | number][] = [];
  const runs: string[][] = [];
  const ports: AgentPorts = {
    clock: systemClock,
    random: mathRandom,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    fs: {
      readFile: async (p) => {
        if (p in files) return files[p]!;
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      },
      checkWritable: async () => {},
      writeFileAtomic: async (p, d) => {
        files[p] = d;
        return true;
      },
    },
    process: {
      kill: (pid, sig) => void kills.push([pid, sig]),
      run: async (argv) => {
        runs.push(argv);
        return { code: 0, signal: null, stdout: 'vaultdist_reload_result {ok,#{dist => ok,ssl => not_running}}\n', stderr: '', timedOut: false };
      },
    },
  };
  return { ports, kills, runs, files };
}

describe('reloaders', () => {
  const signal = new AbortController().signal;

  const BEAM = ['/usr/lib/erlang/erts-13.1.5/bin/beam.smp', '--', '-root', '/usr/lib/erlang', '--', '-name', 'bar@127.0.0.2', '-noshell', ''].join('\0');

  it('signal: SIGHUP to the pid in the pid file', async () => {
    const f = fakePorts({ '/run/bar.pid': '4242\n', '/proc/4242/cmdline': BEAM });
    const r = await reloadNode(f.ports, node({ strategy: 'signal', pidFile: '/run/bar.pid', handlerInstalled: true }), 'aa', signal);
    expect(f.kills).toEqual([[4242, 'SIGHUP']]);
    expect(r.detail).toEqual({ nodePid: 4242, signal: 'SIGHUP' });
  });

  it('signal: refuses (and signals nothing) when the handler is not declared', async () => {
    const f = fakePorts({ '/run/bar.pid': '4242\n' });
    const n = node({ strategy: 'signal', pidFile: '/run/bar.pid', handlerInstalled: true });
    (n.reload as { handlerInstalled: boolean }).handlerInstalled = false; // bypassing the validator on purpose
    await expect(reloadNode(f.ports, n, 'aa', signal)).rejects.toMatchObject({ kind: 'config', message: expect.stringContaining('refusing to send SIGHUP') });
    expect(f.kills).toEqual([]);
  });

  it.each([
    ['an unrelated process', ['/usr/sbin/cron', '-f', ''].join('\0'), /is not a BEAM running bar@127.0.0.2 \(it is "cron"\)/],
    ['a BEAM running another node', BEAM.replace('bar@127.0.0.2', 'baz@127.0.0.2'), /is not a BEAM running bar@127.0.0.2/],
    ['a process that is gone', undefined, /pid 4242 from \/run\/bar.pid is not running/],
  ])('signal: refuses (and signals nothing) when the pid is %s', async (_what, cmdline, message) => {
    const f = fakePorts({ '/run/bar.pid': '4242\n', ...(cmdline === undefined ? {} : { '/proc/4242/cmdline': cmdline }) });
    await expect(reloadNode(f.ports, node({ strategy: 'signal', pidFile: '/run/bar.pid', handlerInstalled: true }), 'aa', signal)).rejects.toMatchObject({ kind: 'reload', message: expect.stringMatching(message) });
    expect(f.kills).toEqual([]);
  });

  it('isBeamOfNode: beam flavours, -name/-sname, the name part alone', () => {
    const argv = (...a: string[]) => [...a, ''].join('\0');
    expect(isBeamOfNode(argv('/x/beam.smp', '-sname', 'bar'), 'bar@127.0.0.2')).toBe(true);
    expect(isBeamOfNode(argv('beam.debug.smp', '-name', 'bar@127.0.0.2'), 'bar@127.0.0.2')).toBe(true);
    expect(isBeamOfNode(argv('/x/beam.smp', '-name', 'bar@127.0.0.3'), 'bar@127.0.0.2')).toBe(false);
    expect(isBeamOfNode(argv('/x/beam.smp', '-eval', '-name bar@127.0.0.2'), 'bar@127.0.0.2')).toBe(false);
    expect(isBeamOfNode(argv('/bin/sh', '-name', 'bar@127.0.0.2'), 'bar@127.0.0.2')).toBe(false);
    expect(isBeamOfNode('', 'bar@127.0.0.2')).toBe(false);
  });

  it('signal: a garbage pid file is a reload error that does not echo the file', async () => {
    const f = fakePorts({ '/run/bar.pid': 'root:$6$secret' });
    const err = await reloadNode(f.ports, node({ strategy: 'signal', pidFile: '/run/bar.pid', handlerInstalled: true }), 'aa', signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'reload' });
    expect((err as Error).message).not.toMatch(/root|secret/);
  });

  it('rpc: a hidden, non-listening TLS node; the cookie goes through a 0600 args file, never argv', async () => {
    const f = fakePorts();
    const n = node({ strategy: 'rpc', cookie: 'sekrit', epmdModule: 'vaultdist_epmd', codePaths: ['/opt/ebin'], extraArgs: ['-vaultdist_epmd_ports', 'bar=4370'] });
    await reloadNode(f.ports, n, 'aa', signal);
    const argv = f.runs[0]!;
    expect(argv.slice(0, 3)).toEqual(['erl', '-name', expect.stringMatching(/^rpc-\d+_\d+-bar@127\.0\.0\.2$/)]);
    for (const flag of [['-hidden'], ['-dist_listen', 'false'], ['-proto_dist', 'inet_tls'], ['-start_epmd', 'false'], ['-erl_epmd_port', '4370'], ['-epmd_module', 'vaultdist_epmd'], ['-pa', '/opt/ebin'], ['-ssl_dist_optfile', '/var/lib/vaultdist/bar/reload-client.conf']]) {
      const i = argv.indexOf(flag[0]!);
      expect(argv.slice(i, i + flag.length)).toEqual(flag);
    }
    expect(argv.join(' ')).not.toContain('sekrit');
    expect(argv[argv.length - 1]).toContain("T = 'bar@127.0.0.2'");
    expect(f.files['/var/lib/vaultdist/bar/reload-client.conf']).toContain('{certfile, "/var/lib/vaultdist/bar/bundle.pem"}');
    const argsFile = argv[argv.indexOf('-args_file') + 1]!;
    expect(f.files[argsFile]).toBe('-setcookie sekrit\n');
  });

  it('rpc: short names use -sname', () => {
    const n = node({ strategy: 'rpc' });
    n.name = 'bar@myhost';
    expect(rpcArgv(n, { optfile: '/x.conf', argsFile: undefined, uniq: '1' }).slice(1, 3)).toEqual(['-sname', 'rpc-1-bar@myhost']);
  });

  it('command: argv as given, with the node, dir and serial in the environment', async () => {
    const f = fakePorts();
    const calls: { env?: Record<string, string> }[] = [];
    const run = f.ports.process.run;
    f.ports.process.run = async (argv, o) => {
      calls.push(o);
      return run(argv, o);
    };
    await reloadNode(f.ports, node({ strategy: 'command', command: ['/opt/app/bin/app', 'rpc', 'vaultdist_reload:reload()'] }), 'aa:bb', signal);
    expect(f.runs[0]).toEqual(['/opt/app/bin/app', 'rpc', 'vaultdist_reload:reload()']);
    expect(calls[0]!.env).toEqual({ VAULTDIST_NODE: 'bar@127.0.0.2', VAULTDIST_DIR: '/var/lib/vaultdist/bar', VAULTDIST_SERIAL: 'aa:bb' });
  });
});
