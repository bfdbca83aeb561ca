/**
 * The agent's configuration: one declarative schema (every key has a description, a default and an
 * example), the resolved types (no optional fields, house style §12), a validator whose messages name
 * the key (`nodes[0].reload.pidFile: is required`), and `renderAgentConfig()` that writes a commented
 * YAML file the validator accepts.
 *
 * Note: the schema is a small hand-written descriptor tree rather than zod/valibot. It is the single
 * source for validation, defaults, documentation (`describeConfig`) and the editor JSON Schema
 * (`configJsonSchema`), which is what §12 asks of the schema library, without a new dependency.
 *
 * Pure: no I/O, no time, no randomness (the loader in `load.ts` reads files and the environment).
 */
import { Document, isMap, isSeq, YAMLMap, type Node as YamlNode } from 'yaml';
import { DURATION_FORMS, DURATION_PATTERN, parseDurationSeconds } from '@vaultdist/sdk/duration';
import { ttlFloorProblem } from '../core/schedule.js';

// ---------------------------------------------------------------------------------------------------
// Resolved types (what the agent runs with: every field present)
// ---------------------------------------------------------------------------------------------------

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type KeyTypeName = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072';
export type ReloadStrategy = 'signal' | 'rpc' | 'poll' | 'command';
export type AuthMethod = 'token' | 'approle' | 'cert' | 'kubernetes';
export type ReloadSignal = 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';
export type TlsVersionName = 'tlsv1.3' | 'tlsv1.2';

/** Static token, from the config, a file (re-read on every login) or BAO_TOKEN/VAULT_TOKEN. */
export interface TokenAuthConfig {
  method: 'token';
  token: string | null;
  tokenFile: string | null;
}

/** AppRole login (`auth/<mount>/login`), renewed and re-logged-in by the agent. */
export interface AppRoleAuthConfig {
  method: 'approle';
  mount: string;
  roleId: string | null;
  roleIdFile: string | null;
  secretId: string | null;
  secretIdFile: string | null;
}

/** TLS certificate login (`auth/<mount>/login`); after each rotation the agent logs in again with the new certificate. */
export interface CertAuthConfig {
  method: 'cert';
  mount: string;
  /** The cert auth role (`name`), or null to let Vault match any role. */
  name: string | null;
  certFile: string;
  keyFile: string;
}

/** Kubernetes login (`auth/<mount>/login` with `role` + the pod's service-account JWT, re-read at every login). */
export interface KubernetesAuthConfig {
  method: 'kubernetes';
  mount: string;
  role: string;
  jwtFile: string;
}

export type AuthConfig = TokenAuthConfig | AppRoleAuthConfig | CertAuthConfig | KubernetesAuthConfig;

export interface SignalReloadConfig {
  strategy: 'signal';
  pidFile: string;
  signal: ReloadSignal;
  handlerInstalled: boolean;
}

export interface RpcReloadConfig {
  strategy: 'rpc';
  erl: string;
  cookie: string | null;
  cookieFile: string | null;
  port: number | null;
  epmdModule: string | null;
  codePaths: string[];
  tlsVersions: TlsVersionName[];
  optfile: string | null;
  extraArgs: string[];
  timeoutMs: number;
}

export interface PollReloadConfig {
  strategy: 'poll';
  intervalMs: number;
}

export interface CommandReloadConfig {
  strategy: 'command';
  command: string[];
  timeoutMs: number;
}

export type ReloadConfig = SignalReloadConfig | RpcReloadConfig | PollReloadConfig | CommandReloadConfig;

export interface VerifyConfig {
  enabled: boolean;
  host: string | null;
  port: number | null;
  deadlineMs: number;
  retryIntervalMs: number;
  probeTimeoutMs: number;
}

export interface CrlConfig {
  enabled: boolean;
  dir: string | null;
  mounts: string[];
  refreshIntervalSeconds: number;
  refreshAtFraction: number;
  warnRemainingFraction: number;
}

export interface NodeConfig {
  name: string;
  dir: string;
  mount: string;
  role: string;
  ttl: string | null;
  keyType: KeyTypeName;
  mode: 'sign' | 'issue';
  keepPrevious: number;
  owner: { uid: number; gid: number } | null;
  trust: { extraCaFiles: string[] };
  auth: AuthConfig | null;
  reload: ReloadConfig;
  verify: VerifyConfig;
  crl: CrlConfig;
  registry: NodeRegistryConfig;
}

/** Per node: registering it in the registry plugin (#13) and keeping its peers file. */
export interface NodeRegistryConfig {
  enabled: boolean;
  port: number | null;
  portFile: string | null;
  peersFile: string | null;
  host: string | null;
}

/** The registry plugin (#13): where nodes register and how often the members are read. */
export interface RegistryConfig {
  enabled: boolean;
  mount: string;
  cluster: string;
  refreshIntervalSeconds: number;
  renewAtFraction: number;
}

export interface AgentConfig {
  vault: {
    address: string;
    caCert: string | null;
    namespace: string | null;
    tlsServerName: string | null;
    skipVerify: boolean;
    requestTimeoutMs: number;
    auth: AuthConfig;
  };
  schedule: {
    renewAtFraction: number;
    jitterFraction: number;
    minRemainingSeconds: number;
    warnRemainingFraction: number;
    criticalRemainingFraction: number;
    onRenewError: 'retry' | 'exit';
    backoff: { initialMs: number; maxMs: number; jitterFraction: number };
    startupSpreadMs: number;
    vaultProbeIntervalMs: number;
  };
  health: { enabled: boolean; host: string; port: number };
  registry: RegistryConfig;
  log: { level: LogLevel };
  shutdownTimeoutMs: number;
  nodes: NodeConfig[];
}

/** Deep-partial input shape (a config file, or what `vaultdist init node` builds). */
export type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> | null } : T;
export type NodeConfigInput = DeepPartial<NodeConfig> & { name: string; dir: string; mount: string; role: string; reload: DeepPartial<ReloadConfig> & { strategy: ReloadStrategy } };
export type AgentConfigInput = Omit<DeepPartial<AgentConfig>, 'nodes'> & { nodes: NodeConfigInput[] };

// ---------------------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------------------

interface Doc {
  description: string;
  example: unknown;
}
export type Field =
  | (Doc & { kind: 'string'; default?: string | null; enum?: readonly string[]; pattern?: { re: RegExp; message: string }; absolutePath?: boolean; secret?: boolean })
  | (Doc & { kind: 'number'; default?: number | null; integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean })
  | (Doc & { kind: 'boolean'; default?: boolean })
  | (Doc & { kind: 'stringArray'; default?: string[]; enum?: readonly string[]; minItems?: number; absolutePath?: boolean })
  | (Doc & { kind: 'object'; fields: Record<string, Field>; nullable?: boolean })
  | (Doc & { kind: 'array'; items: Field; minItems?: number })
  | (Doc & { kind: 'union'; tag: string; variants: Record<string, Record<string, Field>>; nullable?: boolean; defaultTag?: string });

const ms = (description: string, def: number, example: number, min = 1): Field => ({ kind: 'number', integer: true, min, description, default: def, example });
const absPath = (description: string, example: string, def?: string | null): Field => ({ kind: 'string', absolutePath: true, description, example, ...(def !== undefined ? { default: def } : {}) });

const KEY_TYPE_NAMES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const AUTH_VARIANTS: Record<string, Record<string, Field>> = {
  token: {
    token: { kind: 'string', secret: true, default: null, description: 'The Vault token. Prefer `tokenFile` or BAO_TOKEN/VAULT_TOKEN: a config file is easily world-readable.', example: 's.XXXXXXXX' },
    tokenFile: absPath('File holding the token; re-read whenever the agent needs to log in again (e.g. after a 403).', '/etc/vaultdist/token', null),
  },
  approle: {
    mount: { kind: 'string', default: 'approle', description: 'Mount path of the AppRole auth method.', example: 'approle' },
    roleId: { kind: 'string', default: null, description: 'AppRole role_id.', example: 'db02de05-fa39-4855-059b-67221c5c2f63' },
    roleIdFile: absPath('File holding the role_id.', '/etc/vaultdist/role-id', null),
    secretId: { kind: 'string', secret: true, default: null, description: 'AppRole secret_id. Prefer `secretIdFile`.', example: '6a174c20-f6de-a53c-74d2-6018fcceff64' },
    secretIdFile: absPath('File holding the secret_id (re-read on every login).', '/etc/vaultdist/secret-id', null),
  },
  cert: {
    mount: { kind: 'string', default: 'cert', description: 'Mount path of the TLS certificate auth method.', example: 'cert' },
    name: { kind: 'string', default: null, description: 'The cert auth role to log in against; null lets Vault pick the matching role.', example: 'vaultdist-agent' },
    certFile: absPath('Client certificate (PEM). May be a node\'s own `bundle.pem`: after every rotation of that node the agent logs in again with the new certificate.', '/var/lib/vaultdist/foo/bundle.pem'),
    keyFile: absPath('Client key (PEM); the same `bundle.pem` works.', '/var/lib/vaultdist/foo/bundle.pem'),
  },
  kubernetes: {
    mount: { kind: 'string', default: 'kubernetes', description: 'Mount path of the Kubernetes auth method.', example: 'kubernetes' },
    role: { kind: 'string', description: 'The Kubernetes auth role (`auth/<mount>/role/<role>`) bound to the pod\'s service account.', example: 'app' },
    jwtFile: absPath('The pod\'s service-account token (JWT), re-read at every login: Kubernetes rotates projected tokens on disk.', '/var/run/secrets/kubernetes.io/serviceaccount/token', '/var/run/secrets/kubernetes.io/serviceaccount/token'),
  },
};

const authField = (nullable: boolean, description: string): Field => ({
  kind: 'union',
  tag: 'method',
  variants: AUTH_VARIANTS,
  nullable,
  ...(nullable ? {} : { defaultTag: 'token' }),
  description,
  example: { method: 'approle', roleIdFile: '/etc/vaultdist/role-id', secretIdFile: '/etc/vaultdist/secret-id' },
});

const RELOAD_VARIANTS: Record<string, Record<string, Field>> = {
  signal: {
    pidFile: absPath('File holding the node\'s OS pid (written by `vaultdist_reload:write_pidfile/1` or `-vaultdist_pidfile`).', '/run/vaultdist/foo.pid'),
    signal: { kind: 'string', enum: ['SIGHUP', 'SIGUSR1', 'SIGUSR2'], default: 'SIGHUP', description: 'Signal to send. OTP 25 handles only SIGHUP through `os:set_signal/2`.', example: 'SIGHUP' },
    handlerInstalled: {
      kind: 'boolean',
      default: false,
      description: 'Must be true: declares that the node runs vaultdist\'s SIGHUP handler (`-vaultdist_sighup true`). Without the handler SIGHUP KILLS an OTP 25 node, so the agent refuses to signal otherwise.',
      example: true,
    },
  },
  rpc: {
    erl: { kind: 'string', default: 'erl', description: 'The `erl` executable used for the short-lived hidden reload node.', example: '/usr/lib/erlang/bin/erl' },
    cookie: { kind: 'string', secret: true, default: null, description: 'Distribution cookie of the target node. Prefer `cookieFile`.', example: 'secretcookie' },
    cookieFile: absPath('File holding the distribution cookie. When both are null, erl uses ~/.erlang.cookie of the agent user.', '/var/lib/app/.erlang.cookie', null),
    port: { kind: 'number', integer: true, min: 1, max: 65535, default: null, description: 'The target\'s distribution port (`-erl_epmd_port`); null uses `verify.port`.', example: 4370 },
    epmdModule: { kind: 'string', default: null, description: 'Custom epmd module the hidden node must use (its code path in `codePaths`).', example: 'vaultdist_epmd' },
    codePaths: { kind: 'stringArray', absolutePath: true, default: [], description: 'Extra `-pa` directories for the hidden node.', example: ['/opt/vaultdist/ebin'] },
    tlsVersions: { kind: 'stringArray', enum: ['tlsv1.3', 'tlsv1.2'], minItems: 1, default: ['tlsv1.3'], description: 'TLS versions of the hidden node\'s optfile (must overlap the target\'s).', example: ['tlsv1.3', 'tlsv1.2'] },
    optfile: absPath('Optfile for the hidden node; null renders `<dir>/reload-client.conf` from the node\'s own credential set. Note: the target\'s vaultdist_tls carrier admits its own certificate only from a hidden node named rpc-TAG-<node> (as the agent names it); another certificate here must name the node that uses it.', '/etc/vaultdist/foo-client.conf', null),
    extraArgs: { kind: 'stringArray', default: [], description: 'Extra erl arguments for the hidden node (e.g. `-vaultdist_epmd_ports bar=4371` for vaultdist_epmd).', example: ['-vaultdist_epmd_ports', 'bar=4371'] },
    timeoutMs: ms('How long the hidden node may take (boot, connect, reload) before it is killed.', 20000, 20000),
  },
  poll: {
    intervalMs: ms('The node\'s own poll interval (`-vaultdist_poll_ms`); the agent allows this much extra time when verifying.', 1000, 1000),
  },
  command: {
    command: { kind: 'stringArray', minItems: 1, description: 'argv of the reload command (no shell). Env VAULTDIST_NODE, VAULTDIST_DIR and VAULTDIST_SERIAL are set.', example: ['/opt/app/bin/app', 'rpc', 'vaultdist_reload:reload()'] },
    timeoutMs: ms('Kill the command (SIGTERM, then SIGKILL) after this long.', 30000, 30000),
  },
};

const NODE_FIELDS: Record<string, Field> = {
  name: { kind: 'string', description: 'Erlang node name `name@host`; the certificate carries DNS:<host> and the URI erlang://name@host.', example: 'foo@127.0.0.1' },
  dir: absPath('Output directory: `bundle.pem` (key + leaf + chain, 0600) and `ca.pem` via an atomic `current` symlink swap.', '/var/lib/vaultdist/foo'),
  mount: { kind: 'string', description: 'Vault PKI mount path.', example: 'pki_int' },
  role: { kind: 'string', description: 'Vault PKI role.', example: 'vaultdist-node' },
  ttl: { kind: 'string', default: null, pattern: { re: DURATION_PATTERN, message: `must be ${DURATION_FORMS}` }, description: 'Requested certificate TTL; null uses the role\'s default.', example: '24h' },
  keyType: { kind: 'string', enum: KEY_TYPE_NAMES, default: 'ec-p256', description: 'Key generated on this host for the CSR (the key never leaves the host).', example: 'ec-p256' },
  mode: { kind: 'string', enum: ['sign', 'issue'], default: 'sign', description: '`sign`: local key + CSR (pki/sign); `issue`: Vault generates the key (pki/issue).', example: 'sign' },
  keepPrevious: { kind: 'number', integer: true, min: 0, max: 10, default: 1, description: 'Previous credential sets kept under `<dir>/.sets` for diagnosis.', example: 1 },
  owner: {
    kind: 'object',
    nullable: true,
    fields: {
      uid: { kind: 'number', integer: true, min: 0, description: 'Owner uid.', example: 999 },
      gid: { kind: 'number', integer: true, min: 0, description: 'Owner gid.', example: 999 },
    },
    description: 'chown the written files to this uid/gid (an agent running as root writing for the node user); null keeps the agent\'s.',
    example: { uid: 999, gid: 999 },
  },
  trust: {
    kind: 'object',
    fields: {
      extraCaFiles: {
        kind: 'stringArray',
        absolutePath: true,
        default: [],
        description: 'PEM files whose CA certificates are kept in `ca.pem` next to Vault\'s issuing CA and its root, and accepted as the issuing CA of a renewal. The CA-rotation step (the only way a new issuing CA is adopted: trust pinning): list the old and the new issuing CA here on every node, switch Vault, then remove the old one; the agent reloads the node whenever the bundle changes.',
        example: ['/etc/vaultdist/old-root.pem'],
      },
    },
    description: 'Trust anchors written to `ca.pem`.',
    example: { extraCaFiles: [] },
  },
  auth: authField(true, 'Per-node Vault auth; null uses `vault.auth`.'),
  reload: {
    kind: 'union',
    tag: 'strategy',
    variants: RELOAD_VARIANTS,
    description: 'How the node is made to use a new set: `signal` (SIGHUP to a node running vaultdist\'s handler), `rpc` (hidden TLS node calls vaultdist_reload:reload()), `poll` (the node watches its files; the agent only verifies), `command` (your command).',
    example: { strategy: 'rpc', cookieFile: '/var/lib/app/.erlang.cookie' },
  },
  verify: {
    kind: 'object',
    fields: {
      enabled: { kind: 'boolean', default: true, description: 'Handshake with the node\'s distribution port after every swap and require the new serial.', example: true },
      host: { kind: 'string', default: null, description: 'Address to connect to; null uses the host part of the node name.', example: '127.0.0.1' },
      port: { kind: 'number', integer: true, min: 1, max: 65535, default: null, description: 'The node\'s distribution port. Required when verification is enabled (or for `rpc` without `reload.port`).', example: 4370 },
      deadlineMs: ms('Keep probing until the new serial is served or this much time has passed (poll: added to the poll interval).', 10000, 10000),
      retryIntervalMs: ms('Pause between probes.', 200, 200),
      probeTimeoutMs: ms('Timeout of one TLS handshake.', 3000, 3000),
    },
    description: 'Post-swap verification.',
    example: { port: 4370 },
  },
  crl: {
    kind: 'object',
    fields: {
      enabled: {
        kind: 'boolean',
        default: false,
        description: 'Keep the node\'s CRL directory fresh (the optfile has `{crl_check, peer}` + `ssl_crl_hash_dir`, as `vaultdist init node --crl` writes). Fail-closed: with a missing or stale CRL the node refuses EVERY peer, so keep the agent running.',
        example: true,
      },
      dir: absPath('The hash directory the optfile\'s `crl_cache` points at; null uses `<dir>/crl`. Replaced atomically (a symlink swap); a failed refresh never removes the old CRLs.', '/var/lib/vaultdist/foo/crl', null),
      mounts: { kind: 'stringArray', default: [], description: 'PKI mounts whose CRLs are written (e.g. both mounts during a CA rotation); empty uses the node\'s `mount`. Each CRL must be signed by a CA in `ca.pem` or the bundle\'s chain.', example: ['pki_dist'] },
      refreshIntervalSeconds: { kind: 'number', integer: true, min: 1, default: 300, description: 'Refresh at least this often, so a revocation reaches the node within this time (OTP reads the directory on every handshake; no reload needed).', example: 300 },
      refreshAtFraction: { kind: 'number', min: 0.05, max: 0.9, default: 0.5, description: 'Refresh no later than thisUpdate + (nextUpdate − thisUpdate) × this fraction, well before the CRL goes stale.', example: 0.5 },
      warnRemainingFraction: { kind: 'number', min: 0, max: 1, exclusiveMin: true, default: 0.25, description: 'Warn (log level, health reason) when less than this fraction of the CRL\'s validity is left; below a tenth, or when stale, the node is not ready.', example: 0.25 },
    },
    description: 'CRL checking for distribution: the agent fetches the PKI mount\'s CRL and writes the hash directory OTP reads.',
    example: { enabled: true },
  },
  registry: {
    kind: 'object',
    fields: {
      enabled: { kind: 'boolean', default: true, description: 'Register this node when the top-level `registry.enabled` is true (false: only this node stays out).', example: true },
      port: { kind: 'number', integer: true, min: 1, max: 65535, default: null, description: 'The distribution port to register when the node has no port file; null falls back to `verify.port`.', example: 4370 },
      portFile: absPath('The file vaultdist_epmd writes the real listen port to (`-vaultdist_epmd_port_file`; needed for a dynamic port); null uses `<dir>/dist.port`. It wins over `port` when present.', '/var/lib/vaultdist/foo/dist.port', null),
      peersFile: absPath('The last-known members file for `-vaultdist_epmd_peers_file` / vaultdist_cluster; null uses `<dir>/peers`. Replaced atomically; kept (marked stale) through a Vault outage.', '/var/lib/vaultdist/foo/peers', null),
      host: { kind: 'string', default: null, pattern: { re: /^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/, message: 'must be a DNS name or an IPv4 address' }, description: 'The address peers dial (a DNS name or IPv4 address); null lets the registry use the node name\'s host.', example: '10.0.0.5' },
    },
    description: 'Registration in the vaultdist registry plugin (only with the top-level `registry.enabled`). The node is registered once it serves its certificate on the port (a TLS handshake), its lease renewed, and it is deregistered when the agent stops cleanly.',
    example: { portFile: '/var/lib/vaultdist/foo/dist.port' },
  },
};

/** The whole schema: the root object's fields. */
export const CONFIG_SCHEMA: Record<string, Field> = {
  vault: {
    kind: 'object',
    fields: {
      address: { kind: 'string', default: 'https://127.0.0.1:8200', pattern: { re: /^https?:\/\/[^\s]+$/, message: 'must be an http(s):// URL' }, description: 'Vault/OpenBao address. Env: BAO_ADDR / VAULT_ADDR.', example: 'https://vault.example:8200' },
      caCert: absPath('PEM CA bundle to verify Vault\'s TLS certificate. Env: BAO_CACERT / VAULT_CACERT.', '/etc/vaultdist/vault-ca.pem', null),
      namespace: { kind: 'string', default: null, description: 'Vault namespace. Env: BAO_NAMESPACE / VAULT_NAMESPACE.', example: 'team-a' },
      tlsServerName: { kind: 'string', default: null, description: 'Expected server name of Vault\'s certificate. Env: BAO_TLS_SERVER_NAME.', example: 'vault.example' },
      skipVerify: { kind: 'boolean', default: false, description: 'Disable TLS verification of Vault (never in production). Env: BAO_SKIP_VERIFY, parsed strictly.', example: false },
      requestTimeoutMs: ms('Timeout of one Vault request attempt: a frozen server (SIGSTOP, a hung balancer) costs at most this before the next address is tried (issue #14).', 10000, 10000),
      auth: authField(false, 'How the agent logs in to Vault (default for every node).'),
    },
    description: 'Connection to Vault/OpenBao.',
    example: { address: 'https://vault.example:8200', auth: { method: 'token', tokenFile: '/etc/vaultdist/token' } },
  },
  schedule: {
    kind: 'object',
    fields: {
      renewAtFraction: { kind: 'number', min: 0.1, max: 0.95, default: 0.55, description: 'Renew at notBefore + lifetime × this fraction (before jitter). The default with its ±0.12 jitter renews between 43 % and 67 % of the lifetime (at the latest at ~2/3, like Vault Agent and step), so at least 1/3 of the lifetime is left to ride out a Vault outage (bench/fleet.ts: 0 of 10 000 certificates expire in a TTL/3 outage; 309 did with 2/3 ± 0.1).', example: 0.55 },
      jitterFraction: { kind: 'number', min: 0, max: 0.5, default: 0.12, description: 'Random spread of the renewal point, ± this fraction of the lifetime (nodes with equal certificates do not renew in lockstep).', example: 0.1 },
      minRemainingSeconds: { kind: 'number', integer: true, min: 0, default: 60, description: 'Renewal never lands later than notAfter − this margin (the must-renew deadline); backoff never sleeps past it.', example: 300 },
      warnRemainingFraction: { kind: 'number', min: 0, max: 1, exclusiveMin: true, default: 0.25, description: 'Escalate to `warn` (log level, metric, health) when less than this fraction of the lifetime is left and renewal has not succeeded.', example: 0.25 },
      criticalRemainingFraction: { kind: 'number', min: 0, max: 1, exclusiveMin: true, default: 0.1, description: 'Escalate to `critical` (error logs, health not ready) below this fraction.', example: 0.1 },
      onRenewError: { kind: 'string', enum: ['retry', 'exit'], default: 'retry', description: '`retry` with backoff, or `exit` the agent on the first failure (only meaningful with a supervisor).', example: 'retry' },
      backoff: {
        kind: 'object',
        fields: {
          initialMs: ms('First retry delay; doubles on every consecutive failure.', 1000, 1000),
          maxMs: ms('Cap of the retry delay.', 300000, 300000),
          jitterFraction: { kind: 'number', min: 0, max: 1, default: 0.5, description: 'Each delay is cut by a random 0..this fraction (1 = full jitter), the first retry included (within [initialMs × (1 − min(this, 0.5)), initialMs]). At ≤ 0.5 consecutive delays never shrink before the cap.', example: 0.5 },
        },
        description: 'Capped exponential backoff after a failed renewal, reset on success.',
        example: { initialMs: 1000, maxMs: 300000 },
      },
      startupSpreadMs: { kind: 'number', integer: true, min: 0, default: 3000, description: 'With several nodes, each node waits a random 0..this many ms before its first Vault call at start-up (and after a config reload), so a host restart does not hit Vault in one burst. 0 turns it off; a single node never waits.', example: 3000 },
      vaultProbeIntervalMs: { kind: 'number', integer: true, min: 0, default: 2000, description: 'While loops back off because Vault did not answer (or was sealed/unavailable), probe `sys/health` this often (one probe for the whole agent) and retry within a second of Vault answering again instead of waiting out the backoff. 0 turns it off.', example: 2000 },
    },
    description: 'When to renew and how to retry.',
    example: { renewAtFraction: 0.55, jitterFraction: 0.12 },
  },
  health: {
    kind: 'object',
    fields: {
      enabled: { kind: 'boolean', default: true, description: 'Serve `/healthz`, `/livez`, `/readyz` and `/metrics`.', example: true },
      host: { kind: 'string', default: '127.0.0.1', description: 'Bind address (loopback by default). Env: VAULTDIST_HEALTH_LISTEN=host:port.', example: '127.0.0.1' },
      port: { kind: 'number', integer: true, min: 0, max: 65535, default: 9469, description: 'Port (0 picks a free one, logged at start).', example: 9469 },
    },
    description: 'Health and Prometheus metrics HTTP server.',
    example: { host: '127.0.0.1', port: 9469 },
  },
  registry: {
    kind: 'object',
    fields: {
      enabled: { kind: 'boolean', default: false, description: 'Register the nodes in the vaultdist registry plugin and keep each node\'s peers file (epmd-less discovery, issue #13).', example: true },
      mount: { kind: 'string', default: 'vaultdist', pattern: { re: /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, message: 'must be a Vault mount path' }, description: 'Mount path of the registry plugin.', example: 'vaultdist' },
      cluster: { kind: 'string', default: 'default', pattern: { re: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, message: 'must be 1-63 characters of letters, digits, "_", "." or "-"' }, description: 'The cluster the nodes register in (configured by the operator: `<mount>/clusters/<cluster>`).', example: 'prod' },
      refreshIntervalSeconds: { kind: 'number', integer: true, min: 1, default: 10, description: 'Read the members this often and rewrite the peers files when they changed: a node that left (deregistered, evicted, its token revoked) is gone from the peers files within this time.', example: 10 },
      renewAtFraction: { kind: 'number', min: 0.1, max: 0.9, default: 0.5, description: 'Renew a registration\'s lease after this fraction of its duration (a failed renewal is retried until the lease ends, then the node registers again).', example: 0.5 },
    },
    description: 'The vaultdist registry plugin: nodes register `name@host → port`, the agent writes the live members to each node\'s peers file.',
    example: { enabled: true, cluster: 'prod' },
  },
  log: {
    kind: 'object',
    fields: { level: { kind: 'string', enum: LOG_LEVELS, default: 'info', description: 'pino log level. Env: VAULTDIST_LOG_LEVEL.', example: 'info' } },
    description: 'JSON logs on stdout.',
    example: { level: 'info' },
  },
  shutdownTimeoutMs: ms('After SIGTERM/SIGINT, exit 1 if tasks have not stopped within this time.', 10000, 10000),
  nodes: {
    kind: 'array',
    minItems: 1,
    items: { kind: 'object', fields: NODE_FIELDS, description: 'One BEAM node on this host.', example: {} },
    description: 'The BEAM nodes on this host.',
    example: [{ name: 'foo@127.0.0.1', dir: '/var/lib/vaultdist/foo', mount: 'pki_int', role: 'vaultdist-node', reload: { strategy: 'signal', pidFile: '/run/vaultdist/foo.pid', handlerInstalled: true }, verify: { port: 4370 } }],
  },
};

// ---------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------

export interface ConfigValidation {
  /** Present when there are no errors. */
  config: AgentConfig | undefined;
  /** `path: message` strings. */
  errors: string[];
  warnings: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const keyPath = (base: string, key: string) => (base ? `${base}.${key}` : key);
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

function unknownKeyMessage(key: string, known: string[]): string {
  const near = known.filter((k) => levenshtein(k.toLowerCase(), key.toLowerCase()) <= 2);
  return `unknown key${near.length ? ` (did you mean ${near.map((n) => JSON.stringify(n)).join(' or ')}?)` : ''}`;
}

function checkFields(fields: Record<string, Field>, input: Record<string, unknown>, path: string, errors: string[], exclude: string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = Object.keys(fields);
  for (const k of Object.keys(input)) {
    if (!known.includes(k) && !exclude.includes(k)) errors.push(`${keyPath(path, k)}: ${unknownKeyMessage(k, [...known, ...exclude])}`);
  }
  for (const [k, f] of Object.entries(fields)) out[k] = checkField(f, input[k], keyPath(path, k), errors);
  return out;
}

function checkField(f: Field, raw: unknown, path: string, errors: string[]): unknown {
  const missing = raw === undefined || raw === null;
  switch (f.kind) {
    case 'string': {
      if (missing) {
        if (f.default !== undefined) return f.default;
        errors.push(`${path}: is required (e.g. ${JSON.stringify(f.example)})`);
        return undefined;
      }
      if (typeof raw !== 'string') return void errors.push(`${path}: must be a string, got ${show(raw)}`);
      if (raw.length === 0) return void errors.push(`${path}: must not be empty`);
      if (f.enum && !f.enum.includes(raw)) return void errors.push(`${path}: must be one of ${f.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(raw)}`);
      if (f.pattern && !f.pattern.re.test(raw)) return void errors.push(`${path}: ${f.pattern.message}, got ${JSON.stringify(raw)}`);
      if (f.absolutePath && !raw.startsWith('/')) return void errors.push(`${path}: must be an absolute path, got ${JSON.stringify(raw)}`);
      return raw;
    }
    case 'number': {
      if (missing) {
        if (f.default !== undefined) return f.default;
        errors.push(`${path}: is required (e.g. ${JSON.stringify(f.example)})`);
        return undefined;
      }
      if (typeof raw !== 'number' || !Number.isFinite(raw)) return void errors.push(`${path}: must be a number, got ${show(raw)}`);
      if (f.integer && !Number.isInteger(raw)) return void errors.push(`${path}: must be an integer, got ${raw}`);
      if (f.min !== undefined && (f.exclusiveMin ? raw <= f.min : raw < f.min)) return void errors.push(`${path}: must be ${f.exclusiveMin ? '>' : '>='} ${f.min}, got ${raw}`);
      if (f.max !== undefined && raw > f.max) return void errors.push(`${path}: must be <= ${f.max}, got ${raw}`);
      return raw;
    }
    case 'boolean': {
      if (missing) {
        if (f.default !== undefined) return f.default;
        return void errors.push(`${path}: is required`);
      }
      if (typeof raw !== 'boolean') return void errors.push(`${path}: must be true or false, got ${show(raw)}`);
      return raw;
    }
    case 'stringArray': {
      if (missing) {
        if (f.default !== undefined) return [...f.default];
        return void errors.push(`${path}: is required (e.g. ${JSON.stringify(f.example)})`);
      }
      if (!Array.isArray(raw)) return void errors.push(`${path}: must be a list of strings, got ${show(raw)}`);
      if (f.minItems !== undefined && raw.length < f.minItems) return void errors.push(`${path}: needs at least ${f.minItems} item(s)`);
      raw.forEach((v, i) => {
        if (typeof v !== 'string' || v.length === 0) errors.push(`${path}[${i}]: must be a non-empty string, got ${show(v)}`);
        else if (f.enum && !f.enum.includes(v)) errors.push(`${path}[${i}]: must be one of ${f.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(v)}`);
        else if (f.absolutePath && !v.startsWith('/')) errors.push(`${path}[${i}]: must be an absolute path, got ${JSON.stringify(v)}`);
      });
      return [...raw];
    }
    case 'object': {
      if (missing) {
        if (f.nullable) return null;
        return checkFields(f.fields, {}, path, errors);
      }
      if (!isObj(raw)) return void errors.push(`${path}: must be a mapping (object), got ${show(raw)}`);
      return checkFields(f.fields, raw, path, errors);
    }
    case 'array': {
      if (missing || !Array.isArray(raw)) {
        if (missing) errors.push(`${path}: is required (a list${f.minItems ? ` with at least ${f.minItems} item(s)` : ''})`);
        else errors.push(`${path}: must be a list, got ${show(raw)}`);
        return undefined;
      }
      if (f.minItems !== undefined && raw.length < f.minItems) errors.push(`${path}: needs at least ${f.minItems} item(s)`);
      return raw.map((v, i) => checkField(f.items, v, `${path}[${i}]`, errors));
    }
    case 'union': {
      if (missing) {
        if (f.nullable) return null;
        if (f.defaultTag) return { [f.tag]: f.defaultTag, ...checkFields(f.variants[f.defaultTag]!, {}, path, errors) };
        return void errors.push(`${path}: is required (${f.tag}: ${Object.keys(f.variants).join(' | ')})`);
      }
      if (!isObj(raw)) return void errors.push(`${path}: must be a mapping (object), got ${show(raw)}`);
      const tagValue = raw[f.tag] ?? f.defaultTag;
      if (typeof tagValue !== 'string' || !(tagValue in f.variants)) {
        return void errors.push(`${path}.${f.tag}: must be one of ${Object.keys(f.variants).map((v) => JSON.stringify(v)).join(', ')}, got ${show(tagValue)}`);
      }
      return { [f.tag]: tagValue, ...checkFields(f.variants[tagValue]!, raw, path, errors, [f.tag]) };
    }
  }
}

/** Cross-field rules (changesets `rules.ts` style): each returns problems as `path: message`. */
type Rule = (c: AgentConfig, warnings: string[], o: ValidateOptions) => string[];

export interface ValidateOptions {
  /**
   * `vault.auth.token` was filled in from BAO_TOKEN/VAULT_TOKEN (by `resolveConfig`), not written in
   * the file: no "token in the config file" warning then.
   */
  tokenFromEnv?: boolean | undefined;
}

const NODE_NAME = /^[A-Za-z0-9_-]+@(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+|[0-9A-Fa-f:]+)$/;

function authRule(a: AuthConfig | null, path: string): string[] {
  if (!a) return [];
  if (a.method === 'token') {
    if (a.token && a.tokenFile) return [`${path}.tokenFile: set either token or tokenFile, not both`];
    if (!a.token && !a.tokenFile) return [`${path}.token: is required for method "token" (set token, tokenFile, or BAO_TOKEN/VAULT_TOKEN)`];
  }
  if (a.method === 'approle') {
    const out: string[] = [];
    if (!a.roleId === !a.roleIdFile) out.push(`${path}.roleId: set exactly one of roleId and roleIdFile`);
    if (!a.secretId === !a.secretIdFile) out.push(`${path}.secretId: set exactly one of secretId and secretIdFile`);
    return out;
  }
  return [];
}

const RULES: Rule[] = [
  (c) => authRule(c.vault.auth, 'vault.auth'),
  (c) => c.nodes.flatMap((n, i) => authRule(n.auth, `nodes[${i}].auth`)),
  (c) => (c.schedule.backoff.initialMs >= c.schedule.backoff.maxMs ? [`schedule.backoff.initialMs: must be less than schedule.backoff.maxMs (${c.schedule.backoff.initialMs} >= ${c.schedule.backoff.maxMs})`] : []),
  (c) => (c.schedule.criticalRemainingFraction >= c.schedule.warnRemainingFraction ? [`schedule.criticalRemainingFraction: must be less than schedule.warnRemainingFraction`] : []),
  (c) => (c.schedule.renewAtFraction + c.schedule.jitterFraction >= 1 ? [`schedule.jitterFraction: renewAtFraction + jitterFraction must stay below 1`] : []),
  // TTL floor from the schedule (#15): the earliest renewal must come at least minRemainingSeconds after
  // issuance. Backdate 0 here (the agent cannot know the role's not_before_duration): a lower bound.
  (c) =>
    c.nodes.flatMap((n, i) => {
      if (!n.ttl || !DURATION_PATTERN.test(n.ttl)) return [];
      const p = ttlFloorProblem(`nodes[${i}].ttl: ${n.ttl}`, parseDurationSeconds(n.ttl), c.schedule, { backdateSeconds: 0, minIntervalSeconds: c.schedule.minRemainingSeconds });
      return p ? [`${p} (or lower schedule.minRemainingSeconds)`] : [];
    }),
  (c) =>
    c.nodes.flatMap((n, i) => {
      const p = `nodes[${i}]`;
      const out: string[] = [];
      if (!NODE_NAME.test(n.name)) out.push(`${p}.name: must look like name@host (letters, digits, _ and - before @), got ${JSON.stringify(n.name)}`);
      // IPv6 refused up front (#15; the SDK's requireDistributableNode says the same with a suggested name)
      else if (n.name.slice(n.name.indexOf('@') + 1).includes(':')) out.push(`${p}.name: IPv6 hosts are not supported: distribution runs over IPv4, so peers could not reach ${n.name}; name the node by its IPv4 address (::1 → 127.0.0.1) or a DNS name`);
      if (n.reload.strategy === 'signal' && !n.reload.handlerInstalled) {
        out.push(`${p}.reload.handlerInstalled: must be true for strategy "signal": SIGHUP kills an OTP 25 node that does not run vaultdist's handler (-vaultdist_sighup true); use "rpc" otherwise`);
      }
      if (n.reload.strategy === 'rpc') {
        if (n.reload.port === null && n.verify.port === null) out.push(`${p}.reload.port: the rpc strategy needs the node's distribution port (set reload.port or verify.port)`);
        if (n.reload.cookie && n.reload.cookieFile) out.push(`${p}.reload.cookieFile: set either cookie or cookieFile, not both`);
      }
      n.crl.mounts.forEach((m, j) => {
        if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(m) || m.split('/').some((seg) => seg === '.' || seg === '..')) out.push(`${p}.crl.mounts[${j}]: not a Vault mount path, got ${JSON.stringify(m)}`);
      });
      // a node with a port file (vaultdist_epmd -vaultdist_epmd_port_file, set or implied by the registry) is verified on the port it reports
      const portFile = n.registry.portFile !== null || (c.registry.enabled && n.registry.enabled);
      if (n.verify.enabled && n.verify.port === null && !portFile && !(n.reload.strategy === 'rpc' && n.reload.port !== null)) {
        out.push(`${p}.verify.port: is required while verify.enabled is true (the node's distribution port; or registry.portFile for a dynamic port), or set verify.enabled: false`);
      }
      return out;
    }),
  (c) => {
    const out: string[] = [];
    const names = new Map<string, number>();
    const dirs = new Map<string, number>();
    const crlDirs = new Map<string, number>();
    c.nodes.forEach((n, i) => {
      const dir = n.dir.replace(/\/+$/, '');
      if (names.has(n.name)) out.push(`nodes[${i}].name: duplicate of nodes[${names.get(n.name)}].name (${n.name})`);
      else names.set(n.name, i);
      if (dirs.has(dir)) out.push(`nodes[${i}].dir: duplicate of nodes[${dirs.get(dir)}].dir (each node needs its own directory)`);
      else dirs.set(dir, i);
      if (n.crl.enabled) {
        const cd = (n.crl.dir ?? `${dir}/crl`).replace(/\/+$/, '');
        if (crlDirs.has(cd)) out.push(`nodes[${i}].crl.dir: duplicate of nodes[${crlDirs.get(cd)}]'s CRL directory ${cd} (two refresh loops would race on it)`);
        else crlDirs.set(cd, i);
      }
    });
    return out;
  },
  (c, warnings, o) => {
    if (c.health.enabled && !/^(127\.|::1$|localhost$)/.test(c.health.host)) warnings.push(`health.host: ${c.health.host} is not a loopback address; /metrics and /healthz will be reachable from the network`);
    if (c.vault.skipVerify) warnings.push('vault.skipVerify: TLS verification of Vault is disabled');
    if (c.vault.auth.method === 'token' && c.vault.auth.token && !o.tokenFromEnv) warnings.push('vault.auth.token: a token in the config file; prefer tokenFile or BAO_TOKEN');
    return [];
  },
];

/**
 * Validates a parsed config object (file layer already merged with env and flags) and fills defaults.
 * Every error names its key: `nodes[0].reload.pidFile: is required (e.g. "/run/vaultdist/foo.pid")`.
 */
export function validateConfig(input: unknown, o: ValidateOptions = {}): ConfigValidation {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (!isObj(input)) return { config: undefined, errors: [`(root): the config must be a mapping (object), got ${show(input)}`], warnings };
  const out = checkFields(CONFIG_SCHEMA, input, '', errors) as unknown as AgentConfig;
  if (errors.length) return { config: undefined, errors, warnings };
  for (const rule of RULES) errors.push(...rule(out, warnings, o));
  return errors.length ? { config: undefined, errors, warnings } : { config: out, errors, warnings };
}

// ---------------------------------------------------------------------------------------------------
// Documentation, JSON Schema and rendering
// ---------------------------------------------------------------------------------------------------

export interface ConfigKeyDoc {
  /** e.g. `nodes[].reload.pidFile (strategy: signal)` */
  path: string;
  type: string;
  description: string;
  default: unknown;
  example: unknown;
}

function typeName(f: Field): string {
  switch (f.kind) {
    case 'string':
      return f.enum ? f.enum.map((e) => JSON.stringify(e)).join(' | ') : 'string';
    case 'stringArray':
      return f.enum ? `(${f.enum.map((e) => JSON.stringify(e)).join(' | ')})[]` : 'string[]';
    case 'array':
      return 'list';
    case 'union':
      return `mapping by ${f.tag}`;
    case 'object':
      return f.nullable ? 'mapping | null' : 'mapping';
    default:
      return f.kind;
  }
}

const defaultOf = (f: Field): unknown => ('default' in f ? f.default : f.kind === 'object' && f.nullable ? null : f.kind === 'union' ? (f.nullable ? null : f.defaultTag ? { [f.tag]: f.defaultTag } : undefined) : undefined);

/** Every key with its type, description, default and example (for README and `--help-config`). */
export function describeConfig(): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = [];
  const walk = (fields: Record<string, Field>, base: string, note = '') => {
    for (const [k, f] of Object.entries(fields)) {
      const path = keyPath(base, k);
      out.push({ path: path + note, type: typeName(f), description: f.description, default: defaultOf(f), example: f.example });
      if (f.kind === 'object') walk(f.fields, path);
      if (f.kind === 'array' && f.items.kind === 'object') walk(f.items.fields, `${path}[]`);
      if (f.kind === 'union') for (const [tag, vf] of Object.entries(f.variants)) walk(vf, path, ` (${f.tag}: ${tag})`);
    }
  };
  walk(CONFIG_SCHEMA, '');
  return out;
}

/** A JSON Schema (draft 2020-12) for editors, generated from the same descriptors. */
export function configJsonSchema(): Record<string, unknown> {
  const conv = (f: Field): Record<string, unknown> => {
    const base: Record<string, unknown> = { description: f.description, examples: [f.example] };
    const d = defaultOf(f);
    if (d !== undefined) base.default = d;
    switch (f.kind) {
      case 'string':
        return { ...base, type: 'default' in f && f.default === null ? ['string', 'null'] : 'string', ...(f.enum ? { enum: [...f.enum] } : {}), ...(f.pattern ? { pattern: f.pattern.re.source } : {}) };
      case 'number':
        return { ...base, type: f.integer ? (f.default === null ? ['integer', 'null'] : 'integer') : 'number', ...(f.min !== undefined ? (f.exclusiveMin ? { exclusiveMinimum: f.min } : { minimum: f.min }) : {}), ...(f.max !== undefined ? { maximum: f.max } : {}) };
      case 'boolean':
        return { ...base, type: 'boolean' };
      case 'stringArray':
        return { ...base, type: 'array', items: f.enum ? { enum: [...f.enum] } : { type: 'string' }, ...(f.minItems ? { minItems: f.minItems } : {}) };
      case 'array':
        return { ...base, type: 'array', items: conv(f.items), ...(f.minItems ? { minItems: f.minItems } : {}) };
      case 'object':
        return { ...base, type: f.nullable ? ['object', 'null'] : 'object', additionalProperties: false, properties: Object.fromEntries(Object.entries(f.fields).map(([k, v]) => [k, conv(v)])) };
      case 'union':
        return {
          ...base,
          ...(f.nullable ? { type: ['object', 'null'] } : { type: 'object' }),
          oneOf: Object.entries(f.variants).map(([tag, vf]) => ({
            type: 'object',
            additionalProperties: false,
            required: [f.tag],
            properties: { [f.tag]: { const: tag }, ...Object.fromEntries(Object.entries(vf).map(([k, v]) => [k, conv(v)])) },
          })),
        };
    }
  };
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'vaultdist agent configuration', ...conv({ kind: 'object', fields: CONFIG_SCHEMA, description: 'vaultdist agent configuration', example: {} }) };
}

export const REDACTED = '[REDACTED]';

/**
 * A copy of `config` with every field the schema marks `secret: true` (`vault.auth.token`,
 * `nodes[].auth.secretId`, `nodes[].reload.cookie`, …) that holds a value replaced by `[REDACTED]`,
 * wherever the value came from (the file, or BAO_TOKEN/VAULT_TOKEN filled in by the resolver). For
 * printing (`--print-config`); `renderAgentConfig` itself renders what it is given.
 */
export function redactConfigSecrets<T extends AgentConfig | AgentConfigInput>(config: T): T {
  const walk = (f: Field, v: unknown): unknown => {
    if (v === null || v === undefined) return v;
    switch (f.kind) {
      case 'string':
        return f.secret ? REDACTED : v;
      case 'object':
        return isObj(v) ? walkFields(f.fields, v) : v;
      case 'array':
        return Array.isArray(v) ? v.map((x) => walk(f.items, x)) : v;
      case 'union': {
        if (!isObj(v)) return v;
        const variant = f.variants[String(v[f.tag] ?? f.defaultTag ?? '')];
        return variant ? walkFields(variant, v) : v;
      }
      default:
        return v;
    }
  };
  const walkFields = (fields: Record<string, Field>, v: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fields[k] ? walk(fields[k], x) : x]));
  return walkFields(CONFIG_SCHEMA, config as unknown as Record<string, unknown>) as unknown as T;
}

/**
 * Renders a config as YAML with a comment above every key (its description). The output passes
 * `validateConfig` when the input does; secrets given inline are rendered as they are (the caller
 * decides; `vaultdist init node` writes file references instead).
 */
export function renderAgentConfig(config: AgentConfig | AgentConfigInput, o: { header?: string[] } = {}): string {
  const doc = new Document(config);
  // Walks the YAML tree and the schema together, so a union's keys are described by the variant the
  // node actually selects (`auth.mount` of a cert auth is the cert mount, not AppRole's).
  const annotate = (node: YamlNode | null | undefined, f: Field | undefined) => {
    if (!f) return;
    if (isMap(node)) {
      let fields: Record<string, Field> | undefined;
      if (f.kind === 'object') fields = f.fields;
      else if (f.kind === 'union') {
        const tagValue = String((node as YAMLMap).get(f.tag) ?? f.defaultTag ?? '');
        const variant = f.variants[tagValue];
        fields = variant ? { [f.tag]: { kind: 'string', description: `One of ${Object.keys(f.variants).join(', ')}.`, example: tagValue }, ...variant } : undefined;
      }
      if (!fields) return;
      for (const pair of (node as YAMLMap).items) {
        const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
        const kf = fields[key];
        if (kf && pair.key && typeof pair.key === 'object') (pair.key as { commentBefore?: string }).commentBefore = ` ${kf.description.replace(/\n/g, ' ')}`;
        annotate(pair.value as YamlNode, kf);
      }
    } else if (isSeq(node) && f.kind === 'array') {
      node.items.forEach((item) => annotate(item as YamlNode, f.items));
    }
  };
  annotate(doc.contents as YamlNode, { kind: 'object', fields: CONFIG_SCHEMA, description: '', example: {} });
  doc.commentBefore = [' vaultdist agent configuration (validate with: vaultdist-agent --check --config FILE)', ...(o.header ?? []).map((h) => ` ${h}`)].join('\n');
  return doc.toString({ lineWidth: 0 });
}
