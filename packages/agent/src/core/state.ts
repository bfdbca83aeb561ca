/**
 * The status model of the agent's nodes and the health derived from it (pure; house style §6, §13).
 */
import { FAILURE_KINDS, type FailureKind } from '@vaultdist/sdk/exit-codes';
import { crlLevel, type CrlLevel } from './crl.js';
import { escalationLevel, type EscalationLevel, type EscalationPolicy } from './schedule.js';

// What kind of step failed (metrics labels, exit codes): the SDK's kinds, shared with the CLI (issue #16).
export { FAILURE_KINDS, type FailureKind };

/** The node's CRL directory (only when `crl.enabled`). */
export interface CrlStatus {
  dir: string;
  /** The live CRLs' window (earliest nextUpdate); undefined until one was read or written. */
  thisUpdate: Date | undefined;
  nextUpdate: Date | undefined;
  /** Has a CRL been read from disk or written (missing otherwise). */
  present: boolean;
  revokedCount: number;
  lastRefreshAt: Date | undefined;
  nextRefreshAt: Date | undefined;
  consecutiveFailures: number;
  failures: number;
  refreshes: number;
  lastFailure: { kind: FailureKind; message: string; at: Date } | undefined;
  warnRemainingFraction: number;
}

export type NodePhase = 'starting' | 'waiting' | 'renewing' | 'backoff' | 'stopped';

export interface CertSummary {
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface NodeStatus {
  node: string;
  phase: NodePhase;
  /** The live set on disk (read at start or written by the agent). */
  cert: CertSummary | undefined;
  /** The serial the node was last seen serving (verify). */
  servedSerial: string | undefined;
  /** The disk set was written but the node has not been seen serving it yet. */
  reloadPending: boolean;
  consecutiveFailures: number;
  consecutiveWriteFailures: number;
  lastFailure: { kind: FailureKind; message: string; at: Date } | undefined;
  lastSuccessAt: Date | undefined;
  nextAttemptAt: Date | undefined;
  renewals: number;
  failures: number;
  verifyFailures: number;
  crl: CrlStatus | undefined;
  /**
   * The exact command that recovers this node when the agent cannot (an expired certificate with
   * cert auth and no bootstrap AppRole credentials in `<dir>/approle`); shown in /healthz.
   */
  recovery: string | undefined;
}

export function initialNodeStatus(node: string): NodeStatus {
  return {
    node,
    phase: 'starting',
    cert: undefined,
    servedSerial: undefined,
    reloadPending: false,
    consecutiveFailures: 0,
    consecutiveWriteFailures: 0,
    lastFailure: undefined,
    lastSuccessAt: undefined,
    nextAttemptAt: undefined,
    renewals: 0,
    failures: 0,
    verifyFailures: 0,
    crl: undefined,
    recovery: undefined,
  };
}

export function initialCrlStatus(dir: string, warnRemainingFraction: number): CrlStatus {
  return {
    dir,
    thisUpdate: undefined,
    nextUpdate: undefined,
    present: false,
    revokedCount: 0,
    lastRefreshAt: undefined,
    nextRefreshAt: undefined,
    consecutiveFailures: 0,
    failures: 0,
    refreshes: 0,
    lastFailure: undefined,
    warnRemainingFraction,
  };
}

/** The CRL level of a node (undefined when CRL checking is off). */
export function nodeCrlLevel(s: NodeStatus, now: Date): CrlLevel | undefined {
  if (!s.crl) return undefined;
  return crlLevel(s.crl.present && s.crl.thisUpdate ? { thisUpdate: s.crl.thisUpdate, nextUpdate: s.crl.nextUpdate } : undefined, now, s.crl);
}

export interface HealthPolicy extends EscalationPolicy {
  /** Liveness fails after this many consecutive write failures on a node. @default 3 */
  liveWriteFailures: number;
}

export interface NodeHealth {
  node: string;
  level: EscalationLevel;
  ready: boolean;
  live: boolean;
  reasons: string[];
  /** CRL freshness when CRL checking is on. */
  crl?: CrlLevel | undefined;
}

export interface Health {
  /** Liveness: the agent is doing useful work (restarting it would not help otherwise). */
  live: boolean;
  /** Readiness: every node has a valid, served credential set and none is critical. */
  ready: boolean;
  nodes: NodeHealth[];
}

/**
 * Health from the node statuses:
 * - a node is not ready until it has a valid set (written or found on disk), nor while its level is
 *   `critical`/`expired`/`missing`, nor while a written set is not yet served (reload pending), nor
 *   (CRL checking on) while its CRL is missing, stale or critical;
 * - a node is not live after `liveWriteFailures` consecutive write failures (a restart may fix a
 *   wedged file system handle; a Vault outage is not a liveness problem) or when its certificate expired
 *   while renewals keep failing.
 */
export function deriveHealth(statuses: NodeStatus[], now: Date, policy: HealthPolicy): Health {
  const nodes = statuses.map((s): NodeHealth => {
    const level = escalationLevel(s.cert, now, policy);
    const reasons: string[] = [];
    if (level === 'missing') reasons.push('no certificate yet');
    else if (level !== 'ok' && level !== 'warn') reasons.push(`certificate ${level}`);
    else if (level === 'warn') reasons.push('certificate nearing expiry');
    if (s.reloadPending) reasons.push('new certificate not yet served');
    if (s.lastFailure && s.consecutiveFailures > 0) reasons.push(`last ${s.lastFailure.kind} failure: ${s.lastFailure.message}`);
    if (s.recovery) reasons.push(`recover with: ${s.recovery}`);
    // CRL (fail-closed): a missing or stale CRL makes the node refuse every peer; a critical one soon will.
    const crl = nodeCrlLevel(s, now);
    if (crl && crl !== 'ok') reasons.push(crl === 'missing' ? 'no CRL in the CRL directory: the node refuses every peer' : crl === 'stale' ? 'CRL past its nextUpdate: the node refuses every peer' : `CRL nearing its nextUpdate (${crl})`);
    if (s.crl?.lastFailure && s.crl.consecutiveFailures > 0) reasons.push(`last CRL refresh failure (${s.crl.lastFailure.kind}): ${s.crl.lastFailure.message}`);
    const crlReady = crl === undefined || crl === 'ok' || crl === 'warn';
    const ready = s.cert !== undefined && (level === 'ok' || level === 'warn') && !s.reloadPending && crlReady;
    const live = s.consecutiveWriteFailures < policy.liveWriteFailures && !(level === 'expired' && s.consecutiveFailures > 0);
    return { node: s.node, level, ready, live, reasons, ...(crl ? { crl } : {}) };
  });
  return { live: nodes.every((n) => n.live), ready: nodes.length > 0 && nodes.every((n) => n.ready), nodes };
}
