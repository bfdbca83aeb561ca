// @vaultdist/agent public surface. Every export is listed by name (house style §2).

export { CONFIG_SCHEMA, validateConfig, describeConfig, configJsonSchema, renderAgentConfig } from './config/schema.js';
export type {
  AgentConfig,
  AgentConfigInput,
  NodeConfig,
  NodeConfigInput,
  AuthConfig,
  TokenAuthConfig,
  AppRoleAuthConfig,
  CertAuthConfig,
  ReloadConfig,
  ReloadStrategy,
  SignalReloadConfig,
  RpcReloadConfig,
  PollReloadConfig,
  CommandReloadConfig,
  VerifyConfig,
  ConfigValidation,
  ConfigKeyDoc,
  LogLevel,
  KeyTypeName,
  AuthMethod,
  ReloadSignal,
  TlsVersionName,
  DeepPartial,
  Field,
} from './config/schema.js';
