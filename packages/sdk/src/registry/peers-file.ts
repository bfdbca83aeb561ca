/**
 * The two small files between the agent and a BEAM node (issue #13):
 *
 * - `DIR/peers` — the registry's members as last seen by the agent, read by `vaultdist_epmd` to find a
 *   peer's port and by `vaultdist_cluster` to know whom to connect to. One line per fact, so the
 *   Erlang side parses it with `string:lexemes/2` and no term parser or atom creation:
 *
 *       # comments
 *       cluster prod
 *       state fresh                            (or: state stale <since ISO-8601>)
 *       node <name@host> <host> <port> <live|stale> <expires_at|-> [otp=<release>] [serial=<hex>]
 *
 *   During a Vault outage the agent keeps the last members: the file says `state stale <since>`, and
 *   each entry whose lease end has passed without a confirming refresh is marked `stale`. Stale
 *   entries are still dialled (the address is the best one known; TLS distribution authenticates
 *   the peer either way).
 *
 * - `DIR/dist.port` — written by `vaultdist_epmd` when the node starts listening (`register_node/3`),
 *   so a node on a dynamic port can be registered: `port <n>`, `otp_release <r>`, `os_pid <pid>`,
 *   `name <name part>`.
 */
import { writeFileAtomic } from '../files/atomic-write.js';
import type { WriterFs } from '../files/credential-set.js';
import { checkHost, checkOtpRelease, checkPort, checkRegistryNode, checkSerial } from './validate.js';

export const PEERS_FILE = 'peers';
export const DIST_PORT_FILE = 'dist.port';

export type PeerState = 'live' | 'stale';

export interface PeerEntry {
  node: string;
  host: string;
  port: number;
  state: PeerState;
  expiresAt: Date | undefined;
  otpRelease: string | undefined;
  serial: string | undefined;
}

export interface PeersFile {
  cluster: string;
  /** `fresh`: the last refresh from Vault succeeded; `stale`: it failed since `staleSince`. */
  state: 'fresh' | 'stale';
  staleSince: Date | undefined;
  peers: PeerEntry[];
}

const HEADER = [
  '# vaultdist peers: the registry members last seen by vaultdist-agent. Do not edit: the agent',
  '# replaces this file atomically. vaultdist_epmd reads peer ports from it.',
  '# node <name@host> <host> <port> <live|stale> <expires_at|-> [otp=<release>] [serial=<hex>]',
];

/** The file text (deterministic: entries sorted by node, so an unchanged membership gives equal bytes). */
export function renderPeersFile(f: PeersFile): string {
  const lines = [...HEADER, `cluster ${f.cluster}`, f.state === 'stale' ? `state stale ${(f.staleSince ?? new Date(0)).toISOString()}` : 'state fresh'];
  const peers = [...f.peers].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const p of peers) {
    // re-validated: nothing the Erlang side could misread ever reaches the file
    const node = checkRegistryNode(p.node).full;
    const parts = ['node', node, checkHost(p.host), String(checkPort(p.port)), p.state, p.expiresAt ? p.expiresAt.toISOString() : '-'];
    if (p.otpRelease) parts.push(`otp=${checkOtpRelease(p.otpRelease)}`);
    if (p.serial) parts.push(`serial=${checkSerial(p.serial)}`);
    lines.push(parts.join(' '));
  }
  return `${lines.join('\n')}\n`;
}

/** Parses a peers file; malformed lines are skipped (reported in `skipped`). */
export function parsePeersFile(text: string): PeersFile & { skipped: string[] } {
  const out: PeersFile & { skipped: string[] } = { cluster: '', state: 'fresh', staleSince: undefined, peers: [], skipped: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const t = line.split(/\s+/);
    try {
      if (t[0] === 'cluster' && t[1]) out.cluster = t[1];
      else if (t[0] === 'state') {
        out.state = t[1] === 'stale' ? 'stale' : 'fresh';
        const d = t[2] ? new Date(t[2]) : undefined;
        out.staleSince = d && !Number.isNaN(d.getTime()) ? d : undefined;
      } else if (t[0] === 'node' && t.length >= 6) {
        const kv = Object.fromEntries(t.slice(6).map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]));
        const exp = t[5] === '-' ? undefined : new Date(t[5]!);
        out.peers.push({
          node: checkRegistryNode(t[1]!).full,
          host: checkHost(t[2]!),
          port: checkPort(Number(t[3])),
          state: t[4] === 'stale' ? 'stale' : 'live',
          expiresAt: exp && !Number.isNaN(exp.getTime()) ? exp : undefined,
          otpRelease: kv.otp ? checkOtpRelease(kv.otp) : undefined,
          serial: kv.serial ? checkSerial(kv.serial) : undefined,
        });
      } else out.skipped.push(line);
    } catch {
      out.skipped.push(line);
    }
  }
  return out;
}

export interface DistPortInfo {
  port: number;
  otpRelease: string | undefined;
  osPid: number | undefined;
  /** The node's name part as `register_node/3` saw it. */
  name: string | undefined;
}

/** Parses `DIR/dist.port`; undefined when it holds no valid port. */
export function parseDistPortFile(text: string): DistPortInfo | undefined {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v) kv.set(k, v);
  }
  const port = Number(kv.get('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const otp = kv.get('otp_release');
  const pid = Number(kv.get('os_pid'));
  return { port, otpRelease: otp && /^[A-Za-z0-9._-]{1,32}$/.test(otp) ? otp : undefined, osPid: Number.isInteger(pid) && pid > 0 ? pid : undefined, name: kv.get('name') };
}

export interface WritePeersFileOptions {
  owner?: { uid: number; gid: number } | undefined;
  fs?: WriterFs | undefined;
  /** @default 0o644 (peer ports are what epmd would tell anyone; nothing secret) */
  mode?: number | undefined;
}

/**
 * Writes the peers file atomically (`writeFileAtomic`: readers see the old or the new file, never a
 * partial one; unchanged bytes are not rewritten; `owner` is applied through the descriptor).
 * @returns whether the file changed
 * @throws WriteError naming the path
 */
export async function writePeersFile(path: string, text: string, o: WritePeersFileOptions = {}): Promise<{ changed: boolean }> {
  return { changed: await writeFileAtomic(path, text, o.mode ?? 0o644, { fs: o.fs, owner: o.owner, symlinkedParent: 'follow' }) };
}
