/**
 * Benchmark 3: SDK overhead and sustained signing rate against a real OpenBao (own dev server).
 *
 * Part A, overhead (sequential, the three variants interleaved call by call, rotating the order):
 *   bare      one `fetch` POST {mount}/sign/{role} with a CSR made before the clock starts (baseline)
 *   sdk-sign  the SDK's signCsr with the same pre-made CSR (transport + envelope/PEM checks only)
 *   sdk-full  the SDK's requestNodeCertificate: EC P-256 key + CSR + sign + key export
 *   local-key-csr  key + CSR + key export alone (no HTTP): the part sdk-full adds to a sign call
 * Target: median(sdk-full) / median(bare) ≤ 1.2.
 *
 * Part B, load: at each concurrency, `c` workers issue certificates back to back through the SDK
 * (requestNodeCertificate) until --load-count signs or --load-seconds have passed; then the same with
 * bare calls, so the SDK's sustained signs/s has a baseline measured in the same run.
 *
 *   node_modules/.bin/tsx bench/sdk.ts [--calls=200] [--concurrency=1,4,16,32] [--load-count=1000] [--load-seconds=15]
 */
import { performance } from 'node:perf_hooks';
import { parseNodeName } from '../packages/sdk/src/index.js';
import { buildCsr, exportPrivateKeyPem, generateKeyPair, nodeSans, requestNodeCertificate, signCsr } from '../packages/sdk/src/internal.js';
import { emitResult, parseArgs, runMain, UsageError } from './lib/args.js';
import { machineLine } from './lib/env.js';
import { fmt, mean, median, quantile, table } from './lib/stats.js';
import { startBenchPki, type BenchPki } from './lib/vault.js';

const spec = {
  calls: { default: 200, help: 'timed calls per variant in the overhead part' },
  warm: { default: 10, help: 'warm-up calls per variant' },
  concurrency: { default: '1,4,16,32', help: 'comma-separated concurrency levels for the load part ("" skips it)' },
  'load-count': { default: 1000, help: 'max signs per (variant, concurrency) in the load part' },
  'load-seconds': { default: 15, help: 'max seconds per (variant, concurrency) in the load part' },
};

type Variant = 'bare' | 'sdk-sign' | 'sdk-full' | 'local-key-csr';

async function main(): Promise<void> {
  const args = parseArgs('bench/sdk.ts', spec);
  const levels = args.concurrency.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (levels.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError(`bench/sdk.ts: --concurrency must list positive integers, got ${JSON.stringify(args.concurrency)}`);
  console.log('# bench/sdk: SDK overhead and sustained signs/s against a local OpenBao');
  console.log(machineLine());
  const pki: BenchPki = await startBenchPki();
  try {
    const node = parseNodeName('bench@127.0.0.1');
    const keys = await generateKeyPair('ec-p256');
    const csr = await buildCsr({ keys, keyType: 'ec-p256', sans: nodeSans(node, { dns: [], ips: [] }) });
    const url = `${pki.dev.addr}/v1/${pki.mount}/sign/${pki.role}`;
    const body = JSON.stringify({ csr, format: 'pem' });

    const bare = async () => {
      const r = await fetch(url, { method: 'POST', headers: { 'X-Vault-Token': pki.dev.token, 'Content-Type': 'application/json' }, body });
      const j = (await r.json()) as { data?: { certificate?: string } };
      if (r.status !== 200 || !j.data?.certificate?.includes('BEGIN CERTIFICATE')) throw new Error(`bare sign failed: HTTP ${r.status} ${JSON.stringify(j).slice(0, 300)}`);
    };
    const run: Record<Variant, () => Promise<unknown>> = {
      bare,
      'sdk-sign': () => signCsr(pki.vault, { mount: pki.mount, role: pki.role, csr }),
      'sdk-full': () => requestNodeCertificate(pki.vault, { mount: pki.mount, role: pki.role, node }),
      // The local share of sdk-full, without the network: what the SDK adds on top of a sign call.
      'local-key-csr': async () => {
        const k = await generateKeyPair('ec-p256');
        await buildCsr({ keys: k, keyType: 'ec-p256', sans: nodeSans(node, { dns: [], ips: [] }) });
        await exportPrivateKeyPem(k.privateKey);
      },
    };
    const variants = Object.keys(run) as Variant[];

    // Part A: sequential, interleaved.
    for (let i = 0; i < args.warm; i++) for (const v of variants) await run[v]();
    const ms: Record<Variant, number[]> = { bare: [], 'sdk-sign': [], 'sdk-full': [], 'local-key-csr': [] };
    for (let i = 0; i < args.calls; i++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(i + k) % variants.length]!;
        const t0 = performance.now();
        await run[v]();
        ms[v].push(performance.now() - t0);
      }
    }
    const b = median(ms.bare);
    const overhead = variants.map((v) => ({ variant: v, medianMs: median(ms[v]), p90Ms: quantile(ms[v], 0.9), meanMs: mean(ms[v]), ratio: median(ms[v]) / b }));
    console.log(`\nA. one sign call at a time, ${args.calls} calls per variant, interleaved (ratio = median / median(bare))`);
    console.log(table(['variant', 'median ms', 'p90 ms', 'mean ms', '×bare'], overhead.map((o) => [o.variant, o.medianMs, o.p90Ms, o.meanMs, o.ratio])));
    const full = overhead.find((o) => o.variant === 'sdk-full')!;
    console.log(`SDK overhead (key + CSR + sign vs bare sign): ×${fmt(full.ratio)} (target ≤ 1.2: ${full.ratio <= 1.2 ? 'met' : 'NOT met'})`);

    // Part B: load.
    const load: { concurrency: number; variant: Variant; signs: number; seconds: number; perSecond: number; errors: number }[] = [];
    for (const c of levels) {
      for (const v of ['sdk-full', 'bare'] as Variant[]) {
        let started = 0;
        let done = 0;
        let errors = 0;
        const t0 = performance.now();
        const deadline = t0 + args['load-seconds'] * 1000;
        const worker = async () => {
          while (started < args['load-count'] && performance.now() < deadline) {
            started++;
            try {
              await run[v]();
              done++;
            } catch {
              errors++;
            }
          }
        };
        await Promise.all(Array.from({ length: c }, worker));
        const seconds = (performance.now() - t0) / 1000;
        load.push({ concurrency: c, variant: v, signs: done, seconds, perSecond: done / seconds, errors });
      }
    }
    if (load.length) {
      console.log(`\nB. sustained signs/s, c concurrent callers, each row ≤ ${args['load-count']} signs or ≤ ${args['load-seconds']} s`);
      console.log(
        table(
          ['concurrency', 'sdk-full signs/s', 'bare signs/s', 'sdk/bare', 'signs (sdk, bare)', 'errors'],
          levels.map((c) => {
            const s = load.find((l) => l.concurrency === c && l.variant === 'sdk-full')!;
            const r = load.find((l) => l.concurrency === c && l.variant === 'bare')!;
            return [c, s.perSecond, r.perSecond, s.perSecond / r.perSecond, `${s.signs}, ${r.signs}`, s.errors + r.errors];
          }),
        ),
      );
      const best = load.filter((l) => l.variant === 'sdk-full').sort((x, y) => y.perSecond - x.perSecond)[0]!;
      console.log(`SDK sustained rate on this machine: ${fmt(best.perSecond)} signs/s at concurrency ${best.concurrency}`);
    }
    emitResult('sdk', { calls: args.calls, overhead, load });
  } finally {
    await pki.stop();
  }
}

runMain(main);
