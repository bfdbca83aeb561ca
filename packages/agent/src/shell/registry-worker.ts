/**
 * One node's registration in the vaultdist registry plugin and its peers file (issue #13).
 * Sequencing only; the SDK does the calls and the file format.
 *
 * Every tick (at most `registry.refreshIntervalSeconds` apart, earlier when the lease is due):
 * 1. the port: the node's port file (`-vaultdist_epmd_port_file`, the real listen port even when it is
 *    dynamic), else `nodes[].registry.port`, else `verify.port`;
 * 2. not registered, or the port or the served serial changed: handshake with the node on that port
 *    (the same probe as post-renewal verification) and register `name@host → port` with the served
 *    serial and the OTP release once the node serves a certificate there;
 * 3. registered and past `renewAtFraction` of the lease: probe again (two failed probes in a row:
 *    the node is gone, deregister) and renew the lease; a lease Vault no longer knows (expired,
 *    revoked, token revoked) means register again;
 * 4. members due: read them and rewrite the peers file when it changed. When the read fails the last
 *    known members stay (also across an agent restart: they are read back from the file), the file
 *    says `state stale <since>`, and entries whose lease end has passed are marked `stale`.
 * Registering again instead of renewing (the new registration replaces the entry; the old lease then
 * ends without removing it): when a renewal comes back much shorter than the lease (max_ttl near),
 * when the identity logged in anew, and 5 s before its token ends (Vault revokes a token's leases at
 * its expiry, which would drop the registration).
 * On a clean stop (the signal aborts) the node deregisters, with its own short deadline.
 */
import { join } from 'node:path';
import type { VaultClient } from '@vaultdist/sdk';
import type { DistPortInfo, PeersFile, WriterFs } from '@vaultdist/sdk/internal';
import { DIST_PORT_FILE, PEERS_FILE, normalizeSerial } from '@vaultdist/sdk/base';
import type { AgentConfig, NodeConfig } from '../config/schema.js';
import type { NodeStatus } from '../core/state.js';
import { nextBackoff } from '../core/schedule.js';
import { classifyError } from '../errors.js';
import type { AgentPorts, Logger } from '../ports.js';
import type { AgentMetrics } from './metrics.js';
// The SDK's registry client and file code and the verifier are imported where the work runs (the
// methods below): the daemon's supervisor hands this worker's ticks to its work process (issue #16).
import { runWithState, type RemoteWork } from './worker-process.js';

/** Test-only observation points. */
export interface RegistryHooks {
  onRegistryStep?(node: string, step: 'registered' | 'renewed' | 'deregistered' | 'refreshed' | 'stale'): void;
}

export interface RegistryContext {
  config: () => AgentConfig;
  ports: AgentPorts;
  metrics: AgentMetrics;
  vault: VaultClient;
  logger: Logger;
  hooks: RegistryHooks;
  /** The renewal loop's view of the node (which serial it serves). */
  nodeStatus: NodeStatus;
  writerFs?: WriterFs | undefined;
  /**
   * Reads the serial the node serves on `port` (undefined: nothing served). @default a TLS handshake
   * with the node's own credentials (`probeNode`, the post-renewal verification probe)
   */
  probe?: ((node: NodeConfig, port: number, signal: AbortSignal) => Promise<string | undefined>) | undefined;
  /** Work process mode: `loadFromDisk`, `tick` and the deregistration run there, with this worker's state. */
  remote?: RemoteWork | undefined;
}

/** What `status` and tests see. */
export interface RegistryStatus {
  node: string;
  registered: boolean;
  port: number | undefined;
  serial: string | undefined;
  leaseExpiresAt: Date | undefined;
  /** Why the node is not registered (waiting for a port, not serving, a Vault error). */
  waiting: string | undefined;
  peersFile: string;
  members: number;
  staleMembers: number;
  state: 'fresh' | 'stale' | 'none';
  staleSince: Date | undefined;
  lastRefreshAt: Date | undefined;
  lastError: { op: string; kind: string; message: string; at: Date } | undefined;
}

interface Lease {
  leaseId: string;
  port: number;
  serial: string | undefined;
  /** Monotonic ms. */
  renewAtMs: number;
  endsAtMs: number;
  /** The lease's duration when it was registered. */
  fullMs: number;
  /**
   * The last renewal came back much shorter than the lease (the cluster's max_ttl is near): register
   * again at the next due point instead of renewing into a 400, with no gap (the new registration
   * replaces the entry; the old lease then ends without removing it).
   */
  replace: boolean;
  /**
   * The login the registration was made with (`AuthStrategy.current().obtainedAtMs`) and when that
   * token ends (wall ms). Vault revokes a token's leases when the token expires, and the plugin then
   * removes the registration: a login-based identity (AppRole, cert) must register again under its
   * next token before the old one ends.
   */
  authEpoch: number | undefined;
  tokenEndsAtMs: number | undefined;
  /** A re-registration for this token's end was already made (no second one for the same token). */
  tokenReplaced: boolean;
}

/** What a work process needs to continue this worker, and gives back (monotonic times on the supervisor's clock). */
export interface RegistryWorkerState {
  status: RegistryStatus;
  lease: Lease | undefined;
  probeFailures: number;
  last: PeersFile | undefined;
  nextRefreshMs: number;
  keep: boolean;
  failures: number;
  nextRegisterMs: number;
}

/** How long before the token's end the registration is made again (inside the SDK's 10 s re-login margin, so that request logs in anew). */
const TOKEN_REPLACE_MARGIN_MS = 5000;

/** The node's peers file: `nodes[].registry.peersFile`, else `DIR/peers`. */
export const peersFileOf = (n: NodeConfig) => n.registry.peersFile ?? join(n.dir, PEERS_FILE);
/** The node's port file (vaultdist_epmd writes it): `nodes[].registry.portFile`, else `DIR/dist.port`. */
export const portFileOf = (n: NodeConfig) => n.registry.portFile ?? join(n.dir, DIST_PORT_FILE);

/** One node's registration and peers file; `run()` is the loop, `tick()` one step (see the file comment). */
export class RegistryWorker {
  readonly node: NodeConfig;
  readonly status: RegistryStatus;
  #ctx: RegistryContext;
  #lease: Lease | undefined;
  #probeFailures = 0;
  #last: PeersFile | undefined;
  #nextRefreshMs = 0;
  #keep = false;
  /** Consecutive failed register/renew calls, and when the next registration may be tried (monotonic). */
  #failures = 0;
  #nextRegisterMs = 0;

  snapshot(): RegistryWorkerState {
    return {
      status: { ...this.status },
      lease: this.#lease,
      probeFailures: this.#probeFailures,
      last: this.#last,
      nextRefreshMs: this.#nextRefreshMs,
      keep: this.#keep,
      failures: this.#failures,
      nextRegisterMs: this.#nextRegisterMs,
    };
  }

  restore(s: RegistryWorkerState): void {
    Object.assign(this.status, s.status);
    this.#lease = s.lease;
    this.#probeFailures = s.probeFailures;
    this.#last = s.last;
    this.#nextRefreshMs = s.nextRefreshMs;
    this.#keep = s.keep;
    this.#failures = s.failures;
    this.#nextRegisterMs = s.nextRegisterMs;
  }

  #remote<T>(remote: RemoteWork, op: 'registry.load' | 'registry.tick' | 'registry.deregister', signal?: AbortSignal): Promise<T> {
    return runWithState<RegistryWorkerState, T>(remote, this, { op, node: this.node.name, state: undefined, servedSerial: this.#ctx.nodeStatus.servedSerial }, signal);
  }

  constructor(ctx: RegistryContext, node: NodeConfig) {
    this.#ctx = ctx;
    this.node = node;
    this.status = {
      node: node.name,
      registered: false,
      port: undefined,
      serial: undefined,
      leaseExpiresAt: undefined,
      waiting: 'starting',
      peersFile: peersFileOf(node),
      members: 0,
      staleMembers: 0,
      state: 'none',
      staleSince: undefined,
      lastRefreshAt: undefined,
      lastError: undefined,
    };
  }

  get #target() {
    const r = this.#ctx.config().registry;
    return { mount: r.mount, cluster: r.cluster };
  }

  #fail(op: string, e: unknown): void {
    const kind = classifyError(e);
    const message = (e as Error).message;
    this.status.lastError = { op, kind, message, at: this.#ctx.ports.clock.now() };
    this.#ctx.metrics.registryFailures.inc({ node: this.node.name, op, kind });
    this.#ctx.logger.warn({ node: this.node.name, op, kind, err: message }, 'registry call failed');
  }

  /**
   * The agent's backoff (house style §8: doubling from `schedule.backoff.initialMs`, jittered, never
   * zero), capped at the members refresh interval and, for a renewal, cut to the lease's end.
   */
  #backoffMs(endsAtMs?: number): number {
    const cfg = this.#ctx.config();
    const policy = { ...cfg.schedule.backoff, maxMs: Math.min(cfg.schedule.backoff.maxMs, cfg.registry.refreshIntervalSeconds * 1000) };
    return nextBackoff(++this.#failures, policy, this.#ctx.ports.random, { nowMs: this.#ctx.ports.clock.monotonicMs(), mustRenewByMs: endsAtMs });
  }

  /** The port the node listens on (step 1), with what its port file says about it. */
  async #port(): Promise<{ port: number; info: DistPortInfo | undefined } | undefined> {
    const { parseDistPortFile } = await import('@vaultdist/sdk/internal');
    const text = await this.#ctx.ports.fs.readFile(portFileOf(this.node)).catch(() => undefined);
    const info = text === undefined ? undefined : parseDistPortFile(text);
    if (info) return { port: info.port, info };
    const port = this.node.registry.port ?? this.node.verify.port;
    return port === null ? undefined : { port, info: undefined };
  }

  async #probe(port: number, signal: AbortSignal): Promise<string | undefined> {
    if (this.#ctx.probe) return this.#ctx.probe(this.node, port, signal).catch(() => undefined);
    const node: NodeConfig = { ...this.node, verify: { ...this.node.verify, port } };
    const { probeNode } = await import('./verify.js');
    const r = await probeNode(this.#ctx.ports, node, signal).catch((e: unknown) => ({ ok: false as const, serial: undefined, error: (e as Error).message }));
    return r.ok && r.serial ? normalizeSerial(r.serial) : undefined;
  }

  async #register(signal: AbortSignal): Promise<void> {
    const { ports, metrics, vault, logger } = this.#ctx;
    if (ports.clock.monotonicMs() < this.#nextRegisterMs) return;
    const p = await this.#port();
    if (!p) {
      this.status.waiting = `no port yet (${portFileOf(this.node)} absent, no registry.port or verify.port)`;
      return;
    }
    const serial = await this.#probe(p.port, signal);
    if (!serial) {
      this.status.waiting = `the node does not serve a certificate on port ${p.port} yet`;
      return;
    }
    try {
      const { registerNode } = await import('@vaultdist/sdk');
      const reg = await registerNode(vault, {
        ...this.#target,
        node: this.node.name,
        port: p.port,
        host: this.node.registry.host ?? undefined,
        otpRelease: p.info?.otpRelease,
        serial,
        signal,
      });
      const now = ports.clock.monotonicMs();
      const durMs = Math.max(1, reg.leaseDurationSeconds) * 1000;
      const login = vault.auth?.current?.();
      const sameToken = login !== undefined && this.#lease?.authEpoch === login.obtainedAtMs;
      this.#lease = {
        leaseId: reg.leaseId,
        port: p.port,
        serial,
        renewAtMs: now + durMs * this.#ctx.config().registry.renewAtFraction,
        endsAtMs: now + durMs,
        fullMs: durMs,
        replace: false,
        authEpoch: login?.obtainedAtMs,
        tokenEndsAtMs: login && login.leaseDurationSeconds > 0 ? login.obtainedAtMs + login.leaseDurationSeconds * 1000 : undefined,
        tokenReplaced: sameToken && (this.#lease?.tokenReplaced || ports.clock.now().getTime() >= (this.#lease?.tokenEndsAtMs ?? Infinity) - TOKEN_REPLACE_MARGIN_MS),
      };
      this.#probeFailures = 0;
      this.#failures = 0;
      Object.assign(this.status, { registered: true, port: p.port, serial, waiting: undefined, leaseExpiresAt: new Date(ports.clock.now().getTime() + durMs) });
      metrics.registryRegistered.set({ node: this.node.name }, 1);
      metrics.registryLeaseExpiry.set({ node: this.node.name }, (ports.clock.now().getTime() + durMs) / 1000);
      logger.info({ node: this.node.name, port: p.port, serial, leaseSeconds: reg.leaseDurationSeconds, generation: reg.generation }, 'registered in the registry');
      this.#ctx.hooks.onRegistryStep?.(this.node.name, 'registered');
      // a new member: read the members at once (the peers file shows it in the same tick)
      this.#nextRefreshMs = 0;
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      this.status.waiting = `registration failed: ${(e as Error).message}`;
      this.#fail('register', e);
      this.#nextRegisterMs = ports.clock.monotonicMs() + this.#backoffMs();
    }
  }

  #dropLease(): void {
    this.#lease = undefined;
    Object.assign(this.status, { registered: false, leaseExpiresAt: undefined });
    this.#ctx.metrics.registryRegistered.set({ node: this.node.name }, 0);
  }

  async #renew(signal: AbortSignal): Promise<void> {
    const { ports, metrics, vault, logger } = this.#ctx;
    const lease = this.#lease!;
    const serial = await this.#probe(lease.port, signal);
    if (!serial) {
      if (++this.#probeFailures >= 2) {
        logger.warn({ node: this.node.name, port: lease.port }, 'node no longer serves on its registered port; deregistering');
        await this.#deregister(signal);
        return;
      }
    } else this.#probeFailures = 0;
    const { isVaultHttpError, renewRegistration } = await import('@vaultdist/sdk');
    try {
      const r = await renewRegistration(vault, { leaseId: lease.leaseId, signal });
      const now = ports.clock.monotonicMs();
      const durMs = Math.max(1, r.leaseDurationSeconds) * 1000;
      this.#lease = { ...lease, leaseId: r.leaseId, renewAtMs: now + durMs * this.#ctx.config().registry.renewAtFraction, endsAtMs: now + durMs, replace: durMs < lease.fullMs * 0.75 };
      this.status.leaseExpiresAt = new Date(ports.clock.now().getTime() + durMs);
      this.#failures = 0;
      metrics.registryLeaseExpiry.set({ node: this.node.name }, this.status.leaseExpiresAt.getTime() / 1000);
      this.#ctx.hooks.onRegistryStep?.(this.node.name, 'renewed');
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      this.#fail('renew', e);
      // the lease is gone (expired, revoked, or the token behind it was): register again now
      if ((isVaultHttpError(e) && e.status === 400) || ports.clock.monotonicMs() >= lease.endsAtMs) this.#dropLease();
      // otherwise (Vault unreachable) try again after a backoff, while the lease lasts
      else this.#lease = { ...lease, renewAtMs: ports.clock.monotonicMs() + this.#backoffMs(lease.endsAtMs) };
    }
  }

  /** Registers again while the current lease still runs (see `Lease.replace`); keeps it on failure. */
  async #replace(signal: AbortSignal): Promise<void> {
    const before = this.#lease!;
    await this.#register(signal);
    if (this.#lease !== before) return;
    const now = this.#ctx.ports.clock.monotonicMs();
    if (now >= before.endsAtMs) this.#dropLease();
    else this.#lease = { ...before, renewAtMs: Math.min(before.endsAtMs, Math.max(this.#nextRegisterMs, now + 1000)) };
  }

  async #deregister(signal: AbortSignal): Promise<void> {
    try {
      const { deregisterNode } = await import('@vaultdist/sdk');
      await deregisterNode(this.#ctx.vault, { ...this.#target, node: this.node.name, signal });
      this.#ctx.logger.info({ node: this.node.name }, 'deregistered from the registry');
      this.#ctx.hooks.onRegistryStep?.(this.node.name, 'deregistered');
    } catch (e) {
      this.#fail('deregister', e);
    }
    this.#dropLease();
  }

  /** Reads the peers file left by a previous run (the last-known members through an outage). */
  async loadFromDisk(): Promise<void> {
    if (this.#ctx.remote) return void (await this.#remote(this.#ctx.remote, 'registry.load').catch((e: unknown) => this.#fail('work', e)));
    const text = await this.#ctx.ports.fs.readFile(this.status.peersFile).catch(() => undefined);
    if (text === undefined) return;
    const { parsePeersFile } = await import('@vaultdist/sdk/internal');
    const f = parsePeersFile(text);
    if (f.cluster && f.cluster !== this.#target.cluster) return;
    this.#last = { cluster: f.cluster, state: f.state, staleSince: f.staleSince, peers: f.peers };
    this.#show(this.#last);
  }

  #show(f: PeersFile): void {
    const stale = f.peers.filter((p) => p.state === 'stale').length;
    Object.assign(this.status, { members: f.peers.length, staleMembers: stale, state: f.state, staleSince: f.staleSince });
    this.#ctx.metrics.registryMembers.set({ node: this.node.name }, f.peers.length);
    this.#ctx.metrics.registryStaleMembers.set({ node: this.node.name }, stale);
  }

  async #write(f: PeersFile): Promise<void> {
    try {
      const { renderPeersFile, writePeersFile } = await import('@vaultdist/sdk/internal');
      const { changed } = await writePeersFile(this.status.peersFile, renderPeersFile(f), { owner: this.node.owner ?? undefined, fs: this.#ctx.writerFs });
      if (changed) this.#ctx.logger.info({ node: this.node.name, members: f.peers.length, state: f.state }, 'peers file updated');
    } catch (e) {
      this.#fail('write', e);
    }
    this.#show(f);
  }

  /** Step 4. Returns whether the members were read. */
  async refresh(signal: AbortSignal): Promise<boolean> {
    const { ports, metrics, vault, logger, hooks } = this.#ctx;
    const now = ports.clock.now();
    try {
      const { listMembers } = await import('@vaultdist/sdk');
      const m = await listMembers(vault, { ...this.#target, signal });
      if (m.rejected.length) logger.warn({ node: this.node.name, rejected: m.rejected }, 'registry members failed validation; left out');
      const f: PeersFile = {
        cluster: this.#target.cluster,
        state: 'fresh',
        staleSince: undefined,
        peers: m.members.map((x) => ({ node: x.node, host: x.host, port: x.port, state: 'live', expiresAt: x.expiresAt, otpRelease: x.otpRelease, serial: x.serial })),
      };
      this.#last = f;
      await this.#write(f);
      this.status.lastRefreshAt = now;
      metrics.registryLastRefresh.set({ node: this.node.name }, now.getTime() / 1000);
      hooks.onRegistryStep?.(this.node.name, 'refreshed');
      return true;
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      this.#fail('members', e);
      if (this.#last) {
        const f: PeersFile = {
          ...this.#last,
          state: 'stale',
          staleSince: this.#last.state === 'stale' ? this.#last.staleSince : now,
          peers: this.#last.peers.map((p) => ({ ...p, state: p.state === 'stale' || (p.expiresAt !== undefined && p.expiresAt.getTime() <= now.getTime()) ? 'stale' : 'live' })),
        };
        this.#last = f;
        await this.#write(f);
        hooks.onRegistryStep?.(this.node.name, 'stale');
      }
      return false;
    }
  }

  /** One tick (steps 1–4); returns how long to sleep. */
  async tick(signal: AbortSignal): Promise<number> {
    if (this.#ctx.remote) {
      try {
        return await this.#remote<number>(this.#ctx.remote, 'registry.tick', signal);
      } catch (e) {
        // the work process died or could not start: counted, retried after the backoff
        if (signal.aborted) throw signal.reason;
        this.#fail('work', e);
        return this.#backoffMs();
      }
    }
    const { ports } = this.#ctx;
    const cfg = this.#ctx.config().registry;
    const served = this.#ctx.nodeStatus.servedSerial;
    if (this.#lease) {
      const p = await this.#port();
      // a restarted node (new port) or a renewed certificate: register again with the new facts
      if ((p && p.port !== this.#lease.port) || (served && this.#lease.serial && normalizeSerial(served) !== this.#lease.serial)) this.#dropLease();
    }
    if (this.#lease) {
      // the identity logged in anew (token replaced, cert rotated), or its token ends soon: register
      // under the current token before the old one's expiry removes the registration
      const login = this.#ctx.vault.auth?.current?.();
      const l = this.#lease;
      const relogged = login !== undefined && l.authEpoch !== undefined && login.obtainedAtMs !== l.authEpoch;
      const ending = l.tokenEndsAtMs !== undefined && !l.tokenReplaced && ports.clock.now().getTime() >= l.tokenEndsAtMs - TOKEN_REPLACE_MARGIN_MS;
      // (one attempt per token end: a failed one leaves the usual renew/register machinery in charge)
      if (relogged || ending) this.#lease = { ...l, replace: true, tokenReplaced: l.tokenReplaced || ending, renewAtMs: Math.min(l.renewAtMs, ports.clock.monotonicMs()) };
    }
    if (!this.#lease) await this.#register(signal);
    else if (ports.clock.monotonicMs() >= this.#lease.renewAtMs) await (this.#lease.replace ? this.#replace(signal) : this.#renew(signal));
    if (ports.clock.monotonicMs() >= this.#nextRefreshMs) {
      await this.refresh(signal);
      this.#nextRefreshMs = ports.clock.monotonicMs() + cfg.refreshIntervalSeconds * 1000;
    }
    const now = ports.clock.monotonicMs();
    // not registered yet: look again soon (a node that is starting), never hot
    const l = this.#lease;
    const tokenDue = l?.tokenEndsAtMs !== undefined && !l.tokenReplaced ? now + (l.tokenEndsAtMs - TOKEN_REPLACE_MARGIN_MS - ports.clock.now().getTime()) : Infinity;
    const wake = Math.min(this.#nextRefreshMs, tokenDue, l ? l.renewAtMs : Math.max(this.#nextRegisterMs, now + Math.min(1000, cfg.refreshIntervalSeconds * 1000)));
    return Math.max(100, wake - now);
  }

  /**
   * Call before stopping the loop for a config reload (SIGHUP) that keeps this node: the registration
   * is left in place instead of deregistered (the new worker registers again at once, which replaces
   * it; the old lease then ends without removing anything), so peers never see the node leave.
   */
  keepRegistration(): void {
    this.#keep = true;
  }

  /** The loop; on abort, deregisters (clean shutdown) and returns. */
  async run(signal: AbortSignal): Promise<void> {
    await this.loadFromDisk();
    try {
      for (;;) {
        signal.throwIfAborted();
        const ms = await this.tick(signal);
        await this.#ctx.ports.clock.sleep(ms, signal);
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    }
    // its own short deadline (a work process may have to be forked first: a little more then)
    if (this.#lease && !this.#keep) await this.deregisterNow(AbortSignal.timeout(this.#ctx.remote ? 6000 : 3000));
  }

  /** Deregisters now (the clean stop of `run`). Never throws: a failure is counted and logged. */
  async deregisterNow(signal: AbortSignal): Promise<void> {
    if (!this.#ctx.remote) return this.#deregister(signal);
    try {
      await this.#remote(this.#ctx.remote, 'registry.deregister', signal);
    } catch (e) {
      this.#fail('deregister', e);
      this.#dropLease();
    }
  }
}
