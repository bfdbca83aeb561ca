import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testdir } from '../../../../scripts/test-utils/src/index.js';
import { isRenderError } from '../errors.js';
import { parseNodeName } from '../node-name.js';
import { erlFlagsString, iexCommand, renderReleaseEnvSh, renderReleaseRemoteVmArgs, renderReleaseVmArgs, shellQuote } from './elixir.js';

const t = testdir();
afterAll(() => t.cleanup());

/** Sources the generated env.sh in a real POSIX sh (dash) and prints the variables it exports. */
function sourceEnv(text: string, env: Record<string, string>): { opts: string; node: string; dist: string } {
  const f = join(t.dir, `env-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(f, text);
  const out = execFileSync('sh', ['-c', `. "$1"; printf '%s\\n%s\\n%s' "$ELIXIR_ERL_OPTIONS" "\${RELEASE_NODE:-}" "\${RELEASE_DISTRIBUTION:-}"`, 'sh', f], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH!, ...env },
  });
  const [opts, node, dist] = out.split('\n');
  return { opts: opts!, node: node!, dist: dist! };
}

function renderError(f: () => unknown): { field: string } | undefined {
  try {
    f();
  } catch (e) {
    if (isRenderError(e)) return e;
    throw e;
  }
  return undefined;
}

describe('Elixir release snippets', () => {
  it('vm.args.eex holds only static flags; remote.vm.args.eex adds -dist_listen false', () => {
    const lines = (s: string) => s.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines(renderReleaseVmArgs({ listenInterface: '127.0.0.1', connectAllFalse: true }))).toEqual([
      '-proto_dist vaultdist_tls',
      '-start_epmd false',
      '-kernel inet_dist_use_interface {127,0,0,1}',
      '-connect_all false',
    ]);
    expect(lines(renderReleaseRemoteVmArgs({ epmdModule: 'vaultdist_epmd' }))).toEqual([
      '-proto_dist vaultdist_tls',
      '-start_epmd false',
      '-epmd_module vaultdist_epmd',
      '-dist_listen false',
    ]);
    expect(renderReleaseVmArgs()).not.toMatch(/\$\{|<%/);
  });

  it('env.sh.eex is valid sh and branches ELIXIR_ERL_OPTIONS on $RELEASE_COMMAND', () => {
    const text = renderReleaseEnvSh({ optfile: '/etc/vaultdist/app/ssl_dist.conf', distPort: 9150, node: parseNodeName('app@10.0.0.5'), codePaths: ['/opt/vd/ebin'] });
    const f = join(t.dir, 'env.sh');
    writeFileSync(f, text);
    execFileSync('sh', ['-n', f]);
    expect(text).not.toContain('<%');
    const base = '-ssl_dist_optfile /etc/vaultdist/app/ssl_dist.conf -erl_epmd_port 9150 -pa /opt/vd/ebin';
    expect(sourceEnv(text, { RELEASE_COMMAND: 'start' })).toEqual({ opts: base, node: 'app@10.0.0.5', dist: 'name' });
    expect(sourceEnv(text, { RELEASE_COMMAND: 'daemon_iex' }).opts).toBe(base);
    for (const cmd of ['rpc', 'remote', 'eval', 'pid', 'stop']) expect(sourceEnv(text, { RELEASE_COMMAND: cmd }).opts).toBe(`${base} -dist_listen false`);
    // existing options are kept; exported overrides win
    expect(sourceEnv(text, { RELEASE_COMMAND: 'start', ELIXIR_ERL_OPTIONS: '+sbwt none' }).opts).toBe(`+sbwt none ${base}`);
    const o = sourceEnv(text, { RELEASE_COMMAND: 'start', VAULTDIST_DIST_PORT: '9200', RELEASE_NODE: 'other@10.0.0.6' });
    expect(o.opts).toContain('-erl_epmd_port 9200');
    expect(o.node).toBe('other@10.0.0.6');
  });

  it.each([
    ['/etc/vd/a b.conf', 'space'],
    ['/etc/vd/$(touch /tmp/pwned).conf', 'command substitution'],
    ['/etc/vd/`id`.conf', 'backtick'],
    ["/etc/vd/it's.conf", 'quote'],
    ['/etc/vd/x.conf\n-eval halt()', 'newline'],
    ['/etc/vd/x;rm -rf /', 'semicolon'],
    ['/etc/vd/#x', 'comment'],
    ['relative/ssl_dist.conf', 'relative'],
  ])('rejects a hostile optfile path (%s: %s) with RenderError', (optfile) => {
    expect(renderError(() => renderReleaseEnvSh({ optfile, distPort: 9150 }))?.field).toBe('optfile');
    expect(renderError(() => iexCommand({ node: parseNodeName('a@127.0.0.1'), optfile, distPort: 9150 }))?.field).toBe('optfile');
  });

  it('rejects bad ports, prefixes and cookies with RenderError naming the field', () => {
    expect(renderError(() => renderReleaseEnvSh({ optfile: '/o', distPort: 0 }))?.field).toBe('distPort');
    expect(renderError(() => renderReleaseEnvSh({ optfile: '/o', distPort: 1, envPrefix: 'X;rm' }))?.field).toBe('envPrefix');
    expect(renderError(() => renderReleaseVmArgs({ listenInterface: '127.0.0.1; halt' }))?.field).toBe('listenInterface');
    expect(renderError(() => iexCommand({ node: parseNodeName('a@127.0.0.1'), optfile: '/o', distPort: 1, cookie: "c'$(id)" }))?.field).toBe('cookie');
  });

  it('shellQuote round-trips any string through a real sh', () => {
    for (const v of ["it's", '$(id)', '`id`', 'a b\tc\nd', '\\', '"', '', 'ü€😀', "''"]) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(v)}`], { encoding: 'utf8' })).toBe(v);
    }
  });

  it('renders the iex --erl line (valid sh, flags as one word)', () => {
    const line = iexCommand({ node: parseNodeName('dev@127.0.0.1'), optfile: '/home/me/vd/ssl_dist.conf', distPort: 9150, noListen: true });
    expect(line).toBe("iex --name 'dev@127.0.0.1' --erl '-proto_dist vaultdist_tls -ssl_dist_optfile /home/me/vd/ssl_dist.conf -start_epmd false -erl_epmd_port 9150 -dist_listen false'");
    const f = join(t.dir, 'iex.sh');
    writeFileSync(f, `${line}\n`);
    execFileSync('sh', ['-n', f]);
    expect(erlFlagsString({ optfile: '/o', distPort: 1 })).toBe('-proto_dist vaultdist_tls -ssl_dist_optfile /o -start_epmd false -erl_epmd_port 1');
    expect(iexCommand({ node: parseNodeName('dev@localhost'), optfile: '/o', distPort: 1, command: 'elixir' })).toMatch(/^elixir --sname 'dev@localhost' --erl /);
  });
});
