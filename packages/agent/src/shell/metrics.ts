/**
 * Prometheus metrics (prom-client), one registry per agent so several agents (tests) never share
 * counters. Names carry units (house style §13).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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
}

export function createMetrics(o: { defaultMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  // The event-loop-lag monitor's default 10 ms resolution wakes an idle agent ~100×/s
  // (bench/footprint.ts measured 0.3 % idle CPU); 1 s is plenty for a renewal daemon.
  if (o.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'vaultdist_agent_process_', eventLoopMonitoringPrecision: 1000 });
  const reg = [registry];
  return {
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
