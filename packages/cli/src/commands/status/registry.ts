/**
 * Registry membership (#13) as `status` and `doctor` see it: the node's peers file, written by the
 * agent from the registry plugin's members (DIR/peers unless agent.yaml says otherwise).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '@vaultdist/agent/config'; // the light entry (issue #16)
import { PEERS_FILE, parsePeersFile } from '@vaultdist/sdk/internal';

export interface MembershipEntry {
  node: string;
  host: string;
  port: number;
  /** `live`, or `stale`: kept through a failed members refresh past its lease. */
  state: 'live' | 'stale';
  expiresAt: string | null;
  otpRelease: string | null;
}

export interface Membership {
  peersFile: string;
  /** From agent.yaml: whether the agent registers this node. null without a readable agent.yaml. */
  registryEnabled: boolean | null;
  cluster: string | null;
  /** `none`: no peers file (yet). */
  state: 'fresh' | 'stale' | 'none';
  staleSince: string | null;
  members: MembershipEntry[];
  staleMembers: string[];
  /** This node in its own peers file: what its peers see. */
  self: 'listed' | 'stale' | 'absent';
  /** Entries past their lease in a file that says `fresh`: the agent stopped refreshing it. */
  overdue: string[];
  /** The running agent's view (its /healthz `registry` entry for this node), when it answers. */
  agent: AgentRegistryView | null;
}

export interface AgentRegistryView {
  registered: boolean;
  port: number | null;
  leaseExpiresAt: string | null;
  /** Why the node is not registered yet (no port, not serving, a Vault error). */
  waiting: string | null;
  lastError: { op: string; kind: string; message: string; at: string } | null;
}

/** This node's entry of the agent's /healthz `registry` list. */
export function agentRegistryView(body: unknown, node: string): AgentRegistryView | null {
  const list = body && typeof body === 'object' ? (body as { registry?: unknown }).registry : undefined;
  if (!Array.isArray(list)) return null;
  const r = list.find((x) => x && typeof x === 'object' && (x as { node?: unknown }).node === node) as Record<string, unknown> | undefined;
  if (!r) return null;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const e = r.lastError as Record<string, unknown> | undefined;
  return {
    registered: r.registered === true,
    port: typeof r.port === 'number' ? r.port : null,
    leaseExpiresAt: str(r.leaseExpiresAt),
    waiting: str(r.waiting),
    lastError: e ? { op: String(e.op ?? ''), kind: String(e.kind ?? ''), message: String(e.message ?? ''), at: String(e.at ?? '') } : null,
  };
}

/** The peers file path and registry setting for a node directory (agent.yaml when it names them). */
async function registrySettings(dir: string, node: string, env: Record<string, string | undefined>): Promise<{ peersFile: string; enabled: boolean | null }> {
  const fallback = join(dir, PEERS_FILE);
  try {
    const loaded = await loadConfig({ path: join(dir, 'agent.yaml'), env });
    const c = loaded.config;
    if (!c) return { peersFile: fallback, enabled: null };
    const n = c.nodes.find((x) => x.name === node);
    return { peersFile: n?.registry.peersFile ?? (n ? join(n.dir, PEERS_FILE) : fallback), enabled: c.registry.enabled && (n?.registry.enabled ?? false) };
  } catch {
    return { peersFile: fallback, enabled: null };
  }
}

export async function readMembership(dir: string, node: string, now: Date, env: Record<string, string | undefined> = {}, agentBody?: unknown): Promise<Membership> {
  const { peersFile, enabled } = await registrySettings(dir, node, env);
  const text = await readFile(peersFile, 'utf8').catch(() => undefined);
  const agent = agentBody === undefined ? null : agentRegistryView(agentBody, node);
  const empty: Membership = { peersFile, registryEnabled: enabled, cluster: null, state: 'none', staleSince: null, members: [], staleMembers: [], self: 'absent', overdue: [], agent };
  if (text === undefined) return empty;
  const f = parsePeersFile(text);
  const members: MembershipEntry[] = f.peers.map((p) => ({ node: p.node, host: p.host, port: p.port, state: p.state, expiresAt: p.expiresAt?.toISOString() ?? null, otpRelease: p.otpRelease ?? null }));
  const me = members.find((m) => m.node === node);
  return {
    peersFile,
    registryEnabled: enabled,
    cluster: f.cluster || null,
    state: f.state,
    staleSince: f.staleSince?.toISOString() ?? null,
    members,
    staleMembers: members.filter((m) => m.state === 'stale').map((m) => m.node),
    self: !me ? 'absent' : me.state === 'stale' ? 'stale' : 'listed',
    overdue: f.state === 'fresh' ? members.filter((m) => m.state === 'live' && m.expiresAt !== null && new Date(m.expiresAt).getTime() < now.getTime()).map((m) => m.node) : [],
    agent,
  };
}

/** One line for `status`. */
export function membershipLine(m: Membership): string | undefined {
  const ag = m.agent ? (m.agent.registered ? `agent: registered on port ${m.agent.port ?? '?'}, lease until ${m.agent.leaseExpiresAt ?? '?'}` : `agent: NOT registered (${m.agent.waiting ?? m.agent.lastError?.message ?? '?'})`) : undefined;
  if (m.state === 'none') return m.registryEnabled || ag ? [`no peers file yet (${m.peersFile}): the agent has not read the members`, ...(ag ? [ag] : [])].join('; ') : undefined;
  const parts = [`cluster ${m.cluster ?? '?'}: ${m.members.length} member(s)`];
  if (m.state === 'stale') parts.push(`STALE since ${m.staleSince ?? '?'} (members not refreshed; last-known kept)`);
  if (m.staleMembers.length) parts.push(`stale: ${m.staleMembers.join(', ')}`);
  if (m.overdue.length) parts.push(`past their lease but not marked stale (is the agent running?): ${m.overdue.join(', ')}`);
  parts.push(m.self === 'listed' ? 'this node registered' : m.self === 'stale' ? 'this node listed (stale)' : 'this node NOT registered');
  if (ag) parts.push(ag);
  return parts.join('; ');
}
