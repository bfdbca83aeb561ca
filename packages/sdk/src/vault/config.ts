import { ConfigError, type ConfigIssue } from '../errors.js';

/** Connection settings for a Vault/OpenBao server. */
export interface VaultConnectionOptions {
  /** e.g. `https://vault.example:8200`. Env: BAO_ADDR / VAULT_ADDR. */
  address?: string | undefined;
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
  /** Disable TLS verification. Env: BAO_SKIP_VERIFY / VAULT_SKIP_VERIFY, parsed strictly. @default false */
  skipVerify?: boolean | undefined;
  /** SNI / expected server name. Env: BAO_TLS_SERVER_NAME / VAULT_TLS_SERVER_NAME. */
  tlsServerName?: string | undefined;
}

export interface ResolvedVaultConnection {
  address: string;
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

type Env = Record<string, string | undefined>;

/**
 * Reads `BAO_X`, falling back to `VAULT_X`. As in OpenBao's own tools a set-but-empty `BAO_X` wins.
 * Returns the value and the variable it came from.
 */
export function readEnvTwin(env: Env, suffix: string): { value: string; from: string } | undefined {
  const bao = env[`BAO_${suffix}`];
  if (bao !== undefined) return { value: bao, from: `BAO_${suffix}` };
  const vault = env[`VAULT_${suffix}`];
  if (vault !== undefined) return { value: vault, from: `VAULT_${suffix}` };
  return undefined;
}

/** Strict boolean parsing: "false" is false (the node-vault bug). Throws on anything unknown. */
export function parseBool(value: string, path: string, issues: ConfigIssue[]): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 't', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'f', 'no', 'off'].includes(v)) return false;
  issues.push({ path, message: `expected a boolean (true/false/1/0), got ${JSON.stringify(value)}` });
  return undefined;
}

export const DEFAULT_VAULT_ADDRESS = 'https://127.0.0.1:8200';

/**
 * Pure: merges explicit options over the environment (BAO_* over VAULT_*) over defaults.
 * @throws ConfigError naming the option or variable at fault.
 */
export function resolveVaultConnection(options: VaultConnectionOptions = {}, env: Env = process.env): ResolvedVaultConnection {
  const issues: ConfigIssue[] = [];
  const sources: Record<string, string> = {};
  const pick = (key: keyof VaultConnectionOptions, suffix: string): string | undefined => {
    const explicit = options[key];
    if (explicit !== undefined && typeof explicit === 'string') {
      sources[key] = 'option';
      return explicit;
    }
    const e = readEnvTwin(env, suffix);
    if (e) {
      sources[key] = e.from;
      return e.value === '' ? undefined : e.value;
    }
    return undefined;
  };
  /** The option name when the value came from an option or the default, else the env var it came from. */
  const pathOf = (key: keyof VaultConnectionOptions, fallback: string): string => {
    const from = sources[key];
    return from === undefined ? fallback : from === 'option' || from === 'default' ? key : from;
  };
  let address = pick('address', 'ADDR');
  if (address === undefined) {
    address = DEFAULT_VAULT_ADDRESS;
    sources.address = 'default';
  }
  try {
    const u = new URL(address);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      issues.push({ path: pathOf('address', 'address'), message: `unsupported scheme ${u.protocol} (use http or https)` });
    }
  } catch {
    issues.push({ path: pathOf('address', 'address'), message: `not a URL: ${JSON.stringify(address)}` });
  }
  let skipVerify = false;
  if (options.skipVerify !== undefined) {
    skipVerify = options.skipVerify;
    sources.skipVerify = 'option';
  } else {
    const e = readEnvTwin(env, 'SKIP_VERIFY');
    if (e) {
      sources.skipVerify = e.from;
      skipVerify = parseBool(e.value, e.from, issues) ?? false;
    }
  }
  const clientCertPath = pick('clientCertPath', 'CLIENT_CERT');
  const clientKeyPath = pick('clientKeyPath', 'CLIENT_KEY');
  if ((clientCertPath === undefined) !== (clientKeyPath === undefined)) {
    issues.push({
      // Name the missing half: the option when the other half was an option, else the env var.
      path: clientCertPath
        ? pathOf('clientKeyPath', sources.clientCertPath === 'option' ? 'clientKeyPath' : 'VAULT_CLIENT_KEY')
        : pathOf('clientCertPath', sources.clientKeyPath === 'option' ? 'clientCertPath' : 'VAULT_CLIENT_CERT'),
      message: 'a client certificate needs both a certificate and a key',
    });
  }
  const resolved: ResolvedVaultConnection = {
    address: address.replace(/\/+$/, ''),
    token: pick('token', 'TOKEN'),
    caCertPath: pick('caCertPath', 'CACERT'),
    caPath: pick('caPath', 'CAPATH'),
    clientCertPath,
    clientKeyPath,
    namespace: pick('namespace', 'NAMESPACE'),
    skipVerify,
    tlsServerName: pick('tlsServerName', 'TLS_SERVER_NAME'),
    sources,
  };
  if (issues.length) throw new ConfigError(issues);
  return resolved;
}
