// @vaultdist/agent public surface. Every export is listed by name (house style §2).

export { CONFIG_SCHEMA, validateConfig, describeConfig, configJsonSchema, renderAgentConfig, redactConfigSecrets, REDACTED } from './config/schema.js';
export type {
  AgentConfig,
  AgentConfigInput,
  NodeConfig,
  NodeConfigInput,
  AuthConfig,
  TokenAuthConfig,
  AppRoleAuthConfig,
  CertAuthConfig,
  KubernetesAuthConfig,
  CrlConfig,
  ReloadConfig,
  ReloadStrategy,
  SignalReloadConfig,
  RpcReloadConfig,
  PollReloadConfig,
  CommandReloadConfig,
  VerifyConfig,
  ConfigValidation,
  ValidateOptions,
  ConfigKeyDoc,
  LogLevel,
  KeyTypeName,
  AuthMethod,
  ReloadSignal,
  TlsVersionName,
  DeepPartial,
  Field,
} from './config/schema.js';
export { CONFIG_KEYS, checkConfigValue } from './config/schema.js';
export { NODE_SETTINGS_SCHEMA, validateNodeSettings } from './config/settings.js';
export type { NodeSettingsFile } from './config/settings.js';
export { resolveConfig, mergeLayers } from './config/resolve.js';
export type { ConfigLayers, ConfigFlags, Env } from './config/resolve.js';
export { loadConfig, parseConfigText } from './config/load.js';
export type { LoadConfigOptions, LoadedConfig } from './config/load.js';

export { computeRenewAt, nextBackoff, escalationLevel, failureLogLevel, failureMessage, startupDelayMs, ESCALATION_VALUE, ttlFloorSeconds, ttlFloorProblem, DEFAULT_RENEW_POLICY } from './core/schedule.js';
export type { RandomSource, ValidityWindow, SchedulePolicy, RenewDecision, BackoffPolicy, BackoffContext, EscalationLevel, EscalationPolicy, TtlFloorOptions } from './core/schedule.js';
export { computeCrlRefreshAt, crlLevel, CRL_LEVEL_VALUE, CRL_CRITICAL_FRACTION } from './core/crl.js';
export type { CrlWindow, CrlPolicy, CrlLevel } from './core/crl.js';
export { deriveHealth, initialNodeStatus, initialCrlStatus, FAILURE_KINDS } from './core/state.js';
export type { NodeStatus, NodePhase, FailureKind, CertSummary, CrlStatus, Health, NodeHealth, HealthPolicy } from './core/state.js';

export { createAgent } from './agent.js';
export type { Agent, AgentHooks, CreateAgentOptions, OnceResult, PreflightMode } from './agent.js';
export { main, parseArgs, USAGE, UsageError } from './main.js';
export type { MainOptions, ParsedArgs } from './main.js';
export { AgentError, ExitError, EXIT_CODES, classifyError, exitCodeFor } from './errors.js';
export { systemClock, mathRandom, nodeFs, nodeProcess } from './ports.js';
export type { AgentPorts, Clock, Random, Fs, Logger, ProcessControl, RunResult } from './ports.js';
export { createMetrics } from './shell/metrics.js';
export type { AgentMetrics } from './shell/metrics.js';
export { createLogger, REDACT_PATHS } from './shell/logger.js';
export { rpcArgv, reloadNode } from './shell/reloader.js';
export type { ReloadOutcome } from './shell/reloader.js';
export { probeNode, verifyServedSerial } from './shell/verify.js';
export type { VerifyResult } from './shell/verify.js';
export type { WorkerHooks, AttemptResult } from './shell/node-worker.js';
export { crlDirOf } from './shell/crl-worker.js';
export type { CrlHooks, CrlRefreshResult } from './shell/crl-worker.js';
// Intentionally internal: NodeWorker (driven only through createAgent), health-server, vault client factory.
