/**
 * Smoke test for the benchmark suite (bench/): every benchmark runs in a tiny configuration and must
 * exit 0 and print a well-formed BENCH_RESULT line. Timings are NOT asserted (speed targets belong to
 * the benchmarks themselves, whose figures are documented in the README); what is asserted is that the
 * benchmark measured what it claims to measure (e.g. the vaultdist pair really ran TLS 1.3).
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBench(script: string, args: string[], timeoutMs = 90000): Promise<Run> {
  return new Promise((res) => {
    execFile(TSX, [join(ROOT, 'bench', script), ...args], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

function result(run: Run): Record<string, unknown> {
  if (run.code !== 0) throw new Error(`benchmark exited ${run.code}\n${run.stdout}\n${run.stderr}`);
  const line = run.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (!line) throw new Error(`no BENCH_RESULT line in:\n${run.stdout}`);
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as Record<string, unknown>;
}

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('benchmarks (tiny configurations, output shape only)', () => {
  it('dist: tcp, OTP-default TLS and vaultdist pairs all measured, ratios against tcp', async () => {
    const r = result(await runBench('dist.ts', ['--rounds=1', '--kib-count=200', '--mib-count=2', '--rtt=20', '--warm=5']));
    expect(r.bench).toBe('dist');
    const rows = r.results as { mode: string; connection: string; kibMBps: number; mibMBps: number; rttUs: number; kibRatio: number; mibRatio: number; rttRatio: number }[];
    expect(rows.map((x) => x.mode)).toEqual(['tcp', 'tls-otp', 'vaultdist']);
    expect(rows.map((x) => x.connection)).toEqual(['tcp', "{'tlsv1.2',aes_256_gcm}", "{'tlsv1.3',aes_256_gcm}"]);
    for (const x of rows) for (const k of ['kibMBps', 'mibMBps', 'rttUs', 'kibRatio', 'mibRatio', 'rttRatio'] as const) expect(positive(x[k])).toBe(true);
    expect(rows[0]!.kibRatio).toBe(1);
  }, 100000);

  it('dist: a typo in an option is a usage error naming it (exit 2)', async () => {
    const run = await runBench('dist.ts', ['--round=1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown option --round/);
  }, 30000);

  it('sdk: overhead variants and a load row per concurrency', async () => {
    const r = result(await runBench('sdk.ts', ['--calls=3', '--warm=1', '--concurrency=2', '--load-count=4', '--load-seconds=10']));
    expect(r.bench).toBe('sdk');
    const overhead = r.overhead as { variant: string; medianMs: number; ratio: number }[];
    expect(overhead.map((o) => o.variant)).toEqual(['bare', 'sdk-sign', 'sdk-full', 'local-key-csr']);
    for (const o of overhead) expect(positive(o.medianMs) && positive(o.ratio)).toBe(true);
    const load = r.load as { concurrency: number; variant: string; signs: number; errors: number; perSecond: number }[];
    expect(load.map((l) => `${l.concurrency}/${l.variant}/${l.signs}/${l.errors}`)).toEqual(['2/sdk-full/4/0', '2/bare/4/0']);
    for (const l of load) expect(positive(l.perSecond)).toBe(true);
  }, 100000);

  it('fleet: the agent core drives every scenario; expiries counted, peaks against the uniform mean', async () => {
    const r = result(await runBench('fleet.ts', ['--agents=300', '--days=4', '--policies=0.5:0.1']));
    expect(r.bench).toBe('fleet');
    const rows = r.results as { policy: string; steady: { peakToUniform: number; renewals: number }; synchronized: { peakToUniform: number }; outage: { expired: number; failedAttempts: number } }[];
    expect(rows.map((x) => x.policy)).toEqual([expect.stringMatching(/^default /), '0.5±0.1']);
    for (const x of rows) {
      expect(x.steady.renewals).toBeGreaterThan(300);
      expect(positive(x.steady.peakToUniform) && positive(x.synchronized.peakToUniform)).toBe(true);
      expect(Number.isInteger(x.outage.expired) && x.outage.expired >= 0).toBe(true);
      // The outage really happened: the simulated agents hit a down Vault and backed off.
      expect(x.outage.failedAttempts).toBeGreaterThan(0);
    }
  }, 60000);

  it('rotation: the real agent rotates one node per strategy and the new serial is seen live', async () => {
    const r = result(await runBench('rotation.ts', ['--rotations=1'], 110000));
    expect(r.bench).toBe('rotation');
    const rows = r.results as { strategy: string; rotations: number; medianMs: number; maxMs: number; ratioToDirect: number }[];
    expect(rows.map((x) => `${x.strategy}/${x.rotations}`)).toEqual(['direct/1', 'signal/1', 'command/1', 'rpc/1', 'poll/1']);
    for (const x of rows) expect(positive(x.medianMs) && positive(x.maxMs) && positive(x.ratioToDirect)).toBe(true);
  }, 120000);

  it('footprint: --help runs, the real agent daemon is sampled idle with 1 and 2 nodes, status/doctor run on its node', async () => {
    const r = result(await runBench('footprint.ts', ['--help-runs=1', '--cli-runs=1', '--seconds=1', '--nodes=1,2'], 110000));
    expect(r.bench).toBe('footprint');
    const help = r.help as { runs: number; medianMs: number; nodeBaselineMs: number; ratio: number };
    expect(help.runs).toBe(1);
    expect(positive(help.medianMs) && positive(help.nodeBaselineMs) && positive(help.ratio)).toBe(true);
    const idle = r.idle as { nodes: number; rssMbMax: number; baselineRssMb: number; cpuPercent: number; logLines: number }[];
    expect(idle.map((x) => x.nodes)).toEqual([1, 2]);
    for (const x of idle) {
      expect(positive(x.rssMbMax) && positive(x.baselineRssMb)).toBe(true);
      expect(x.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(x.logLines).toBeGreaterThan(0); // the agent really ran (it logs its start-up)
    }
    const cli = r.cli as { runs: number; nodeBaselineMs: number; status: { exitCode: number; ratio: number }; doctor: { exitCode: number; ratio: number } };
    expect(cli.runs).toBe(1);
    expect(cli.status.exitCode).toBe(0);
    expect(positive(cli.nodeBaselineMs) && positive(cli.status.ratio) && positive(cli.doctor.ratio)).toBe(true);
  }, 120000);
});
