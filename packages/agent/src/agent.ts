import { dirname } from 'node:path';
/**
 * `createAgent(config, ports)`: the programmatic agent (what `main` and `vaultdist agent` run).
 */
import { lookupSelf, startTokenRenewal, type VaultClient, type WriterFs } from '@vaultdist/sdk';
import type { AgentConfig, AuthConfig, NodeConfig } from './config/schema.js';
import { deriveHealth, type Health, type NodeStatus } from './core/state.js';
import { AgentError, EXIT_CODES, classifyError, exitCodeFor } from './errors.js';
import { mathRandom, nodeFs, nodeProcess, systemClock, type AgentPorts, type Logger } from './ports.js';
import { startHealthServer, type HealthServer } from './shell/health-server.js';
import { createMetrics, type AgentMetrics } from './shell/metrics.js';
import { CrlWorker, crlDirOf, type CrlHooks, type CrlRefreshResult } from './shell/crl-worker.js';
import { NodeWorker, type AttemptResult, type WorkerHooks } from './shell/node-worker.js';
import { RegistryWorker, type RegistryHooks, type RegistryStatus } from './shell/registry-worker.js';
import { createAgentVaultClient } from './shell/vault.js';

export interface CreateAgentOptions {
  ports?: Partial<AgentPorts> | undefined;
  metrics?: AgentMetrics | undefined;
  /** Credential writer file system (failure injection in tests). */
  writerFs?: WriterFs | undefined;
  /** Test-only observation points. */
  hooks?: (WorkerHooks & CrlHooks & RegistryHooks) | undefined;
  /** Vault client override per auth config (tests); defaults to `createAgentVaultClient`. */
  vaultFactory?: ((config: AgentConfig, auth: AuthConfig, logger: Logger) => VaultClient) | undefined;
}

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
  /** One iteration for every node (start-up + attempt when due, or always with `force`). */
  runOnce(o?: { force?: boolean; signal?: AbortSignal }): Promise<OnceResult>;
  /** The daemon: resolves when `signal` aborts (clean stop), rejects on a fatal error. */
  run(signal: AbortSignal): Promise<void>;
  /** Swaps the config (SIGHUP). Node loops restart from the files on disk; nothing is re-issued needlessly. */
  updateConfig(next: AgentConfig): Promise<void>;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const child = (l: Logger, component: string): Logger => (l.child ? l.child({ component }) : l);

export function createAgent(initial: AgentConfig, o: CreateAgentOptions = {}): Agent {
  const ports: AgentPorts = {
    clock: o.ports?.clock ?? systemClock,
    random: o.ports?.random ?? mathRandom,
    fs: o.ports?.fs ?? nodeFs,
    logger: o.ports?.logger ?? silent,
    process: o.ports?.process ?? nodeProcess,
  };
  const log = child(ports.logger, 'agent');
  const metrics = o.metrics ?? createMetrics();
  const hooks = o.hooks ?? {};
  let config = initial;
  const clients = new Map<string, VaultClient>();
  const vaultFor = (auth: AuthConfig): VaultClient => {
    const key = JSON.stringify([config.vault.address, config.vault.caCert, config.vault.namespace, auth]);
    let c = clients.get(key);
    if (!c) {
      c = (o.vaultFactory ?? createAgentVaultClient)(config, auth, child(ports.logger, 'vault'));
      clients.set(key, c);
    }
    return c;
  };
  const makeWorkers = () =>
    config.nodes.map(
      (n: NodeConfig) =>
        new NodeWorker(
          {
            config: () => config,
            ports,
            metrics,
            vault: vaultFor(n.auth ?? config.vault.auth),
            logger: child(ports.logger, 'renew-loop'),
            hooks,
            writerFs: o.writerFs,
            onRotated: (node) => log.debug({ node: node.name }, 'credential set rotated'),
          },
          n,
        ),
    );
  const makeCrlWorkers = (ws: NodeWorker[]) =>
    ws.flatMap((w) =>
      w.node.crl.enabled
        ? [new CrlWorker({ config: () => config, ports, metrics, vault: vaultFor(w.node.auth ?? config.vault.auth), logger: child(ports.logger, 'crl'), hooks, writerFs: o.writerFs }, w.node, w.status)]
        : [],
    );
  // registry (#13): one registration + peers file per node, with the node's own identity
  const makeRegistryWorkers = (ws: NodeWorker[]) =>
    config.registry.enabled
      ? ws.flatMap((w) =>
          w.node.registry.enabled
            ? [new RegistryWorker({ config: () => config, ports, metrics, vault: vaultFor(w.node.auth ?? config.vault.auth), logger: child(ports.logger, 'registry'), hooks, nodeStatus: w.status, writerFs: o.writerFs }, w.node)]
            : [],
        )
      : [];
  let workers = makeWorkers();
  let crlWorkers = makeCrlWorkers(workers);
  let registryWorkers = makeRegistryWorkers(workers);
  let healthServer: HealthServer | undefined;
  let loops: { controller: AbortController; done: Promise<void> } | undefined;
  let fatal: ((e: unknown) => void) | undefined;

  const health = () => deriveHealth(workers.map((w) => w.status), ports.clock.now(), { ...config.schedule, liveWriteFailures: 3 });

  async function checkOutputs(): Promise<void> {
    for (const n of config.nodes) {
      try {
        await ports.fs.checkWritable(n.dir);
      } catch (e) {
        throw new AgentError('write', `output directory ${n.dir} is not writable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { node: n.name, cause: e });
      }
      const crlParent = dirname(crlDirOf(n));
      if (n.crl.enabled && crlParent !== n.dir) {
        try {
          await ports.fs.checkWritable(crlParent);
        } catch (e) {
          throw new AgentError('write', `CRL directory parent ${crlParent} is not writable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { node: n.name, cause: e });
        }
      }
    }
  }

  function startLoops(): void {
    const controller = new AbortController();
    const done = Promise.all([
      ...workers.map((w) =>
        w.run(controller.signal, { onFatal: (e) => fatal?.(e) }).catch((e: unknown) => {
          fatal?.(e);
        }),
      ),
      ...crlWorkers.map((c) => c.run(controller.signal).catch((e: unknown) => fatal?.(e))),
      ...registryWorkers.map((r) => r.run(controller.signal).catch((e: unknown) => fatal?.(e))),
    ]).then(() => undefined);
    loops = { controller, done };
  }

  async function stopLoops(): Promise<void> {
    if (!loops) return;
    loops.controller.abort(new Error('stopping'));
    await loops.done;
    loops = undefined;
  }

  /** Keeps a renewable static token alive (SDK watcher); login-based strategies re-login by themselves. */
  async function tokenWatcher(signal: AbortSignal): Promise<void> {
    if (config.vault.auth.method !== 'token') return;
    const vault = vaultFor(config.vault.auth);
    const tlog = child(ports.logger, 'token');
    try {
      const self = await lookupSelf(vault, { signal });
      if (!self.renewable || !self.ttlSeconds) {
        tlog.debug({ renewable: self.renewable, ttlSeconds: self.ttlSeconds }, 'token not renewable; no renewal watcher');
        return;
      }
      const w = startTokenRenewal({
        vault,
        leaseDurationSeconds: self.ttlSeconds,
        renewable: true,
        clock: { monotonicMs: () => ports.clock.monotonicMs(), sleep: (ms, s) => ports.clock.sleep(ms, s) },
        random: () => ports.random.next(),
        signal,
        onError: (e, r) => tlog.warn({ err: e.message, ...r }, 'token renewal failed'),
      });
      const r = await w.done;
      if (r.reason !== 'stopped') tlog.warn({ reason: r.reason, err: r.error?.message }, 'token can no longer be renewed; renewals will fail with auth errors until the token is replaced');
    } catch (e) {
      if (!signal.aborted) tlog.warn({ err: (e as Error).message }, 'token lookup failed; no renewal watcher');
    }
  }

  return {
    metrics,
    config: () => config,
    status: () => workers.map((w) => ({ ...w.status })),
    registry: () => registryWorkers.map((r) => ({ ...r.status })),
    health,
    healthAddress: () => (healthServer ? { host: healthServer.host, port: healthServer.port } : undefined),
    checkOutputs,

    async runOnce(ro = {}) {
      const signal = ro.signal ?? new AbortController().signal;
      await checkOutputs();
      const nodes: OnceResult['nodes'] = [];
      for (const w of workers) {
        await w.start(signal);
        const result = w.due(ports.clock.now()) || ro.force ? await w.attempt(signal, { force: ro.force }) : ({ ok: true, action: 'none', serial: w.status.cert?.serial } as AttemptResult);
        // CRL: always refreshed by --once (after the renewal, so a first set on disk can check its signature)
        const cw = crlWorkers.find((c) => c.node === w.node);
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
      await checkOutputs();
      if (config.health.enabled) {
        healthServer = await startHealthServer({ host: config.health.host, port: config.health.port, health, metrics, status: () => workers.map((w) => w.status) });
        log.info({ host: healthServer.host, port: healthServer.port }, 'health server listening');
      }
      const watcherAbort = new AbortController();
      const onAbort = () => watcherAbort.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const watcher = tokenWatcher(watcherAbort.signal);
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
        watcherAbort.abort(new Error('stopping'));
        await stopLoops();
        await watcher;
        await healthServer?.close();
        healthServer = undefined;
      }
    },

    async updateConfig(next) {
      const running = loops !== undefined;
      await stopLoops();
      config = next;
      clients.clear();
      workers = makeWorkers();
      crlWorkers = makeCrlWorkers(workers);
      registryWorkers = makeRegistryWorkers(workers);
      if (running) {
        await checkOutputs().catch((e: unknown) => log.error({ err: (e as Error).message }, 'output directory check failed after config reload'));
        startLoops();
      }
      log.info({ nodes: config.nodes.map((n) => n.name) }, 'configuration applied');
    },
  };
}
