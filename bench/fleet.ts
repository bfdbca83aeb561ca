/**
 * Benchmark 5: fleet simulation on a simulated clock, driven by the agent's REAL scheduling code
 * (packages/agent/src/core/schedule.ts: computeRenewAt, nextBackoff) and its configured defaults
 * (validateConfig). Each simulated agent holds one certificate (24 h by default) and, like the agent's
 * loop, renews at computeRenewAt(...) and retries failures after nextBackoff(...) (reset on success).
 *
 * Scenarios (each run for every policy given, the agent's defaults first):
 *   steady        first certificates issued at uniformly random times over one TTL (a fleet that grew
 *                 over a day); renewals measured after that first TTL. Baseline: the uniform mean
 *                 N / (renewAtFraction × TTL) per bucket. Target: peak bucket ≤ 1.5 × uniform mean.
 *   synchronized  all N agents get their first certificate at t = 0 (mass roll-out / fresh fleet),
 *                 renewals measured from t = 0; the peak is the first renewal wave.
 *   outage        the steady fleet, with Vault unreachable for TTL/3 starting after 2 TTLs; counts
 *                 certificates that reach notAfter before a successor was issued (target 0), and the
 *                 issuance burst when Vault comes back.
 * A reference "uniform random" row (the same number of issuances at uniformly random instants) shows
 * the bucket-noise floor of the peak/mean statistic.
 *
 *   node_modules/.bin/tsx bench/fleet.ts [--agents=10000] [--ttl-hours=24] [--days=7] [--policies=0.6667:0.1,0.5:0.17]
 */
import { computeRenewAt, nextBackoff, type BackoffPolicy, type RandomSource, type SchedulePolicy } from '../packages/agent/src/core/schedule.js';
import { validateConfig } from '../packages/agent/src/config/schema.js';
import { prng } from '../scripts/test-utils/src/index.js';
import { emitResult, parseArgs, runMain, UsageError } from './lib/args.js';
import { machineLine } from './lib/env.js';
import { fmt, table } from './lib/stats.js';

const spec = {
  agents: { default: 10000, help: 'simulated agents (one certificate each)' },
  'ttl-hours': { default: 24, help: 'certificate lifetime' },
  days: { default: 7, help: 'simulated days per scenario' },
  'bucket-minutes': { default: 60, help: 'bucket for the issuance rate (peak = busiest bucket)' },
  'outage-fraction': { default: 1 / 3, help: 'Vault outage length as a fraction of the TTL' },
  policies: { default: '0.6667:0.1,0.5:0.17', help: 'extra schedule policies to compare, renewAtFraction:jitterFraction,… ("" = defaults only)' },
  seed: { default: 1, help: 'PRNG seed' },
};


/** Binary min-heap of (time, agent) events. */
class EventQueue {
  #t: number[] = [];
  #a: number[] = [];
  get size(): number {
    return this.#t.length;
  }
  push(t: number, a: number): void {
    const T = this.#t;
    const A = this.#a;
    let i = T.length;
    T.push(t);
    A.push(a);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (T[p]! <= t) break;
      T[i] = T[p]!;
      A[i] = A[p]!;
      i = p;
    }
    T[i] = t;
    A[i] = a;
  }
  pop(): [number, number] {
    const T = this.#t;
    const A = this.#a;
    const top: [number, number] = [T[0]!, A[0]!];
    const t = T.pop()!;
    const a = A.pop()!;
    const n = T.length;
    if (n) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && T[l + 1]! < T[l]! ? l + 1 : l;
        if (T[c]! >= t) break;
        T[i] = T[c]!;
        A[i] = A[c]!;
        i = c;
      }
      T[i] = t;
      A[i] = a;
    }
    return top;
  }
}

interface SimOptions {
  agents: number;
  ttlMs: number;
  endMs: number;
  schedule: SchedulePolicy;
  backoff: BackoffPolicy;
  firstIssue: (i: number, r: RandomSource) => number;
  outage?: { fromMs: number; toMs: number } | undefined;
  seed: number;
}

interface SimResult {
  /** Times of every issuance after each agent's first one (renewals and retried renewals). */
  renewals: Float64Array;
  attempts: number;
  failures: number;
  expired: number;
  maxExpiredMs: number;
}

/** Vault backdates notBefore by 30 s (`not_before_duration`). */
const NOT_BEFORE_SKEW_MS = 30_000;

function simulate(o: SimOptions): SimResult {
  const r = prng(o.seed);
  const q = new EventQueue();
  const notBefore = new Float64Array(o.agents);
  const notAfter = new Float64Array(o.agents);
  const mustRenewBy = new Float64Array(o.agents);
  const failures = new Uint32Array(o.agents);
  const renewals: number[] = [];
  let attempts = 0;
  let failed = 0;
  let expired = 0;
  let maxExpiredMs = 0;
  const issue = (i: number, t: number) => {
    notBefore[i] = t - NOT_BEFORE_SKEW_MS;
    notAfter[i] = t + o.ttlMs;
    failures[i] = 0;
    const d = computeRenewAt({ notBefore: new Date(notBefore[i]!), notAfter: new Date(notAfter[i]!) }, new Date(t), r, o.schedule);
    mustRenewBy[i] = d.mustRenewBy.getTime();
    q.push(d.renewAt.getTime(), i);
  };
  for (let i = 0; i < o.agents; i++) issue(i, o.firstIssue(i, r));
  while (q.size) {
    const [t, i] = q.pop();
    if (t > o.endMs) break;
    attempts++;
    const up = !o.outage || t < o.outage.fromMs || t >= o.outage.toMs;
    if (up) {
      if (t >= notAfter[i]!) {
        expired++;
        maxExpiredMs = Math.max(maxExpiredMs, t - notAfter[i]!);
      }
      renewals.push(t);
      issue(i, t);
    } else {
      failed++;
      failures[i]!++;
      const delay = nextBackoff(failures[i]!, o.backoff, r, { nowMs: t, mustRenewByMs: mustRenewBy[i]!, notAfterMs: notAfter[i]! });
      if (!(delay > 0)) throw new Error(`nextBackoff returned ${delay} ms (agent ${i}, failure ${failures[i]})`);
      q.push(t + delay, i);
    }
  }
  return { renewals: Float64Array.from(renewals), attempts, failures: failed, expired, maxExpiredMs };
}

function buckets(times: Float64Array, fromMs: number, toMs: number, bucketMs: number): number[] {
  const n = Math.max(1, Math.floor((toMs - fromMs) / bucketMs));
  const b = new Array<number>(n).fill(0);
  for (const t of times) {
    if (t < fromMs) continue;
    const k = Math.floor((t - fromMs) / bucketMs);
    if (k < n) b[k]!++;
  }
  return b;
}

async function main(): Promise<void> {
  const args = parseArgs('bench/fleet.ts', spec);
  if (args.agents < 1 || args['ttl-hours'] <= 0 || args.days <= 0 || args['bucket-minutes'] <= 0) throw new UsageError('bench/fleet.ts: --agents, --ttl-hours, --days and --bucket-minutes must be positive');
  const v = validateConfig({
    vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 'unused' } },
    nodes: [{ name: 'sim@127.0.0.1', dir: '/nonexistent', mount: 'pki', role: 'node', reload: { strategy: 'poll' }, verify: { enabled: false } }],
  });
  if (!v.config) throw new Error(`the agent's config validator rejected the simulation config: ${v.errors.join('; ')}`);
  const defaults = v.config.schedule;
  const policies: { name: string; schedule: SchedulePolicy }[] = [
    { name: `default ${defaults.renewAtFraction}±${defaults.jitterFraction}`, schedule: { renewAtFraction: defaults.renewAtFraction, jitterFraction: defaults.jitterFraction, minRemainingSeconds: defaults.minRemainingSeconds } },
  ];
  for (const p of args.policies.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([\d.]+):([\d.]+)$/.exec(p);
    if (!m) throw new UsageError(`bench/fleet.ts: --policies entries are renewAtFraction:jitterFraction, got ${JSON.stringify(p)}`);
    const renewAtFraction = Number(m[1]);
    const jitterFraction = Number(m[2]);
    if (!(renewAtFraction > 0 && renewAtFraction + jitterFraction < 1 && jitterFraction < renewAtFraction)) throw new UsageError(`bench/fleet.ts: policy ${p} is outside 0 < renewAt±jitter < 1`);
    policies.push({ name: `${renewAtFraction}±${jitterFraction}`, schedule: { renewAtFraction, jitterFraction, minRemainingSeconds: defaults.minRemainingSeconds } });
  }
  const backoff: BackoffPolicy = defaults.backoff;
  const ttlMs = args['ttl-hours'] * 3600_000;
  const endMs = args.days * 86400_000;
  const bucketMs = args['bucket-minutes'] * 60_000;
  const N = args.agents;

  console.log(`# bench/fleet: ${N} simulated agents, ${args['ttl-hours']} h certificates, ${args.days} simulated days, agent core schedule.ts`);
  console.log(machineLine());
  console.log(`agent defaults: renewAtFraction=${defaults.renewAtFraction} jitterFraction=${defaults.jitterFraction} minRemainingSeconds=${defaults.minRemainingSeconds} backoff=${JSON.stringify(backoff)}; bucket ${args['bucket-minutes']} min`);

  const rows: (string | number)[][] = [];
  const outRows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const t0 = performance.now();
  for (const pol of policies) {
    const uniformPerBucket = (N * bucketMs) / (pol.schedule.renewAtFraction * ttlMs);
    const base = { agents: N, ttlMs, endMs, schedule: pol.schedule, backoff, seed: args.seed };
    const steadyFirst = (_: number, r: RandomSource) => r.next() * ttlMs;

    const steady = simulate({ ...base, firstIssue: steadyFirst });
    const sb = buckets(steady.renewals, ttlMs, endMs, bucketMs);
    const steadyPeak = Math.max(...sb);
    const steadyMean = sb.reduce((a, b) => a + b, 0) / sb.length;

    const sync = simulate({ ...base, firstIssue: () => 0 });
    const yb = buckets(sync.renewals, 0, endMs, bucketMs);
    const syncPeak = Math.max(...yb);
    // The same number of issuances at uniformly random instants: the noise floor of peak/mean.
    const rr = prng(args.seed + 7);
    const ref = Float64Array.from({ length: steady.renewals.length }, () => ttlMs + rr.next() * (endMs - ttlMs));
    const refB = buckets(ref, ttlMs, endMs, bucketMs);
    const refPeak = Math.max(...refB);
    const refMean = refB.reduce((a, b) => a + b, 0) / refB.length;

    const outageMs = ttlMs * args['outage-fraction'];
    const outage = { fromMs: 2 * ttlMs, toMs: 2 * ttlMs + outageMs };
    const out = simulate({ ...base, endMs: Math.max(endMs, outage.toMs + ttlMs), firstIssue: steadyFirst, outage });
    const after = out.renewals.filter((t) => t >= outage.toMs && t < outage.toMs + 3600_000);
    const perMin = buckets(Float64Array.from(after), outage.toMs, outage.toMs + 3600_000, 60_000);
    const perSec = buckets(Float64Array.from(after), outage.toMs, outage.toMs + 3600_000, 1000);

    rows.push(
      [pol.name, 'steady', uniformPerBucket, steadyMean, steadyPeak, steadyPeak / uniformPerBucket, refPeak / refMean],
      [pol.name, 'synchronized', uniformPerBucket, '', syncPeak, syncPeak / uniformPerBucket, ''],
    );
    outRows.push([pol.name, `${fmt(outageMs / 3600_000)} h`, out.failures, out.expired, out.expired ? `${fmt(out.maxExpiredMs / 60_000)} min` : '-', Math.max(...perMin), Math.max(...perSec)]);
    results.push({
      policy: pol.name,
      schedule: pol.schedule,
      uniformPerBucket,
      steady: { peak: steadyPeak, mean: steadyMean, peakToUniform: steadyPeak / uniformPerBucket, referencePeakToMean: refPeak / refMean, renewals: steady.renewals.length },
      synchronized: { peak: syncPeak, peakToUniform: syncPeak / uniformPerBucket, renewals: sync.renewals.length },
      outage: { hours: outageMs / 3600_000, failedAttempts: out.failures, expired: out.expired, maxExpiredMs: out.maxExpiredMs, burstPerMinute: Math.max(...perMin), burstPerSecond: Math.max(...perSec) },
    });
  }
  console.log(`\nissuance rate per ${args['bucket-minutes']}-min bucket (uniform mean = N / (renewAtFraction × TTL); target peak ≤ 1.5 × uniform)`);
  console.log(table(['policy', 'scenario', 'uniform mean', 'measured mean', 'peak', 'peak ÷ uniform', 'uniform-random ref peak ÷ mean'], rows));
  console.log(`\nVault down for ${fmt(args['outage-fraction'] * args['ttl-hours'])} h (TTL × ${fmt(args['outage-fraction'])}) starting at t = 2 TTL, steady fleet (target: 0 expired)`);
  console.log(table(['policy', 'outage', 'failed attempts', 'certificates expired', 'worst lapse', 'burst /min after', 'burst /s after'], outRows));
  console.log(`(simulated in ${fmt((performance.now() - t0) / 1000)} s)`);
  emitResult('fleet', { agents: N, ttlHours: args['ttl-hours'], days: args.days, bucketMinutes: args['bucket-minutes'], defaults: { ...defaults }, results });
}

runMain(main);
