/**
 * Config layering (house style §12): defaults < file < environment < flags. Pure: the environment and
 * flags are passed in; `load.ts` does the reading.
 */
import { parseVaultAddresses, readVaultEnv, type ConfigIssue } from '@vaultdist/sdk';
import { validateConfig, type ConfigValidation } from './schema.js';

export type Env = Record<string, string | undefined>;

/** Flags that override config keys. */
export interface ConfigFlags {
  logLevel?: string | undefined;
  /** `host:port` */
  healthListen?: string | undefined;
  noHealth?: boolean | undefined;
  vaultAddr?: string | undefined;
}

export interface ConfigLayers {
  /** Parsed config file (YAML/JSON), or undefined without a file. */
  file: unknown;
  env: Env;
  flags: ConfigFlags;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function parseListen(value: string, from: string, errors: string[]): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    errors.push(`${from}: expected host:port (e.g. 127.0.0.1:9469), got ${JSON.stringify(value)}`);
    return undefined;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Merges the layers into one raw config object (before validation). Errors name the variable/flag. */
export function mergeLayers(l: ConfigLayers): { raw: Record<string, unknown>; errors: string[]; tokenFromEnv: boolean } {
  const errors: string[] = [];
  if (l.file !== undefined && l.file !== null && !isObj(l.file)) return { raw: {}, errors: ['(file): the config file must hold a mapping (object)'], tokenFromEnv: false };
  const raw: Record<string, unknown> = structuredClone((l.file as Record<string, unknown> | undefined) ?? {});
  const section = (k: string): Record<string, unknown> => {
    if (!isObj(raw[k])) raw[k] = raw[k] === undefined || raw[k] === null ? {} : raw[k];
    return raw[k] as Record<string, unknown>;
  };
  // environment: the SDK's one reader of BAO_*/VAULT_* (BAO_ over VAULT_, empty = unset, strict booleans)
  const issues: ConfigIssue[] = [];
  const e = readVaultEnv(l.env, issues);
  for (const i of issues) errors.push(`${i.path}: ${i.message}`);
  let addrFrom = 'vault.address';
  if (e.addresses?.length) {
    section('vault').address = e.addresses.join(',');
    addrFrom = e.sources.addresses!;
  }
  if (e.caCertPath !== undefined) section('vault').caCert = e.caCertPath;
  if (e.namespace !== undefined) section('vault').namespace = e.namespace;
  if (e.tlsServerName !== undefined) section('vault').tlsServerName = e.tlsServerName;
  if (e.skipVerify !== undefined) section('vault').skipVerify = e.skipVerify;
  let tokenFromEnv = false;
  if (e.token !== undefined) {
    const v = section('vault');
    const auth = v.auth;
    // the env token fills a token auth that has no token of its own; it never overrides another method
    if (auth === undefined || auth === null) {
      v.auth = { method: 'token', token: e.token };
      tokenFromEnv = true;
    } else if (isObj(auth) && (auth.method === undefined || auth.method === 'token') && !auth.token && !auth.tokenFile) {
      v.auth = { ...auth, method: 'token', token: e.token };
      tokenFromEnv = true;
    }
  }
  if (l.env.VAULTDIST_LOG_LEVEL) section('log').level = l.env.VAULTDIST_LOG_LEVEL;
  if (l.env.VAULTDIST_HEALTH_LISTEN) {
    const hl = parseListen(l.env.VAULTDIST_HEALTH_LISTEN, 'VAULTDIST_HEALTH_LISTEN', errors);
    if (hl) Object.assign(section('health'), hl);
  }
  // flags
  if (l.flags.vaultAddr) {
    section('vault').address = l.flags.vaultAddr;
    addrFrom = '--vault-addr';
  }
  if (l.flags.logLevel) section('log').level = l.flags.logLevel;
  if (l.flags.healthListen) {
    const hl = parseListen(l.flags.healthListen, '--health-listen', errors);
    if (hl) Object.assign(section('health'), hl);
  }
  if (l.flags.noHealth) section('health').enabled = false;
  // Several Vault addresses (HA): a YAML list or one comma-separated string, each entry checked here
  // with the SDK's parser, so `--check` refuses what the client would refuse at start.
  const v = raw.vault;
  if (isObj(v) && (typeof v.address === 'string' || (Array.isArray(v.address) && v.address.every((a) => typeof a === 'string')))) {
    const addrIssues: ConfigIssue[] = [];
    const list = parseVaultAddresses(v.address as string | string[], addrFrom, addrIssues);
    for (const i of addrIssues) errors.push(`${i.path}: ${i.message}`);
    if (!addrIssues.length) v.address = list.join(',');
  }
  return { raw, errors, tokenFromEnv };
}

/** defaults < file < env < flags, then validation. */
export function resolveConfig(l: ConfigLayers): ConfigValidation {
  const { raw, errors, tokenFromEnv } = mergeLayers(l);
  // "a token in the config file" only when it is literally in the file, not when BAO_TOKEN filled it in
  const v = validateConfig(raw, { tokenFromEnv });
  return errors.length ? { config: undefined, errors: [...errors, ...v.errors], warnings: v.warnings } : v;
}
