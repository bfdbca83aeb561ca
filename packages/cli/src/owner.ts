/**
 * `--owner USER[:GROUP]` of `init node`: who owns the node's credential set and the files the node
 * reads (issue #7: "key files 0600 and owned by the configured user").
 *
 * Names or numeric ids; without GROUP the user's primary group. Names are resolved through NSS
 * (`getent passwd|group`, so LDAP/sssd users work), falling back to /etc/passwd and /etc/group when
 * getent is missing. An unknown user or group is a usage error naming the flag.
 *
 * What is chowned (`chownNodeFiles`): the files of the credential sets in DIR/.sets, the `current`,
 * `bundle.pem` and `ca.pem` links, ssl_dist.conf, vm.args, the CRL link and the files of the CRL sets in
 * DIR/.crl.sets, the files in DIR/approle (the agent's AppRole files, for an agent running as that user)
 * and the directory DIR/run (where the node writes its pid file).
 * NOT the directory itself or any directory root writes into (.sets and its sets, .crl.sets and its
 * sets, approle, DIR/ebin, DIR/erlang, DIR/elixir), agent.yaml or vaultdist.json: a node user who could
 * rename entries in a directory root writes into could redirect root's writes and chowns (issue #15),
 * and one who could rewrite the agent's config could make a root agent run a reload command of its
 * choosing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lchown, lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertPrivatePath, fixDir, nodeWriterFs as nodeWriterFsForOwner } from '@vaultdist/sdk/internal';
import { EXIT, ExitError } from './errors.js';
import { paths } from './node-dir.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** One passwd/group database line by name or id: `name:x:id:…` (passwd: field 3 is the primary gid). */
export interface AccountDb {
  passwd(key: string): string | undefined;
  group(key: string): string | undefined;
}

const getent = (db: 'passwd' | 'group', key: string): string | undefined => {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fileLookup(db === 'passwd' ? '/etc/passwd' : '/etc/group', key);
    return undefined; // getent exits 2 for an unknown key
  }
};

function fileLookup(file: string, key: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return lookupLine(text, key);
}

/** The line of a passwd/group text whose name (or, for a number, id) is `key`. Pure. */
export function lookupLine(text: string, key: string): string | undefined {
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  return lines.find((l) => l.split(':')[0] === key) ?? (/^\d+$/.test(key) ? lines.find((l) => l.split(':')[2] === key) : undefined);
}

export const systemAccounts: AccountDb = { passwd: (k) => getent('passwd', k), group: (k) => getent('group', k) };

const usage = (spec: string, message: string) => new ExitError(EXIT.USAGE, `--owner ${JSON.stringify(spec)}: ${message}`, { hint: 'give USER[:GROUP] as names or numeric ids, e.g. --owner beam or --owner 999:999' });

/** Resolves `USER[:GROUP]` to ids. Throws a usage error naming `--owner`. */
export function resolveOwner(spec: string, db: AccountDb = systemAccounts): Owner {
  const m = /^([^:\s]+)(?::([^:\s]+))?$/.exec(spec);
  if (!m) throw usage(spec, 'expected USER or USER:GROUP');
  const [, user, group] = m as unknown as [string, string, string | undefined];
  const pw = db.passwd(user);
  let uid: number;
  let primaryGid: number | undefined;
  if (pw) {
    uid = Number(pw.split(':')[2]);
    primaryGid = Number(pw.split(':')[3]);
  } else if (/^\d+$/.test(user)) {
    uid = Number(user);
  } else {
    throw usage(spec, `no such user ${JSON.stringify(user)}`);
  }
  let gid: number;
  if (group === undefined) {
    if (primaryGid === undefined || !Number.isInteger(primaryGid)) throw usage(spec, `uid ${user} has no passwd entry, so its group is unknown; give it (--owner ${user}:GID)`);
    gid = primaryGid;
  } else {
    const gr = db.group(group);
    if (gr) gid = Number(gr.split(':')[2]);
    else if (/^\d+$/.test(group)) gid = Number(group);
    else throw usage(spec, `no such group ${JSON.stringify(group)}`);
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid < 0 || gid < 0) throw usage(spec, 'the account database holds no numeric id for it');
  return { uid, gid };
}

const euid = () => process.geteuid?.() ?? -1;
const egid = () => process.getegid?.() ?? 0;

/**
 * lchown one file or symlink to `o`, only when nobody else could have put it there: a symlink or a
 * regular file with a single link, owned by us or already by `o` (a hard link to another file, e.g. one
 * planted by an older layout, would hand that file over). Returns whether it changed it.
 */
async function chownEntry(p: string, o: Owner): Promise<boolean> {
  const st = await lstat(p);
  if (st.isDirectory()) return false;
  if (st.uid === o.uid && st.gid === o.gid) return false;
  if (!st.isSymbolicLink() && (!st.isFile() || st.nlink !== 1 || (st.uid !== euid() && st.uid !== o.uid))) return false;
  await lchown(p, o.uid, o.gid);
  return true;
}

/** A directory of ours with exactly `mode`: a foreign owner (an older vaultdist's layout) is taken back first. */
async function ownContainer(c: string, mode: number): Promise<void> {
  const st = await lstat(c);
  if (st.isSymbolicLink() || !st.isDirectory()) throw Object.assign(new Error('not a directory (a planted symlink?)'), { code: 'ENOTDIR' });
  if (st.uid !== euid()) await lchown(c, euid(), egid()); // its parent is ours: the entry cannot be swapped
  await fixDir(nodeWriterFsForOwner, c, mode);
}

/**
 * Where the node user's files live: the directories stay ours with these modes (the node user
 * traverses them and cannot rename, replace or add anything on the way to its files); the sets inside
 * `.sets`/`.crl.sets` are directories of ours too, only the files in them are handed over.
 */
const CONTAINERS: Record<string, { mode: number; setMode?: number }> = { '.sets': { mode: 0o711, setMode: 0o711 }, '.crl.sets': { mode: 0o755, setMode: 0o755 }, approle: { mode: 0o711 } };

/**
 * Chowns the node's files (see the module comment) and returns what it changed. The node user gets
 * files and links, never a directory root writes into (issue #15): `DIR`, `.sets`, `.crl.sets`, every
 * set directory, `approle`, `DIR/ebin`, `DIR/erlang` and `DIR/elixir` stay ours. The one directory it
 * gets is `DIR/run`, where the node writes its pid file; root never writes there.
 */
export async function chownNodeFiles(dir: string, o: Owner): Promise<string[]> {
  const p = paths(dir);
  const done: string[] = [];
  const fail = (f: string, e: unknown) =>
    new ExitError(EXIT.WRITE, `--owner: cannot chown ${f} to ${o.uid}:${o.gid}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e, hint: 'chown to another user needs root' });
  try {
    await assertPrivatePath(nodeWriterFsForOwner, dir, '--dir');
  } catch (e) {
    throw new ExitError(EXIT.WRITE, (e as Error).message, { cause: e, hint: 'make DIR and its parents owned by root and not group/world-writable (the node user gets only its files inside)' });
  }
  const give = async (f: string) => {
    if (await chownEntry(f, o)) done.push(f);
  };
  for (const [name, { mode, setMode }] of Object.entries(CONTAINERS)) {
    const c = join(dir, name);
    if (!(await exists(c))) continue;
    try {
      await ownContainer(c, mode);
      for (const e of await readdir(c)) {
        const entry = join(c, e);
        if ((await lstat(entry)).isDirectory()) {
          if (setMode === undefined) continue;
          await ownContainer(entry, setMode);
          for (const f of await readdir(entry)) await give(join(entry, f));
        } else await give(entry);
      }
    } catch (e) {
      throw fail(c, e);
    }
  }
  for (const f of [join(dir, 'current'), p.bundle, p.ca, p.optfile, p.vmArgs, p.crlDir]) {
    if (!(await exists(f))) continue;
    try {
      await give(f);
    } catch (e) {
      throw fail(f, e);
    }
  }
  const run = dirname(p.pidfile);
  try {
    const st = await lstat(run).catch(() => undefined);
    if (st?.isDirectory() && (st.uid !== o.uid || st.gid !== o.gid)) {
      await lchown(run, o.uid, o.gid); // the directory only, nothing in it
      done.push(run);
    }
  } catch (e) {
    throw fail(run, e);
  }
  return done;
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Fails early (before anything is issued) when this process may not chown files in `dir` to `o`, or
 * when `dir` sits below a directory another user controls (root would then chown across it).
 */
export async function checkCanChown(dir: string, o: Owner): Promise<void> {
  const { open, rm } = await import('node:fs/promises');
  try {
    await assertPrivatePath(nodeWriterFsForOwner, dir, '--dir');
  } catch (e) {
    throw new ExitError(EXIT.WRITE, (e as Error).message, { cause: e, hint: 'make DIR and its parents owned by root and not group/world-writable (the node user gets only its files inside)' });
  }
  const probe = join(dir, `.owner-check-${process.pid}`);
  try {
    await (await open(probe, 'w', 0o600)).close();
    await lchown(probe, o.uid, o.gid);
  } catch (e) {
    throw new ExitError(EXIT.WRITE, `--owner ${o.uid}:${o.gid}: cannot chown files in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e, hint: 'run init node as root to hand the files to another user' });
  } finally {
    await rm(probe, { force: true });
  }
}
