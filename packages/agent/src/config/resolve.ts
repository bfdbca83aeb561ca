/**
 * Config layering (house style §12): defaults < file < environment < flags. Pure: the environment and
 * flags are passed in; `load.ts` does the reading.
 */
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
const envTwin = (env: Env, suffix: string): { value: string; from: string } | undefined => {
  for (const p of ['BAO_', 'VAULT_']) {
    const v = env[`${p}${suffix}`];
    if (v !== undefined && v !== '') return { value: v, from: `${p}${suffix}` };
  }
  return undefined;
};

function parseListen(value: string, from: string, errors: string[]): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    errors.push(`${from}: expected host:port (e.g. 127.0.0.1:9469), got ${JSON.stringify(value)}`);
    return undefined;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Strict boolean parsing: "false" is false (the node-vault bug). */
function parseBool(value: string, from: string, errors: string[]): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  errors.push(`${from}: expected true/false/1/0, got ${JSON.stringify(value)}`);
  return undefined;
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
  // environment
  const addr = envTwin(l.env, 'ADDR');
  if (addr) section('vault').address = addr.value;
  const cacert = envTwin(l.env, 'CACERT');
  if (cacert) section('vault').caCert = cacert.value;
  const ns = envTwin(l.env, 'NAMESPACE');
  if (ns) section('vault').namespace = ns.value;
  const sni = envTwin(l.env, 'TLS_SERVER_NAME');
  if (sni) section('vault').tlsServerName = sni.value;
  const skip = envTwin(l.env, 'SKIP_VERIFY');
  if (skip) {
    const b = parseBool(skip.value, skip.from, errors);
    if (b !== undefined) section('vault').skipVerify = b;
  }
  const token = envTwin(l.env, 'TOKEN');
  let tokenFromEnv = false;
  if (token) {
    const v = section('vault');
    const auth = v.auth;
    // the env token fills a token auth that has no token of its own; it never overrides another method
    if (auth === undefined || auth === null) {
      v.auth = { method: 'token', token: token.value };
      tokenFromEnv = true;
    } else if (isObj(auth) && (auth.method === undefined || auth.method === 'token') && !auth.token && !auth.tokenFile) {
      v.auth = { ...auth, method: 'token', token: token.value };
      tokenFromEnv = true;
    }
  }
  if (l.env.VAULTDIST_LOG_LEVEL) section('log').level = l.env.VAULTDIST_LOG_LEVEL;
  if (l.env.VAULTDIST_HEALTH_LISTEN) {
    const hl = parseListen(l.env.VAULTDIST_HEALTH_LISTEN, 'VAULTDIST_HEALTH_LISTEN', errors);
    if (hl) Object.assign(section('health'), hl);
  }
  // flags
  if (l.flags.vaultAddr) section('vault').address = l.flags.vaultAddr;
  if (l.flags.logLevel) section('log').level = l.flags.logLevel;
  if (l.flags.healthListen) {
    const hl = parseListen(l.flags.healthListen, '--health-listen', errors);
    if (hl) Object.assign(section('health'), hl);
  }
  if (l.flags.noHealth) section('health').enabled = false;
  return { raw, errors, tokenFromEnv };
}

/** defaults < file < env < flags, then validation. */
export function resolveConfig(l: ConfigLayers): ConfigValidation {
  const { raw, errors, tokenFromEnv } = mergeLayers(l);
  // "a token in the config file" only when it is literally in the file, not when BAO_TOKEN filled it in
  const v = validateConfig(raw, { tokenFromEnv });
  return errors.length ? { config: undefined, errors: [...errors, ...v.errors], warnings: v.warnings } : v;
}
