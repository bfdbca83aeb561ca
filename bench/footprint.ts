/**
 * Benchmark 4: footprint.
 *
 * A. `vaultdist --help` start-up: wall time of `node packages/cli/bin.js --help` (the installed bin's
 *    shim on the built CLI), interleaved with the baseline `node -e 0` (Node's own start-up) in the
 *    same run. Target ≤ 0.5 s. The first run is the coldest this machine allows (no cache dropping).
 * B. Agent idle: the real agent daemon (`node packages/agent/bin.js --config …`, health server on)
 *    managing 1 and then 10 nodes against this benchmark's own OpenBao. After /readyz says ready (every
 *    node has its certificate) and the work process the start-up work ran in has exited (the daemon
 *    forks one for Vault/X.509 work, issue #16; `--worker-mode=inline` runs everything in the agent
 *    process, as before, for comparison), RSS and CPU time of the agent's process tree (a work process
 *    alive in the window counts, and the CPU of those that exited) are sampled from /proc for --seconds.
 *    A bare Node process (`setInterval` only) is sampled over the same window as the baseline.
 *    Targets: ≤ 60 MB RSS, idle CPU ≈ 0. The managed nodes are credential directories (reload strategy
 *    poll, verification off): no BEAM runs, since an idle agent does not touch its nodes.
 * C. `vaultdist status` and `vaultdist doctor` on the first node of B (its credential set as the agent
 *    wrote it, plus a vaultdist.json; the agent still running, so status reads its /healthz), each run
 *    interleaved with `node -e 0`. Target ≤ 2.5× `node -e 0` (issue #16). The summary prints the
 *    ratios of B and C, measured in this one run.
 *
 *   node_modules/.bin/tsx bench/footprint.ts [--help-runs=10] [--cli-runs=10] [--seconds=20] [--nodes=1,10]
 *   (build first: node scripts/build.mjs)
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { childPids, freePort } from '../scripts/vault-dev/src/index.js';
import { emitResult, parseArgs, runMain, UsageError } from './lib/args.js';
import { machineLine } from './lib/env.js';
import { fmt, max, median, table } from './lib/stats.js';
import { startBenchPki, type BenchPki } from './lib/vault.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI_BIN = join(ROOT, 'packages', 'cli', 'bin.js');
const AGENT_BIN = join(ROOT, 'packages', 'agent', 'bin.js');
/** Clock ticks per second of /proc/<pid>/stat's utime/stime (USER_HZ, 100 on Linux). */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const spec = {
  'help-runs': { default: 10, help: 'runs of `vaultdist --help` (and of the baseline)' },
  seconds: { default: 20, help: 'idle sampling window per node count (a few minutes: --seconds=180)' },
  nodes: { default: '1,10', help: 'comma-separated managed-node counts ("" skips part B)' },
  'cli-runs': { default: 10, help: 'runs of `vaultdist status` and `vaultdist doctor` (and of the baseline), 0 skips part C' },
  'agent-node-options': { default: '', help: 'NODE_OPTIONS for the agent process only (experiments, e.g. --max-semi-space-size=1)' },
  'worker-mode': { default: 'auto', help: "the agent's worker.mode: auto (the default: process here), process, or inline (everything in one process)" },
};

interface ProcSample {
  rssKb: number;
  cpuTicks: number;
}

function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  // Fields after the parenthesised command: state is field 3; utime/stime are 14/15, and cutime/cstime
  // (16/17) the CPU time of children that exited and were reaped (the agent's work processes).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKb, cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
}


/** RSS and CPU of a process and its live children (the agent as a whole, work process included). */
function treeSample(pid: number): ProcSample & { children: number } {
  const own = procSample(pid);
  const kids = childPids(pid).flatMap((c) => {
    try {
      return [procSample(c)];
    } catch {
      return []; // exited meanwhile
    }
  });
  return { rssKb: own.rssKb + kids.reduce((a, k) => a + k.rssKb, 0), cpuTicks: own.cpuTicks + kids.reduce((a, k) => a + k.cpuTicks, 0), children: kids.length };
}

/** `vaultdist_agent_work_processes_started_total` from the agent's /metrics (0 when absent). */
async function workProcessesStarted(port: number): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  return Number(/^vaultdist_agent_work_processes_started_total (\d+)/m.exec(text)?.[1] ?? 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function timeRun(argv: string[]): { ms: number; code: number | null; out: string } {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: ROOT });
  return { ms: performance.now() - t0, code: r.status, out: r.stdout };
}

interface CliTiming {
  exitCode: number | null;
  firstMs: number;
  medianMs: number;
  maxMs: number;
  /** median / median of `node -e 0` */
  ratio: number;
}
interface CliResult {
  runs: number;
  bare: number[];
  status: CliTiming;
  doctor: CliTiming;
}

/**
 * C. `vaultdist status` / `doctor` on a node directory of B: the agent's credential set plus a
 * vaultdist.json as `init node` writes it (what those commands read). Exit codes: status 0; doctor
 * reports findings (no node runs here, so it may exit non-zero), but never 1 (internal) or 2 (usage).
 */
function timeCli(node: { name: string; dir: string }, healthPort: number, pki: BenchPki, runs: number): CliResult {
  writeFileSync(
    join(node.dir, 'vaultdist.json'),
    JSON.stringify({ version: 1, node: node.name, dir: node.dir, vaultAddr: pki.dev.addr, vaultCaCert: null, mount: pki.mount, role: pki.role, keyType: 'ec-p256', ttl: '24h', distPort: 9100, tlsVersions: ['tlsv1.3'], modules: [], certAuthMount: 'cert', certAuthRole: 'vaultdist', healthPort, agentAuth: 'token', crl: false }, null, 2),
  );
  const times: Record<'status' | 'doctor' | 'bare', number[]> = { status: [], doctor: [], bare: [] };
  const codes: Record<'status' | 'doctor', number | null> = { status: null, doctor: null };
  const order = ['status', 'doctor', 'bare'] as const;
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < order.length; k++) {
      const which = order[(i + k) % order.length]!;
      if (which === 'bare') {
        times.bare.push(timeRun([process.execPath, '-e', '0']).ms);
        continue;
      }
      const r = timeRun([process.execPath, CLI_BIN, which, '--dir', node.dir]);
      if (r.code === null || r.code === 1 || r.code === 2 || (which === 'status' && r.code !== 0)) throw new Error(`vaultdist ${which} exited ${r.code}: ${r.out.slice(0, 500)}`);
      codes[which] = r.code;
      times[which].push(r.ms);
    }
  }
  const timing = (xs: number[], code: number | null): CliTiming => ({ exitCode: code, firstMs: xs[0]!, medianMs: median(xs), maxMs: max(xs), ratio: median(xs) / median(times.bare) });
  return { runs, bare: times.bare, status: timing(times.status, codes.status), doctor: timing(times.doctor, codes.doctor) };
}

async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(t);
}

async function main(): Promise<void> {
  const args = parseArgs('bench/footprint.ts', spec);
  const counts = args.nodes.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError(`bench/footprint.ts: --nodes must list positive integers, got ${JSON.stringify(args.nodes)}`);
  if (!['auto', 'process', 'inline'].includes(args['worker-mode'])) throw new UsageError(`bench/footprint.ts: --worker-mode must be auto, process or inline, got ${JSON.stringify(args['worker-mode'])}`);
  for (const f of [join(ROOT, 'packages', 'cli', 'dist', 'index.js'), join(ROOT, 'packages', 'agent', 'dist', 'main.js')]) {
    if (!existsSync(f)) throw new UsageError(`bench/footprint.ts: ${f} is missing; build first (node scripts/build.mjs)`);
  }
  console.log('# bench/footprint: `vaultdist --help` start-up and the idle agent');
  console.log(machineLine());

  // A. --help
  const help: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < args['help-runs']; i++) {
    for (const which of i % 2 ? ['bare', 'help'] : ['help', 'bare']) {
      if (which === 'help') {
        const r = timeRun([process.execPath, CLI_BIN, '--help']);
        if (r.code !== 0 || !/Usage: vaultdist/.test(r.out)) throw new Error(`vaultdist --help exited ${r.code}: ${r.out.slice(0, 300)}`);
        help.push(r.ms);
      } else bare.push(timeRun([process.execPath, '-e', '0']).ms);
    }
  }
  const helpResult = { runs: help.length, firstMs: help[0]!, medianMs: median(help), maxMs: max(help), nodeBaselineMs: median(bare), ratio: median(help) / median(bare) };
  console.log(`\nA. vaultdist --help, ${help.length} runs (baseline: node -e 0, interleaved)`);
  console.log(
    table(
      ['command', 'first ms', 'median ms', 'max ms', '×node'],
      [
        ['vaultdist --help', helpResult.firstMs, helpResult.medianMs, helpResult.maxMs, helpResult.ratio],
        ['node -e 0', bare[0]!, median(bare), max(bare), 1],
      ],
    ),
  );
  console.log(`target ≤ 500 ms (max): ${helpResult.maxMs <= 500 ? 'met' : 'NOT met'}`);

  // B. idle agent (C. status/doctor runs on its first node)
  const idle: Record<string, unknown>[] = [];
  let cli: CliResult | undefined;
  if (counts.length) {
    const work = mkdtempSync(join(tmpdir(), 'vaultdist-bench-fp-'));
    let pki: BenchPki | undefined;
    const children: ChildProcess[] = [];
    try {
      pki = await startBenchPki({ ttl: '24h' });
      const tokenFile = join(work, 'token');
      writeFileSync(tokenFile, pki.dev.token, { mode: 0o600 });
      const rows: (string | number)[][] = [];
      for (const n of counts) {
        const base = join(work, `n${n}`);
        mkdirSync(base, { recursive: true });
        const healthPort = await freePort();
        const config = {
          vault: { address: pki.dev.addr, auth: { method: 'token', tokenFile } },
          health: { enabled: true, host: '127.0.0.1', port: healthPort },
          worker: { mode: args['worker-mode'] },
          log: { level: 'info' },
          nodes: Array.from({ length: n }, (_, i) => ({ name: `fp${i}@127.0.0.1`, dir: join(base, `node${i}`), mount: pki!.mount, role: pki!.role, ttl: '24h', reload: { strategy: 'poll' }, verify: { enabled: false } })),
        };
        for (const node of config.nodes) mkdirSync(node.dir, { recursive: true });
        const configFile = join(base, 'agent.json');
        writeFileSync(configFile, JSON.stringify(config, null, 2));
        const logFile = join(base, 'agent.log');
        const agentEnv = args['agent-node-options'] ? { ...process.env, NODE_OPTIONS: args['agent-node-options'] } : process.env;
        const agent = spawn(process.execPath, [AGENT_BIN, '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: agentEnv });
        children.push(agent);
        let log = '';
        agent.stdout!.on('data', (d: Buffer) => (log += d.toString()));
        agent.stderr!.on('data', (d: Buffer) => (log += d.toString()));
        const baseline = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
        children.push(baseline);
        const readyBy = performance.now() + 60000;
        const tStart = performance.now();
        for (;;) {
          if (agent.exitCode !== null) throw new Error(`agent (${n} nodes) exited ${agent.exitCode}:\n${log.slice(-3000)}`);
          if (performance.now() > readyBy) throw new Error(`agent (${n} nodes) not ready after 60 s:\n${log.slice(-3000)}`);
          const ok = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then((r) => r.status === 200, () => false);
          if (ok) break;
          await sleep(200);
        }
        const readyMs = performance.now() - tStart;
        // idle = ready and the start-up work done: the work process (forked for it) has exited
        const idleBy = performance.now() + 30000;
        while (childPids(agent.pid!).length && performance.now() < idleBy) await sleep(100);
        const workExitMs = performance.now() - tStart - readyMs;
        await sleep(1000); // let the start-up work (issuing, GC) settle before the idle window
        const forked0 = await workProcessesStarted(healthPort);
        const a0 = treeSample(agent.pid!);
        const b0 = procSample(baseline.pid!);
        const t0 = performance.now();
        const rss: number[] = [];
        const ownRss: number[] = [];
        const brss: number[] = [];
        while (performance.now() - t0 < args.seconds * 1000) {
          await sleep(1000);
          const t = treeSample(agent.pid!);
          rss.push(t.rssKb);
          ownRss.push(procSample(agent.pid!).rssKb);
          brss.push(procSample(baseline.pid!).rssKb);
        }
        const a1 = treeSample(agent.pid!);
        const forked = (await workProcessesStarted(healthPort)) - forked0;
        const b1 = procSample(baseline.pid!);
        const wallS = (performance.now() - t0) / 1000;
        // C. after the idle window (status asks the agent's /healthz: not part of the idle figures)
        if (n === counts[0] && args['cli-runs'] > 0) cli = timeCli(config.nodes[0]!, healthPort, pki!, args['cli-runs']);
        const cpuPct = ((a1.cpuTicks - a0.cpuTicks) / CLK_TCK / wallS) * 100;
        const bcpuPct = ((b1.cpuTicks - b0.cpuTicks) / CLK_TCK / wallS) * 100;
        const row = {
          nodes: n,
          readyMs,
          idleSeconds: wallS,
          workExitMs,
          rssMbMax: max(rss) / 1024,
          rssMbEnd: rss.at(-1)! / 1024,
          agentProcessRssMbMax: max(ownRss) / 1024,
          workProcessesForked: forked,
          cpuPercent: cpuPct,
          cpuSeconds: (a1.cpuTicks - a0.cpuTicks) / CLK_TCK,
          baselineRssMb: max(brss) / 1024,
          baselineCpuPercent: bcpuPct,
          rssRatio: max(rss) / max(brss),
          logLines: log.split('\n').filter(Boolean).length,
        };
        idle.push(row);
        rows.push([n, `${fmt(readyMs)} ms`, `${fmt(workExitMs)} ms`, fmt(wallS), row.rssMbMax, row.rssMbEnd, forked, row.cpuPercent, row.baselineRssMb, row.rssRatio, row.baselineCpuPercent]);
        await stopChild(agent);
        await stopChild(baseline);
        writeFileSync(logFile, log);
      }
      console.log(`\nB. idle agent (health server on, 24 h certificates), sampled every 1 s from 1 s after its start-up work process exited; RSS and CPU are the agent's process tree (a work process forked in the window counts); baseline = bare node process over the same window`);
      console.log(table(['nodes', 'ready after', 'work done +', 'idle s', 'RSS max MB', 'RSS end MB', 'forks', 'CPU %', 'bare node RSS MB', 'RSS ×bare', 'bare CPU %'], rows));
      console.log('targets: RSS ≤ 60 MB, idle CPU ≈ 0');
      if (cli) {
        console.log(`\nC. vaultdist status / doctor on one node (agent running), ${cli.runs} runs each (baseline: node -e 0, interleaved)`);
        console.log(
          table(
            ['command', 'exit', 'first ms', 'median ms', 'max ms', '×node'],
            [
              ['vaultdist status', cli.status.exitCode ?? '-', cli.status.firstMs, cli.status.medianMs, cli.status.maxMs, cli.status.ratio],
              ['vaultdist doctor', cli.doctor.exitCode ?? '-', cli.doctor.firstMs, cli.doctor.medianMs, cli.doctor.maxMs, cli.doctor.ratio],
              ['node -e 0', 0, cli.bare[0]!, median(cli.bare), max(cli.bare), 1],
            ],
          ),
        );
      }
      console.log('\nSummary (issue #16 targets), measured in this run:');
      for (const r of idle as { nodes: number; rssMbMax: number; baselineRssMb: number; rssRatio: number; cpuPercent: number }[]) {
        console.log(`  idle agent (${r.nodes} node${r.nodes === 1 ? '' : 's'}, worker.mode ${args['worker-mode']}): ${fmt(r.rssMbMax)} MiB RSS max (process tree) = ${fmt(r.rssRatio)}× bare node (${fmt(r.baselineRssMb)} MiB), CPU ${fmt(r.cpuPercent)} %; target ≤ 60 MiB: ${r.rssMbMax <= 60 ? 'met' : 'NOT met'}`);
      }
      if (cli) for (const [name, r] of [['status', cli.status], ['doctor', cli.doctor]] as const) console.log(`  vaultdist ${name}: ${fmt(r.medianMs)} ms = ${fmt(r.ratio)}× node -e 0 (${fmt(median(cli.bare))} ms); target ≤ 2.5×: ${r.ratio <= 2.5 ? 'met' : 'NOT met'}`);
    } finally {
      await Promise.all(children.map(stopChild));
      await pki?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  emitResult('footprint', { help: helpResult, idle, ...(cli ? { cli: { runs: cli.runs, nodeBaselineMs: median(cli.bare), status: cli.status, doctor: cli.doctor } } : {}) });
}

runMain(main);
