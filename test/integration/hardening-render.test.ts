/**
 * Input hardening (issue #7): seeded property tests for node-name parsing and optfile / vm.args
 * rendering. Every generated input is either rejected with a typed error or rendered so that a real
 * OTP 25 reads back EXACTLY the value given — no value can leave its Erlang string or its flag.
 *
 * The optfiles are read with `ssl_dist_sup:consult/1` (the very function `-ssl_dist_optfile` uses) and
 * the vm.args fragments with erlexec's `-args_file`, each batch in ONE erl process.
 *
 * Reproduce a run: VAULTDIST_FUZZ_SEED=<seed printed on failure>; more cases: VAULTDIST_FUZZ_RUNS=N.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  distFlags,
  isNodeNameError,
  isRenderError,
  parseNodeName,
  renderOptfile,
  renderVmArgs,
  type DistFlagsOptions,
  type OptfileOptions,
} from '../../packages/sdk/src/index.js';
import { flagWord, TLS_CIPHERS } from '../../packages/sdk/src/internal.js';
import { testdir } from '../helpers/vault.js';
import { prng, type Rng } from '../../scripts/test-utils/src/index.js';

/** A hung erl ignores SIGTERM: bound every run and kill hard. */
const ERL_OPTS = { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000, killSignal: 'SIGKILL' } as const;
const SEED = Number(process.env.VAULTDIST_FUZZ_SEED ?? Date.now() % 1_000_000);
const RUNS = Number(process.env.VAULTDIST_FUZZ_RUNS ?? 300);


/** Characters that have broken renderers somewhere: quoting, escapes, comments, terms, shell, unicode. */
const NASTY = ['"', "'", '\\', '\n', '\r', '\t', ' ', '%', '#', '{', '}', '[', ']', ',', '.', '$', '`', '(', ')', ';', '|', '&', '*', '?', '~', '\x7f', '\x01', 'é', 'ü', '€', '😀', '\u2028', '\u202e', '\ufeff', ':', '=', '+', '-', '@', '/', '~p', '\\x{41}', '$ENV', '"}].', "'.", '\uD800'];
const PLAIN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./';

function str(r: Rng, max = 16, nastyP = 0.3): string {
  let s = '';
  const n = r.int(max + 1);
  for (let i = 0; i < n; i++) s += r.bool(nastyP) ? r.pick(NASTY) : PLAIN[r.int(PLAIN.length)]!;
  return s;
}
const label = (r: Rng) => (r.bool(0.85) ? Array.from({ length: 1 + r.int(8) }, () => PLAIN[r.int(62)]).join('') : str(r, 6));
function host(r: Rng): string {
  switch (r.int(5)) {
    case 0:
      return Array.from({ length: 4 }, () => String(r.int(300))).join('.');
    case 1:
      return r.pick(['::1', 'fe80::1', '2001:db8::7', '[::1]', '1:2:3:4:5:6:7:8', '::ffff:127.0.0.1']);
    case 2:
      return Array.from({ length: 1 + r.int(4) }, () => label(r)).join('.');
    case 3:
      return str(r, 12);
    default:
      return r.pick(['localhost', '127.0.0.1', 'a-b.example', 'x'.repeat(64) + '.example', `${'a.'.repeat(130)}b`, '1.2.3', '-a.example', 'a-.example']);
  }
}
function nodeNameInput(r: Rng): string {
  if (r.bool(0.15)) return str(r, 24);
  const sep = r.bool(0.9) ? '@' : r.pick(['', '@@', '@x@']);
  return `${r.bool(0.9) ? label(r) : str(r, 6)}${sep}${host(r)}`;
}
const absPath = (r: Rng, nastyP = 0.3) => `/${str(r, 24, nastyP)}`;
/** A path for vm.args: half of them plain enough to be accepted, the rest hostile. */
const argPath = (r: Rng) => absPath(r, r.bool(0.6) ? 0 : r.bool() ? 0.02 : 0.3);
const codePoints = (s: string) => [...s].map((c) => c.codePointAt(0)!).join(',');

function failWithSeed(msg: string): never {
  throw new Error(`${msg}\n(reproduce with VAULTDIST_FUZZ_SEED=${SEED})`);
}

/**
 * Defects these properties found in the SDK (issue #7), fixed since: each has a minimal repro at the
 * end of this file, and the fuzz loops above no longer set any input aside.
 * - parseNodeName accepted a name part starting with "-" (`-name -x@h` makes erl read it as a flag);
 * - flagWord accepted a word starting with "-" (e.g. epmdModule "-x"), leaving its flag in vm.args;
 * - a code path of only slashes was accepted, and `-pa /` crashes OTP 25's code server at boot;
 * - erlangString rendered a lone UTF-16 surrogate as \x{D800}, which OTP's scanner rejects.
 */
describe(`input hardening: rendering and parsing (seed ${SEED}, ${RUNS} runs each)`, () => {
  const t = testdir();
  afterAll(() => t.cleanup());

  it('parseNodeName: every input is a NodeNameError or a name that is safe in flags, SNI and the URI SAN', () => {
    const r = prng(SEED);
    let accepted = 0;
    for (let i = 0; i < RUNS * 5; i++) {
      const input = nodeNameInput(r);
      let n;
      try {
        n = parseNodeName(input);
      } catch (e) {
        if (!isNodeNameError(e)) failWithSeed(`parseNodeName(${JSON.stringify(input)}) threw a non-typed ${String(e)}`);
        continue;
      }
      accepted++;
      const problems: string[] = [];
      if (n.full !== `${n.name}@${n.host}`) problems.push('full != name@host');
      if (!/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(n.name)) problems.push(`name part ${JSON.stringify(n.name)}`);
      if (n.hostKind === 'ipv4' && isIP(n.host) !== 4) problems.push('ipv4 kind');
      if (n.hostKind === 'ipv6' && isIP(n.host) !== 6) problems.push('ipv6 kind');
      if (n.hostKind === 'dns' && !n.host.split('.').every((l) => /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/.test(l))) problems.push('dns labels');
      try {
        flagWord('node', n.full);
      } catch {
        problems.push('not a safe vm.args word');
      }
      if (problems.length) failWithSeed(`parseNodeName(${JSON.stringify(input)}) accepted ${JSON.stringify(n)}: ${problems.join(', ')}`);
    }
    expect(accepted).toBeGreaterThan(RUNS / 10); // the generator does reach the accepting paths
  });

  it('renderOptfile: rejected with RenderError, or read back by OTP (ssl_dist_sup:consult/1) with exactly the given values', () => {
    const r = prng(SEED + 1);
    const dir = join(t.dir, 'optfiles');
    execFileSync('mkdir', ['-p', dir]);
    const expected = new Map<string, string>();
    let rejected = 0;
    for (let i = 0; i < RUNS; i++) {
      const versions = r.bool(0.9)
        ? r.pick([['tlsv1.3'], ['tlsv1.2'], ['tlsv1.3', 'tlsv1.2'], undefined])
        : r.pick([[], ['tlsv1.1'], ["tlsv1.3'] ++ os:cmd(\"id\") ++ ['"], [str(r, 6)]]);
      const o: OptfileOptions = {
        bundleFile: r.bool(0.95) ? absPath(r) : str(r, 10),
        keyFile: r.bool(0.3) ? absPath(r) : undefined,
        caFile: r.bool(0.95) ? absPath(r) : str(r, 10),
        versions: versions as OptfileOptions['versions'],
        crl: r.bool(0.4) ? { check: r.pick(['peer', 'best_effort', true] as const), crlDir: r.bool(0.9) ? absPath(r) : str(r, 8) } : undefined,
        ipSanHostnameMatch: r.bool(0.3),
        comment: r.bool(0.4) ? [str(r, 30), str(r, 30)] : undefined,
      };
      let text: string;
      try {
        text = renderOptfile(o);
      } catch (e) {
        if (!isRenderError(e)) failWithSeed(`renderOptfile(${JSON.stringify(o)}) threw a non-typed ${String(e)}`);
        rejected++;
        continue;
      }
      const f = join(dir, `o${i}.conf`);
      writeFileSync(f, text);
      const vs = (o.versions ?? ['tlsv1.3']) as string[];
      const common = [
        `certfile=${codePoints(o.bundleFile)}`,
        `keyfile=${codePoints(o.keyFile ?? o.bundleFile)}`,
        `cacertfile=${codePoints(o.caFile)}`,
        'verify=verify_peer',
        'depth=4',
        `versions=[${vs.map((v) => `'${v}'`).join(',')}]`,
        // TLS 1.2 allowed: the modern suites only (#15)
        ...(vs.includes('tlsv1.2') ? ['secure_renegotiate=true', `ciphers=${JSON.stringify(TLS_CIPHERS.join(':'))}`] : []),
        ...(o.crl ? [`crl_check=${o.crl.check}`, `crl_dir=${codePoints(o.crl.crlDir)}`] : []),
      ];
      expected.set(f, `${[...common, 'fail_if_no_peer_cert=true'].join(';')}\t${[...common, ...(o.ipSanHostnameMatch ? ['match_fun'] : [])].join(';')}`);
    }
    const ebin = join(t.dir, 'ebin');
    execFileSync('mkdir', ['-p', ebin]);
    writeFileSync(
      join(ebin, 'vd_fuzz_optfile.erl'),
      `-module(vd_fuzz_optfile).
-export([main/1]).
main([List]) ->
    {ok, B} = file:read_file(List),
    [io:format("~s\\t~s~n", [F, one(binary_to_list(F))]) || F <- binary:split(B, <<"\\n">>, [global, trim_all])],
    halt().
one(F) ->
    try ssl_dist_sup:consult(F) of
        [{server, S}, {client, C}] -> desc(S) ++ "\\t" ++ desc(C);
        Other -> "SHAPE " ++ lists:flatten(io_lib:format("~0p", [Other]))
    catch Cl:R -> "ERROR " ++ lists:flatten(io_lib:format("~0p:~0p", [Cl, R]))
    end.
desc(Opts) -> lists:join($;, [opt(O) || O <- Opts]).
opt({K, V}) when K =:= certfile; K =:= keyfile; K =:= cacertfile -> [atom_to_list(K), $=, cps(V)];
opt({crl_cache, {ssl_crl_hash_dir, {internal, [{dir, D}]}}}) -> ["crl_dir=", cps(D)];
opt({customize_hostname_check, [{match_fun, Fun}]}) when is_function(Fun, 2) -> "match_fun";
opt(O) -> lists:flatten(io_lib:format("~0p=~0p", tuple_to_list(O))).
cps(S) -> lists:join($,, [integer_to_list(C) || C <- S]).
`,
    );
    execFileSync('erlc', ['-o', ebin, join(ebin, 'vd_fuzz_optfile.erl')]);
    const list = join(t.dir, 'optfiles.txt');
    writeFileSync(list, [...expected.keys()].join('\n'));
    const out = execFileSync('erl', ['-noshell', '-pa', ebin, '-run', 'vd_fuzz_optfile', 'main', list], ERL_OPTS);
    const got = new Map(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('\t')), l.slice(l.indexOf('\t') + 1)]));
    const bad = [...expected].filter(([f, want]) => got.get(f) !== want).map(([f, want]) => `${f}\n  want ${want}\n  got  ${got.get(f)}`);
    if (bad.length) failWithSeed(`${bad.length} optfiles read back differently:\n${bad.slice(0, 3).join('\n')}`);
    expect(expected.size).toBeGreaterThan(RUNS / 3);
    expect(rejected).toBeGreaterThan(0);
  });

  it('distFlags/renderVmArgs: rejected with RenderError, or erlexec (-args_file) reads back exactly the given words', () => {
    const r = prng(SEED + 2);
    const dir = join(t.dir, 'vmargs');
    execFileSync('mkdir', ['-p', dir]);
    const files: string[] = [];
    const want: { optfile: string[]; port: string[]; epmd: string[]; pa: string[] } = { optfile: [], port: [], epmd: [], pa: [] };
    let iface: string | undefined;
    for (let i = 0; i < RUNS; i++) {
      const o: DistFlagsOptions = {
        optfile: r.bool(0.95) ? argPath(r) : str(r, 8),
        distPort: r.bool(0.9) ? 1 + r.int(65535) : r.pick([0, 70000, 1.5, -1, Number.NaN]),
        epmdModule: r.bool(0.4) ? (r.bool(0.7) ? label(r) : str(r, 8)) : undefined,
        listenInterface: r.bool(0.3) ? (r.bool(0.7) ? Array.from({ length: 4 }, () => String(r.int(256))).join('.') : host(r)) : undefined,
        codePaths: r.bool(0.4) ? [argPath(r), argPath(r)] : undefined,
        connectAllFalse: r.bool(),
        noListen: r.bool(0.2),
        hidden: r.bool(0.2),
      };
      let text: string;
      try {
        distFlags(o);
        text = renderVmArgs(o);
      } catch (e) {
        if (!isRenderError(e)) failWithSeed(`renderVmArgs(${JSON.stringify(o)}) threw a non-typed ${String(e)}`);
        continue;
      }
      // Each value is one word (no whitespace, '#', quotes, '$', backslash), none reads as a flag, and
      // no code path is the root (`-pa /` hangs OTP 25 at boot).
      for (const v of [o.optfile, o.epmdModule, ...(o.codePaths ?? [])]) {
        if (v !== undefined && (/[\s#"'\\$`]/.test(v) || /^[-+]/.test(v))) failWithSeed(`renderVmArgs accepted the unsafe word ${JSON.stringify(v)}`);
      }
      if ((o.codePaths ?? []).some((p) => /^\/+$/.test(p))) failWithSeed(`renderVmArgs accepted the root code path in ${JSON.stringify(o.codePaths)}`);
      const f = join(dir, `v${i}.args`);
      writeFileSync(f, text);
      files.push(f);
      want.optfile.push(o.optfile);
      want.port.push(String(o.distPort));
      if (o.epmdModule) want.epmd.push(o.epmdModule);
      want.pa.push(...(o.codePaths ?? []));
      // erlexec: for repeated `-kernel Par Val`, the FIRST occurrence wins.
      if (o.listenInterface && !iface) iface = `{${o.listenInterface.split('.').join(',')}}`;
    }
    // One erl for all fragments: init arguments accumulate across -args_file, in order. No -name:
    // distribution does not start, so the dist flags are only parsed, which is what is checked here.
    const expr = `[io:format("~s ~ts~n", [K, lists:join(" ", [lists:join(",", [integer_to_list(C) || C <- V]) || V <- Vs])]) || K <- [ssl_dist_optfile, erl_epmd_port, epmd_module, pa], {ok, Vss} <- [init:get_argument(K)], Vs <- [lists:append(Vss)]], io:format("iface ~0p~n", [application:get_env(kernel, inet_dist_use_interface)]), halt().`;
    const out = execFileSync('erl', ['-noshell', ...files.flatMap((f) => ['-args_file', f]), '-eval', expr], ERL_OPTS);
    const lines = new Map(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
    const enc = (xs: string[]) => xs.map(codePoints).join(' ');
    expect(lines.get('ssl_dist_optfile')).toBe(enc(want.optfile));
    expect(lines.get('erl_epmd_port')).toBe(enc(want.port));
    expect(lines.get('epmd_module') ?? '').toBe(enc(want.epmd));
    expect(lines.get('pa') ?? '').toBe(enc(want.pa));
    expect(lines.get('iface')).toBe(iface ? `{ok,${iface}}` : 'undefined');
    expect(files.length).toBeGreaterThan(RUNS / 5);
  });

  const rejects = (f: () => unknown, guard: (e: unknown) => boolean) => {
    try {
      f();
    } catch (e) {
      return guard(e);
    }
    return false;
  };
  it('fixed (sdk node-name.ts): parseNodeName rejects a name part that starts with "-"', () => {
    expect(rejects(() => parseNodeName('-s@127.0.0.1'), isNodeNameError)).toBe(true);
  });
  it('fixed (sdk render/erlang.ts flagWord): a vm.args word starting with "-" is a RenderError', () => {
    expect(rejects(() => distFlags({ optfile: '/o', distPort: 1, epmdModule: '-eval' }), (e) => isRenderError(e) && e.field === 'epmdModule')).toBe(true);
    expect(rejects(() => renderVmArgs({ optfile: '/o', distPort: 1, cookie: '-s' }), (e) => isRenderError(e) && e.field === 'cookie')).toBe(true);
  });
  it('fixed (sdk render/vm-args.ts): a code path of only "/" is a RenderError (-pa / hangs OTP 25 at boot)', () => {
    for (const p of ['/', '//']) expect(rejects(() => distFlags({ optfile: '/o', distPort: 1, codePaths: [p] }), (e) => isRenderError(e) && e.field === 'codePaths')).toBe(true);
    expect(distFlags({ optfile: '/o', distPort: 1, codePaths: ['/.'] })).toContain('/.'); // measured: `-pa /.` boots
  });
  it('fixed (sdk render/erlang.ts erlangString): a lone surrogate is a RenderError naming the field, not an unreadable optfile', () => {
    expect(rejects(() => renderOptfile({ bundleFile: '/a\uD800', caFile: '/ca.pem' }), (e) => isRenderError(e) && e.field === 'bundleFile')).toBe(true);
    expect(rejects(() => renderOptfile({ bundleFile: '/a', caFile: '/ca\uDC00.pem' }), (e) => isRenderError(e) && e.field === 'caFile')).toBe(true);
    expect(renderOptfile({ bundleFile: '/a\u{1F600}', caFile: '/ca.pem' })).toContain('\\x{1F600}'); // a surrogate PAIR is one code point
  });
});
