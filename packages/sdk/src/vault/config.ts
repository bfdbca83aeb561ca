import { ConfigError, type ConfigIssue } from '../errors.js';

/** Connection settings for a Vault/OpenBao server or HA cluster. */
export interface VaultConnectionOptions {
  /**
   * One address (`https://vault.example:8200`), several as a list, or a comma-separated string
   * (`https://a:8200,https://b:8200`): the servers of one HA cluster, or one load balancer.
   * Env: BAO_ADDR / VAULT_ADDR (the comma-separated form).
   */
  address?: string | readonly string[] | undefined;
  /** Static token. Env: BAO_TOKEN / VAULT_TOKEN. Prefer an auth strategy for anything long-lived. */
  token?: string | undefined;
  /** Path of a PEM CA bundle to trust. Env: BAO_CACERT / VAULT_CACERT. */
  caCertPath?: string | undefined;
  /** Directory of PEM CA files to trust. Env: BAO_CAPATH / VAULT_CAPATH. */
  caPath?: string | undefined;
  /** Client certificate (PEM, may include the chain) for TLS cert auth. Env: BAO_CLIENT_CERT / VAULT_CLIENT_CERT. */
  clientCertPath?: string | undefined;
  /** Client key (PEM). Env: BAO_CLIENT_KEY / VAULT_CLIENT_KEY. */
  clientKeyPath?: string | undefined;
  /** Namespace (Vault Enterprise, OpenBao >= 2.3). Env: BAO_NAMESPACE / VAULT_NAMESPACE. */
  namespace?: string | undefined;
  /** Disable TLS verification. Env: BAO_SKIP_VERIFY / VAULT_SKIP_VERIFY, parsed by {@link parseBoolean}. @default false */
  skipVerify?: boolean | undefined;
  /** SNI / expected server name. Env: BAO_TLS_SERVER_NAME / VAULT_TLS_SERVER_NAME. */
  tlsServerName?: string | undefined;
}

/** The connection after options and environment are merged (`resolveVaultConnection`). */
export interface ResolvedVaultConnection {
  /** The first address (what messages name when no particular server is meant). */
  address: string;
  /** Every configured address, in order, without duplicates; `addresses[0] === address`. */
  addresses: string[];
  token: string | undefined;
  caCertPath: string | undefined;
  caPath: string | undefined;
  clientCertPath: string | undefined;
  clientKeyPath: string | undefined;
  namespace: string | undefined;
  skipVerify: boolean;
  tlsServerName: string | undefined;
  /** Where each value came from, for error messages (`option`, `BAO_ADDR`, `VAULT_ADDR`, `default`). */
  sources: Record<string, string>;
}

export type Env = Record<string, string | undefined>;

/**
 * Reads `BAO_X`, falling back to `VAULT_X`. **An empty value counts as unset** (so `BAO_ADDR=""` with
 * `VAULT_ADDR` set uses `VAULT_ADDR`). Note: OpenBao's own CLI lets a set-but-empty `BAO_X` win; vaultdist
 * does not, because an empty variable left over in a unit file or a shell must never silently switch
 * the server (issue #14). Returns the value and the variable it came from.
 */
export function readEnvTwin(env: Env, suffix: string): { value: string; from: string } | undefined {
  for (const prefix of ['BAO_', 'VAULT_']) {
    const v = env[`${prefix}${suffix}`];
    if (v !== undefined && v.trim() !== '') return { value: v, from: `${prefix}${suffix}` };
  }
  return undefined;
}

const TRUE = new Set(['1', 't', 'true', 'yes', 'y', 'on']);
const FALSE = new Set(['0', 'f', 'false', 'no', 'n', 'off']);

/**
 * The one boolean parser for environment values (SDK, CLI and agent). Case-insensitive; accepts what
 * Go's `strconv.ParseBool` accepts (`1 t true 0 f false`, OpenBao's own parser) plus `yes/no/on/off`.
 * `"false"` is false (the node-vault bug: any non-empty `VAULT_SKIP_VERIFY` disabled verification).
 * Anything else is an issue naming `path`; the caller decides what an empty value means (unset).
 */
export function parseBoolean(value: string, path: string, issues: ConfigIssue[]): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  issues.push({ path, message: `expected a boolean (true/false/1/0/t/f/yes/no/on/off), got ${JSON.stringify(value)}` });
  return undefined;
}

/** The address used when neither an option nor BAO_ADDR/VAULT_ADDR gives one (Vault's own default). */
export const DEFAULT_VAULT_ADDRESS = 'https://127.0.0.1:8200';

/**
 * Parses one address or a list (array, or a string with comma-separated entries) into normalised
 * `http(s)://host[:port][/prefix]` strings without a trailing slash. Duplicates are dropped. Every
 * bad entry is an issue naming `path`; an empty list is one too.
 */
export function parseVaultAddresses(value: string | readonly string[], path: string, issues: ConfigIssue[]): string[] {
  const parts = (typeof value === 'string' ? value.split(',') : value.flatMap((v) => String(v).split(','))).map((s) => s.trim());
  const out: string[] = [];
  for (const a of parts) {
    if (a === '') continue;
    let u: URL;
    try {
      u = new URL(a);
    } catch {
      issues.push({ path, message: `not a URL: ${JSON.stringify(a)}` });
      continue;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      issues.push({ path, message: `unsupported scheme ${u.protocol} in ${JSON.stringify(a)} (use http or https)` });
      continue;
    }
    if (u.username || u.password || u.search || u.hash) {
      issues.push({ path, message: `${JSON.stringify(a)}: an address holds no credentials, query or fragment` });
      continue;
    }
    const norm = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
    if (!out.includes(norm)) out.push(norm);
  }
  if (!out.length && !issues.some((i) => i.path === path)) issues.push({ path, message: 'no address given' });
  return out;
}

/** What {@link readVaultEnv} found: typed values plus the variable each came from. */
export interface VaultEnvSettings {
  addresses?: string[] | undefined;
  token?: string | undefined;
  caCertPath?: string | undefined;
  caPath?: string | undefined;
  clientCertPath?: string | undefined;
  clientKeyPath?: string | undefined;
  namespace?: string | undefined;
  skipVerify?: boolean | undefined;
  tlsServerName?: string | undefined;
  /** key → variable name, e.g. `{ addresses: 'BAO_ADDR' }`. */
  sources: Partial<Record<Exclude<keyof VaultEnvSettings, 'sources'>, string>>;
}

/**
 * **The** reader of the `BAO_*` / `VAULT_*` environment for the SDK, the CLI and the agent. Nothing
 * else in vaultdist (and no dependency: see `client.ts` on node-vault) reads these variables.
 *
 * Precedence per setting: `BAO_X`, then `VAULT_X`; empty means unset (see {@link readEnvTwin}).
 * Explicit options and flags override the environment; the config file is below it (agent).
 *
 * | setting | variables |
 * | --- | --- |
 * | addresses | `BAO_ADDR` / `VAULT_ADDR`, one URL or several separated by commas |
 * | token | `BAO_TOKEN` / `VAULT_TOKEN` |
 * | caCertPath, caPath | `BAO_CACERT`, `BAO_CAPATH` (and `VAULT_*`) |
 * | clientCertPath, clientKeyPath | `BAO_CLIENT_CERT`, `BAO_CLIENT_KEY` (and `VAULT_*`) |
 * | namespace | `BAO_NAMESPACE` / `VAULT_NAMESPACE` |
 * | skipVerify | `BAO_SKIP_VERIFY` / `VAULT_SKIP_VERIFY`, {@link parseBoolean} |
 * | tlsServerName | `BAO_TLS_SERVER_NAME` / `VAULT_TLS_SERVER_NAME` |
 *
 * Pure (the environment is passed in). Bad values become issues naming the variable.
 */
export function readVaultEnv(env: Env, issues: ConfigIssue[]): VaultEnvSettings {
  const out: VaultEnvSettings = { sources: {} };
  const str = (key: 'token' | 'caCertPath' | 'caPath' | 'clientCertPath' | 'clientKeyPath' | 'namespace' | 'tlsServerName', suffix: string) => {
    const e = readEnvTwin(env, suffix);
    if (!e) return;
    out[key] = key === 'token' ? e.value.trim() : e.value;
    out.sources[key] = e.from;
  };
  const addr = readEnvTwin(env, 'ADDR');
  if (addr) {
    out.addresses = parseVaultAddresses(addr.value, addr.from, issues);
    out.sources.addresses = addr.from;
  }
  str('token', 'TOKEN');
  str('caCertPath', 'CACERT');
  str('caPath', 'CAPATH');
  str('clientCertPath', 'CLIENT_CERT');
  str('clientKeyPath', 'CLIENT_KEY');
  str('namespace', 'NAMESPACE');
  str('tlsServerName', 'TLS_SERVER_NAME');
  const skip = readEnvTwin(env, 'SKIP_VERIFY');
  if (skip) {
    out.skipVerify = parseBoolean(skip.value, skip.from, issues);
    out.sources.skipVerify = skip.from;
  }
  return out;
}

/**
 * Pure: merges explicit options over the environment ({@link readVaultEnv}) over defaults.
 * @throws ConfigError naming the option or variable at fault.
 */
export function resolveVaultConnection(options: VaultConnectionOptions = {}, env: Env = process.env): ResolvedVaultConnection {
  const issues: ConfigIssue[] = [];
  const fromEnv = readVaultEnv(env, issues);
  const sources: Record<string, string> = {};
  const pick = <K extends 'token' | 'caCertPath' | 'caPath' | 'clientCertPath' | 'clientKeyPath' | 'namespace' | 'tlsServerName'>(key: K): string | undefined => {
    const explicit = options[key];
    if (typeof explicit === 'string' && explicit.trim() !== '') {
      sources[key] = 'option';
      return key === 'token' ? explicit.trim() : explicit;
    }
    if (fromEnv[key] !== undefined) {
      sources[key] = fromEnv.sources[key]!;
      return fromEnv[key];
    }
    return undefined;
  };
  let addresses: string[];
  const given = options.address;
  if (given !== undefined && (typeof given === 'string' ? given.trim() !== '' : given.length > 0)) {
    sources.address = 'option';
    addresses = parseVaultAddresses(given, 'address', issues);
  } else if (fromEnv.addresses) {
    sources.address = fromEnv.sources.addresses!;
    addresses = fromEnv.addresses;
  } else {
    sources.address = 'default';
    addresses = [DEFAULT_VAULT_ADDRESS];
  }
  let skipVerify = false;
  if (options.skipVerify !== undefined) {
    skipVerify = options.skipVerify;
    sources.skipVerify = 'option';
  } else if (fromEnv.sources.skipVerify) {
    sources.skipVerify = fromEnv.sources.skipVerify;
    skipVerify = fromEnv.skipVerify ?? false;
  }
  const clientCertPath = pick('clientCertPath');
  const clientKeyPath = pick('clientKeyPath');
  if ((clientCertPath === undefined) !== (clientKeyPath === undefined)) {
    // Name the missing half: the option when the other half was an option, else the env var.
    issues.push({
      path: clientCertPath
        ? sources.clientCertPath === 'option' ? 'clientKeyPath' : 'VAULT_CLIENT_KEY'
        : sources.clientKeyPath === 'option' ? 'clientCertPath' : 'VAULT_CLIENT_CERT',
      message: 'a client certificate needs both a certificate and a key',
    });
  }
  const resolved: ResolvedVaultConnection = {
    address: addresses[0] ?? DEFAULT_VAULT_ADDRESS,
    addresses,
    token: pick('token'),
    caCertPath: pick('caCertPath'),
    caPath: pick('caPath'),
    clientCertPath,
    clientKeyPath,
    namespace: pick('namespace'),
    skipVerify,
    tlsServerName: pick('tlsServerName'),
    sources,
  };
  if (issues.length) throw new ConfigError(issues);
  return resolved;
}
