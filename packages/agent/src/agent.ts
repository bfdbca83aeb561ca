/**
 * `createAgent(config, options)`: the programmatic agent (what `main`, `vaultdist agent`, the work
 * process and the tests run). The agent itself is `createAgentCore` (agent-core.ts); this module adds
 * the default Vault client factory, which loads the SDK's Vault client (node-vault, axios) when a
 * client is built. The daemon's supervisor imports agent-core.ts only (issue #16: footprint).
 */
import { createAgentCore, type Agent, type CreateAgentOptions } from './agent-core.js';
import type { AgentConfig } from './config/schema.js';
import { createAgentVaultClient } from './shell/vault.js';

export type { Agent, AgentHooks, CreateAgentOptions, OnceResult, PreflightMode, WorkerAgent } from './agent-core.js';

export function createAgent(initial: AgentConfig, o: CreateAgentOptions = {}): Agent {
  return createAgentCore(initial, { ...o, vaultFactory: o.vaultFactory ?? createAgentVaultClient });
}
