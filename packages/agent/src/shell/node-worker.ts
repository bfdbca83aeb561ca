/**
 * One node's renewal loop (house style §8–§10). Sequencing only: every decision (when to renew, how
 * long to back off, how alarmed to be) comes from `core/`.
 *
 * Start-up:
 * 1. read the live set on disk; when it is valid (key matches, chains to ca.pem, covers the node,
 *    not expired) schedule from it instead of issuing a new one;
 * 2. when verification is on, probe the node: a set on disk that the node does not serve yet (the
 *    agent died between write and reload) is reloaded before anything else.
 *
 * An attempt (`attempt()`):
 * 1. request a certificate (SDK, retries off), 2. validate it (key match, chain to the trust bundle,
 * SANs, validity) BEFORE writing anything, 3. write the set atomically (symlink swap), 4. reload the
 * node, 5. verify the served serial. A failure in 4–5 does not re-issue: the next attempt only
 * reloads and verifies again (`reloadPending`).
 */
import { join } from 'node:path';
import type { CertificateInfo, VaultClient } from '@vaultdist/sdk';
import type { WriterFs } from '@vaultdist/sdk/internal';
import { CREDENTIAL_FILES, normalizeSerial } from '@vaultdist/sdk/base';
import type { AgentConfig, NodeConfig } from '../config/schema.js';
import { computeRenewAt, ESCALATION_VALUE, escalationLevel, failureLogLevel, failureMessage, nextBackoff, type RenewDecision } from '../core/schedule.js';
import { initialNodeStatus, type FailureKind, type NodeStatus } from '../core/state.js';
import { AgentError, classifyError } from '../errors.js';
import type { AgentPorts, Logger } from '../ports.js';
import type { AgentMetrics } from './metrics.js';
import type { Scheduler } from './scheduler.js';
import { vaultTlsTrustProblem } from '@vaultdist/sdk/tls-trust';
import { runWithState, type RemoteWork } from './worker-process.js';


// The SDK's Vault, X.509 and credential-set code, the reloader and the verifier are imported where
// the work runs (the methods below), not at the top: the daemon's supervisor creates these workers
// but hands their work to its work process, and never loads those modules (issue #16: footprint).

/** Test-only observation points (no-ops in production; house style §7). */
export interface WorkerHooks {
  onSleep?(node: string, ms: number, reason: 'schedule' | 'backoff'): void;
  onAttempt?(node: string, result: AttemptResult): void;
  onStep?(node: string, step: 'issued' | 'validated' | 'written' | 'reloaded' | 'verified'): void | Promise<void>;
}

export type AttemptResult =
  | { ok: true; action: 'renewed' | 'reloaded' | 'none'; serial: string | undefined; verifyMs?: number | undefined }
  | { ok: false; kind: FailureKind; message: string; error: unknown };

export interface WorkerContext {
  config: () => AgentConfig;
  ports: AgentPorts;
  metrics: AgentMetrics;
  vault: VaultClient;
  logger: Logger;
  hooks: WorkerHooks;
  writerFs?: WriterFs | undefined;
  /** Called after a node's set changed (cert-auth strategies using its bundle log in again). */
  onRotated?(node: NodeConfig): void;
  /** The agent's one scheduler: backoff sleeps wake early when Vault answers again (issue #14). */
  scheduler?: Scheduler | undefined;
  /**
   * Expired-node recovery (cert auth only): a client logged in with the node's bootstrap AppRole
   * credentials (undefined when there are none), and the exact command for a human otherwise.
   */
  recovery?: { command: string; client(): Promise<VaultClient | undefined> } | undefined;
  /** Work process mode (`shell/worker-process.ts`): `start` and `attempt` run there, with this worker's state. */
  remote?: RemoteWork | undefined;
}

/** What a work process needs to continue this worker, and gives back (status without the CRL part, which its own worker owns). */
export interface NodeWorkerState {
  status: Omit<NodeStatus, 'crl'>;
  decision: RenewDecision | undefined;
  started: boolean;
  marginWarned: number[];
}

export class NodeWorker {
  readonly status: NodeStatus;
  readonly node: NodeConfig;
  #ctx: WorkerContext;
  #decision: RenewDecision | undefined;
  #started = false;
  /** Lifetimes the "margin capped" warning was logged for (once each, not at every renewal: issue #14). */
  #marginWarned = new Set<number>();

  constructor(ctx: WorkerContext, node: NodeConfig) {
    this.#ctx = ctx;
    this.node = node;
    this.status = initialNodeStatus(node.name);
  }

  get decision(): RenewDecision | undefined {
    return this.#decision;
  }

  snapshot(): NodeWorkerState {
    const { crl: _crl, ...status } = this.status;
    return { status, decision: this.#decision, started: this.#started, marginWarned: [...this.#marginWarned] };
  }

  restore(s: NodeWorkerState): void {
    const { crl: _crl, ...status } = s.status as NodeStatus;
    Object.assign(this.status, status);
    this.#decision = s.decision;
    this.#started = s.started;
    this.#marginWarned = new Set(s.marginWarned);
  }


  #log(): Logger {
    return this.#ctx.logger;
  }

  #setCert(info: { serial: string; notBefore: Date; notAfter: Date }): void {
    const { ports, metrics } = this.#ctx;
    const cfg = this.#ctx.config();
    this.status.cert = { serial: normalizeSerial(info.serial), notBefore: info.notBefore, notAfter: info.notAfter };
    this.#decision = computeRenewAt(info, ports.clock.now(), ports.random, cfg.schedule);
    const lifetimeSeconds = Math.round((info.notAfter.getTime() - info.notBefore.getTime()) / 1000);
    if (this.#decision.marginCapped && !this.#marginWarned.has(lifetimeSeconds)) {
      this.#marginWarned.add(lifetimeSeconds);
      this.#log().warn({ node: this.node.name, minRemainingSeconds: cfg.schedule.minRemainingSeconds, lifetimeSeconds: (info.notAfter.getTime() - info.notBefore.getTime()) / 1000 }, 'renewal margin longer than the certificate allows; capped');
    }
    metrics.certNotAfter.set({ node: this.node.name }, info.notAfter.getTime() / 1000);
    metrics.certNotBefore.set({ node: this.node.name }, info.notBefore.getTime() / 1000);
    this.#updateEscalation();
  }

  #updateEscalation(): void {
    const level = escalationLevel(this.status.cert, this.#ctx.ports.clock.now(), this.#ctx.config().schedule);
    this.#ctx.metrics.escalation.set({ node: this.node.name }, ESCALATION_VALUE[level]);
  }

  /** Reads the live set on disk (start-up step 1). Returns the leaf when it is valid. */
  async loadFromDisk(): Promise<CertificateInfo | undefined> {
    const { parseCertificate, parseNodeName, readCredentialFiles, validateCredentials } = await import('@vaultdist/sdk');
    const { credentialSetParts } = await import('@vaultdist/sdk/internal');
    const node = parseNodeName(this.node.name);
    let files: { bundle: string; ca: string } | undefined;
    try {
      files = await readCredentialFiles(this.node.dir, this.#ctx.writerFs);
    } catch (e) {
      this.#log().warn({ node: this.node.name, err: (e as Error).message }, 'cannot read the credential set on disk');
      return undefined;
    }
    if (!files) {
      this.#log().info({ node: this.node.name, dir: this.node.dir }, 'no credential set on disk');
      return undefined;
    }
    const { keyPem: key, leafPem, chainPems, trustPems } = credentialSetParts(files);
    try {
      if (!leafPem || !key) throw new Error('bundle.pem lacks a key or a certificate');
      const leaf = await validateCredentials({
        keyPem: key,
        certPem: leafPem,
        chainPems,
        trustPems,
        node,
        now: this.#ctx.ports.clock.now(),
      });
      this.#setCert(leaf);
      this.#log().info({ node: this.node.name, serial: leaf.serial, notAfter: leaf.notAfter.toISOString(), renewAt: this.#decision?.renewAt.toISOString() }, 'using the credential set on disk');
      // CA rotation: an anchor added to trust.extraCaFiles that ca.pem lacks makes the set due now, so the
      // bundle is rewritten (Vault's roots + the extra ones) and the node reloaded and verified
      const missing = await this.#missingExtraAnchors(files.ca);
      if (missing.length && this.#decision) {
        this.#log().info({ node: this.node.name, missing }, 'trust bundle lacks configured CA certificates; renewing now');
        this.#decision = { ...this.#decision, renewAt: this.#ctx.ports.clock.now(), delayMs: 0 };
      }
      return leaf;
    } catch (e) {
      // an expired set is still the node's set: health says "expired", not "missing" (issue #14)
      const leaf = (() => {
        try {
          return parseCertificate(leafPem ?? '');
        } catch {
          return undefined;
        }
      })();
      if (leaf && leaf.notAfter.getTime() <= this.#ctx.ports.clock.now().getTime()) {
        this.#setCert(leaf);
        this.#log().warn({ node: this.node.name, serial: leaf.serial, notAfter: leaf.notAfter.toISOString() }, 'credential set on disk has expired; renewing');
        return undefined;
      }
      this.#log().warn({ node: this.node.name, err: (e as Error).message }, 'credential set on disk is not usable; renewing');
      return undefined;
    }
  }

  async #missingExtraAnchors(caText: string): Promise<string[]> {
    const { parseCertificate } = await import('@vaultdist/sdk');
    const { certificateBlocks } = await import('@vaultdist/sdk/internal');
    const have = new Set(certificateBlocks(caText).map((p) => parseCertificate(p).fingerprint256));
    const missing: string[] = [];
    for (const f of this.node.trust.extraCaFiles) {
      const text = await this.#ctx.ports.fs.readFile(f).catch(() => '');
      for (const p of certificateBlocks(text)) if (!have.has(parseCertificate(p).fingerprint256)) missing.push(f);
    }
    return [...new Set(missing)];
  }

  /** No live certificate: none yet, or expired (cert auth cannot log in with it). */
  #noLiveCert(): boolean {
    return !this.status.cert || this.status.cert.notAfter.getTime() <= this.#ctx.ports.clock.now().getTime();
  }

  /** The client for a renewal: the node's bootstrap AppRole login when cert auth cannot work (recovery). */
  async #vaultForRenewal(vault: VaultClient): Promise<VaultClient> {
    const r = this.#ctx.recovery;
    if (!r || !this.#noLiveCert()) return vault;
    const fallback = await r.client();
    if (!fallback) return vault;
    this.#log().warn({ node: this.node.name, notAfter: this.status.cert?.notAfter.toISOString() }, 'no valid certificate for cert auth; renewing with the node\'s bootstrap AppRole credentials');
    return fallback;
  }

  /** Start-up (steps 1–2). */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) return;
    if (this.#ctx.remote) {
      try {
        await runWithState(this.#ctx.remote, this, { op: 'node.start', node: this.node.name, state: undefined }, signal);
      } catch (e) {
        // the work process died or could not start: the next attempt starts the worker there first
        if (signal.aborted) throw signal.reason;
        this.#log().warn({ node: this.node.name, err: (e as Error).message }, 'start-up check of the credential set failed; retrying with the first attempt');
      }
      return;
    }
    this.#started = true;
    await this.loadFromDisk();
    if (this.status.cert && this.node.verify.enabled) {
      const { probeNode } = await import('./verify.js');
      const probe = await probeNode(this.#ctx.ports, this.node, signal).catch(() => undefined);
      this.status.servedSerial = probe?.serial;
      if (probe?.serial !== this.status.cert.serial) {
        this.status.reloadPending = true;
        this.#log().warn({ node: this.node.name, disk: this.status.cert.serial, served: probe?.serial, probeError: probe?.error }, 'node does not serve the set on disk; reloading');
      }
    }
  }

  /** Whether an attempt is due now. */
  due(now: Date): boolean {
    return !this.status.cert || this.status.reloadPending || !this.#decision || now.getTime() >= this.#decision.renewAt.getTime();
  }

  async #renew(signal: AbortSignal): Promise<string> {
    const { parseNodeName, readCredentialFiles, validateCredentials, writeCredentialSet } = await import('@vaultdist/sdk');
    const { adoptTrust, certificateBlocks, requestNodeCertificate, splitChain } = await import('@vaultdist/sdk/internal');
    const { ports, metrics, vault, hooks } = this.#ctx;
    const n = this.node;
    const node = parseNodeName(n.name);
    const issued = await requestNodeCertificate(await this.#vaultForRenewal(vault), { mount: n.mount, role: n.role, node, keyType: n.keyType, ttl: n.ttl ?? undefined, mode: n.mode, signal });
    await hooks.onStep?.(n.name, 'issued');
    const { intermediates } = splitChain(issued.caChain);
    const extra: string[] = [];
    for (const f of n.trust.extraCaFiles) {
      let text: string;
      try {
        text = await ports.fs.readFile(f);
      } catch (e) {
        throw new AgentError('config', `cannot read trust.extraCaFiles entry ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { node: n.name, cause: e });
      }
      const blocks = certificateBlocks(text);
      if (!blocks.length) throw new AgentError('config', `trust.extraCaFiles entry ${f} holds no PEM certificate`, { node: n.name });
      extra.push(...blocks);
    }
    // Trust pinning: the anchors in use are DIR/ca.pem. A missing set (first issuance) takes Vault's
    // issuing CA on first use; an unreadable one is an error, never a reason to trust anew.
    const live = await readCredentialFiles(n.dir, this.#ctx.writerFs);
    const inUse = certificateBlocks(live?.ca ?? '');
    // (2) validate BEFORE anything is written: an issuing CA the set in use does not chain to (and no
    // trust.extraCaFiles anchor announces), wrong key, wrong CA, expired → CertificateError
    let leaf: CertificateInfo;
    let trust: string[];
    try {
      // new ca.pem = Vault's issuing CA + its chain to the root (+ the extra anchors during a CA rotation)
      trust = await adoptTrust({ issuingCa: issued.issuingCa, caChain: issued.caChain, inUse, extra, now: ports.clock.now() });
      leaf = await validateCredentials({ keyPem: issued.privateKey, certPem: issued.certificate, chainPems: intermediates, trustPems: trust, node, now: ports.clock.now() });
    } catch (e) {
      const problem = (e as { problem?: string }).problem ?? 'invalid';
      metrics.rejected.inc({ node: n.name, problem });
      throw e instanceof AgentError ? e : new AgentError('rejected', `Vault's answer was rejected (${problem}): ${(e as Error).message}`, { node: n.name, cause: e });
    }
    await hooks.onStep?.(n.name, 'validated');
    // (3)
    let written;
    try {
      written = await writeCredentialSet(n.dir, { privateKey: issued.privateKey, certificate: issued.certificate, chain: intermediates, caBundle: trust }, { owner: n.owner ?? undefined, keepPrevious: n.keepPrevious, fs: this.#ctx.writerFs });
      this.status.consecutiveWriteFailures = 0;
    } catch (e) {
      this.status.consecutiveWriteFailures++;
      throw e;
    }
    await hooks.onStep?.(n.name, 'written');
    const prevCa = this.status.cert?.serial;
    this.#setCert(leaf);
    this.status.renewals++;
    this.status.reloadPending = written.changed || this.status.servedSerial !== leaf.serial;
    metrics.renewals.inc({ node: n.name });
    this.#log().info({ node: n.name, serial: leaf.serial, previous: prevCa, notAfter: leaf.notAfter.toISOString(), renewAt: this.#decision?.renewAt.toISOString(), warnings: issued.warnings }, 'credential set written');
    if (written.changed) this.#ctx.onRotated?.(n);
    return leaf.serial;
  }

  async #reloadAndVerify(serial: string, signal: AbortSignal): Promise<number | undefined> {
    const { reloadNode } = await import('./reloader.js');
    const { verifyServedSerial } = await import('./verify.js');
    const { ports, metrics, hooks } = this.#ctx;
    const n = this.node;
    const t0 = ports.clock.monotonicMs();
    const outcome = await reloadNode(ports, n, serial, signal);
    metrics.reloads.inc({ node: n.name, strategy: n.reload.strategy });
    await hooks.onStep?.(n.name, 'reloaded');
    this.#log().info({ node: n.name, serial, strategy: outcome.strategy, ...outcome.detail }, 'reload triggered');
    if (!n.verify.enabled) {
      this.status.reloadPending = false;
      return undefined;
    }
    const v = await verifyServedSerial(ports, n, serial, signal);
    this.status.servedSerial = v.last?.serial;
    if (!v.ok) {
      this.status.verifyFailures++;
      metrics.reloadVerifyFailures.inc({ node: n.name });
      throw new AgentError('verify', `node still serves ${v.last?.serial ?? 'nothing'} instead of ${serial} after ${v.attempts} probe(s)${v.last?.error ? ` (${v.last.error})` : ''}`, { node: n.name });
    }
    const elapsed = ports.clock.monotonicMs() - t0;
    metrics.verifyDuration.set({ node: n.name }, elapsed / 1000);
    await hooks.onStep?.(n.name, 'verified');
    this.status.reloadPending = false;
    this.#log().info({ node: n.name, serial, verifyMs: Math.round(elapsed), probes: v.attempts, strategy: n.reload.strategy }, 'node serves the new certificate');
    return elapsed;
  }

  /** The attempt itself (in this process): renew when due or forced, reload + verify when pending. */
  async #attemptHere(signal: AbortSignal, o: { force?: boolean | undefined }): Promise<AttemptResult> {
    const { ports, metrics } = this.#ctx;
    const n = this.node;
    const now = ports.clock.now();
    let serial = this.status.cert?.serial;
    let action: 'renewed' | 'reloaded' | 'none' = 'none';
    const needRenew = o.force || !this.status.cert || !this.#decision || now.getTime() >= this.#decision.renewAt.getTime();
    if (needRenew) {
      this.status.phase = 'renewing';
      serial = await this.#renew(signal);
      action = 'renewed';
    }
    let verifyMs: number | undefined;
    if (this.status.reloadPending && serial) {
      verifyMs = await this.#reloadAndVerify(serial, signal);
      if (action === 'none') action = 'reloaded';
    }
    this.status.consecutiveFailures = 0;
    this.status.recovery = undefined;
    if (action !== 'none') {
      this.status.lastSuccessAt = ports.clock.now();
      metrics.lastSuccess.set({ node: n.name }, this.status.lastSuccessAt.getTime() / 1000);
    }
    metrics.consecutiveFailures.set({ node: n.name }, 0);
    metrics.backoff.set({ node: n.name }, 0);
    return { ok: true, action, serial, verifyMs };
  }

  /**
   * One attempt: renew (when due or forced) and/or reload+verify (when pending). Never throws; the
   * result says what happened, and the status/metrics are updated.
   */
  async attempt(signal: AbortSignal, o: { force?: boolean | undefined } = {}): Promise<AttemptResult> {
    const { ports, metrics, hooks } = this.#ctx;
    const n = this.node;
    let result: AttemptResult;
    try {
      // with a work process the attempt runs there (it accounts its own failures); a throw here means
      // the work process died or could not start: a failed attempt like any other (backoff, retry)
      if (this.#ctx.remote && (o.force || this.due(ports.clock.now()))) this.status.phase = 'renewing'; // seen by /healthz meanwhile
      result = this.#ctx.remote ? await runWithState<NodeWorkerState, AttemptResult>(this.#ctx.remote, this, { op: 'node.attempt', node: this.node.name, state: undefined, force: o.force }, signal) : await this.#attemptHere(signal, o);
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      // a work process that died may have written a set first: the next one reads the disk again and
      // reloads the node (a reload is idempotent; without verification nothing else would notice)
      if (this.#ctx.remote) {
        this.#started = false;
        this.status.reloadPending = true;
      }
      const kind = classifyError(e);
      this.status.consecutiveFailures++;
      this.status.failures++;
      this.status.lastFailure = { kind, message: (e as Error).message, at: ports.clock.now() };
      metrics.failures.inc({ node: n.name, kind });
      metrics.consecutiveFailures.set({ node: n.name }, this.status.consecutiveFailures);
      const level = escalationLevel(this.status.cert, ports.clock.now(), this.#ctx.config().schedule);
      const logLevel = failureLogLevel(level);
      // `expiryLevel`, not `level`: pino's own "level" key would be written twice (JSON parsers keep the last)
      const meta = { node: n.name, kind, err: (e as Error).message, consecutiveFailures: this.status.consecutiveFailures, expiryLevel: level, notAfter: this.status.cert?.notAfter.toISOString() };
      // a TLS trust failure towards Vault says what to do (issue #14: it read as a network error)
      const tls = kind === 'vault-tls' ? vaultTlsTrustProblem(e) : undefined;
      if (tls) Object.assign(meta, { tlsCode: tls.code, hint: `${tls.reason}: ${tls.hint}` });
      // cert auth without a live certificate and without bootstrap credentials: a human must act
      if (this.#ctx.recovery && this.#noLiveCert() && (kind === 'auth' || kind === 'config') && !(await this.#ctx.recovery.client())) {
        this.status.recovery = this.#ctx.recovery.command;
        Object.assign(meta, { recovery: this.#ctx.recovery.command });
      }
      const log = this.#log();
      const msg = failureMessage(level);
      if (logLevel === 'fatal' && log.fatal) log.fatal(meta, msg);
      else if (logLevel === 'warn') log.warn(meta, msg);
      else log.error(meta, msg);
      result = { ok: false, kind, message: (e as Error).message, error: e };
    }
    this.#updateEscalation();
    hooks.onAttempt?.(n.name, result);
    return result;
  }

  /** The daemon loop: sleep until due, attempt, back off on failure. Returns when `signal` aborts. */
  async run(signal: AbortSignal, o: { onFatal?: (e: AgentError) => void } = {}): Promise<void> {
    const { ports, metrics, hooks } = this.#ctx;
    const n = this.node;
    try {
      await this.start(signal);
      for (;;) {
        signal.throwIfAborted();
        const now = ports.clock.now();
        const cfg = this.#ctx.config();
        if (this.due(now)) {
          const r = await this.attempt(signal);
          if (!r.ok) {
            if (cfg.schedule.onRenewError === 'exit') {
              o.onFatal?.(new AgentError(r.kind, r.message, { node: n.name, cause: r.error }));
              return;
            }
            const t = ports.clock.now().getTime();
            const delayMs = nextBackoff(this.status.consecutiveFailures, cfg.schedule.backoff, ports.random, {
              nowMs: t,
              mustRenewByMs: this.#decision?.mustRenewBy.getTime(),
              notAfterMs: this.status.cert?.notAfter.getTime(),
            });
            this.status.phase = 'backoff';
            this.status.nextAttemptAt = new Date(t + delayMs);
            metrics.backoff.set({ node: n.name }, delayMs / 1000);
            this.#log().info({ node: n.name, backoffMs: delayMs, consecutiveFailures: this.status.consecutiveFailures }, 'retrying after backoff');
            hooks.onSleep?.(n.name, delayMs, 'backoff');
            if (this.#ctx.scheduler) await this.#ctx.scheduler.backoff(delayMs, signal, { kind: r.kind });
            else await ports.clock.sleep(delayMs, signal);
            continue;
          }
          if (r.action === 'renewed' && this.#decision && this.#decision.delayMs < cfg.schedule.backoff.initialMs) {
            // a certificate that is due again right after issuance (role TTL shorter than the margin):
            // never loop hot; the first backoff step is the floor
            this.#log().warn({ node: n.name, delayMs: this.#decision.delayMs }, 'new certificate is due again at once; check the role TTL and schedule.minRemainingSeconds');
            hooks.onSleep?.(n.name, cfg.schedule.backoff.initialMs, 'schedule');
            await ports.clock.sleep(cfg.schedule.backoff.initialMs, signal);
            this.#decision = { ...this.#decision, renewAt: new Date(ports.clock.now().getTime()), delayMs: 0 };
            continue;
          }
        }
        this.status.phase = 'waiting';
        const wait = Math.max(1, Math.min((this.#decision?.renewAt.getTime() ?? now.getTime()) - ports.clock.now().getTime(), 60_000));
        this.status.nextAttemptAt = this.#decision?.renewAt;
        hooks.onSleep?.(n.name, wait, 'schedule');
        // capped at a minute: escalation metrics stay fresh and wall-clock jumps are noticed
        await ports.clock.sleep(wait, signal);
        this.#updateEscalation();
      }
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    } finally {
      this.status.phase = 'stopped';
    }
  }

  /** Paths of this node's files (for cert-auth matching). */
  files(): string[] {
    return [join(this.node.dir, CREDENTIAL_FILES.bundle), join(this.node.dir, CREDENTIAL_FILES.ca)];
  }
}
