/**
 * One agent config for all the nodes of a host (issue #14: "one agent per host", but `init node` wrote
 * one agent config per node, each on health port 9464). `init node` adds its node to the host's config
 * (`--agent-config FILE`, default `DIR/../agent.yaml`, the directory holding the node directories,
 * see `defaultHostAgentConfig`):
 *
 * 1. read the file when it exists; it must be an agent config with a `nodes` list;
 * 2. replace this node's entry (by name) or add it; every node carries its own `auth` (its own Vault
 *    identity, issue #12), except token renewals, which use the top-level token (BAO_TOKEN where the
 *    agent runs); the top-level auth is that token when any node needs it, else the first node's;
 * 3. vault address and CA from this run, health and every other key as they were (one health port);
 * 4. validate with the agent's own validator, render with comments, write atomically (0600, only when
 *    it changed).
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseConfigText, renderAgentConfig, validateConfig, type AgentConfigInput, type NodeConfigInput } from '@vaultdist/agent';
import { EXIT, ExitError } from './errors.js';
import { agentConfigInput, writeFileAtomic, type NodeSettings } from './node-dir.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface HostAgentConfigResult {
  path: string;
  nodes: string[];
  changed: boolean;
}

/**
 * The default host config: `agent.yaml` in the directory that holds the node directory, unless that
 * is `/` or a shared sticky, world-writable directory such as /tmp (never a place for an agent config:
 * any user could have planted it). Undefined then: the node keeps its own DIR/agent.yaml only.
 */
export async function defaultHostAgentConfig(dir: string): Promise<string | undefined> {
  const parent = dirname(dir);
  if (parent === dir || parent === '/') return undefined;
  const st = await stat(parent).catch(() => undefined);
  if (st && (st.mode & 0o1002) === 0o1002) return undefined;
  return join(parent, 'agent.yaml');
}

/**
 * Step (1) alone, for the checks before anything is issued: the existing host config (undefined when
 * there is none yet). Throws a config error naming --agent-config for a file that is not one.
 */
export async function readHostAgentConfig(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ExitError(EXIT.CONFIG, `--agent-config ${path}: ${(e as Error).message}`);
  }
  if (text === undefined) return undefined;
  const p = parseConfigText(text, path);
  if (p.errors.length || !isObj(p.value) || !Array.isArray(p.value.nodes)) {
    throw new ExitError(EXIT.CONFIG, `--agent-config ${path}: not an agent config with a nodes list${p.errors.length ? ` (${p.errors[0]})` : ''}`, { hint: 'pass --agent-config FILE (the host\'s agent config, created when missing)' });
  }
  return p.value;
}

export async function addToHostAgentConfig(path: string, s: NodeSettings): Promise<HostAgentConfigResult> {
  // (1)
  const existing = await readHostAgentConfig(path);
  // (2)
  const mine = agentConfigInput(s);
  const clone = <T>(v: T): T => structuredClone(v); // no shared objects: YAML would render them as anchors
  const entry: NodeConfigInput = { ...mine.nodes[0]!, auth: s.agentAuth === 'token' ? null : clone(mine.vault!.auth as NodeConfigInput['auth']) };
  const nodes = [...((existing?.nodes as NodeConfigInput[] | undefined) ?? []).filter((n) => !isObj(n) || n.name !== s.node), entry].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const anyToken = nodes.some((n) => !n.auth);
  const prevVault = isObj(existing?.vault) ? existing.vault : {};
  const prevAuth = isObj(prevVault.auth) && prevVault.auth.method !== 'token' ? prevVault.auth : undefined;
  // (3)
  const merged = {
    ...(existing ?? {}),
    vault: { ...prevVault, address: mine.vault!.address, caCert: mine.vault!.caCert, auth: anyToken ? { method: 'token' } : clone(prevAuth ?? mine.vault!.auth) },
    health: existing?.health ?? mine.health,
    nodes,
  } as AgentConfigInput;
  // (4) token auth: the token comes from BAO_TOKEN/VAULT_TOKEN where the agent runs, never this file
  const v = validateConfig(merged);
  const errors = v.errors.filter((e) => !/^vault\.auth\.token: is required/.test(e));
  if (errors.length) throw new ExitError(EXIT.CONFIG, `--agent-config ${path}: adding ${s.node} makes it invalid: ${errors.join('; ')}`);
  const out = renderAgentConfig(merged, { header: [`the agent config of this host: ${nodes.length} node(s); \`vaultdist init node\` adds each node it sets up`, 'run one agent for all of them: vaultdist agent --config THIS_FILE'] });
  const changed = await writeFileAtomic(path, out, 0o600);
  return { path, nodes: nodes.map((n) => String(n.name)), changed };
}
