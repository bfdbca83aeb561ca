/**
 * Prometheus metrics (prom-client), one registry per agent so several agents (tests) never share
 * counters. Names carry units (house style §13).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FAILURE_KINDS } from '../core/state.js';
import type { NodeConfig } from '../config/schema.js';

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
  eventLoopLag: Gauge<never> | undefined;
  /** Stops the event-loop monitor (tests; the agent process just exits). */
  close(): void;
}

/** prom-client's histogram-based lag metrics: with a 1 s resolution they read the resolution itself (~1 s). */
const RAW_LAG_METRICS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map((s) => `vaultdist_agent_process_nodejs_eventloop_lag_${s}_seconds`);

export function createMetrics(o: { defaultMetrics?: boolean; lagResolutionMs?: number } = {}): AgentMetrics {
  const registry = new Registry();
  const reg = [registry];
  let eventLoopLag: Gauge<never> | undefined;
  let monitor: NodeJS.Timeout | undefined;
  if (o.defaultMetrics) {
    // The event-loop-lag monitor's default 10 ms resolution wakes an idle agent ~100×/s
    // (bench/footprint.ts measured 0.3 % idle CPU); 1 s is plenty for a renewal daemon. But its
    // histogram records the whole timer interval, so prom-client's lag_* gauges read a constant ~1 s
    // (issue #14): they are replaced by one gauge with the resolution taken off.
    const resolutionMs = o.lagResolutionMs ?? 1000;
    collectDefaultMetrics({ register: registry, prefix: 'vaultdist_agent_process_', eventLoopMonitoringPrecision: resolutionMs });
    for (const name of RAW_LAG_METRICS) registry.removeSingleMetric(name);
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
