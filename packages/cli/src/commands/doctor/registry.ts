/**
 * `doctor` checks of registry membership (#13), from the node's peers file: is the node registered,
 * are the members fresh, which entries are only kept from before a Vault outage.
 */
import { formatDuration } from '../../output.js';
import { readMembership } from '../status/registry.js';
import { finding, ok, type Finding } from './findings.js';

export async function registryFindings(dir: string, node: string, now: Date, env: Record<string, string | undefined>): Promise<Finding[]> {
  const m = await readMembership(dir, node, now, env);
  const t = m.peersFile;
  if (m.state === 'none') {
    return m.registryEnabled ? [finding('registry.peers', 'warning', t, 'no peers file: the agent has not read the registry members yet, so vaultdist_epmd cannot find peers from it', 'check the agent (its log, vaultdist_agent_registry_failures_total) and that the registry plugin is mounted and the cluster configured')] : [];
  }
  const out: Finding[] = [];
  if (m.state === 'stale') {
    const since = m.staleSince ? formatDuration(now.getTime() - new Date(m.staleSince).getTime()) : '?';
    out.push(finding('registry.stale', 'warning', t, `members not refreshed for ${since} (since ${m.staleSince ?? '?'}): the node runs on ${m.members.length} last-known member(s), ${m.staleMembers.length} past their lease${m.staleMembers.length ? ` (${m.staleMembers.join(', ')})` : ''}`, 'check Vault/OpenBao reachability and the agent log (registry call failed)'));
  } else if (m.overdue.length) {
    out.push(finding('registry.agent', 'warning', t, `entries past their lease but not marked stale (${m.overdue.join(', ')}): the agent is not refreshing this file`, 'is the agent running? vaultdist status --dir DIR'));
  } else {
    out.push(ok('registry.peers', t, `cluster ${m.cluster ?? '?'}: ${m.members.length} live member(s)`));
  }
  if (m.self === 'absent') out.push(finding('registry.self', m.registryEnabled ? 'warning' : 'info', t, `${node} is not among its cluster's members: peers using the registry cannot find it`, 'the agent registers the node once it serves its certificate on its port: check DIR/dist.port (-vaultdist_epmd_port_file) and the agent log'));
  else out.push(ok('registry.self', t, `${node} registered${m.self === 'stale' ? ' (entry kept from before the outage)' : ''}`));
  return out;
}
