/**
 * The node directory `init node` writes, and the settings file (`vaultdist.json`) that lets `issue`,
 * `render`, `status` and `doctor` work from `--dir` alone.
 *
 *   DIR/vaultdist.json        settings (no secrets)
 *   DIR/bundle.pem            key + leaf + chain (0600), via DIR/current → DIR/.sets/<id> (SDK writer)
 *   DIR/ca.pem                trust anchors
 *   DIR/ssl_dist.conf         -ssl_dist_optfile
 *   DIR/vm.args               `erl -args_file DIR/vm.args`
 *   DIR/elixir/*              release snippets (env.sh.eex, vm.args.eex, remote.vm.args.eex) + iex.sh
 *   DIR/agent.yaml            renewal agent config for this node (@vaultdist/agent schema)
 *   DIR/crl                   CRL hash directory (with --crl; SDK writeCrlDir, kept fresh by the agent)
 *   DIR/erlang/*.erl, DIR/ebin companion modules (vaultdist_reload …) when the CLI ships them
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  distFlags,
  parseNodeName,
  renderOptfile,
  renderReleaseEnvSh,
  renderReleaseRemoteVmArgs,
  renderReleaseVmArgs,
  renderVmArgs,
  type NodeName,
  type TlsVersion,
} from '@vaultdist/sdk';
import {
  nodeWriterFs,
  ownDir,
  shellQuote as sdkShellQuote,
  writeFileAtomic as sdkWriteFileAtomic,
} from '@vaultdist/sdk/internal';
import type { NodeKeyType } from '@vaultdist/sdk/key-types';
import { renderAgentConfig, ttlFloorProblem, validateConfig, validateNodeSettings, CONFIG_KEYS, checkConfigValue, type AgentConfigInput } from '@vaultdist/agent/config'; // the light entry (issue #16)
import { parseDuration } from './duration.js';
import { EXIT, ExitError } from './errors.js';

export const SETTINGS_FILE = 'vaultdist.json';

export interface NodeSettings {
  version: 1;
  /** `name@host`. */
  node: string;
  /** Absolute node directory. */
  dir: string;
  vaultAddr: string;
  /** CA bundle for an HTTPS Vault (absolute), handed to the agent; null for HTTP or system trust. */
  vaultCaCert: string | null;
  mount: string;
  /** The node's own PKI role, `vaultdist-<slug>` (issue #12: it signs for this node only). */
  role: string;
  /** The role `init vault` made (`--role`), template of the node's own role: hosts, key type, TTLs. */
  baseRole: string;
  /** Prefix of the node's ACL policy name (`<prefix>-<slug>`), as `init vault --policy`. */
  policyPrefix: string;
  /** Mount of the registry plugin the node's policy grants (#13). */
  registryMount: string;
  keyType: NodeKeyType;
  ttl: string;
  distPort: number;
  listenInterface: string | undefined;
  tlsVersions: TlsVersion[];
  /** Companion modules compiled into DIR/ebin. */
  modules: string[];
  /** Cert auth mount path for the agent's renewal logins (`init vault` creates it). */
  certAuthMount: string;
  /** The node's own cert-auth role, `vaultdist-<slug>` (the agent logs in with `name=` this). */
  certAuthRole: string;
  /** Agent health endpoint (loopback). */
  healthPort: number;
  /**
   * How the agent logs in for renewals: `cert` (the node's own certificate; needs Vault over HTTPS),
   * `approle` (role_id + secret_id files in DIR/approle, 0600) or `token` (BAO_TOKEN/VAULT_TOKEN).
   */
  agentAuth: 'cert' | 'approle' | 'token';
  approleMount: string;
  /**
   * `--connect-all false`: the node starts with `-connect_all false` (no full mesh); kept across re-runs
   * (issue #14). true (the OTP default) omits the flag.
   */
  connectAll: boolean;
  /**
   * CRL checking for distribution: the optfile gets `{crl_check, peer}` + `ssl_crl_hash_dir` on
   * DIR/crl, and the agent keeps DIR/crl fresh. Fail-closed: an empty or stale DIR/crl refuses every peer.
   */
  crl: boolean;
  /**
   * `--owner`: uid/gid that own the credential set and the files the node reads; written into
   * agent.yaml (`nodes[].owner`) so the agent's renewals keep it. null: whoever runs the command.
   */
  owner: { uid: number; gid: number } | null;
}

export async function readSettings(dir: string): Promise<NodeSettings | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, SETTINGS_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ExitError(EXIT.CONFIG, `${join(dir, SETTINGS_FILE)}: ${(e as Error).message}`);
  }
  try {
    // one schema with the agent config (issue #16): defaults of older files, legacy `role`, `path: message` errors
    const { settings: s, errors } = validateNodeSettings(JSON.parse(text));
    if (!s) throw new Error(errors.join('; '));
    parseNodeName(s.node);
    return { ...s, listenInterface: s.listenInterface, dir };
  } catch (e) {
    throw new ExitError(EXIT.CONFIG, `${join(dir, SETTINGS_FILE)}: ${(e as Error).message}`, { hint: 'run `vaultdist init node` again for this directory' });
  }
}

export async function requireSettings(dir: string): Promise<NodeSettings> {
  const s = await readSettings(dir);
  if (!s) throw new ExitError(EXIT.CONFIG, `${dir} has no ${SETTINGS_FILE}`, { hint: `run \`vaultdist init node --name NAME@HOST --dir ${dir}\` first` });
  return s;
}

export const paths = (dir: string) => ({
  settings: join(dir, SETTINGS_FILE),
  bundle: join(dir, 'bundle.pem'),
  ca: join(dir, 'ca.pem'),
  optfile: join(dir, 'ssl_dist.conf'),
  vmArgs: join(dir, 'vm.args'),
  ebin: join(dir, 'ebin'),
  erlangSrc: join(dir, 'erlang'),
  // DIR/run is the node user's with --owner (DIR is root's): the node writes its pid file there
  pidfile: join(dir, 'run', 'beam.pid'),
  agentConfig: join(dir, 'agent.yaml'),
  crlDir: join(dir, 'crl'),
  roleIdFile: join(dir, 'approle', 'role-id'),
  secretIdFile: join(dir, 'approle', 'secret-id'),
  elixirEnv: join(dir, 'elixir', 'env.sh.eex'),
  elixirVmArgs: join(dir, 'elixir', 'vm.args.eex'),
  elixirRemoteVmArgs: join(dir, 'elixir', 'remote.vm.args.eex'),
  iex: join(dir, 'elixir', 'iex.sh'),
});

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./{}-]+$/.test(s) ? s : sdkShellQuote(s);
}

function nodeOf(s: NodeSettings): NodeName {
  return parseNodeName(s.node);
}

function epmdModule(s: NodeSettings): string | undefined {
  return s.modules.includes('vaultdist_epmd') ? 'vaultdist_epmd' : undefined;
}

/** Boot flags for the companion reload module (SIGHUP handler + pidfile), when it is installed. */
function reloadFlags(s: NodeSettings): string[] {
  if (!s.modules.includes('vaultdist_reload')) return [];
  return ['-s', 'vaultdist_reload', 'start', '-vaultdist_sighup', 'true', '-vaultdist_pidfile', paths(s.dir).pidfile];
}

function flagsFor(s: NodeSettings, extra: { noListen?: boolean } = {}): string[] {
  const p = paths(s.dir);
  return distFlags({
    optfile: p.optfile,
    distPort: s.distPort,
    listenInterface: extra.noListen ? undefined : s.listenInterface,
    epmdModule: epmdModule(s),
    // always: -proto_dist vaultdist_tls needs the carrier from DIR/ebin (no module, no boot: fail closed)
    codePaths: [p.ebin],
    noListen: extra.noListen,
    connectAllFalse: s.connectAll === false,
  });
}

export function renderSslDistConf(s: NodeSettings): string {
  const p = paths(s.dir);
  return renderOptfile({
    bundleFile: p.bundle,
    caFile: p.ca,
    versions: s.tlsVersions,
    ...(s.crl ? { crl: { check: 'peer' as const, crlDir: p.crlDir } } : {}),
    comment: [`node ${s.node}`, ...(s.crl ? ['CRL checking: peers are checked against DIR/crl (kept fresh by the agent; empty or stale = every peer refused)'] : [])],
  });
}

export function renderNodeVmArgs(s: NodeSettings): string {
  const p = paths(s.dir);
  let text = renderVmArgs({
    node: nodeOf(s),
    optfile: p.optfile,
    distPort: s.distPort,
    listenInterface: s.listenInterface,
    epmdModule: epmdModule(s),
    codePaths: [p.ebin],
    connectAllFalse: s.connectAll === false,
  });
  const rf = reloadFlags(s);
  if (rf.length) {
    text += `## certificate reload: SIGHUP handler + pidfile (the agent signals the beam pid after a renewal)\n`;
    text += `-vaultdist_sighup true\n-vaultdist_pidfile ${p.pidfile}\n-s vaultdist_reload start\n`;
  }
  return `${text}## start with: erl -args_file ${p.vmArgs}   (cookie: ~/.erlang.cookie, or add -setcookie on the command line)\n`;
}

/** The dist flags as one `--erl "…"` string for `iex`/`elixir` (every word is flag-safe). */
export function erlFlagString(s: NodeSettings, o: { noListen?: boolean } = {}): string {
  return [...flagsFor(s, o), ...(o.noListen ? [] : reloadFlags(s))].join(' ');
}

export function renderIex(s: NodeSettings): string {
  const n = nodeOf(s);
  const nameFlag = n.mode === 'long' ? '--name' : '--sname';
  return [
    '#!/bin/sh',
    `# Interactive Elixir node ${s.node} with mutual-TLS distribution (generated by vaultdist).`,
    `exec iex ${nameFlag} ${shellQuote(n.full)} --erl ${shellQuote(erlFlagString(s))} "$@"`,
    '',
  ].join('\n');
}

/**
 * rel/env.sh.eex (SDK renderer: path/port-dependent flags through ELIXIR_ERL_OPTIONS, since vm.args does
 * not expand ${VAR}), plus the boot flags of the companion modules for `start`/`daemon`.
 */
export function renderElixirEnv(s: NodeSettings): string {
  const p = paths(s.dir);
  let text = renderReleaseEnvSh({ optfile: p.optfile, distPort: s.distPort, node: nodeOf(s), codePaths: [p.ebin] });
  const boot = reloadFlags(s);
  if (boot.length) {
    text += [
      '# companion modules (vaultdist_reload: SIGHUP reload + pidfile for the agent), only for the node itself',
      'case "${RELEASE_COMMAND:-}" in',
      `  start*|daemon*) ELIXIR_ERL_OPTIONS="\${ELIXIR_ERL_OPTIONS} ${boot.join(' ')}" ; export ELIXIR_ERL_OPTIONS ;;`,
      'esac',
      '',
    ].join('\n');
  }
  return text;
}

/** rel/vm.args.eex (SDK renderer): static flags only. */
export function renderElixirVmArgs(s: NodeSettings): string {
  return renderReleaseVmArgs({ epmdModule: epmdModule(s), listenInterface: s.listenInterface, connectAllFalse: s.connectAll === false });
}

/** rel/remote.vm.args.eex (SDK renderer): remote/rpc shells connect over TLS and never listen. */
export function renderElixirRemoteVmArgs(s: NodeSettings): string {
  return renderReleaseRemoteVmArgs({ epmdModule: epmdModule(s) });
}

/**
 * Agent config for this node, rendered and validated by @vaultdist/agent (one schema, house style §12).
 * Renewals log in with the node's own certificate (cert auth that `init vault` sets up); the reload
 * uses the SIGHUP handler when the companion vaultdist_reload module is installed, else the agent only
 * verifies (poll strategy: the node must run `vaultdist_reload:start_poller/2` itself).
 */
export function agentConfigInput(s: NodeSettings): AgentConfigInput {
  const p = paths(s.dir);
  const n = nodeOf(s);
  return {
    vault: {
      address: s.vaultAddr,
      caCert: s.vaultCaCert,
      auth:
        s.agentAuth === 'cert'
          ? { method: 'cert', mount: s.certAuthMount, name: s.certAuthRole, certFile: p.bundle, keyFile: p.bundle }
          : s.agentAuth === 'approle'
            ? { method: 'approle', mount: s.approleMount, roleIdFile: p.roleIdFile, secretIdFile: p.secretIdFile }
            : { method: 'token' },
    },
    health: { enabled: true, host: '127.0.0.1', port: s.healthPort },
    nodes: [
      {
        name: s.node,
        dir: s.dir,
        mount: s.mount,
        role: s.role,
        ttl: s.ttl || null,
        keyType: s.keyType,
        ...(s.owner ? { owner: { uid: s.owner.uid, gid: s.owner.gid } } : {}),
        reload: s.modules.includes('vaultdist_reload') ? { strategy: 'signal', pidFile: p.pidfile, signal: 'SIGHUP', handlerInstalled: true } : { strategy: 'poll' },
        verify: { enabled: true, host: s.listenInterface ?? n.host, port: s.distPort },
        ...(s.crl ? { crl: { enabled: true, dir: p.crlDir } } : {}),
      },
    ],
  };
}

export function renderNodeAgentConfig(s: NodeSettings): string {
  const input = agentConfigInput(s);
  const v = validateConfig(input);
  // Token auth: the token comes from BAO_TOKEN/VAULT_TOKEN where the agent runs; it is never written here.
  v.errors = v.errors.filter((e) => !(s.agentAuth === 'token' && /^vault\.auth\.token: is required/.test(e)));
  if (v.errors.length) throw new ExitError(EXIT.CONFIG, `generated agent config for ${s.node} is invalid: ${v.errors.join('; ')}`);
  return renderAgentConfig(input, { header: [`node ${s.node} (generated by vaultdist init node)`] });
}

/** Every generated text file by short name (what `vaultdist render` prints). */
export function renderAll(s: NodeSettings): Record<string, { path: string; text: string; mode: number }> {
  const p = paths(s.dir);
  return {
    'ssl_dist.conf': { path: p.optfile, text: renderSslDistConf(s), mode: 0o644 },
    'vm.args': { path: p.vmArgs, text: renderNodeVmArgs(s), mode: 0o644 },
    'env.sh.eex': { path: p.elixirEnv, text: renderElixirEnv(s), mode: 0o644 },
    'vm.args.eex': { path: p.elixirVmArgs, text: renderElixirVmArgs(s), mode: 0o644 },
    'remote.vm.args.eex': { path: p.elixirRemoteVmArgs, text: renderElixirRemoteVmArgs(s), mode: 0o644 },
    'iex.sh': { path: p.iex, text: renderIex(s), mode: 0o755 },
    'agent.yaml': { path: p.agentConfig, text: renderNodeAgentConfig(s), mode: 0o600 },
    'vaultdist.json': { path: p.settings, text: `${JSON.stringify({ ...s }, null, 2)}\n`, mode: 0o644 },
  };
}

/**
 * Characters a node directory may contain (issue #15). DIR is written into vm.args (erlexec reads
 * quotes, `#` and whitespace there), into env.sh.eex inside double quotes (`"`, `$`, backtick and `\`
 * would be shell), into EEx templates (`<%`) and into shell snippets; an allowlist keeps every one of
 * them a plain word.
 */
const NODE_DIR_CHARS = /^[A-Za-z0-9._@+=,:~/-]+$/;

/**
 * `--dir` check, run before anything is issued or written: an absolute path of letters, digits and
 * `. _ @ + = , : ~ / -` only. Throws a usage error naming `--dir` and the characters refused.
 */
export function checkNodeDir(dir: string): void {
  if (NODE_DIR_CHARS.test(dir)) return;
  const bad = [...new Set([...dir].filter((c) => !NODE_DIR_CHARS.test(c)))].map((c) => (/\s/.test(c) ? JSON.stringify(c) : c)).join(' ');
  throw new ExitError(EXIT.USAGE, `--dir ${JSON.stringify(dir)}: the characters ${bad} cannot be written safely into vm.args, env.sh.eex and the shell snippets`, {
    hint: 'use a directory path of letters, digits and . _ @ + = , : ~ / - only, e.g. /var/lib/vaultdist/app',
  });
}

/**
 * `--ttl` of `init node` / `issue`: a usage error below the floor the agent's renewal schedule can
 * serve (agent `ttlFloorSeconds` with its default schedule and Vault's default 30 s backdate: 3m),
 * before anything is issued (issue #15). Undefined (the role's default TTL) passes.
 */
/**
 * Option values checked with the agent config's own key schemas (issue #16: one rule and one message
 * for a port, TTL or mount wherever it is written): `--dist-port: must be <= 65535, got 70000`.
 * Absent options (undefined) are skipped.
 */
export function checkOptionValues(values: [flag: string, key: keyof typeof CONFIG_KEYS, value: unknown][]): void {
  for (const [flag, key, value] of values) {
    if (value === undefined) continue;
    const problem = checkConfigValue(CONFIG_KEYS[key], value);
    if (problem) throw new ExitError(EXIT.USAGE, `${flag}: ${problem}`);
  }
}

export function checkTtlFlag(ttl: string | undefined): void {
  if (ttl === undefined || ttl === '') return;
  const problem = ttlFloorProblem(`--ttl ${ttl}`, parseDuration('--ttl', ttl));
  if (problem) throw new ExitError(EXIT.USAGE, problem, { hint: 'short-lived certificates need a TTL the agent can renew without reloading the node every few seconds' });
}

/**
 * Makes `path` a real directory with exactly `mode` (umask-independent, via fchmod on an O_NOFOLLOW
 * descriptor). A planted symlink is refused with a write error naming it, never followed; as root a
 * directory another user owns is taken back (root must not later write into it). Issue #15.
 */
export async function ensureDir(path: string, mode: number, o: { reclaim?: boolean } = {}): Promise<void> {
  try {
    await ownDir(nodeWriterFs, path, mode, o);
  } catch (e) {
    throw new ExitError(EXIT.WRITE, (e as Error).message, { cause: e });
  }
}

/**
 * Writes one file atomically through the SDK's writer (`writeFileAtomic`, house style §10): skipped
 * when bytes and mode are unchanged; a symlinked parent (`DIR/elixir` → elsewhere) is refused, never
 * followed (issue #15). Returns whether it wrote; a failure is exit 14 naming the path.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, mode: number): Promise<boolean> {
  try {
    return await sdkWriteFileAtomic(path, data, mode);
  } catch (e) {
    throw new ExitError(EXIT.WRITE, (e as Error).message, { cause: e });
  }
}
