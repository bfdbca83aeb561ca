/**
 * `createAgent(config, ports)`: the programmatic agent (what `main` and `vaultdist agent` run).
 *
 * A configuration runs as one generation: its Vault clients, node/CRL/registry workers. A reload
 * (SIGHUP, issue #14) builds the next generation completely and runs the start-up checks on it
 * (`preflight`: clients built (CA files read), secret and trust files readable, output directories
 * writable) while the old one keeps running; only then are the old loops stopped and the new ones
 * started. A failure leaves the old generation running and is reported to the caller (log + metric).
 */
import { dirname, join } from 'node:path';
import type { VaultClient, VaultHealth } from '@vaultdist/sdk';
import type { WriterFs } from '@vaultdist/sdk/internal';
import { tokenRenewDelayMs } from '@vaultdist/sdk/base';
import type { AgentConfig, AuthConfig, NodeConfig } from './config/schema.js';
import { deriveHealth, type Health, type NodeStatus } from './core/state.js';
import { AgentError, EXIT_CODES, classifyError, exitCodeFor } from './errors.js';
import { mathRandom, nodeFs, nodeProcess, silentLogger, systemClock, type AgentPorts, type Logger } from './ports.js';
import { startHealthServer, type HealthServer } from './shell/health-server.js';
import { createMetrics, initNodeSeries, type AgentMetrics } from './shell/metrics.js';
import { CrlWorker, crlDirOf, type CrlHooks, type CrlRefreshResult } from './shell/crl-worker.js';
import { NodeWorker, type AttemptResult, type WorkerHooks } from './shell/node-worker.js';
import { RegistryWorker, type RegistryHooks, type RegistryStatus } from './shell/registry-worker.js';
import { Scheduler } from './shell/scheduler.js';
import { WorkerProcess, fromWire, toWire, type LoginLease, type RemoteWork, type StatefulAnswer, type WireError, type WorkJob } from './shell/worker-process.js';

export interface CreateAgentOptions {
  ports?: Partial<AgentPorts> | undefined;
  metrics?: AgentMetrics | undefined;
  /** Credential writer file system (failure injection in tests). */
  writerFs?: WriterFs | undefined;
  /** Test-only observation points. */
  hooks?: (WorkerHooks & CrlHooks & RegistryHooks & AgentHooks) | undefined;
  /** Vault client override per auth config (tests); defaults to `createAgentVaultClient`. */
  vaultFactory?: ((config: AgentConfig, auth: AuthConfig, logger: Logger) => VaultClient) | undefined;
  /**
   * Run the Vault, X.509 and file work in a work process forked on demand (`shell/worker-process.ts`),
   * keeping only the schedule, state, health, metrics and logs in this process (the daemon's
   * footprint, issue #16); each generation's work processes exit after its `worker.idleExitMs`. Unset:
   * everything runs in this process (tests, `--once`, `--check`).
   */
  workProcess?: { entry: string } | undefined;
  /** Worker side: Vault logins handed over by the supervisor (adopted by the matching auth strategy). */
  adoptLogins?: Record<string, LoginLease> | undefined;
}

/** The worker side of `createAgent` (shell/worker-process.ts): one job on this generation's objects. */
export interface WorkerAgent extends Agent {
  perform(job: WorkJob, signal: AbortSignal): Promise<unknown>;
  /** The current login of every Vault client (handed to the next worker). */
  logins(): Record<string, LoginLease>;
}

/** Test-only observation points of the agent itself. */
export interface AgentHooks {
  /** The token loop: a lookup/renewal failed and it sleeps `ms` (`reason`), or it renewed. */
  onTokenStep?(step: 'lookup-failed' | 'renewed' | 'renew-failed' | 'not-renewable', ms?: number): void;
  /** The scheduler's Vault probe during an outage. */
  onProbe?(up: boolean): void;
}

/** Where a preflight runs: a real start or reload (creates output directories) or `--check` (creates nothing). */
export type PreflightMode = 'start' | 'check';

export interface OnceResult {
  exitCode: number;
  /** `crl`: the CRL refresh, for nodes with `crl.enabled` (--once always refreshes it). */
  nodes: { node: string; result: AttemptResult; crl?: CrlRefreshResult | undefined }[];
}

export interface Agent {
  readonly metrics: AgentMetrics;
  config(): AgentConfig;
  status(): NodeStatus[];
  /** Registry registration + peers file per node (`registry.enabled`). */
  registry(): RegistryStatus[];
  health(): Health;
  /** Address of the health server while `run` is running. */
  healthAddress(): { host: string; port: number } | undefined;
  /** Write check of every output directory (house style §10); throws AgentError('write'). */
  checkOutputs(): Promise<void>;
  /**
   * The start-up checks of a config without running it: the Vault clients are built (CA and
   * role_id files read), every file the config names is readable (tokenFile, secretIdFile, certFile,
   * keyFile, jwtFile, cookieFile, trust.extraCaFiles), every output directory writable (`check`: its
   * nearest existing parent, nothing is created). Returns the problems, each naming the key.
   * `run()`, a reload and `--check` all use it (issue #14: `--check` passed configs that crashed).
   */
  preflight(config?: AgentConfig, mode?: PreflightMode): Promise<AgentError[]>;
  /** One iteration for every node (start-up + attempt when due, or always with `force`). */
  runOnce(o?: { force?: boolean; signal?: AbortSignal }): Promise<OnceResult>;
  /** The daemon: resolves when `signal` aborts (clean stop), rejects on a fatal error. */
  run(signal: AbortSignal): Promise<void>;
  /**
   * Swaps the config (SIGHUP): builds and preflights the new generation first; on a problem it throws
   * (AgentError naming the key) and the old config keeps running. Node loops restart from the files on
   * disk; nothing is re-issued needlessly.
   */
  updateConfig(next: AgentConfig): Promise<void>;
}

const child = (l: Logger, component: string): Logger => (l.child ? l.child({ component }) : l);

/**
 * `createAgent` without a default Vault client factory, so that this module loads no Vault or X.509
 * code: the daemon's supervisor (`workProcess` set) builds its agent from here and stays light
 * (issue #16); `createAgent` (agent.ts) adds the factory for in-process execution.
 */
export function createAgentCore(initial: AgentConfig, o: CreateAgentOptions = {}): Agent {
  const ports: AgentPorts = {
    clock: o.ports?.clock ?? systemClock,
    random: o.ports?.random ?? mathRandom,
    fs: o.ports?.fs ?? nodeFs,
    logger: o.ports?.logger ?? silentLogger,
    process: o.ports?.process ?? nodeProcess,
  };
  const log = child(ports.logger, 'agent');
  const metrics = o.metrics ?? createMetrics();
  const hooks = o.hooks ?? {};
  let config = initial;

  /** One configuration's clients and workers (see the file comment). */
  interface Generation {
    config: AgentConfig;
    clients: Map<string, VaultClient>;
    workers: NodeWorker[];
    crlWorkers: CrlWorker[];
    registryWorkers: RegistryWorker[];
    /** The generation's work process (`workProcess` set): workers delegate their jobs to it. */
    pool: WorkerProcess | undefined;
  }

  const vaultFactory = () => {
    if (!o.vaultFactory) throw new AgentError('internal', 'createAgentCore runs Vault work in this process only with a vaultFactory (createAgent adds it)');
    return o.vaultFactory;
  };

  /** Expired-node recovery clients (bootstrap AppRole logins), by `recovery:<node>`. */
  const recoveryClients = new Map<string, VaultClient>();

  /** A work process adopts the login its predecessor made under `key` (no new token per worker). */
  const adopting = (c: VaultClient, key: string): VaultClient => {
    const seed = o.adoptLogins?.[key];
    if (seed) c.auth?.adopt?.(seed);
    return c;
  };

  /** Logins handed from one work process to the next (all generations: a reload keeps the tokens). */
  const logins = new Map<string, LoginLease>();
  const newPool = (cfg: AgentConfig) =>
    o.workProcess ? new WorkerProcess({ entry: o.workProcess.entry, idleExitMs: cfg.worker.idleExitMs, config: cfg, logger: ports.logger, metrics, clock: ports.clock, logins }) : undefined;

  const clientKey = (cfg: AgentConfig, auth: AuthConfig) => JSON.stringify([cfg.vault.address, cfg.vault.caCert, cfg.vault.namespace, cfg.vault.tlsServerName, cfg.vault.skipVerify, cfg.vault.requestTimeoutMs, auth]);

  /**
   * Builds a generation. Throws (AgentError 'config', naming the key) when a Vault client cannot be
   * built: an unreadable vault.caCert, an unreadable roleIdFile.
   */
  function build(cfg: AgentConfig): Generation {
    const clients = new Map<string, VaultClient>();
    const pool = newPool(cfg);
    const vaultFor = (auth: AuthConfig, path: string): VaultClient => {
      // the supervisor holds no Vault client: its workers hand every Vault call to the work process
      if (pool) return SUPERVISOR_HAS_NO_CLIENT;
      const key = clientKey(cfg, auth);
      let c = clients.get(key);
      if (!c) {
        try {
          c = vaultFactory()(cfg, auth, child(ports.logger, 'vault'));
        } catch (e) {
          if (e instanceof AgentError) throw new AgentError(e.kind, `${path}: ${e.message}`, { cause: e });
          throw new AgentError(classifyError(e) === 'internal' ? 'config' : classifyError(e), `${path === 'vault.auth' ? 'vault' : path}: ${(e as Error).message}`, { cause: e });
        }
        clients.set(key, adopting(c, key));
      }
      return c;
    };
    const authOf = (n: NodeConfig, i: number) => (n.auth ? { auth: n.auth, path: `nodes[${i}].auth` } : { auth: cfg.vault.auth, path: 'vault.auth' });
    vaultFor(cfg.vault.auth, 'vault.auth');
    const workers = cfg.nodes.map((n, i) => {
      const a = authOf(n, i);
      return new NodeWorker(
        {
          config: () => config,
          ports,
          metrics,
          vault: vaultFor(a.auth, a.path),
          logger: child(ports.logger, 'renew-loop'),
          hooks,
          writerFs: o.writerFs,
          onRotated: (node) => log.debug({ node: node.name }, 'credential set rotated'),
          scheduler,
          recovery: pool ? undefined : recoveryFor(cfg, n, a.auth),
          remote: pool,
        },
        n,
      );
    });
    const crlWorkers = workers.flatMap((w, i) =>
      w.node.crl.enabled
        ? [new CrlWorker({ config: () => config, ports, metrics, vault: vaultFor(authOf(w.node, i).auth, authOf(w.node, i).path), logger: child(ports.logger, 'crl'), hooks, writerFs: o.writerFs, scheduler, remote: pool }, w.node, w.status)]
        : [],
    );
    // registry (#13): one registration + peers file per node, with the node's own identity
    const registryWorkers = cfg.registry.enabled
      ? workers.flatMap((w, i) =>
          w.node.registry.enabled
            ? [new RegistryWorker({ config: () => config, ports, metrics, vault: vaultFor(authOf(w.node, i).auth, authOf(w.node, i).path), logger: child(ports.logger, 'registry'), hooks, nodeStatus: w.status, writerFs: o.writerFs, remote: pool }, w.node)]
            : [],
        )
      : [];
    return { config: cfg, clients, workers, crlWorkers, registryWorkers, pool };
  }

  /**
   * Expired-node recovery (issue #14): a node that renews with cert auth cannot log in once its
   * certificate has expired (or before it has one). The agent then falls back to the node's bootstrap
   * AppRole credentials (`<dir>/approle/role-id` + `secret-id`, what `vaultdist init node` writes for
   * AppRole renewals) when they exist; otherwise the node's status carries the exact command.
   */
  function recoveryFor(cfg: AgentConfig, n: NodeConfig, auth: AuthConfig) {
    if (auth.method !== 'cert') return undefined;
    const roleIdFile = join(n.dir, 'approle', 'role-id');
    const secretIdFile = join(n.dir, 'approle', 'secret-id');
    const settingsFile = join(n.dir, 'vaultdist.json');
    let fallback: VaultClient | undefined;
    const command = [
      'BAO_TOKEN=<operator token>',
      'vaultdist issue',
      `--dir ${n.dir}`,
      `--vault-addr ${cfg.vault.address.split(',')[0]}`,
      ...(cfg.vault.caCert ? [`--vault-cacert ${cfg.vault.caCert}`] : []),
    ].join(' ');
    return {
      command: `${command}   (or, without an operator token: --role-id ROLE_ID --wrapped-secret-id TOKEN from \`vaultdist init vault --node ${n.name}\`); the agent renews with the new certificate at its next retry`,
      async client(): Promise<VaultClient | undefined> {
        if (fallback) return fallback;
        try {
          await ports.fs.readFile(roleIdFile);
          await ports.fs.readFile(secretIdFile);
        } catch {
          return undefined;
        }
        const mount = await ports.fs
          .readFile(settingsFile)
          .then((t) => String((JSON.parse(t) as { approleMount?: unknown }).approleMount ?? 'approle'))
          .catch(() => 'approle');
        // handed on between work processes like the other logins (a bootstrap secret_id may allow few uses)
        const key = `recovery:${n.name}`;
        fallback = adopting(vaultFactory()(cfg, { method: 'approle', mount, roleId: null, roleIdFile, secretId: null, secretIdFile }, child(ports.logger, 'vault')), key);
        recoveryClients.set(key, fallback);
        return fallback;
      },
    };
  }

  const scheduler = new Scheduler({
    clock: ports.clock,
    random: ports.random,
    logger: child(ports.logger, 'scheduler'),
    backoff: () => config.schedule.backoff,
    probeIntervalMs: () => config.schedule.vaultProbeIntervalMs,
    probeClient: () => (gen.pool ? remoteProbe(gen.pool) : gen.clients.values().next().value),
    onProbe: (up) => hooks.onProbe?.(up),
  });

  let gen = build(initial);
  initNodeSeries(metrics, initial.nodes);
  let healthServer: HealthServer | undefined;
  let loops: { controller: AbortController; done: Promise<void> } | undefined;
  let fatal: ((e: unknown) => void) | undefined;

  const health = () => deriveHealth(gen.workers.map((w) => w.status), ports.clock.now(), { ...config.schedule, liveWriteFailures: 3 });

  async function outputProblems(cfg: AgentConfig, mode: PreflightMode): Promise<AgentError[]> {
    const out: AgentError[] = [];
    const check = async (dir: string, what: string, node: string) => {
      try {
        if (mode === 'start') await ports.fs.checkWritable(dir);
        else await (ports.fs.checkWritableParent ?? nodeFs.checkWritableParent)!(dir);
      } catch (e) {
        out.push(new AgentError('write', `${what} ${dir} is not writable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { node, cause: e }));
      }
    };
    for (const [i, n] of cfg.nodes.entries()) {
      await check(n.dir, `nodes[${i}].dir: output directory`, n.name);
      const crlParent = dirname(crlDirOf(n));
      if (n.crl.enabled && crlParent !== n.dir) await check(crlParent, `nodes[${i}].crl.dir: CRL directory parent`, n.name);
    }
    return out;
  }

  async function fileProblems(cfg: AgentConfig): Promise<AgentError[]> {
    const out: AgentError[] = [];
    const readable = async (path: string | null | undefined, key: string, node?: string, pem = false) => {
      if (!path) return;
      try {
        const text = await ports.fs.readFile(path);
        if (pem && !(await import('@vaultdist/sdk/internal')).certificateBlocks(text).length) out.push(new AgentError('config', `${key}: ${path} holds no PEM certificate`, { node }));
      } catch (e) {
        out.push(new AgentError('config', `${key}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { node, cause: e }));
      }
    };
    const auth = async (a: AuthConfig | null, key: string, node?: string, certMayBeMissing = false) => {
      if (!a) return;
      if (a.method === 'token') await readable(a.tokenFile, `${key}.tokenFile`, node);
      if (a.method === 'approle') await readable(a.secretIdFile, `${key}.secretIdFile`, node);
      if (a.method === 'kubernetes') await readable(a.jwtFile, `${key}.jwtFile`, node);
      // a node's own bundle.pem as the cert-auth certificate appears with the node's first certificate
      if (a.method === 'cert' && !certMayBeMissing) {
        await readable(a.certFile, `${key}.certFile`, node);
        await readable(a.keyFile, `${key}.keyFile`, node);
      }
    };
    const ownBundle = (a: AuthConfig | null) => a?.method === 'cert' && cfg.nodes.some((n) => a.certFile.startsWith(`${n.dir.replace(/\/+$/, '')}/`));
    await auth(cfg.vault.auth, 'vault.auth', undefined, ownBundle(cfg.vault.auth));
    for (const [i, n] of cfg.nodes.entries()) {
      await auth(n.auth, `nodes[${i}].auth`, n.name, ownBundle(n.auth));
      for (const [j, f] of n.trust.extraCaFiles.entries()) await readable(f, `nodes[${i}].trust.extraCaFiles[${j}]`, n.name, true);
      if (n.reload.strategy === 'rpc') await readable(n.reload.cookieFile, `nodes[${i}].reload.cookieFile`, n.name);
    }
    return out;
  }

  async function preflightGeneration(cfg: AgentConfig, mode: PreflightMode): Promise<{ next: Generation | undefined; problems: AgentError[] }> {
    if (o.workProcess) {
      // the checks run where the work runs (they build the Vault clients); the supervisor's own
      // generation is built only once they passed
      const probe = newPool(cfg)!;
      const problems = await remoteProblems(probe, mode).finally(() => probe.close());
      return { next: problems.length ? undefined : build(cfg), problems };
    }
    let next: Generation | undefined;
    const problems: AgentError[] = [];
    try {
      next = build(cfg);
    } catch (e) {
      problems.push(e instanceof AgentError ? e : new AgentError('config', (e as Error).message, { cause: e }));
    }
    problems.push(...(await fileProblems(cfg)), ...(await outputProblems(cfg, mode)));
    return { next: problems.length ? undefined : next, problems };
  }

  async function checkOutputs(): Promise<void> {
    const [first] = await outputProblems(config, 'start');
    if (first) throw first;
  }

  /** The start-up spread before a loop's first Vault call (only when that call is due at once). */
  const spread = (signal: AbortSignal) => {
    const ms = scheduler.startupDelayMs(config.nodes.length, config.schedule.startupSpreadMs);
    return ms > 0 ? scheduler.sleep(ms, signal) : Promise.resolve();
  };

  function startLoops(): void {
    const controller = new AbortController();
    // Every loop gets its own signal, fanned out from this one by ONE listener: with one shared signal
    // each pending sleep and request of 100 nodes adds a listener to it, and Node prints
    // MaxListenersExceededWarning on stderr from the 11th on (issue #14: it broke JSON log streams).
    const children: AbortController[] = [];
    const own = () => {
      const c = new AbortController();
      children.push(c);
      return c.signal;
    };
    controller.signal.addEventListener('abort', () => children.forEach((c) => c.abort(controller.signal.reason)), { once: true });
    const g = gen;
    const done = Promise.all([
      ...g.workers.map(async (w) => {
        const signal = own();
        try {
          await w.start(signal);
          if (w.due(ports.clock.now())) await spread(signal);
          await w.run(signal, { onFatal: (e) => fatal?.(e) });
        } catch (e) {
          if (!signal.aborted) fatal?.(e);
        }
      }),
      ...g.crlWorkers.map(async (c) => {
        const signal = own();
        try {
          await c.loadFromDisk();
          await spread(signal);
          await c.run(signal);
        } catch (e) {
          if (!signal.aborted) fatal?.(e);
        }
      }),
      ...g.registryWorkers.map((r) => r.run(own()).catch((e: unknown) => fatal?.(e))),
    ]).then(() => undefined);
    loops = { controller, done };
  }

  async function stopLoops(): Promise<void> {
    if (!loops) return;
    loops.controller.abort(new Error('stopping'));
    await loops.done;
    loops = undefined;
  }

  /**
   * Keeps a renewable static token alive, under the agent's scheduler (issue #14: with Vault down at
   * start the lookup failed once and the token was never renewed for the life of the process):
   * 1. lookup-self until it succeeds, with the jittered capped backoff (and the early retry when Vault
   *    answers again);
   * 2. sleep until 2/3 of the lease (jittered, the SDK's `tokenRenewDelayMs`), renew-self; a failed
   *    renewal backs off the same way, never past the end of the lease, then looks the token up again;
   * 3. stop when the token is not renewable (root, periodic without renewal, max TTL reached) or denied.
   * Login-based strategies (AppRole, cert, Kubernetes) log in again by themselves.
   */
  async function tokenLoop(signal: AbortSignal): Promise<void> {
    if (config.vault.auth.method !== 'token') return;
    const vault = gen.clients.get(clientKey(config, config.vault.auth));
    if (!vault && !gen.pool) return;
    // the current generation's work process at each call (a reload closes the old one's)
    const lookup = async (s: AbortSignal) =>
      gen.pool ? gen.pool.run<{ ttlSeconds: number; renewable: boolean }>({ op: 'token.lookup' }, s) : (await import('@vaultdist/sdk/internal')).lookupSelf(vault!, { signal: s });
    const renew = async (increment: number, s: AbortSignal) =>
      gen.pool ? gen.pool.run<{ leaseDurationSeconds: number; renewable: boolean }>({ op: 'token.renew', increment }, s) : (await import('@vaultdist/sdk/internal')).renewSelf(vault!, { increment, signal: s });
    const tlog = child(ports.logger, 'token');
    let failures = 0;
    const backoff = async (e: unknown, step: 'lookup-failed' | 'renew-failed', leaseEndMs?: number) => {
      failures++;
      const kind = classifyError(e);
      const now = ports.clock.monotonicMs();
      let ms = scheduler.backoffMs(failures);
      if (leaseEndMs !== undefined) ms = Math.max(1, Math.min(ms, leaseEndMs - now));
      tlog.warn({ err: (e as Error).message, kind, failures, backoffMs: ms }, step === 'lookup-failed' ? 'token lookup failed; retrying' : 'token renewal failed; retrying');
      hooks.onTokenStep?.(step, ms);
      await scheduler.backoff(ms, signal, { kind });
    };
    for (;;) {
      // (1)
      let lease: { ttlSeconds: number; renewable: boolean };
      try {
        const self = await lookup(signal);
        lease = { ttlSeconds: self.ttlSeconds, renewable: self.renewable };
      } catch (e) {
        if (signal.aborted) return;
        if (classifyError(e) === 'auth') {
          tlog.warn({ err: (e as Error).message }, 'token lookup denied; renewals will fail with auth errors until the token is replaced');
          return;
        }
        await backoff(e, 'lookup-failed');
        continue;
      }
      failures = 0;
      if (!lease.renewable || !lease.ttlSeconds) {
        tlog.debug({ renewable: lease.renewable, ttlSeconds: lease.ttlSeconds }, 'token not renewable; no renewal loop');
        hooks.onTokenStep?.('not-renewable');
        return;
      }
      // (2)
      let leaseEndMs = ports.clock.monotonicMs() + lease.ttlSeconds * 1000;
      for (;;) {
        await scheduler.sleep(tokenRenewDelayMs(lease.ttlSeconds, ports.random.next()), signal);
        try {
          const r = await renew(lease.ttlSeconds, signal);
          failures = 0;
          hooks.onTokenStep?.('renewed');
          tlog.debug({ leaseDurationSeconds: r.leaseDurationSeconds }, 'token renewed');
          if (!r.renewable || r.leaseDurationSeconds <= 1) break;
          lease = { ttlSeconds: r.leaseDurationSeconds, renewable: r.renewable };
          leaseEndMs = ports.clock.monotonicMs() + r.leaseDurationSeconds * 1000;
        } catch (e) {
          if (signal.aborted) return;
          if (classifyError(e) === 'auth') {
            tlog.warn({ err: (e as Error).message }, 'token renewal denied; renewals will fail with auth errors until the token is replaced');
            return;
          }
          if (ports.clock.monotonicMs() >= leaseEndMs) {
            tlog.warn({ err: (e as Error).message }, 'token expired while renewal kept failing; renewals will fail with auth errors until the token is replaced');
            return;
          }
          await backoff(e, 'renew-failed', leaseEndMs);
          break; // (2) look the token up again: its lease may have changed meanwhile
        }
      }
    }
  }

  /** The start-up checks of `pool`'s config, run in a work process. */
  async function remoteProblems(pool: RemoteWork, mode: PreflightMode): Promise<AgentError[]> {
    try {
      return (await pool.run<WireError[]>({ op: 'preflight', mode })).map(fromWire);
    } catch (e) {
      return [e instanceof AgentError ? e : new AgentError('internal', (e as Error).message, { cause: e })];
    }
  }

  /** The first start-up problem as the error `run()`/`runOnce()` fail with (kind → exit code). */
  async function preflightOrThrow(): Promise<void> {
    // with a work process, the whole start-up check runs there (it also builds the Vault clients)
    const problems = gen.pool ? await remoteProblems(gen.pool, 'start') : [...(await fileProblems(config)), ...(await outputProblems(config, 'start'))];
    if (problems.length) throw problems[0];
  }

  /** Worker side: one job of the supervisor on this generation's objects (state in, state out). */
  async function perform(job: WorkJob, signal: AbortSignal): Promise<unknown> {
    const byNode = <T extends { node: NodeConfig }>(list: T[], name: string, what: string): T => {
      const w = list.find((x) => x.node.name === name);
      if (!w) throw new AgentError('internal', `the work process has no ${what} for ${name}`);
      return w;
    };
    switch (job.op) {
      case 'node.start':
        return withState(byNode(gen.workers, job.node, 'renewal loop'), job.state, (w) => w.start(signal));
      case 'node.attempt':
        return withState(byNode(gen.workers, job.node, 'renewal loop'), job.state, async (w) => {
          // a start-up check that failed in an earlier work process comes first
          await w.start(signal);
          const r = await w.attempt(signal, { force: job.force });
          return r.ok ? r : { ...r, error: toWire(r.error, job.node) };
        });
      case 'crl.load':
      case 'crl.refresh':
        return withState(byNode(gen.crlWorkers, job.node, 'CRL loop'), job.state, async (c) => {
          await c.loadFromDisk();
          if (job.op === 'crl.load') return undefined;
          const r = await c.refresh(signal);
          return r.ok ? r : { ...r, error: toWire(r.error, job.node) };
        });
      case 'registry.load':
      case 'registry.tick':
      case 'registry.deregister': {
        const w = gen.workers.find((x) => x.node.name === job.node);
        if (w) w.status.servedSerial = job.servedSerial;
        return withState(byNode(gen.registryWorkers, job.node, 'registry loop'), job.state, (r) =>
          job.op === 'registry.load' ? r.loadFromDisk() : job.op === 'registry.tick' ? r.tick(signal) : r.deregisterNow(signal),
        );
      }
      case 'token.lookup': {
        const { lookupSelf } = await import('@vaultdist/sdk/internal');
        const self = await lookupSelf(tokenClient(), { signal });
        return { ttlSeconds: self.ttlSeconds, renewable: self.renewable };
      }
      case 'token.renew': {
        const { renewSelf } = await import('@vaultdist/sdk/internal');
        const r = await renewSelf(tokenClient(), { increment: job.increment, signal });
        return { leaseDurationSeconds: r.leaseDurationSeconds, renewable: r.renewable };
      }
      case 'probe': {
        const client = gen.clients.values().next().value;
        if (!client) throw new AgentError('internal', 'no Vault client to probe');
        const h = await client.health({ signal });
        return { initialized: h.initialized, sealed: h.sealed };
      }
      case 'preflight':
        return (await preflightGeneration(config, job.mode)).problems.map((p) => toWire(p, p.node));
      case 'config.load':
        throw new AgentError('internal', 'config.load is handled by the work process itself');
    }
  }

  /** Worker side of `runWithState`: `object` takes the supervisor's state, runs, and answers its new state. */
  async function withState<O extends { snapshot(): unknown; restore(s: never): void }>(object: O, state: unknown, run: (o: O) => Promise<unknown>): Promise<StatefulAnswer<ReturnType<O['snapshot']>, unknown>> {
    object.restore(state as never);
    const value = await run(object);
    return { state: object.snapshot() as ReturnType<O['snapshot']>, value };
  }

  function tokenClient(): VaultClient {
    const c = gen.clients.get(clientKey(config, config.vault.auth));
    if (!c) throw new AgentError('internal', 'no Vault client for vault.auth');
    return c;
  }

  const agent: WorkerAgent = {
    perform,
    logins() {
      const out: Record<string, LoginLease> = {};
      for (const [k, c] of [...gen.clients, ...recoveryClients]) {
        const l = c.auth?.current?.();
        if (l) out[k] = l;
      }
      return out;
    },
    metrics,
    config: () => config,
    status: () => gen.workers.map((w) => ({ ...w.status })),
    registry: () => gen.registryWorkers.map((r) => ({ ...r.status })),
    health,
    healthAddress: () => (healthServer ? { host: healthServer.host, port: healthServer.port } : undefined),
    checkOutputs,

    async preflight(cfg = config, mode = 'start') {
      return (await preflightGeneration(cfg, mode)).problems;
    },

    async runOnce(ro = {}) {
      const signal = ro.signal ?? new AbortController().signal;
      await preflightOrThrow();
      const nodes: OnceResult['nodes'] = [];
      for (const w of gen.workers) {
        await w.start(signal);
        const result = w.due(ports.clock.now()) || ro.force ? await w.attempt(signal, { force: ro.force }) : ({ ok: true, action: 'none', serial: w.status.cert?.serial } as AttemptResult);
        // CRL: always refreshed by --once (after the renewal, so a first set on disk can check its signature)
        const cw = gen.crlWorkers.find((c) => c.node === w.node);
        let crl: CrlRefreshResult | undefined;
        if (cw) {
          await cw.loadFromDisk();
          crl = await cw.refresh(signal);
        }
        nodes.push({ node: w.node.name, result, ...(crl ? { crl } : {}) });
      }
      const failed = nodes.flatMap((n) => [n.result, ...(n.crl ? [n.crl] : [])]).filter((r): r is Extract<AttemptResult | CrlRefreshResult, { ok: false }> => !r.ok);
      return { exitCode: failed.length ? exitCodeFor(failed[0]!.kind) : EXIT_CODES.ok, nodes };
    },

    async run(signal) {
      await preflightOrThrow();
      if (config.health.enabled) {
        healthServer = await startHealthServer({ host: config.health.host, port: config.health.port, health, metrics, status: () => gen.workers.map((w) => w.status), registry: () => gen.registryWorkers.map((r) => r.status) });
        log.info({ host: healthServer.host, port: healthServer.port }, 'health server listening');
      }
      const tokenAbort = new AbortController();
      const onAbort = () => tokenAbort.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const token = tokenLoop(tokenAbort.signal).catch((e: unknown) => {
        if (!tokenAbort.signal.aborted) log.error({ err: (e as Error).message }, 'token renewal loop failed');
      });
      try {
        await new Promise<void>((resolve, reject) => {
          fatal = (e) => reject(e instanceof AgentError ? e : new AgentError(classifyError(e), (e as Error).message, { cause: e }));
          startLoops();
          if (signal.aborted) resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      } finally {
        fatal = undefined;
        signal.removeEventListener('abort', onAbort);
        tokenAbort.abort(new Error('stopping'));
        await stopLoops();
        await token;
        await healthServer?.close();
        healthServer = undefined;
        gen.pool?.close();
        metrics.close();
      }
    },

    async updateConfig(next) {
      // (1) the next generation, complete and checked, while the old one keeps running
      const { next: g, problems } = await preflightGeneration(next, 'start');
      if (!g) {
        const e = problems[0]!;
        throw new AgentError(e.kind, problems.map((p) => p.message).join('; '), { cause: e });
      }
      // (2) swap
      const running = loops !== undefined;
      // nodes that stay registered across the reload are not deregistered (peers would see them leave)
      const sameCluster = next.registry.enabled && next.registry.mount === config.registry.mount && next.registry.cluster === config.registry.cluster;
      const kept = new Set(sameCluster ? next.nodes.filter((n) => n.registry.enabled).map((n) => n.name) : []);
      for (const r of gen.registryWorkers) if (kept.has(r.node.name)) r.keepRegistration();
      await stopLoops();
      gen.pool?.close();
      // the next work processes log in anew, as a new generation's clients do in-process (an operator
      // may have replaced a secret file behind the same path)
      logins.clear();
      config = next;
      gen = g;
      initNodeSeries(metrics, next.nodes);
      if (running) startLoops();
      log.info({ nodes: config.nodes.map((n) => n.name) }, 'configuration applied');
    },
  };
  return agent;
}

/**
 * The supervisor's stand-in for a Vault client (work process mode): every Vault call runs in the work
 * process, so any use here is a bug, reported as one instead of loading node-vault.
 */
const SUPERVISOR_HAS_NO_CLIENT = new Proxy({} as VaultClient, {
  get(_, prop) {
    throw new AgentError('internal', `Vault client used in the agent's supervisor process (${String(prop)}); Vault calls belong in the work process`);
  },
});

/** The scheduler's outage probe (`sys/health`), run in the work process. */
function remoteProbe(pool: RemoteWork): Pick<VaultClient, 'health'> {
  return { health: (o) => pool.run<VaultHealth>({ op: 'probe' }, o?.signal) };
}
