/**
 * `doctor` checks of registry membership (#13), from the node's peers file: is the node registered,
 * are the members fresh, which entries are only kept from before a Vault outage.
 */
import { formatDuration } from '../../output.js';
import { readMembership } from '../status/registry.js';
import { finding, ok, type Finding } from './findings.js';

/** The value of `-flag V` in vm.args text (the last one wins, as with init:get_argument's use here). */
const flagValue = (text: string, flag: string) => [...text.matchAll(new RegExp(`(?:^|\\s)-${flag}\\s+(\\S+)`, 'g'))].at(-1)?.[1];

export async function registryFindings(dir: string, node: string, now: Date, env: Record<string, string | undefined>, vmArgs?: { path: string; text: string } | undefined): Promise<Finding[]> {
  const m = await readMembership(dir, node, now, env);
  const t = m.peersFile;
  const wiring: Finding[] = [];
  if (m.registryEnabled && vmArgs) {
    // the agent writes the peers file; the node must read the same one (vaultdist_epmd)
    const read = flagValue(vmArgs.text, 'vaultdist_epmd_peers_file');
    if (!read) wiring.push(finding('registry.vmargs', 'warning', vmArgs.path, `the agent registers ${node} and writes ${t}, but the node does not read it (no -vaultdist_epmd_peers_file): peers are not resolved from the registry`, `add -epmd_module vaultdist_epmd -vaultdist_epmd_peers_file ${t} (and -vaultdist_epmd_port_file ${dir}/dist.port for a dynamic port)`));
    else if (read !== t) wiring.push(finding('registry.vmargs', 'warning', vmArgs.path, `the node reads peers from ${read}, the agent writes ${t}`, 'make -vaultdist_epmd_peers_file and nodes[].registry.peersFile the same file'));
  }
  if (m.state === 'none') {
    return m.registryEnabled ? [...wiring, finding('registry.peers', 'warning', t, 'no peers file: the agent has not read the registry members yet, so vaultdist_epmd cannot find peers from it', 'check the agent (its log, vaultdist_agent_registry_failures_total) and that the registry plugin is mounted and the cluster configured')] : [];
  }
  const out: Finding[] = [...wiring];
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
