import { constants as C, promises as nodeFs, type Stats } from 'node:fs';
import { join } from 'node:path';
import { WriteError } from '../errors.js';
import { swapSymlink, uniqueId } from './dir-swap.js';
import { assertPrivatePath, fixDir, ownDir, removeTree, writeFileDurable } from './safe-fs.js';

export { writeFileDurable } from './safe-fs.js';

/**
 * The file-system calls the writer uses: a port, so tests inject failures without module mocking.
 */
export interface WriterFs {
  open(path: string, flags: number, mode: number): Promise<nodeFs.FileHandle>;
  rename(from: string, to: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  mkdir(path: string, options: { recursive?: boolean; mode?: number }): Promise<string | undefined>;
  readFile(path: string, enc: 'utf8'): Promise<string>;
  readdir(path: string): Promise<string[]>;
  rm(path: string, options: { recursive: boolean; force: boolean }): Promise<void>;
  /**
   * Path-based chown (follows symlinks). Note: the credential-set and CRL writers never use it: a
   * chown by path inside a directory another user can change is the issue #15 race; pass `owner` to
   * `writeFileDurable` (fchown on the descriptor) instead.
   */
  chown(path: string, uid: number, gid: number): Promise<void>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
  lstat(path: string): Promise<Stats>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

export const nodeWriterFs: WriterFs = {
  open: (p, f, m) => nodeFs.open(p, f, m),
  rename: (a, b) => nodeFs.rename(a, b),
  symlink: (t, p) => nodeFs.symlink(t, p),
  readlink: (p) => nodeFs.readlink(p),
  mkdir: (p, o) => nodeFs.mkdir(p, o),
  readFile: (p, e) => nodeFs.readFile(p, e),
  readdir: (p) => nodeFs.readdir(p),
  rm: (p, o) => nodeFs.rm(p, o),
  chown: (p, u, g) => nodeFs.chown(p, u, g),
  lchown: (p, u, g) => nodeFs.lchown(p, u, g),
  lstat: (p) => nodeFs.lstat(p),
  unlink: (p) => nodeFs.unlink(p),
  rmdir: (p) => nodeFs.rmdir(p),
};

/** File names inside a credential directory. These are what the optfile points at. */
export const CREDENTIAL_FILES = {
  /** key + leaf + chain, mode 0600; both `certfile` and `keyfile`. */
  bundle: 'bundle.pem',
  /** trust anchors (CA bundle), mode 0644. */
  ca: 'ca.pem',
  /** CRLs for the optfile's crl_cache (hash dir), when enabled. */
  crlDir: 'crl',
} as const;

/** A credential set to write: key, leaf, chain and CA bundle (PEM). */
export interface CredentialSetContent {
  /** PEM private key. */
  privateKey: string;
  /** PEM leaf. */
  certificate: string;
  /** Intermediates to send with the leaf (no self-signed roots needed). */
  chain: string[];
  /** Trust anchors written to ca.pem. */
  caBundle: string[];
}

/** Options of `writeCredentialSet`: owner, file-system port, how many older sets to keep. */
export interface WriteCredentialSetOptions {
  /** Owner for the files (root agents writing for a node user). */
  owner?: { uid: number; gid: number } | undefined;
  fs?: WriterFs | undefined;
  /** How many previous sets to keep for diagnosis/rollback. @default 1 */
  keepPrevious?: number | undefined;
  /** Test hook: called after each numbered step (see `writeCredentialSet`). */
  onStep?: ((step: number) => void | Promise<void>) | undefined;
}

/** What `writeCredentialSet` did: `changed`, the set directory and the two file paths. */
export interface WriteCredentialSetResult {
  changed: boolean;
  /** The set directory now live (`.sets/<id>`). */
  setDir: string;
  bundlePath: string;
  caPath: string;
}

const withNl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);

/** The bundle file text: key first, then the leaf, then the chain. */
export function bundleText(c: CredentialSetContent): string {
  return [c.privateKey, c.certificate, ...c.chain].map((s) => withNl(s.trim())).join('');
}

export function caText(c: CredentialSetContent): string {
  return c.caBundle.map((s) => withNl(s.trim())).join('');
}

/** fsync of a directory after renames in it; best effort (some file systems refuse it). */
export async function fsyncDir(fs: WriterFs, dir: string): Promise<void> {
  try {
    const fh = await fs.open(dir, C.O_RDONLY, 0);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

/** Reads the live set of a credential directory, or undefined when there is none. */
export async function readCredentialFiles(dir: string, fs: WriterFs = nodeWriterFs): Promise<{ bundle: string; ca: string } | undefined> {
  try {
    return {
      bundle: await fs.readFile(join(dir, CREDENTIAL_FILES.bundle), 'utf8'),
      ca: await fs.readFile(join(dir, CREDENTIAL_FILES.ca), 'utf8'),
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WriteError(dir, `cannot read credential files: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Atomically replaces the credential set in `dir` (Kubernetes AtomicWriter-style symlink swap):
 *
 * 0. `dir` is created or checked: as root, no directory on the way may be controlled by another user
 *    (`assertPrivatePath`); `dir/.sets` must be a real directory (a planted symlink is refused, never
 *    followed) owned by this process, mode 0700, or 0711 with an `owner` (the node user traverses it
 *    but cannot rename anything in it);
 * 1. compare with the live set; identical content → nothing is written;
 * 2. write `bundle.pem` (0600) and `ca.pem` (0644) into a fresh `.sets/<id>.tmp`, `O_EXCL |
 *    O_NOFOLLOW`, each fchowned to `owner` through its descriptor and fsynced. The set directory stays
 *    this process's (0700, or 0711 with an `owner`: the node user reaches its files but can never
 *    rename, replace or add an entry on the way to them);
 * 3. rename `.sets/<id>.tmp` → `.sets/<id>`, fsync `.sets`;
 * 4. point `current` at `.sets/<id>` by renaming a new symlink over it (the one atomic switch), fsync dir;
 * 5. make sure `bundle.pem` and `ca.pem` are symlinks through `current` (created once; lchown only);
 * 6. remove older sets and stale temp entries (`removeTree`: never follows a symlink, takes a set
 *    directory an older vaultdist handed to the node user back before emptying it).
 *
 * A crash anywhere leaves either the old complete set or the new complete set live: readers
 * (OTP opens `DIR/bundle.pem`) always resolve through `current`, which changes in one rename.
 * No chown ever goes through a path another user could have swapped (issue #15: a symlink race made
 * root hand a root-only file to the node user).
 * Note: validate the set (`validateCredentials`) before calling this; this function only writes.
 */
export async function writeCredentialSet(dir: string, content: CredentialSetContent, o: WriteCredentialSetOptions = {}): Promise<WriteCredentialSetResult> {
  const fs = o.fs ?? nodeWriterFs;
  const step = o.onStep ?? (() => {});
  const bundle = bundleText(content);
  const ca = caText(content);
  const bundlePath = join(dir, CREDENTIAL_FILES.bundle);
  const caPath = join(dir, CREDENTIAL_FILES.ca);
  const owner = o.owner;
  try {
    // (0)
    await assertPrivatePath(fs, dir);
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    await assertPrivatePath(fs, dir);
    const setsDir = join(dir, '.sets');
    await ownDir(fs, setsDir, owner ? 0o711 : 0o700);
    // (1)
    const live = await readCredentialFiles(dir, fs);
    let liveTarget: string | undefined;
    try {
      liveTarget = await fs.readlink(join(dir, 'current'));
    } catch {
      liveTarget = undefined;
    }
    const linksOk = await Promise.all([fs.readlink(bundlePath).catch(() => ''), fs.readlink(caPath).catch(() => '')]).then(
      ([b, c]) => b === join('current', CREDENTIAL_FILES.bundle) && c === join('current', CREDENTIAL_FILES.ca),
    );
    if (live && liveTarget && linksOk && live.bundle === bundle && live.ca === ca) {
      return { changed: false, setDir: join(dir, liveTarget), bundlePath, caPath };
    }
    // (2)
    const id = uniqueId();
    const tmpSet = join(setsDir, `${id}.tmp`);
    const finalSet = join(setsDir, id);
    const setMode = owner ? 0o711 : 0o700;
    await fs.mkdir(tmpSet, { mode: setMode });
    await fixDir(fs, tmpSet, setMode);
    await writeFileDurable(fs, join(tmpSet, CREDENTIAL_FILES.bundle), bundle, 0o600, owner);
    await step(2);
    await writeFileDurable(fs, join(tmpSet, CREDENTIAL_FILES.ca), ca, 0o644, owner);
    await fsyncDir(fs, tmpSet);
    // (3)
    await fs.rename(tmpSet, finalSet);
    await fsyncDir(fs, setsDir);
    await step(3);
    // (4)
    const rel = join('.sets', id);
    await swapSymlink(fs, rel, join(dir, 'current'));
    await fsyncDir(fs, dir);
    await step(4);
    // (5)
    if (!linksOk) {
      await swapSymlink(fs, join('current', CREDENTIAL_FILES.ca), caPath);
      await swapSymlink(fs, join('current', CREDENTIAL_FILES.bundle), bundlePath);
      if (owner) {
        for (const p of [join(dir, 'current'), caPath, bundlePath]) await fs.lchown(p, owner.uid, owner.gid);
      }
      await fsyncDir(fs, dir);
    } else if (owner) {
      await fs.lchown(join(dir, 'current'), owner.uid, owner.gid);
    }
    await step(5);
    // (6)
    const keep = new Set([id, ...(liveTarget ? [liveTarget.replace(/^\.sets\//, '')] : [])]);
    const entries = (await fs.readdir(setsDir)).sort();
    const olderSets = entries.filter((e) => !e.endsWith('.tmp') && !keep.has(e));
    const extra = Math.max(0, (o.keepPrevious ?? 1) - (liveTarget ? 1 : 0));
    const toRemove = [...entries.filter((e) => e.endsWith('.tmp')), ...olderSets.slice(0, Math.max(0, olderSets.length - extra))];
    for (const e of toRemove) await removeTree(fs, join(setsDir, e));
    for (const e of await fs.readdir(dir)) {
      if (/\.tmp-\d+-\d+$/.test(e)) await fs.rm(join(dir, e), { recursive: false, force: true });
    }
    return { changed: true, setDir: finalSet, bundlePath, caPath };
  } catch (e) {
    if (e instanceof WriteError) throw e;
    throw new WriteError(dir, `writing the credential set failed (the previous set stays live): ${(e as Error).message}`, { cause: e });
  }
}
