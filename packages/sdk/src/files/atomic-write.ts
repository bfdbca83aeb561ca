/**
 * Writing one file atomically (house style §10, write-file-atomic): the one implementation the SDK,
 * the agent and the CLI use (issue #16: there were four, and only one refused a symlinked parent or
 * compared the mode).
 */
import { constants as C } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { WriteError } from '../errors.js';
import { fsyncDir, nodeWriterFs, type WriterFs } from './credential-set.js';
import { uniqueId } from './dir-swap.js';
import { O_NOFOLLOW, writeFileDurable, type Owner } from './safe-fs.js';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** File-system port (tests inject failures through it). @default the node:fs implementation */
  fs?: WriterFs | undefined;
  /** fchown the new file (through its descriptor, never by path) to this user before it is renamed into place. */
  owner?: Owner | undefined;
  /**
   * What to do when the parent directory is a symlink: `refuse` (a `WriteError` naming it: the CLI,
   * where a planted `DIR/elixir` → elsewhere must never be followed, issue #15) or `follow` (the agent,
   * whose node directory may be a symlink an operator made).
   * @default 'refuse'
   */
  symlinkedParent?: 'refuse' | 'follow' | undefined;
}

/**
 * Writes `data` to `path` so that readers see the old or the new file, never a partial one:
 *
 * 1. a symlinked parent is refused (unless `symlinkedParent: 'follow'`);
 * 2. the live file is compared first: same bytes and same mode → nothing is written, `false`;
 * 3. a temp file in the same directory is created `O_EXCL | O_NOFOLLOW` with the final mode, written,
 *    fchmod-ed (umask-independent), fchown-ed to `owner`, fsynced (`writeFileDurable`);
 * 4. it is renamed over `path`, then the directory is fsynced (best effort);
 * 5. the temp file is removed in every case.
 *
 * Note: rename(2) is atomic on POSIX file systems, not on Windows.
 * @returns whether the file changed
 * @throws WriteError naming `path` (or its parent, for step 1)
 */
export async function writeFileAtomic(path: string, data: string | Buffer, mode: number, o: WriteFileAtomicOptions = {}): Promise<boolean> {
  const fs = o.fs ?? nodeWriterFs;
  const parent = dirname(path);
  // (1)
  if ((o.symlinkedParent ?? 'refuse') === 'refuse') {
    const pst = await fs.lstat(parent).catch(() => undefined);
    if (pst?.isSymbolicLink()) {
      const to = await fs.readlink(parent).catch(() => '?');
      throw new WriteError(parent, `is a symlink (to ${to}); vaultdist never follows a symlink it did not create: remove it and run again`);
    }
  }
  // (2)
  const want = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  if (await sameFile(fs, path, want, mode)) return false;
  // (3)
  const tmp = join(parent, `.${basename(path)}.tmp-${uniqueId()}`);
  try {
    await writeFileDurable(fs, tmp, data, mode, o.owner);
    // (4)
    await fs.rename(tmp, path);
  } catch (e) {
    throw new WriteError(path, (e as Error).message, { cause: e });
  } finally {
    // (5)
    await fs.rm(tmp, { recursive: false, force: true }).catch(() => undefined);
  }
  await fsyncDir(fs, parent);
  return true;
}

/** Whether `path` is a regular file (not followed if a symlink) with exactly `mode` and the bytes `want`. */
async function sameFile(fs: WriterFs, path: string, want: Buffer, mode: number): Promise<boolean> {
  try {
    const fh = await fs.open(path, C.O_RDONLY | O_NOFOLLOW, 0);
    try {
      const st = await fh.stat();
      return st.isFile() && (st.mode & 0o7777) === mode && st.size === want.length && (await fh.readFile()).equals(want);
    } finally {
      await fh.close();
    }
  } catch {
    return false; // absent, a symlink, unreadable: write it
  }
}
