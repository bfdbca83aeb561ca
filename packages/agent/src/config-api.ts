/**
 * `@vaultdist/agent/config`: the agent's config (schema, validation, loading, rendering) without the
 * agent itself (issue #16, footprint). `vaultdist status`, `doctor` and `init node` read and write
 * agent configs; importing the package index for that also loaded pino, prom-client (with
 * @opentelemetry/api) and every worker, about a third of their start-up time.
 */
export { CONFIG_SCHEMA, validateConfig, describeConfig, configJsonSchema, renderAgentConfig, redactConfigSecrets, REDACTED } from './config/schema.js';
export type { AgentConfig, AgentConfigInput, NodeConfig, NodeConfigInput, AuthConfig, ConfigValidation, ValidateOptions } from './config/schema.js';
export { CONFIG_KEYS, checkConfigValue } from './config/schema.js';
export { NODE_SETTINGS_SCHEMA, validateNodeSettings } from './config/settings.js';
export type { NodeSettingsFile } from './config/settings.js';
export { resolveConfig, mergeLayers } from './config/resolve.js';
export type { ConfigLayers, ConfigFlags, Env } from './config/resolve.js';
export { loadConfig, parseConfigText } from './config/load.js';
export type { LoadConfigOptions, LoadedConfig } from './config/load.js';
export { ttlFloorSeconds, ttlFloorProblem } from './core/schedule.js';
