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
 *   DIR/erlang/*.erl, DIR/ebin companion modules (vaultdist_reload …) when the CLI ships them
 */
import { constants as C } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { distFlags, parseNodeName, renderOptfile, renderVmArgs, type NodeName, type TlsVersion } from '@vaultdist/sdk';
import { renderAgentConfig, validateConfig, type AgentConfigInput } from '@vaultdist/agent';
import { EXIT, ExitError } from './errors.js';

export const SETTINGS_FILE = 'vaultdist.json';

export interface NodeSettings {
  version: 1;
  /** `name@host`. */
  node: string;
  /** Absolute node directory. */
  dir: string;
  vaultAddr: string;
  mount: string;
  role: string;
  keyType: 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072';
  ttl: string;
  distPort: number;
  listenInterface: string | undefined;
  tlsVersions: TlsVersion[];
  /** Companion modules compiled into DIR/ebin. */
  modules: string[];
  /** Cert auth mount path for the agent's renewal logins (`init vault` creates it). */
  certAuthMount: string;
  certAuthRole: string;
  /** Agent health endpoint (loopback). */
  healthPort: number;
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
    const s = JSON.parse(text) as NodeSettings;
    if (s.version !== 1 || typeof s.node !== 'string') throw new Error('not a vaultdist node settings file (version 1)');
    parseNodeName(s.node);
    return { ...s, dir };
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
  pidfile: join(dir, 'beam.pid'),
  agentConfig: join(dir, 'agent.yaml'),
  elixirEnv: join(dir, 'elixir', 'env.sh.eex'),
  elixirVmArgs: join(dir, 'elixir', 'vm.args.eex'),
  elixirRemoteVmArgs: join(dir, 'elixir', 'remote.vm.args.eex'),
  iex: join(dir, 'elixir', 'iex.sh'),
});

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./{}-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
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
    codePaths: s.modules.length ? [p.ebin] : [],
    noListen: extra.noListen,
  });
}

export function renderSslDistConf(s: NodeSettings): string {
  const p = paths(s.dir);
  return renderOptfile({ bundleFile: p.bundle, caFile: p.ca, versions: s.tlsVersions, comment: [`node ${s.node}`] });
}

export function renderNodeVmArgs(s: NodeSettings): string {
  const p = paths(s.dir);
  let text = renderVmArgs({
    node: nodeOf(s),
    optfile: p.optfile,
    distPort: s.distPort,
    listenInterface: s.listenInterface,
    epmdModule: epmdModule(s),
    codePaths: s.modules.length ? [p.ebin] : [],
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

/** rel/env.sh.eex: path/port-dependent flags go through ELIXIR_ERL_OPTIONS (vm.args does not expand ${VAR}). */
export function renderElixirEnv(s: NodeSettings): string {
  const n = nodeOf(s);
  const p = paths(s.dir);
  const codePath = s.modules.length ? ` -pa $VAULTDIST_DIR/ebin` : '';
  const epmd = epmdModule(s) ? ` -epmd_module ${epmdModule(s)}` : '';
  const reload = s.modules.includes('vaultdist_reload') ? ` -s vaultdist_reload start -vaultdist_sighup true -vaultdist_pidfile $VAULTDIST_DIR/beam.pid` : '';
  return [
    '#!/bin/sh',
    '# rel/env.sh.eex generated by vaultdist: mutual-TLS distribution without epmd.',
    '# ${VAR} is NOT expanded inside vm.args by OTP 25, so paths and ports go through ELIXIR_ERL_OPTIONS here.',
    `export RELEASE_DISTRIBUTION=${n.mode === 'long' ? 'name' : 'sname'}`,
    `export RELEASE_NODE=\${RELEASE_NODE:-${n.full}}`,
    `VAULTDIST_DIR=\${VAULTDIST_DIR:-${p.vmArgs.slice(0, -'/vm.args'.length)}}`,
    `VAULTDIST_DIST_PORT=\${VAULTDIST_DIST_PORT:-${s.distPort}}`,
    `DIST_FLAGS="-ssl_dist_optfile $VAULTDIST_DIR/ssl_dist.conf -erl_epmd_port $VAULTDIST_DIST_PORT${epmd}${codePath}"`,
    'case $RELEASE_COMMAND in',
    `  start*|daemon*) export ELIXIR_ERL_OPTIONS="$ELIXIR_ERL_OPTIONS $DIST_FLAGS${reload}" ;;`,
    '  *)              export ELIXIR_ERL_OPTIONS="$ELIXIR_ERL_OPTIONS $DIST_FLAGS -dist_listen false" ;;',
    'esac',
    '',
  ].join('\n');
}

export function renderElixirVmArgs(s: NodeSettings): string {
  const iface = s.listenInterface ? `-kernel inet_dist_use_interface {${s.listenInterface.split('.').join(',')}}\n` : '';
  return `## rel/vm.args.eex generated by vaultdist (static flags; paths/ports are in env.sh.eex)\n-proto_dist inet_tls\n-start_epmd false\n${iface}`;
}

export function renderElixirRemoteVmArgs(): string {
  return '## rel/remote.vm.args.eex generated by vaultdist (remote/rpc shells need the TLS flags too)\n-proto_dist inet_tls\n-start_epmd false\n';
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
    vault: { address: s.vaultAddr, auth: { method: 'cert', mount: s.certAuthMount, name: s.certAuthRole, certFile: p.bundle, keyFile: p.bundle } },
    health: { enabled: true, host: '127.0.0.1', port: s.healthPort },
    nodes: [
      {
        name: s.node,
        dir: s.dir,
        mount: s.mount,
        role: s.role,
        ttl: s.ttl || null,
        keyType: s.keyType,
        reload: s.modules.includes('vaultdist_reload') ? { strategy: 'signal', pidFile: p.pidfile, signal: 'SIGHUP', handlerInstalled: true } : { strategy: 'poll' },
        verify: { enabled: true, host: s.listenInterface ?? n.host, port: s.distPort },
      },
    ],
  };
}

export function renderNodeAgentConfig(s: NodeSettings): string {
  const input = agentConfigInput(s);
  const v = validateConfig(input);
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
    'remote.vm.args.eex': { path: p.elixirRemoteVmArgs, text: renderElixirRemoteVmArgs(), mode: 0o644 },
    'iex.sh': { path: p.iex, text: renderIex(s), mode: 0o755 },
    'agent.yaml': { path: p.agentConfig, text: renderNodeAgentConfig(s), mode: 0o600 },
    'vaultdist.json': { path: p.settings, text: `${JSON.stringify({ ...s }, null, 2)}\n`, mode: 0o644 },
  };
}

/**
 * Writes one file atomically (house style §10): same-dir temp opened with the final mode, fsync,
 * rename; skipped when the bytes are unchanged. Returns whether it wrote.
 */
export async function writeFileAtomic(path: string, text: string, mode: number): Promise<boolean> {
  try {
    if ((await readFile(path, 'utf8')) === text) return false;
  } catch {
    /* absent */
  }
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    const fh = await open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, mode);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    return true;
  } catch (e) {
    throw new ExitError(EXIT.WRITE, `${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    await rm(tmp, { force: true });
  }
}
