/**
 * Benchmark 1: Erlang distribution throughput and latency between two local OTP nodes.
 *
 *   tcp        plain inet_tcp_dist (the baseline every ratio is taken against)
 *   tls-otp    inet_tls with OTP's defaults: an optfile with certs + verify_peer and no `versions`
 *              (OTP then forces TLS 1.2, facts doc §2.2)
 *   vaultdist  the optfile vaultdist generates (SDK renderOptfile: TLS 1.3 only, EC P-256 certificates
 *              signed by OpenBao through the SDK)
 * plus, with --tuning, variants of the vaultdist configuration that try options we control.
 *
 * Method (facts doc §8): N binaries to a sink on the peer, which acks the N-th; RTT = median of
 * individually timed ping-pongs after a warm-up. Every pair of nodes stays up for the whole run and the
 * modes are interleaved inside each round (rotating the order), so slow phases of a shared machine hit
 * all modes alike; each figure is the median over the rounds and the ratio is against tcp in this run.
 *
 *   node_modules/.bin/tsx bench/dist.ts [--rounds=5] [--tuning] [--modes=tcp,tls-otp,vaultdist]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueNodeCredentials, renderOptfile } from '../packages/sdk/src/index.js';
import { compileErlang, sharedFreePort, startNode, type ErlNode } from '../test/helpers/erlang.js';
import { emitResult, parseArgs, runMain, UsageError } from './lib/args.js';
import { machineLine, otpRelease } from './lib/env.js';
import { fmt, max, median, table } from './lib/stats.js';
import { startBenchPki, type BenchPki } from './lib/vault.js';

const HERE = dirname(fileURLToPath(import.meta.url));

interface ModeDef {
  desc: string;
  /** Renders the optfile for a TLS mode; absent for plain TCP. */
  optfile?: (bundle: string, ca: string) => string;
  vmFlags?: string[];
}

/** OTP's own defaults, secured: certs + verify_peer, no versions/ciphers (→ TLS 1.2, OTP's cipher order). */
const otpDefaultOptfile = (b: string, ca: string) => {
  const common = `{certfile, "${b}"}, {keyfile, "${b}"}, {cacertfile, "${ca}"}, {verify, verify_peer}`;
  return `[{server, [${common}, {fail_if_no_peer_cert, true}]},\n {client, [${common}]}].\n`;
};
const vd = (b: string, ca: string) => renderOptfile({ bundleFile: b, caFile: ca });
/** The vaultdist optfile with one extra option added to both the server and client lists. */
const vdPlus = (extra: string) => (b: string, ca: string) => vd(b, ca).replace(/\{versions, \[[^\]]*\]\}/g, (m) => `${m},\n    ${extra}`);
const BUF = 4 * 1024 * 1024;

const MODES: Record<string, ModeDef> = {
  tcp: { desc: 'inet_tcp_dist (baseline)' },
  'tls-otp': { desc: 'inet_tls, OTP defaults (no versions → TLS 1.2)', optfile: otpDefaultOptfile },
  vaultdist: { desc: 'inet_tls, vaultdist optfile (TLS 1.3)', optfile: vd },
  'vd-tls12': { desc: 'vaultdist optfile with versions [tlsv1.2]', optfile: (b, ca) => renderOptfile({ bundleFile: b, caFile: ca, versions: ['tlsv1.2'] }) },
  'vd-aes128': { desc: 'vaultdist + ciphers [TLS_AES_128_GCM_SHA256]', optfile: vdPlus(`{ciphers, ["TLS_AES_128_GCM_SHA256"]}`) },
  'vd-chacha': { desc: 'vaultdist + ciphers [TLS_CHACHA20_POLY1305_SHA256]', optfile: vdPlus(`{ciphers, ["TLS_CHACHA20_POLY1305_SHA256"]}`) },
  'vd-sockbuf': { desc: `vaultdist + socket sndbuf/recbuf/buffer ${BUF / 1048576} MiB (optfile)`, optfile: vdPlus(`{sndbuf, ${BUF}}, {recbuf, ${BUF}}, {buffer, ${BUF}}`) },
  'vd-zdbbl': { desc: 'vaultdist + VM flag +zdbbl 32768 (dist_buf_busy_limit 32 MiB)', optfile: vd, vmFlags: ['+zdbbl', '32768'] },
  'vd-sbwt': { desc: 'vaultdist + +sbwt none +sbwtdcpu none +sbwtdio none', optfile: vd, vmFlags: ['+sbwt', 'none', '+sbwtdcpu', 'none', '+sbwtdio', 'none'] },
  'vd-ktls': { desc: 'vaultdist + {ktls, true} (OTP ≥ 27 only; needs the Linux kernel TLS module)', optfile: vdPlus('{ktls, true}') },
  'tcp-zdbbl': { desc: 'inet_tcp_dist + +zdbbl 32768 (for reference)', vmFlags: ['+zdbbl', '32768'] },
};
const TUNING = ['vd-tls12', 'vd-aes128', 'vd-chacha', 'vd-sockbuf', 'vd-zdbbl', 'vd-sbwt'];

const spec = {
  rounds: { default: 5, help: 'rounds; modes are interleaved inside each round' },
  modes: { default: 'tcp,tls-otp,vaultdist', help: `comma-separated modes (${Object.keys(MODES).join(', ')})` },
  tuning: { default: false, help: `also run the tuning variants (${TUNING.join(', ')})` },
  'kib-count': { default: 20000, help: 'messages per round in the 1 KiB throughput test' },
  'mib-count': { default: 100, help: 'messages per round in the 1 MiB throughput test' },
  rtt: { default: 5000, help: 'timed ping-pongs per round' },
  warm: { default: 200, help: 'warm-up ping-pongs per round' },
  erl: { default: 'erl', help: 'erl executable (another OTP lane)' },
};

interface Pair {
  mode: string;
  a: ErlNode;
  b: ErlNode;
  conn: string;
}

interface Sample {
  kibMBps: number[];
  mibMBps: number[];
  rttUs: number[];
}

async function main(): Promise<void> {
  const args = parseArgs('bench/dist.ts', spec);
  const modes = [...new Set([...args.modes.split(',').map((s) => s.trim()).filter(Boolean), ...(args.tuning ? TUNING : [])])];
  for (const m of modes) if (!MODES[m]) throw new UsageError(`bench/dist.ts: unknown mode ${JSON.stringify(m)} (known: ${Object.keys(MODES).join(', ')})`);
  if (!modes.includes('tcp')) modes.unshift('tcp');
  if (args.rounds < 1) throw new UsageError('bench/dist.ts: --rounds must be ≥ 1');

  console.log(`# bench/dist: Erlang distribution, OTP ${otpRelease(args.erl)}`);
  console.log(machineLine());
  console.log(`config: rounds=${args.rounds} 1KiB×${args['kib-count']} 1MiB×${args['mib-count']} rtt=${args.rtt} (warm ${args.warm}); MB = 10^6 bytes`);

  const work = mkdtempSync(join(tmpdir(), 'vaultdist-bench-dist-'));
  const ebin = compileErlang([join(HERE, 'erl', 'vd_bench.erl')]);
  const hosts = modes.flatMap((_, i) => [`127.0.0.${60 + 2 * i}`, `127.0.0.${61 + 2 * i}`]);
  const pairs: Pair[] = [];
  const allNodes: ErlNode[] = [];
  let pki: BenchPki | undefined;
  try {
    const port = await sharedFreePort(hosts);
    if (modes.some((m) => MODES[m]!.optfile)) pki = await startBenchPki();
    for (const [i, mode] of modes.entries()) {
      const def = MODES[mode]!;
      const nodes: ErlNode[] = [];
      for (const [j, role] of ['a', 'b'].entries()) {
        const ip = hosts[2 * i + j]!;
        const name = `${role}${i}@${ip}`;
        const dir = join(work, `${mode}-${role}`);
        mkdirSync(dir, { recursive: true });
        const flags = ['-start_epmd', 'false', '-erl_epmd_port', String(port), '-kernel', 'inet_dist_use_interface', `{${ip.replace(/\./g, ',')}}`, ...(def.vmFlags ?? [])];
        if (def.optfile) {
          const res = await issueNodeCredentials(pki!.vault, { mount: pki!.mount, role: pki!.role, node: name, dir: join(dir, 'certs') });
          const optfile = join(dir, 'ssl_dist.conf');
          writeFileSync(optfile, def.optfile(res.written.bundlePath, res.written.caPath));
          flags.unshift('-proto_dist', 'inet_tls', '-ssl_dist_optfile', optfile);
        }
        const node = await startNode({ name, dir, flags, codePaths: [ebin], erl: args.erl });
        nodes.push(node);
        allNodes.push(node); // stopped in `finally` even when this pair never connects
      }
      const [a, b] = nodes as [ErlNode, ErlNode];
      if ((await a.ping(b.name)) !== 'pong') throw new Error(`mode ${mode}: ${a.name} cannot reach ${b.name}:\n${a.log().slice(-2000)}\n${b.log().slice(-2000)}`);
      const conn = await a.eval(`vd_bench:conn_info('${b.name}')`);
      pairs.push({ mode, a, b, conn });
    }
    console.log(table(['mode', 'connection', 'configuration'], pairs.map((p) => [p.mode, p.conn, MODES[p.mode]!.desc])));

    const samples = new Map<string, Sample>(modes.map((m) => [m, { kibMBps: [], mibMBps: [], rttUs: [] }]));
    for (let r = 0; r < args.rounds; r++) {
      const order = pairs.map((_, i) => pairs[(i + r) % pairs.length]!);
      const line: string[] = [];
      for (const p of order) {
        const s = samples.get(p.mode)!;
        const kibUs = Number(await p.a.eval(`vd_bench:throughput('${p.b.name}', 1024, ${args['kib-count']})`, 600000));
        const mibUs = Number(await p.a.eval(`vd_bench:throughput('${p.b.name}', 1048576, ${args['mib-count']})`, 600000));
        const rtt = await p.a.eval(`vd_bench:rtt('${p.b.name}', ${args.warm}, ${args.rtt})`, 600000);
        const m = /^\{([\d.e+-]+),([\d.e+-]+),([\d.e+-]+)\}$/.exec(rtt);
        if (!m) throw new Error(`unexpected rtt result ${rtt}`);
        s.kibMBps.push((1024 * args['kib-count']) / kibUs);
        s.mibMBps.push((1048576 * args['mib-count']) / mibUs);
        s.rttUs.push(Number(m[1]));
        line.push(`${p.mode} ${fmt(s.kibMBps.at(-1)!)}/${fmt(s.mibMBps.at(-1)!)} MB/s ${fmt(s.rttUs.at(-1)!)} µs`);
      }
      console.log(`round ${r + 1}: ${line.join(' · ')}`);
    }

    const base = samples.get('tcp')!;
    const b = { kib: median(base.kibMBps), mib: median(base.mibMBps), rtt: median(base.rttUs) };
    const results = modes.map((mode) => {
      const s = samples.get(mode)!;
      const kib = median(s.kibMBps);
      const mib = median(s.mibMBps);
      const rtt = median(s.rttUs);
      return {
        mode,
        connection: pairs.find((p) => p.mode === mode)!.conn,
        kibMBps: kib,
        kibRange: [Math.min(...s.kibMBps), max(s.kibMBps)],
        mibMBps: mib,
        mibRange: [Math.min(...s.mibMBps), max(s.mibMBps)],
        rttUs: rtt,
        kibRatio: kib / b.kib,
        mibRatio: mib / b.mib,
        rttRatio: rtt / b.rtt,
      };
    });
    console.log('\nmedians over rounds (ratio = mode / tcp in this run; range = min–max over rounds)');
    console.log(
      table(
        ['mode', '1 KiB MB/s', 'range', '×tcp', '1 MiB MB/s', 'range', '×tcp', 'RTT µs', '×tcp'],
        results.map((x) => [x.mode, x.kibMBps, `${fmt(x.kibRange[0]!)}–${fmt(x.kibRange[1]!)}`, x.kibRatio, x.mibMBps, `${fmt(x.mibRange[0]!)}–${fmt(x.mibRange[1]!)}`, x.mibRatio, x.rttUs, x.rttRatio]),
      ),
    );
    emitResult('dist', { otp: otpRelease(args.erl), rounds: args.rounds, results });
  } finally {
    await Promise.all(allNodes.map((n) => n.stop()));
    await pki?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

runMain(main);
