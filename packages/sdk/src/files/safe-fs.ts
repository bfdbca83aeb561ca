/**
 * File-system steps that hold when another local user races the writer (issue #15).
 *
 * A root agent (or `vaultdist issue` run as root) writes a node's files and hands some of them to the
 * node user. Path-based calls then are only as safe as every directory on the path: if the node user
 * can rename an entry in one of them, it can swap a directory for a symlink between two calls, and a
 * path-based `chown` hands whatever the symlink points at (say `/etc/shadow`) to the node user.
 * The rules this module implements:
 *
 * 1. Root works only below directories that no other user controls (`assertPrivatePath`): every
 *    directory on the way, symlinks resolved, is owned by root or by this process and is not writable
 *    by group or others (a sticky world-writable directory such as `/tmp` is allowed: others cannot
 *    rename our entries in it).
 * 2. Files are created `O_CREAT | O_EXCL | O_NOFOLLOW` with their final mode, and chmod/chown happen on
 *    the open file descriptor (`fchmod`/`fchown`), never by path (`writeFileDurable`).
 * 3. Directories are checked or created without following a symlink (`ownDir`, `fixDir`): a planted
 *    symlink is refused with a `WriteError` naming it, never followed; the mode is set with `fchmod`,
 *    so it does not depend on the umask.
 * 4. Removal never follows a symlink and never descends into a directory another user can still
 *    write: such a directory is first taken back (lchown + fchmod 0700, possible because its parent is
 *    ours), then emptied (`removeTree`).
 *
 * Note: Linux and other POSIX systems. `O_NOFOLLOW`/`O_DIRECTORY` are 0 where Node does not define
 * them (Windows), which degrades rule 2 and 3 to path-based checks.
 */
import { constants as C, promises as nodeFs, type Stats } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { WriteError } from '../errors.js';

export const O_NOFOLLOW = C.O_NOFOLLOW ?? 0;
export const O_DIRECTORY = C.O_DIRECTORY ?? 0;

/** The calls used here (a subset of the writers' `WriterFs` port). */
export interface SafeFs {
  open(path: string, flags: number, mode: number): Promise<nodeFs.FileHandle>;
  mkdir(path: string, options: { recursive?: boolean; mode?: number }): Promise<string | undefined>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
  lstat(path: string): Promise<Stats>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

export interface Owner {
  uid: number;
  gid: number;
}

const euid = (): number => process.geteuid?.() ?? -1;
const egid = (): number => process.getegid?.() ?? -1;

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

async function lstatOrUndefined(fs: SafeFs, p: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if (code(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Rule 1: refuses (`WriteError` naming the directory) when a directory on the way to `dir` is owned by
 * another user, or writable by group or others without the sticky bit. Symlinks on the way are
 * resolved and their targets checked too. Only enforced when running as root (euid 0): an
 * unprivileged writer cannot hand anything it does not own to anyone.
 * @param what names the input in the message, e.g. `--dir`.
 */
export async function assertPrivatePath(fs: SafeFs, dir: string, what = 'directory'): Promise<void> {
  if (euid() !== 0) return;
  const me = euid();
  const check = (p: string, st: Stats) => {
    if (st.uid !== 0 && st.uid !== me) {
      throw new WriteError(dir, `${what}: ${p} is owned by uid ${st.uid}; root does not write or chown below a directory another user controls (that user could swap an entry for a symlink mid-write)`);
    }
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
      throw new WriteError(dir, `${what}: ${p} is writable by ${st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8)}); root does not write or chown below a directory other users can change`);
    }
  };
  const parts = resolve(dir).split(sep).filter(Boolean);
  let cur = '/';
  check(cur, await fs.lstat(cur));
  let hops = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, part);
    const st = await lstatOrUndefined(fs, next);
    if (!st) return; // created below `cur`, which was checked
    if (st.isSymbolicLink()) {
      if (++hops > 40) throw new WriteError(dir, `${what}: too many symlinks on the way`);
      const target = await fs.readlink(next);
      parts.unshift(...target.split(sep).filter(Boolean));
      if (target.startsWith(sep)) cur = '/';
      continue;
    }
    if (!st.isDirectory()) {
      if (parts.length) throw new WriteError(dir, `${what}: ${next} is not a directory`);
      return;
    }
    check(next, st);
    cur = next;
  }
}

/**
 * Rule 3 for a directory that persists (`DIR/.sets`, `DIR/.crl.sets`, `DIR/ebin` …): creates it, or
 * checks it is a real directory (a symlink is refused, never followed), then sets `mode` through an
 * `O_NOFOLLOW` descriptor. As root, a directory another user owns (left by an older vaultdist that
 * handed `.sets` to the node user) is taken back: its parent is ours, so the entry cannot be swapped
 * (`reclaim: false` keeps the owner, for a directory that is meant to be the node user's).
 */
export async function ownDir(fs: SafeFs, path: string, mode: number, o: { reclaim?: boolean } = {}): Promise<void> {
  const st = await lstatOrUndefined(fs, path);
  if (!st) await fs.mkdir(path, { mode });
  else if (st.isSymbolicLink()) {
    const to = await fs.readlink(path).catch(() => '?');
    throw new WriteError(path, `is a symlink (to ${to}); vaultdist never follows a symlink it did not create: remove it and run again`);
  } else if (!st.isDirectory()) throw new WriteError(path, 'is not a directory; move it away and run again');
  // `reclaim: false`: a directory that is meant to be another user's (DIR/run, the node's pid file) keeps its owner
  await fixDir(fs, path, mode, euid() === 0 && o.reclaim !== false ? { uid: 0, gid: egid() } : undefined);
}

/** Sets the mode (and owner) of the directory at `path` through an `O_NOFOLLOW` descriptor. */
export async function fixDir(fs: SafeFs, path: string, mode: number, owner?: Owner): Promise<void> {
  let fh: nodeFs.FileHandle;
  try {
    fh = await fs.open(path, C.O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  } catch (e) {
    if (code(e) === 'ELOOP' || code(e) === 'ENOTDIR') throw new WriteError(path, 'is not a directory (a symlink?); vaultdist never follows a symlink it did not create', { cause: e });
    throw e;
  }
  try {
    const st = await fh.stat();
    if (owner && (st.uid !== owner.uid || st.gid !== owner.gid)) await fh.chown(owner.uid, owner.gid);
    if ((st.mode & 0o7777) !== mode) await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

/**
 * Rule 2: writes one new file durably: created `O_EXCL | O_NOFOLLOW` with its final mode (never follows
 * or reuses a planted entry), written, `fchmod` (the umask may have narrowed or widened nothing: the
 * mode is exact), `fchown` to `owner` when given, fsynced, closed.
 */
export async function writeFileDurable(fs: Pick<SafeFs, 'open'>, path: string, data: string | Buffer, mode: number, owner?: Owner): Promise<void> {
  const fh = await fs.open(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | O_NOFOLLOW, mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
    if (owner) await fh.chown(owner.uid, owner.gid);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Rule 4: removes `path` (file, symlink or directory tree) without following symlinks. A directory
 * owned by another user is taken back before it is read (lchown to us, fchmod 0700), so that user
 * cannot swap its entries while they are removed. The caller guarantees `path`'s parent is ours.
 */
export async function removeTree(fs: SafeFs, path: string): Promise<void> {
  const st = await lstatOrUndefined(fs, path);
  if (!st) return;
  if (!st.isDirectory()) {
    await fs.unlink(path).catch((e: unknown) => {
      if (code(e) !== 'ENOENT') throw e;
    });
    return;
  }
  const me = euid();
  if (me >= 0 && st.uid !== me) await fs.lchown(path, me, egid());
  await fixDir(fs, path, 0o700);
  for (const e of await fs.readdir(path)) await removeTree(fs, join(path, e));
  await fs.rmdir(path);
}
