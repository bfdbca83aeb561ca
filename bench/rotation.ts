/**
 * Benchmark 2: rotation to live. One OTP node per reload strategy, each managed by the REAL agent
 * (packages/agent createAgent, one agent per node, `runOnce({force: true})` = issue → validate →
 * write the set → reload → verify). Clock: from the agent's `written` step (the credential set has been
 * renamed into place) to the end of the first NEW TLS connection to the node's distribution port that
 * presents the new serial, taken at that connection's TLS `secureConnect` (back-to-back probes from
 * this process, --probe-gap-ms apart, independent of the agent's own verification). Strategies are interleaved rotation by rotation.
 *
 *   signal   the agent sends SIGHUP to the pid in the node's pidfile (vaultdist_reload handler)
 *   command  the agent runs a user command; here `sh -c 'kill -HUP "$(cat PIDFILE)"'`
 *   rpc      the agent starts a hidden TLS-distribution node that calls vaultdist_reload:reload()
 *   poll     nothing is triggered; the node's own content poller (-vaultdist_poll_ms, default 1000)
 *   direct   baseline: vaultdist_reload:reload() evaluated on the node the moment the set is written
 *            (through the benchmark's control channel: the floor any strategy can reach)
 * Target: ≤ 1 s (median and max over ≥ 20 rotations per strategy).
 *
 *   node_modules/.bin/tsx bench/rotation.ts [--rotations=20] [--strategies=direct,signal,command,rpc,poll] [--poll-ms=1000]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createAgent, validateConfig, type Agent } from '../packages/agent/src/index.js';
import { distFlags, issueNodeCredentials, probeDistCertificate, renderOptfile } from '../packages/sdk/src/index.js';
import { normalizeSerial } from '../packages/sdk/src/internal.js';
import { compileErlang, sharedFreePort, startNode, type ErlNode } from '../test/helpers/erlang.js';
import { emitResult, parseArgs, runMain, UsageError } from './lib/args.js';
import { timedProbe } from './lib/probe.js';
import { machineLine, otpRelease } from './lib/env.js';
import { fmt, max, median, quantile, table } from './lib/stats.js';
import { startBenchPki, type BenchPki } from './lib/vault.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RELOAD_ERL = join(HERE, '..', 'packages', 'cli', 'erlang', 'src', 'vaultdist_reload.erl');
const STRATEGIES = ['direct', 'signal', 'command', 'rpc', 'poll'] as const;
type Strategy = (typeof STRATEGIES)[number];
const COOKIE = 'vaultdist-test-cookie'; // the node harness's default cookie

const spec = {
  rotations: { default: 20, help: 'rotations per strategy' },
  strategies: { default: STRATEGIES.join(','), help: 'comma-separated strategies' },
  'poll-ms': { default: 1000, help: 'the in-node poller interval for the poll strategy' },
  'probe-gap-ms': { default: 5, help: 'pause between two probes' },
};

interface Target {
  strategy: Strategy;
  host: string;
  dir: string;
  node: ErlNode;
  agent: Agent;
  /** Set per rotation by the hooks. */
  current?: { writtenAt?: number; reloadedAt?: number; seen?: Promise<{ at: number; serial: string; probes: number }> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function probeUntilChanged(t: Target, port: number, oldSerial: string, gapMs: number, deadline: number): Promise<{ at: number; serial: string; probes: number }> {
  let probes = 0;
  while (performance.now() < deadline) {
    const bundle = readFileSync(join(t.dir, 'bundle.pem'), 'utf8');
    const r = await timedProbe({ host: t.host, port, cert: bundle, key: bundle, ca: readFileSync(join(t.dir, 'ca.pem'), 'utf8') });
    probes++;
    if (!r.error && r.serial && r.serial !== oldSerial) return { at: r.at, serial: r.serial, probes };
    await sleep(gapMs);
  }
  throw new Error(`${t.strategy}: the node still served ${oldSerial} after the deadline`);
}

async function main(): Promise<void> {
  const args = parseArgs('bench/rotation.ts', spec);
  const strategies = args.strategies.split(',').map((s) => s.trim()).filter(Boolean) as Strategy[];
  for (const s of strategies) if (!STRATEGIES.includes(s)) throw new UsageError(`bench/rotation.ts: unknown strategy ${JSON.stringify(s)} (known: ${STRATEGIES.join(', ')})`);
  if (args.rotations < 1) throw new UsageError('bench/rotation.ts: --rotations must be ≥ 1');
  console.log(`# bench/rotation: rename of the new set → first new connection presenting the new serial, OTP ${otpRelease()}`);
  console.log(machineLine());

  const work = mkdtempSync(join(tmpdir(), 'vaultdist-bench-rot-'));
  const ebin = compileErlang([RELOAD_ERL]);
  const hosts = strategies.map((_, i) => `127.0.0.${80 + i}`);
  const targets: Target[] = [];
  const allNodes: ErlNode[] = [];
  let pki: BenchPki | undefined;
  try {
    pki = await startBenchPki();
    const port = await sharedFreePort(hosts);
    /** The serial each node serves before the next rotation (what the probes wait to see change). */
    const currentSerial = new Map<Target, string>();
    for (const [i, strategy] of strategies.entries()) {
      const host = hosts[i]!;
      const name = `rot_${strategy}@${host}`;
      const base = join(work, strategy);
      const dir = join(base, 'certs');
      mkdirSync(base, { recursive: true });
      const pidFile = join(base, 'beam.pid');
      // The first set, as `vaultdist init node` would leave it; the agent takes over from the disk.
      await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: name, dir });
      const optfile = join(base, 'ssl_dist.conf');
      writeFileSync(optfile, renderOptfile({ bundleFile: join(dir, 'bundle.pem'), caFile: join(dir, 'ca.pem') }));
      const reloadFlags =
        strategy === 'signal' || strategy === 'command'
          ? ['-vaultdist_sighup', 'true', '-vaultdist_pidfile', pidFile]
          : strategy === 'poll'
            ? ['-vaultdist_poll', `${join(dir, 'bundle.pem')},${join(dir, 'ca.pem')}`, '-vaultdist_poll_ms', String(args['poll-ms'])]
            : [];
      const node = await startNode({ name, dir: base, codePaths: [ebin], flags: [...distFlags({ optfile, distPort: port, listenInterface: host }), ...reloadFlags, '-s', 'vaultdist_reload', 'start'] });
      allNodes.push(node);
      const reload =
        strategy === 'signal'
          ? { strategy: 'signal', pidFile, signal: 'SIGHUP', handlerInstalled: true }
          : strategy === 'command'
            ? { strategy: 'command', command: ['/bin/sh', '-c', `kill -HUP "$(cat '${pidFile}')"`] }
            : strategy === 'rpc'
              ? { strategy: 'rpc', erl: 'erl', cookie: COOKIE, port }
              : { strategy: 'poll', intervalMs: args['poll-ms'] }; // direct: the agent does nothing, the bench reloads
      const v = validateConfig({
        vault: { address: pki.dev.addr, auth: { method: 'token', token: pki.dev.token } },
        health: { enabled: false },
        log: { level: 'silent' },
        nodes: [{ name, dir, mount: pki.mount, role: pki.role, ttl: '1h', reload, verify: { enabled: true, host, port } }],
      });
      if (!v.config) throw new Error(`agent config for ${strategy} rejected: ${v.errors.join('; ')}`);
      // The hooks find the target through this holder: the agent is created before the target object.
      const holder: { t?: Target } = {};
      const agent = createAgent(v.config, {
        hooks: {
          onStep(_node, step) {
            const t = holder.t;
            const c = t?.current;
            if (!t || !c) return;
            if (step === 'written') {
              c.writtenAt = performance.now();
              if (strategy === 'direct') void node.eval('vaultdist_reload:reload()');
              c.seen = probeUntilChanged(t, port, currentSerial.get(t)!, args['probe-gap-ms'], c.writtenAt + 30000);
              c.seen.catch(() => undefined);
            } else if (step === 'reloaded') c.reloadedAt = performance.now();
          },
        },
      });
      const t: Target = { strategy, host, dir, node, agent };
      holder.t = t;
      targets.push(t);
    }
    for (const t of targets) {
      const bundle = readFileSync(join(t.dir, 'bundle.pem'), 'utf8');
      const r = await probeDistCertificate({ host: t.host, port, cert: bundle, key: bundle, ca: readFileSync(join(t.dir, 'ca.pem'), 'utf8'), servername: t.host });
      // The bench's own timing probe must see the same serial the SDK's verification probe sees.
      const tp = await timedProbe({ host: t.host, port, cert: bundle, key: bundle, ca: readFileSync(join(t.dir, 'ca.pem'), 'utf8') });
      if (tp.error || tp.serial !== (r.serial && normalizeSerial(r.serial))) throw new Error(`${t.strategy}: timing probe saw ${tp.serial} (${tp.error}), SDK probe ${r.serial}`);
      if (!r.ok || !r.serial) throw new Error(`${t.strategy}: first probe failed: ${r.error}\n${t.node.log().slice(-2000)}`);
      currentSerial.set(t, normalizeSerial(r.serial));
    }

    const ms = new Map<Strategy, number[]>(strategies.map((s) => [s, []]));
    const triggerMs = new Map<Strategy, number[]>(strategies.map((s) => [s, []]));
    for (let r = 0; r < args.rotations; r++) {
      const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
      for (const t of order) {
        t.current = {};
        const res = await t.agent.runOnce({ force: true });
        const c = t.current;
        t.current = undefined;
        const out = res.nodes[0]!.result;
        if (!out.ok) throw new Error(`${t.strategy}: agent rotation failed: ${out.message}\n${t.node.log().slice(-2000)}`);
        if (c.writtenAt === undefined || !c.seen) throw new Error(`${t.strategy}: the agent never reported the written step`);
        const seen = await c.seen;
        if (seen.serial !== normalizeSerial(out.serial!)) throw new Error(`${t.strategy}: probe saw ${seen.serial}, the agent wrote ${out.serial}`);
        currentSerial.set(t, seen.serial);
        ms.get(t.strategy)!.push(seen.at - c.writtenAt);
        if (c.reloadedAt !== undefined) triggerMs.get(t.strategy)!.push(c.reloadedAt - c.writtenAt);
      }
      process.stdout.write(`rotation ${r + 1}/${args.rotations}: ${targets.map((t) => `${t.strategy} ${fmt(ms.get(t.strategy)!.at(-1)!)} ms`).join(' · ')}\n`);
    }

    const baseline = strategies.includes('direct') ? median(ms.get('direct')!) : Number.NaN;
    const results = strategies.map((s) => {
      const xs = ms.get(s)!;
      return { strategy: s, rotations: xs.length, medianMs: median(xs), p90Ms: quantile(xs, 0.9), maxMs: max(xs), agentReloadStepMs: median(triggerMs.get(s)!), ratioToDirect: median(xs) / baseline, targetMet: max(xs) <= 1000 };
    });
    console.log(`\nrename → first new connection with the new serial, ${args.rotations} rotations per strategy (×direct = median / median(direct))`);
    console.log(table(['strategy', 'median ms', 'p90 ms', 'max ms', '×direct', 'agent reload step ms (median)', '≤ 1 s (max)'], results.map((x) => [x.strategy, x.medianMs, x.p90Ms, x.maxMs, x.ratioToDirect, x.agentReloadStepMs, x.targetMet ? 'yes' : 'NO'])));
    emitResult('rotation', { otp: otpRelease(), pollMs: args['poll-ms'], results });
  } finally {
    await Promise.all(allNodes.map((n) => n.stop()));
    await pki?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

runMain(main);
