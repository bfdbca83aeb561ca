import { isNodeNameError, RenderError } from '../errors.js';
import { parseNodeName, type NodeName } from '../node-name.js';
import { flagWord, requireAbsolute } from './erlang.js';
import type { Carrier } from './optfile.js';

/** Options of `distFlags`: optfile, carrier, ports, epmd module, code paths. */
export interface DistFlagsOptions {
  optfile: string;
  /**
   * `-proto_dist`: `vaultdist_tls` (the companion carrier, module `vaultdist_tls_dist`: the peer's node
   * name must be the URI SAN of its certificate, checked before nodeup on both sides) or OTP's
   * `inet_tls` (binds hosts only). The carrier module must be on the code path: give its ebin in
   * `codePaths` (or build it into the release). @default 'vaultdist_tls'
   */
  carrier?: Carrier | undefined;
  /** The fixed distribution port (`-erl_epmd_port`, or the companion epmd module's port). */
  distPort: number;
  /**
   * Custom epmd module (e.g. `vaultdist_epmd`) so no epmd is ever contacted. Its code path must be
   * given in `codePaths` (or be inside the release).
   */
  epmdModule?: string | undefined;
  /**
   * Per-node distribution ports for the companion `vaultdist_epmd` module
   * (`-vaultdist_epmd_ports foo=9101,bar@10.0.0.6=9102`): a key is a node name part (`foo`) or a full
   * `name@host` (the full name wins). Lets several nodes share one IP. The module looks a node up in
   * this map first, then `epmdPortBase`, then `distPort` (which stays the fallback for every node,
   * this one included). Needs `epmdModule`: the default erl_epmd ignores it.
   */
  epmdPorts?: Record<string, number> | undefined;
  /**
   * `-vaultdist_epmd_port_base B`: a node whose name part ends in a number N listens on B + N
   * (`app0` → B, `app-3` → B + 3). Needs `epmdModule`.
   */
  epmdPortBase?: number | undefined;
  /** `-connect_all false`. @default false (flag omitted) */
  connectAllFalse?: boolean | undefined;
  /** Bind the listener to the node's IP (IP-named nodes). */
  listenInterface?: string | undefined;
  codePaths?: string[] | undefined;
  /** Client-only node (`-dist_listen false`), e.g. rpc/remote shells. */
  noListen?: boolean | undefined;
  /** Hidden node. */
  hidden?: boolean | undefined;
}

function port(p: number, field = 'distPort'): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw new RenderError(field, `${JSON.stringify(p) ?? String(p)} is not a TCP port (1-65535)`);
  return p;
}

/** A `-vaultdist_epmd_ports` key: a node name part or a full `name@host`, by the node-name rules. */
function epmdPortKey(key: string): string {
  const input = key.includes('@') ? key : `${key}@localhost`;
  try {
    const n = parseNodeName(input);
    return key.includes('@') ? n.full : n.name;
  } catch (e) {
    if (!isNodeNameError(e)) throw e;
    const prefix = `invalid Erlang node name ${JSON.stringify(input)}: `;
    const reason = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    throw new RenderError('epmdPorts', `key ${JSON.stringify(key)} is not a node name part or name@host: ${reason}`);
  }
}

/** The `-vaultdist_epmd_ports` word, e.g. `foo=9101,bar@10.0.0.6=9102`. */
function epmdPortsWord(ports: Record<string, number>): string {
  if (typeof ports !== 'object' || ports === null || Array.isArray(ports)) throw new RenderError('epmdPorts', 'expected an object mapping node names to ports');
  const seen = new Map<string, string>();
  const entries: string[] = [];
  for (const [key, value] of Object.entries(ports)) {
    const k = epmdPortKey(key);
    const other = seen.get(k);
    if (other !== undefined) throw new RenderError('epmdPorts', `keys ${JSON.stringify(other)} and ${JSON.stringify(key)} name the same node`);
    seen.set(k, key);
    entries.push(`${k}=${port(value, `epmdPorts[${JSON.stringify(key)}]`)}`);
  }
  if (!entries.length) throw new RenderError('epmdPorts', 'empty map (omit the option instead)');
  return flagWord('epmdPorts', entries.join(','));
}

function ipTuple(ip: string): string {
  const parts = ip.split('.');
  if (parts.length === 4 && parts.every((x) => /^\d{1,3}$/.test(x) && Number(x) < 256)) return `{${parts.join(',')}}`;
  throw new RenderError('listenInterface', `${JSON.stringify(ip)} is not an IPv4 address`);
}

function codePath(p: string): string {
  const path = flagWord('codePaths', requireAbsolute('codePaths', p));
  // `-pa /` makes OTP 25's code server crash at boot with {case_clause,[]} and erl hangs (`/.` is fine).
  if (/^\/+$/.test(path)) throw new RenderError('codePaths', `${JSON.stringify(p)} is the file-system root, which OTP 25's code server cannot take as a code path (erl hangs at boot)`);
  return path;
}

/** The distribution flags as a list of argv words (no shell quoting needed: every word is checked). */
export function distFlags(o: DistFlagsOptions): string[] {
  const carrier = o.carrier ?? 'vaultdist_tls';
  if (carrier !== 'vaultdist_tls' && carrier !== 'inet_tls') throw new RenderError('carrier', `unsupported carrier ${JSON.stringify(carrier)} (vaultdist_tls or inet_tls)`);
  const flags = ['-proto_dist', carrier, '-ssl_dist_optfile', flagWord('optfile', requireAbsolute('optfile', o.optfile)), '-start_epmd', 'false'];
  if (o.epmdModule) {
    flags.push('-epmd_module', flagWord('epmdModule', o.epmdModule));
    if (o.epmdPorts !== undefined) flags.push('-vaultdist_epmd_ports', epmdPortsWord(o.epmdPorts));
    if (o.epmdPortBase !== undefined) flags.push('-vaultdist_epmd_port_base', String(port(o.epmdPortBase, 'epmdPortBase')));
  } else {
    // erl_epmd ignores these flags: every peer would silently be dialled on distPort.
    if (o.epmdPorts !== undefined) throw new RenderError('epmdPorts', 'needs epmdModule (the companion vaultdist_epmd module reads it; the default erl_epmd ignores it)');
    if (o.epmdPortBase !== undefined) throw new RenderError('epmdPortBase', 'needs epmdModule (the companion vaultdist_epmd module reads it; the default erl_epmd ignores it)');
  }
  // -erl_epmd_port is what OTP 25's default epmd client answers port_please with, and the companion
  // module falls back to it too, so it is always rendered.
  flags.push('-erl_epmd_port', String(port(o.distPort)));
  for (const p of o.codePaths ?? []) flags.push('-pa', codePath(p));
  if (o.listenInterface) flags.push('-kernel', 'inet_dist_use_interface', ipTuple(o.listenInterface));
  if (o.connectAllFalse) flags.push('-connect_all', 'false');
  if (o.noListen) flags.push('-dist_listen', 'false');
  if (o.hidden) flags.push('-hidden');
  return flags;
}

/** Options of `renderVmArgs`: the node name and cookie, plus `DistFlagsOptions`. */
export interface VmArgsOptions extends DistFlagsOptions {
  /** Adds `-name`/`-sname` (omit for releases, where RELEASE_NODE sets it). */
  node?: NodeName | undefined;
  /** Adds `-setcookie`. Prefer a cookie file (`~/.erlang.cookie`) or RELEASE_COOKIE: vm.args may be world-readable. */
  cookie?: string | undefined;
}

/** Renders a vm.args fragment usable as-is with `erl -args_file FILE`. */
export function renderVmArgs(o: VmArgsOptions): string {
  const f = distFlags(o);
  const lines = ['## vm.args generated by vaultdist: epmd-less mutual-TLS distribution'];
  if (o.node) lines.push(`${o.node.mode === 'long' ? '-name' : '-sname'} ${flagWord('node', o.node.full)}`);
  if (o.cookie !== undefined) lines.push(`-setcookie ${flagWord('cookie', o.cookie)}`);
  for (let i = 0; i < f.length; i++) {
    const w = f[i]!;
    if (w.startsWith('-') && i + 1 < f.length && !f[i + 1]!.startsWith('-')) {
      const args = [];
      let j = i + 1;
      while (j < f.length && !f[j]!.startsWith('-')) args.push(f[j++]!);
      lines.push(`${w} ${args.join(' ')}`);
      i = j - 1;
    } else lines.push(w);
  }
  return `${lines.join('\n')}\n`;
}
