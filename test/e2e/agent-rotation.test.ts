/**
 * Issue #4 acceptance: the agent rotates short-lived certificates of four real OTP 25 nodes, one per
 * reload strategy (signal, rpc, command, poll), at least three times each, while the foo↔bar
 * distribution link stays up. After every rotation a NEW connection sees the new serial (the agent's
 * own verification, plus an independent probe with another node's credentials).
 * Durations are logged, not asserted (speed belongs to the benchmark).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distFlags, issueNodeCredentials, probeDistCertificate, renderOptfile } from '../../packages/sdk/src/index.js';
import { createAgent, validateConfig, type AttemptResult, type Logger } from '../../packages/agent/src/index.js';
import { testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';
import { compileErlang, sharedFreePort, startNode, type ErlNode } from '../helpers/erlang.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const RELOAD_SRC = join(ROOT, 'packages', 'cli', 'erlang', 'src', 'vaultdist_reload.erl');
const ROTATIONS = Number(process.env.VAULTDIST_AGENT_ROTATIONS ?? 3);
const NODES = [
  { name: 'foo@127.0.0.1', ip: '127.0.0.1', strategy: 'signal' },
  { name: 'bar@127.0.0.2', ip: '127.0.0.2', strategy: 'rpc' },
  { name: 'baz@127.0.0.3', ip: '127.0.0.3', strategy: 'command' },
  { name: 'qux@127.0.0.4', ip: '127.0.0.4', strategy: 'poll' },
] as const;
const COOKIE = 'vaultdist-test-cookie';

describe('agent rotations on real nodes (signal, rpc, command, poll)', () => {
  const pki = useTestPki({ role: { ttl: '20s', maxTtl: '1h', extra: { not_before_duration: '1s' } } });
  const tmp = useTestdir();
  const nodes: Record<string, ErlNode> = {};
  const dir = (n: string) => join(tmp.dir, n.replace(/[@.]/g, '_'));

  it(`rotates every node ${ROTATIONS}× with the new serial served after each swap; the foo↔bar link stays up`, async () => {
    const ebin = compileErlang([RELOAD_SRC]);
    const port = await sharedFreePort(NODES.map((n) => n.ip));
    // initial sets (the agent then starts from them), optfiles and nodes
    for (const n of NODES) {
      const d = dir(n.name);
      const r = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: n.name, dir: d, ttl: '20s' });
      writeFileSync(join(d, 'ssl_dist.conf'), renderOptfile({ bundleFile: r.written.bundlePath, caFile: r.written.caPath }));
      const extra: string[] =
        n.strategy === 'signal' || n.strategy === 'command'
          ? ['-vaultdist_sighup', 'true', '-vaultdist_pidfile', join(d, 'beam.pid')]
          : n.strategy === 'poll'
            ? ['-vaultdist_poll', `${join(d, 'bundle.pem')},${join(d, 'ca.pem')}`, '-vaultdist_poll_ms', '300']
            : [];
      nodes[n.name] = await startNode({
        name: n.name,
        dir: d,
        cookie: COOKIE,
        flags: [...distFlags({ optfile: join(d, 'ssl_dist.conf'), distPort: port, listenInterface: n.ip, codePaths: [ebin] }), ...extra, '-s', 'vaultdist_reload', 'start'],
      });
    }
    const foo = nodes['foo@127.0.0.1']!;
    expect(await foo.ping('bar@127.0.0.2')).toBe('pong');
    const linkBefore = await foo.eval(`element(2, lists:keyfind('bar@127.0.0.2', 1, erlang:system_info(dist_ctrl)))`);

    const reload = (n: (typeof NODES)[number]) => {
      const d = dir(n.name);
      switch (n.strategy) {
        case 'signal':
          return { strategy: 'signal', pidFile: join(d, 'beam.pid'), handlerInstalled: true };
        case 'rpc':
          return { strategy: 'rpc', cookie: COOKIE, port };
        case 'command':
          // a user command: record the serial the agent passes, then SIGHUP the node's handler
          return { strategy: 'command', command: ['sh', '-c', `echo "$VAULTDIST_SERIAL" >> ${join(d, 'reloads.log')} && kill -HUP "$(cat ${join(d, 'beam.pid')})"`] };
        case 'poll':
          return { strategy: 'poll', intervalMs: 300 };
      }
    };
    const v = validateConfig({
      vault: { address: testVault().addr, auth: { method: 'token', token: testVault().token } },
      schedule: { renewAtFraction: 0.35, jitterFraction: 0.05, minRemainingSeconds: 3, backoff: { initialMs: 200, maxMs: 2000 } },
      health: { enabled: false },
      nodes: NODES.map((n) => ({ name: n.name, dir: dir(n.name), mount: pki.mount, role: pki.role, ttl: '20s', reload: reload(n), verify: { port, deadlineMs: 10000, retryIntervalMs: 100 } })),
    });
    expect(v.errors).toEqual([]);

    const logs: { msg: string; meta: Record<string, unknown> }[] = [];
    const rec = (meta: object, msg: string) => void logs.push({ msg, meta: meta as Record<string, unknown> });
    const logger: Logger = { debug: rec, info: rec, warn: rec, error: rec, fatal: rec };
    const results: Record<string, AttemptResult[]> = Object.fromEntries(NODES.map((n) => [n.name, []]));
    const independent: Promise<{ node: string; expected: string; served: string | undefined; notAfter: Date | undefined }>[] = [];
    let done: () => void = () => {};
    const allDone = new Promise<void>((res) => (done = res));
    const controller = new AbortController();
    const agent = createAgent(v.config!, {
      ports: { logger },
      hooks: {
        onAttempt(node, r) {
          results[node]!.push(r);
          if (r.ok && r.action === 'renewed') {
            // an independent new connection, as bar (or foo for bar) would make it
            const n = NODES.find((x) => x.name === node)!;
            const as = dir(node === 'bar@127.0.0.2' ? 'foo@127.0.0.1' : 'bar@127.0.0.2');
            const b = readFileSync(join(as, 'bundle.pem'), 'utf8');
            independent.push(
              probeDistCertificate({ host: n.ip, port, cert: b, key: b, ca: readFileSync(join(as, 'ca.pem'), 'utf8'), servername: n.ip }).then((p) => ({ node, expected: r.serial!, served: p.serial, notAfter: p.notAfter })),
            );
          }
          if (NODES.every((x) => results[x.name]!.filter((y) => y.ok && y.action === 'renewed').length >= ROTATIONS)) done();
        },
      },
    });
    const running = agent.run(controller.signal);
    // the agent starts from the sets on disk: nothing is renewed at start
    await new Promise((r) => setTimeout(r, 300));
    expect(logs.filter((l) => l.msg === 'using the credential set on disk')).toHaveLength(NODES.length);
    await Promise.race([allDone, running.then(() => Promise.reject(new Error('agent stopped early')))]);
    controller.abort();
    await running;

    for (const n of NODES) {
      const ok = results[n.name]!.filter((r): r is Extract<AttemptResult, { ok: true }> => r.ok && r.action === 'renewed');
      expect(ok.length).toBeGreaterThanOrEqual(ROTATIONS);
      expect(new Set(ok.map((r) => r.serial)).size).toBe(ok.length); // a new serial every time
      expect(results[n.name]!.filter((r) => !r.ok)).toEqual([]); // the agent verified the served serial each time
      // measured (not asserted): swap → new serial served
      console.log(`${n.strategy}: reload→served ms`, ok.map((r) => Math.round(r.verifyMs ?? -1)));
    }
    const probes = await Promise.all(independent);
    for (const p of probes) {
      expect(p.served).toBe(p.expected);
      expect(p.notAfter!.getTime()).toBeGreaterThan(Date.now() - 60_000); // never an expired certificate
    }
    // the command got the serial in its environment
    const cmdSerials = readFileSync(join(dir('baz@127.0.0.3'), 'reloads.log'), 'utf8').trim().split('\n');
    expect(cmdSerials).toEqual(results['baz@127.0.0.3']!.filter((r) => r.ok && r.action === 'renewed').map((r) => (r as { serial: string }).serial));
    // the link foo↔bar never dropped: same controller, still connected
    expect(await foo.nodes()).toEqual(expect.arrayContaining(['bar@127.0.0.2']));
    expect(await foo.eval(`element(2, lists:keyfind('bar@127.0.0.2', 1, erlang:system_info(dist_ctrl)))`)).toBe(linkBefore);
    // every node is still alive (no SIGHUP killed anything) and a fresh link works
    for (const n of NODES) expect(nodes[n.name]!.alive).toBe(true);
    expect(await nodes['baz@127.0.0.3']!.ping('qux@127.0.0.4')).toBe('pong');
    const metrics = await agent.metrics.registry.metrics();
    for (const n of NODES) {
      const m = new RegExp(`vaultdist_agent_renewals_total\\{node="${n.name}"\\} (\\d+)`).exec(metrics);
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(ROTATIONS);
    }
    expect(metrics).not.toMatch(/vaultdist_agent_reload_verify_failures_total\{[^}]*\} [1-9]/);
  }, 180_000);
});
