/**
 * Prometheus metrics (prom-client), one registry per agent so several agents (tests) never share
 * counters. Names carry units (house style §13).
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import { FAILURE_KINDS } from '../core/state.js';
import type { NodeConfig } from '../config/schema.js';

// prom-client's index also loads histograms, summaries (tdigest, bintrees), the push gateway (http,
// https, zlib), the cluster aggregator and, through its default metrics, the OpenTelemetry API; the
// agent uses none of them: its three modules are loaded instead, and the process metrics below replace
// `collectDefaultMetrics` (together about 4 MiB of the supervisor's resident memory, issue #16).
// prom-client is pinned exactly (15.1.3) and has no `exports` map: these paths are part of what the
// pin fixes (metrics.test.ts fails if they move).
const requirePc = createRequire(import.meta.url);
const Registry = requirePc('prom-client/lib/registry') as typeof PromClient.Registry;
const Counter = requirePc('prom-client/lib/counter') as typeof PromClient.Counter;
const Gauge = requirePc('prom-client/lib/gauge') as typeof PromClient.Gauge;
type Counter<T extends string> = PromClient.Counter<T>;
type Gauge<T extends string> = PromClient.Gauge<T>;
type Registry = PromClient.Registry;

export interface AgentMetrics {
  registry: Registry;
  certNotAfter: Gauge<'node'>;
  certNotBefore: Gauge<'node'>;
  renewals: Counter<'node'>;
  failures: Counter<'node' | 'kind'>;
  rejected: Counter<'node' | 'problem'>;
  reloads: Counter<'node' | 'strategy'>;
  reloadVerifyFailures: Counter<'node'>;
  lastSuccess: Gauge<'node'>;
  consecutiveFailures: Gauge<'node'>;
  backoff: Gauge<'node'>;
  escalation: Gauge<'node'>;
  verifyDuration: Gauge<'node'>;
  configReloads: Counter<'result'>;
  crlNextUpdate: Gauge<'node'>;
  crlThisUpdate: Gauge<'node'>;
  crlRevoked: Gauge<'node'>;
  crlRefreshes: Counter<'node'>;
  crlRefreshFailures: Counter<'node' | 'kind'>;
  crlLastRefresh: Gauge<'node'>;
  crlLevel: Gauge<'node'>;
  registryRegistered: Gauge<'node'>;
  registryLeaseExpiry: Gauge<'node'>;
  registryMembers: Gauge<'node'>;
  registryStaleMembers: Gauge<'node'>;
  registryLastRefresh: Gauge<'node'>;
  registryFailures: Counter<'node' | 'op' | 'kind'>;
  /** Work processes forked (shell/worker-process.ts): one per burst of work, more means they keep dying. */
  workProcesses: Counter<never>;
  eventLoopLag: Gauge<never> | undefined;
  /** Stops the event-loop monitor (tests; the agent process just exits). */
  close(): void;
}

/** Open file descriptors (Linux: /proc/self/fd, less the one reading it); undefined elsewhere. */
function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/**
 * The agent process's own metrics, read at scrape time (the standard process-collector set, without
 * prom-client's default-metrics module: see the imports).
 */
function processMetrics(reg: Registry[]): void {
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  let cpuSeen = { user: 0, system: 0 };
  new Counter({
    name: 'vaultdist_agent_process_cpu_seconds_total',
    help: 'CPU time of the agent process (user + system), seconds',
    registers: reg,
    collect() {
      const now = process.cpuUsage();
      const delta = (now.user - cpuSeen.user + now.system - cpuSeen.system) / 1e6;
      cpuSeen = now;
      if (delta > 0) this.inc(delta);
    },
  });
  new Gauge({ name: 'vaultdist_agent_process_resident_memory_bytes', help: 'Resident memory of the agent process, bytes', registers: reg, collect() { this.set(process.memoryUsage.rss()); } });
  new Gauge({ name: 'vaultdist_agent_process_heap_used_bytes', help: 'V8 heap in use in the agent process, bytes', registers: reg, collect() { this.set(process.memoryUsage().heapUsed); } });
  new Gauge({ name: 'vaultdist_agent_process_start_time_seconds', help: 'Start of the agent process (unix seconds)', registers: reg, collect() { this.set(startSeconds); } });
  new Gauge({
    name: 'vaultdist_agent_process_open_fds',
    help: 'Open file descriptors of the agent process',
    registers: reg,
    collect() {
      const n = openFds();
      if (n !== undefined) this.set(n);
    },
  });
}

export function createMetrics(o: { defaultMetrics?: boolean; lagResolutionMs?: number } = {}): AgentMetrics {
  const registry = new Registry();
  const reg = [registry];
  let eventLoopLag: Gauge<never> | undefined;
  let monitor: NodeJS.Timeout | undefined;
  if (o.defaultMetrics) {
    // Event-loop lag: prom-client's monitor (10 ms resolution) woke an idle agent ~100×/s, and at 1 s
    // its histogram read a constant ~1 s (issue #14); one gauge with the resolution taken off instead.
    const resolutionMs = o.lagResolutionMs ?? 1000;
    processMetrics(reg);
    // How late a timer armed for `resolutionMs` fires, the longest since the previous scrape.
    let maxLateMs = 0;
    let last = performance.now();
    monitor = setInterval(() => {
      const now = performance.now();
      maxLateMs = Math.max(maxLateMs, now - last - resolutionMs);
      last = now;
    }, resolutionMs);
    monitor.unref();
    eventLoopLag = new Gauge({
      name: 'vaultdist_agent_event_loop_lag_seconds',
      help: 'Longest event-loop delay since the previous scrape (how late a timer fired beyond its interval)',
      registers: reg,
      collect() {
        // a block still in progress counts too (the timer has not fired yet)
        const pending = performance.now() - last - resolutionMs;
        this.set(Math.max(0, maxLateMs, pending) / 1000);
        maxLateMs = 0;
      },
    });
  }
  return {
    eventLoopLag,
    close: () => clearInterval(monitor),
    registry,
    certNotAfter: new Gauge({ name: 'vaultdist_agent_cert_not_after_seconds', help: 'notAfter of the live certificate (unix seconds)', labelNames: ['node'], registers: reg }),
    certNotBefore: new Gauge({ name: 'vaultdist_agent_cert_not_before_seconds', help: 'notBefore of the live certificate (unix seconds)', labelNames: ['node'], registers: reg }),
    renewals: new Counter({ name: 'vaultdist_agent_renewals_total', help: 'Certificates issued, validated and written', labelNames: ['node'], registers: reg }),
    failures: new Counter({ name: 'vaultdist_agent_renew_failures_total', help: 'Failed renewal attempts by kind', labelNames: ['node', 'kind'], registers: reg }),
    rejected: new Counter({ name: 'vaultdist_agent_rejected_credentials_total', help: 'Vault answers rejected before anything was written', labelNames: ['node', 'problem'], registers: reg }),
    reloads: new Counter({ name: 'vaultdist_agent_reloads_total', help: 'Reloads triggered', labelNames: ['node', 'strategy'], registers: reg }),
    reloadVerifyFailures: new Counter({ name: 'vaultdist_agent_reload_verify_failures_total', help: 'Reloads after which the node did not serve the new serial in time', labelNames: ['node'], registers: reg }),
    lastSuccess: new Gauge({ name: 'vaultdist_agent_last_renew_success_timestamp_seconds', help: 'Time of the last successful renewal (unix seconds)', labelNames: ['node'], registers: reg }),
    consecutiveFailures: new Gauge({ name: 'vaultdist_agent_consecutive_failures', help: 'Consecutive failed attempts', labelNames: ['node'], registers: reg }),
    backoff: new Gauge({ name: 'vaultdist_agent_backoff_seconds', help: 'Current retry delay (0 when healthy)', labelNames: ['node'], registers: reg }),
    escalation: new Gauge({ name: 'vaultdist_agent_escalation_level', help: '0 ok, 1 warn, 2 critical, 3 expired, 4 missing', labelNames: ['node'], registers: reg }),
    verifyDuration: new Gauge({ name: 'vaultdist_agent_last_reload_verify_seconds', help: 'Time from reload to the new serial being served', labelNames: ['node'], registers: reg }),
    configReloads: new Counter({ name: 'vaultdist_agent_config_reloads_total', help: 'SIGHUP config reloads by result', labelNames: ['result'], registers: reg }),
    crlNextUpdate: new Gauge({ name: 'vaultdist_agent_crl_next_update_seconds', help: 'nextUpdate of the live CRL (unix seconds); past it the node refuses every peer', labelNames: ['node'], registers: reg }),
    crlThisUpdate: new Gauge({ name: 'vaultdist_agent_crl_this_update_seconds', help: 'thisUpdate of the live CRL (unix seconds)', labelNames: ['node'], registers: reg }),
    crlRevoked: new Gauge({ name: 'vaultdist_agent_crl_revoked_certificates', help: 'Entries in the live CRL', labelNames: ['node'], registers: reg }),
    crlRefreshes: new Counter({ name: 'vaultdist_agent_crl_refreshes_total', help: 'Successful CRL refreshes (fetched, verified, directory up to date)', labelNames: ['node'], registers: reg }),
    crlRefreshFailures: new Counter({ name: 'vaultdist_agent_crl_refresh_failures_total', help: 'Failed CRL refreshes by kind (the old CRL directory stays)', labelNames: ['node', 'kind'], registers: reg }),
    crlLastRefresh: new Gauge({ name: 'vaultdist_agent_crl_last_refresh_timestamp_seconds', help: 'Time of the last successful CRL refresh (unix seconds)', labelNames: ['node'], registers: reg }),
    crlLevel: new Gauge({ name: 'vaultdist_agent_crl_level', help: '0 ok, 1 warn, 2 critical, 3 stale, 4 missing', labelNames: ['node'], registers: reg }),
    registryRegistered: new Gauge({ name: 'vaultdist_agent_registry_registered', help: '1 while the node holds a live registration in the registry plugin', labelNames: ['node'], registers: reg }),
    registryLeaseExpiry: new Gauge({ name: 'vaultdist_agent_registry_lease_expiry_seconds', help: 'End of the registration lease (unix seconds)', labelNames: ['node'], registers: reg }),
    registryMembers: new Gauge({ name: 'vaultdist_agent_registry_members', help: 'Entries in the node\'s peers file', labelNames: ['node'], registers: reg }),
    registryStaleMembers: new Gauge({ name: 'vaultdist_agent_registry_stale_members', help: 'Peers-file entries kept past their lease through a failed members refresh', labelNames: ['node'], registers: reg }),
    registryLastRefresh: new Gauge({ name: 'vaultdist_agent_registry_last_refresh_timestamp_seconds', help: 'Time of the last successful members refresh (unix seconds)', labelNames: ['node'], registers: reg }),
    workProcesses: new Counter({ name: 'vaultdist_agent_work_processes_started_total', help: 'Work processes forked for Vault, X.509 and file work (each exits when idle)', registers: reg }),
    registryFailures: new Counter({ name: 'vaultdist_agent_registry_failures_total', help: 'Failed registry calls by operation and kind', labelNames: ['node', 'op', 'kind'], registers: reg }),
  };
}

/**
 * Creates every labelled series the agent can emit for these nodes at 0 (issue #14: "labelled failure
 * counters have no series until the first event", so `rate()`/`increase()` alerts misfire or miss the
 * first failure). Counters start at 0; gauges are left to their first real value.
 */
export function initNodeSeries(m: AgentMetrics, nodes: readonly NodeConfig[]): void {
  for (const result of ['applied', 'rejected', 'failed']) m.configReloads.inc({ result }, 0);
  for (const n of nodes) {
    const node = n.name;
    m.renewals.inc({ node }, 0);
    m.reloads.inc({ node, strategy: n.reload.strategy }, 0);
    m.reloadVerifyFailures.inc({ node }, 0);
    for (const kind of FAILURE_KINDS) m.failures.inc({ node, kind }, 0);
    if (n.crl.enabled) {
      m.crlRefreshes.inc({ node }, 0);
      for (const kind of FAILURE_KINDS) m.crlRefreshFailures.inc({ node, kind }, 0);
    }
  }
}
