/**
 * One node's CRL loop (only when `crl.enabled`): keeps the hash directory the optfile's `crl_cache`
 * points at (`<dir>/crl` by default) filled with a fresh CRL of every configured PKI mount.
 *
 * A refresh: 1. fetch each mount's CRL (unauthenticated endpoint), 2. read the CAs on disk (`ca.pem`
 * + the bundle's chain), 3. `writeCrlDir` checks every CRL's signature and staleness BEFORE writing,
 * then swaps the directory atomically (identical content: nothing written). A failure never touches
 * the live directory; it is counted, logged (louder as the live CRL nears its nextUpdate) and retried
 * with the renewal backoff, never sleeping past the live CRL's nextUpdate.
 *
 * Schedule (`core/crl.ts`): at start-up, then at min(last + refreshIntervalSeconds,
 * thisUpdate + (nextUpdate − thisUpdate) × refreshAtFraction). OTP reads the directory on every
 * handshake, so the node needs no reload.
 */
import { join } from 'node:path';
import type { CrlInfo, VaultClient } from '@vaultdist/sdk';
import type { WriterFs } from '@vaultdist/sdk/internal';
import { CREDENTIAL_FILES } from '@vaultdist/sdk/base';
import type { AgentConfig, NodeConfig } from '../config/schema.js';
import { computeCrlRefreshAt, crlLevel, CRL_LEVEL_VALUE } from '../core/crl.js';
import { nextBackoff } from '../core/schedule.js';
import { initialCrlStatus, nodeCrlLevel, type CrlStatus, type FailureKind, type NodeStatus } from '../core/state.js';
import { AgentError, classifyError } from '../errors.js';
import type { AgentPorts, Logger } from '../ports.js';
import type { AgentMetrics } from './metrics.js';
import type { Scheduler } from './scheduler.js';
import { runWithState, type RemoteWork } from './worker-process.js';

const HASH_FILE = /^[0-9a-f]{8}\.r\d+$/;

export type CrlRefreshResult =
  | { ok: true; changed: boolean; files: string[]; nextUpdate: Date | undefined; revoked: number }
  | { ok: false; kind: FailureKind; message: string; error: unknown };

export interface CrlHooks {
  onCrlRefresh?(node: string, result: CrlRefreshResult): void;
  onCrlSleep?(node: string, ms: number, reason: 'schedule' | 'backoff'): void;
}

export interface CrlContext {
  config: () => AgentConfig;
  ports: AgentPorts;
  metrics: AgentMetrics;
  vault: VaultClient;
  logger: Logger;
  hooks: CrlHooks;
  writerFs?: WriterFs | undefined;
  /** The agent's one scheduler: backoff sleeps wake early when Vault answers again (issue #14). */
  scheduler?: Scheduler | undefined;
  /** Work process mode: `loadFromDisk` and `refresh` run there, with this worker's state. */
  remote?: RemoteWork | undefined;
}

/** What a work process needs to continue this worker, and gives back. */
export interface CrlWorkerState {
  status: CrlStatus;
  loaded: boolean;
}

/** The CRL directory of a node. */
export const crlDirOf = (n: NodeConfig): string => n.crl.dir ?? join(n.dir, CREDENTIAL_FILES.crlDir);

export class CrlWorker {
  readonly node: NodeConfig;
  readonly status: CrlStatus;
  #ctx: CrlContext;
  #loaded = false;

  constructor(ctx: CrlContext, node: NodeConfig, nodeStatus: NodeStatus) {
    this.#ctx = ctx;
    this.node = node;
    this.status = initialCrlStatus(crlDirOf(node), node.crl.warnRemainingFraction);
    nodeStatus.crl = this.status;
  }

  snapshot(): CrlWorkerState {
    return { status: { ...this.status }, loaded: this.#loaded };
  }

  restore(s: CrlWorkerState): void {
    Object.assign(this.status, s.status);
    this.#loaded = s.loaded;
  }

  #remote<T>(remote: RemoteWork, op: 'crl.load' | 'crl.refresh', signal?: AbortSignal): Promise<T> {
    return runWithState<CrlWorkerState, T>(remote, this, { op, node: this.node.name, state: undefined }, signal);
  }

  /** The file system the directory is read through (the SDK's, loaded where the work runs: issue #16). */
  async #fs(): Promise<WriterFs> {
    return this.#ctx.writerFs ?? (await import('@vaultdist/sdk/internal')).nodeWriterFs;
  }

  #setWindow(crls: CrlInfo[]): void {
    const { metrics } = this.#ctx;
    const name = this.node.name;
    const earliest = [...crls].sort((a, b) => (a.nextUpdate?.getTime() ?? Infinity) - (b.nextUpdate?.getTime() ?? Infinity))[0];
    this.status.present = crls.length > 0;
    this.status.thisUpdate = earliest?.thisUpdate;
    this.status.nextUpdate = earliest?.nextUpdate;
    this.status.revokedCount = crls.reduce((n, c) => n + c.revoked.length, 0);
    if (earliest) {
      metrics.crlThisUpdate.set({ node: name }, earliest.thisUpdate.getTime() / 1000);
      if (earliest.nextUpdate) metrics.crlNextUpdate.set({ node: name }, earliest.nextUpdate.getTime() / 1000);
    }
    metrics.crlRevoked.set({ node: name }, this.status.revokedCount);
    this.#updateLevel();
  }

  #updateLevel(): void {
    const level = nodeCrlLevel({ crl: this.status } as NodeStatus, this.#ctx.ports.clock.now()) ?? 'missing';
    this.#ctx.metrics.crlLevel.set({ node: this.node.name }, CRL_LEVEL_VALUE[level]);
  }

  /** Reads the live directory (start-up), so health and metrics reflect it before the first refresh. */
  async loadFromDisk(): Promise<void> {
    if (this.#loaded) return;
    if (this.#ctx.remote) {
      // a failure (the work process died) leaves `loaded` false: the first refresh reads the directory
      await this.#remote(this.#ctx.remote, 'crl.load').catch((e: unknown) => this.#ctx.logger.warn({ node: this.node.name, err: (e as Error).message }, 'reading the CRL directory failed'));
      return;
    }
    this.#loaded = true;
    const dir = this.status.dir;
    const { parseCrl } = await import('@vaultdist/sdk/internal');
    let names: string[];
    try {
      names = (await (await this.#fs()).readdir(dir)).filter((n) => HASH_FILE.test(n));
    } catch (e) {
      this.#ctx.logger.warn({ node: this.node.name, dir, err: (e as NodeJS.ErrnoException).code ?? (e as Error).message }, 'no CRL directory yet: the node refuses every peer until the first refresh');
      this.#updateLevel();
      return;
    }
    const crls: CrlInfo[] = [];
    for (const n of names) {
      try {
        crls.push(parseCrl(await (await this.#fs()).readFile(join(dir, n), 'utf8')));
      } catch (e) {
        this.#ctx.logger.warn({ node: this.node.name, file: join(dir, n), err: (e as Error).message }, 'unreadable CRL file in the CRL directory');
      }
    }
    this.#setWindow(crls);
    this.#ctx.logger.info({ node: this.node.name, dir, files: names, nextUpdate: this.status.nextUpdate?.toISOString() }, 'CRL directory on disk');
  }

  /** The refresh itself (in this process): fetch, check against the CAs on disk, swap the directory. */
  async #refreshHere(signal: AbortSignal): Promise<CrlRefreshResult> {
    const { ports, metrics } = this.#ctx;
    const n = this.node;
    const mounts = n.crl.mounts.length ? n.crl.mounts : [n.mount];
    const { fetchCrl, readCredentialFiles } = await import('@vaultdist/sdk');
    const { crlIssuerCandidates, writeCrlDir } = await import('@vaultdist/sdk/internal');
    const crls: CrlInfo[] = [];
    for (const m of mounts) crls.push(await fetchCrl(this.#ctx.vault, m, { signal }));
    const files = await readCredentialFiles(n.dir, this.#ctx.writerFs);
    if (!files) throw new AgentError('config', `no credential set in ${n.dir} yet: the CRL's signature cannot be checked against ca.pem`, { node: n.name });
    const cas = crlIssuerCandidates(files);
    const w = await writeCrlDir(
      this.status.dir,
      crls.map((c) => c.pem),
      cas,
      { fs: this.#ctx.writerFs, owner: n.owner ?? undefined, now: ports.clock.now() },
    );
    this.#setWindow(crls);
    this.status.lastRefreshAt = ports.clock.now();
    this.status.consecutiveFailures = 0;
    this.status.refreshes++;
    metrics.crlRefreshes.inc({ node: n.name });
    metrics.crlLastRefresh.set({ node: n.name }, this.status.lastRefreshAt.getTime() / 1000);
    const meta = { node: n.name, dir: w.dir, files: w.files, revoked: this.status.revokedCount, thisUpdate: this.status.thisUpdate?.toISOString(), nextUpdate: w.nextUpdate?.toISOString() };
    if (w.changed) this.#ctx.logger.info(meta, 'CRL directory updated');
    else this.#ctx.logger.debug(meta, 'CRL unchanged');
    return { ok: true, changed: w.changed, files: w.files, nextUpdate: w.nextUpdate, revoked: this.status.revokedCount };
  }

  /** One refresh. Never throws (except when `signal` aborts); status and metrics are updated. */
  async refresh(signal: AbortSignal): Promise<CrlRefreshResult> {
    const { ports, metrics, hooks } = this.#ctx;
    const n = this.node;
    let result: CrlRefreshResult;
    try {
      // with a work process the refresh runs there (it accounts its own failures); a throw here means
      // the work process died or could not start: a failed refresh like any other (backoff, retry)
      result = this.#ctx.remote ? await this.#remote<CrlRefreshResult>(this.#ctx.remote, 'crl.refresh', signal) : await this.#refreshHere(signal);
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      const kind = classifyError(e);
      this.status.consecutiveFailures++;
      this.status.failures++;
      this.status.lastFailure = { kind, message: (e as Error).message, at: ports.clock.now() };
      metrics.crlRefreshFailures.inc({ node: n.name, kind });
      const level = crlLevel(this.status.present && this.status.thisUpdate ? { thisUpdate: this.status.thisUpdate, nextUpdate: this.status.nextUpdate } : undefined, ports.clock.now(), n.crl);
      const meta = { node: n.name, kind, err: (e as Error).message, consecutiveFailures: this.status.consecutiveFailures, crlLevel: level, nextUpdate: this.status.nextUpdate?.toISOString(), dir: this.status.dir };
      if (level === 'ok' || level === 'warn') this.#ctx.logger.warn(meta, 'CRL refresh failed; the old CRL directory stays');
      else this.#ctx.logger.error(meta, 'CRL refresh failed and the live CRL is missing or nearly stale: the node refuses every peer once it is');
      result = { ok: false, kind, message: (e as Error).message, error: e };
    }
    this.#updateLevel();
    hooks.onCrlRefresh?.(n.name, result);
    return result;
  }

  /** The daemon loop. Returns when `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { ports, hooks } = this.#ctx;
    const n = this.node;
    try {
      await this.loadFromDisk();
      for (;;) {
        signal.throwIfAborted();
        const r = await this.refresh(signal);
        const cfg = this.#ctx.config();
        if (!r.ok) {
          const t = ports.clock.now().getTime();
          const nu = this.status.nextUpdate?.getTime();
          const delay = Math.min(
            nextBackoff(this.status.consecutiveFailures, cfg.schedule.backoff, ports.random, { nowMs: t, mustRenewByMs: nu, notAfterMs: nu }),
            n.crl.refreshIntervalSeconds * 1000,
          );
          this.status.nextRefreshAt = new Date(t + delay);
          this.#ctx.logger.info({ node: n.name, backoffMs: delay, consecutiveFailures: this.status.consecutiveFailures }, 'retrying the CRL refresh after backoff');
          hooks.onCrlSleep?.(n.name, delay, 'backoff');
          if (this.#ctx.scheduler) await this.#ctx.scheduler.backoff(delay, signal, { kind: r.kind });
          else await ports.clock.sleep(delay, signal);
          continue;
        }
        const now = ports.clock.now();
        const at = computeCrlRefreshAt(this.status.thisUpdate ? { thisUpdate: this.status.thisUpdate, nextUpdate: this.status.nextUpdate } : undefined, this.status.lastRefreshAt ?? now, now, n.crl);
        this.status.nextRefreshAt = at;
        // never a hot loop (a CRL whose refresh point is already past): at least a second between refreshes
        let wait = Math.max(1000, at.getTime() - now.getTime());
        hooks.onCrlSleep?.(n.name, wait, 'schedule');
        while (wait > 0) {
          // in steps of at most a minute: the level metric stays fresh
          const step = Math.min(wait, 60_000);
          await ports.clock.sleep(step, signal);
          wait -= step;
          this.#updateLevel();
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
  }
}
