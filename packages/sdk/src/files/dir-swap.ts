/**
 * The directory swap (house style §10, Kubernetes AtomicWriter): a set of files is written into a
 * fresh directory and made live by renaming a new symlink over the old one, the one atomic switch.
 * The steps the credential-set writer and the CRL directory writer share, owned here (issue #16:
 * each had its own copy of the id scheme and of the symlink replacement).
 */
import type { WriterFs } from './credential-set.js';
import type { Owner } from './safe-fs.js';

/** A name for a new set directory or temp entry: time, pid and randomness, so concurrent writers never collide. */
export function uniqueId(): string {
  return `${Date.now().toString(36)}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Points the symlink `path` at `target`, atomically: a new link is created beside it (`lchown`-ed to
 * `owner` when given), then renamed over `path`; rename(2) replaces the old link in one step, so a
 * reader resolves either the old or the new target. Note: not atomic on Windows.
 */
export async function swapSymlink(fs: WriterFs, target: string, path: string, owner?: Owner): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await fs.rm(tmp, { recursive: false, force: true });
  await fs.symlink(target, tmp);
  if (owner) await fs.lchown(tmp, owner.uid, owner.gid);
  await fs.rename(tmp, path);
}
