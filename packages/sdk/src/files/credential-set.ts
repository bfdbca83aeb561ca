import { constants as C, promises as nodeFs } from 'node:fs';
import { join } from 'node:path';
import { WriteError } from '../errors.js';

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
  chown(path: string, uid: number, gid: number): Promise<void>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
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

export interface WriteCredentialSetOptions {
  /** Owner for the files (root agents writing for a node user). */
  owner?: { uid: number; gid: number } | undefined;
  fs?: WriterFs | undefined;
  /** How many previous sets to keep for diagnosis/rollback. @default 1 */
  keepPrevious?: number | undefined;
  /** Test hook: called after each numbered step (see `writeCredentialSet`). */
  onStep?: ((step: number) => void | Promise<void>) | undefined;
}

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

/**
 * Writes one file durably: created with its final mode from the first byte (O_EXCL: never follows a
 * planted file), chmod again (umask may have narrowed it), written, fsynced, closed. Shared by the
 * credential-set and CRL-directory writers.
 */
export async function writeFileDurable(fs: WriterFs, path: string, data: string | Buffer, mode: number): Promise<void> {
  const fh = await fs.open(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
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

async function replaceSymlink(fs: WriterFs, target: string, path: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await fs.rm(tmp, { recursive: false, force: true });
  await fs.symlink(target, tmp);
  await fs.rename(tmp, path); // rename(2) over the old link: atomic
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
 * 1. compare with the live set; identical content → nothing is written;
 * 2. write `bundle.pem` (0600) and `ca.pem` (0644) into a fresh `.sets/<id>.tmp` (0700), fsync each;
 * 3. rename `.sets/<id>.tmp` → `.sets/<id>`, fsync `.sets`;
 * 4. point `current` at `.sets/<id>` by renaming a new symlink over it (the one atomic switch), fsync dir;
 * 5. make sure `bundle.pem` and `ca.pem` are symlinks through `current` (created once);
 * 6. remove older sets and stale temp entries.
 *
 * A crash anywhere leaves either the old complete set or the new complete set live: readers
 * (OTP opens `DIR/bundle.pem`) always resolve through `current`, which changes in one rename.
 * Note: validate the set (`validateCredentials`) before calling this; this function only writes.
 */
export async function writeCredentialSet(dir: string, content: CredentialSetContent, o: WriteCredentialSetOptions = {}): Promise<WriteCredentialSetResult> {
  const fs = o.fs ?? nodeWriterFs;
  const step = o.onStep ?? (() => {});
  const bundle = bundleText(content);
  const ca = caText(content);
  const bundlePath = join(dir, CREDENTIAL_FILES.bundle);
  const caPath = join(dir, CREDENTIAL_FILES.ca);
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const setsDir = join(dir, '.sets');
    await fs.mkdir(setsDir, { recursive: true, mode: 0o700 });
    // The node user must be able to traverse .sets to reach its key (0700): own it too.
    if (o.owner) await fs.chown(setsDir, o.owner.uid, o.owner.gid);
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
    const id = `${Date.now().toString(36)}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const tmpSet = join(setsDir, `${id}.tmp`);
    const finalSet = join(setsDir, id);
    await fs.mkdir(tmpSet, { mode: 0o700 });
    await writeFileDurable(fs, join(tmpSet, CREDENTIAL_FILES.bundle), bundle, 0o600);
    await step(2);
    await writeFileDurable(fs, join(tmpSet, CREDENTIAL_FILES.ca), ca, 0o644);
    if (o.owner) {
      await fs.chown(tmpSet, o.owner.uid, o.owner.gid);
      await fs.chown(join(tmpSet, CREDENTIAL_FILES.bundle), o.owner.uid, o.owner.gid);
      await fs.chown(join(tmpSet, CREDENTIAL_FILES.ca), o.owner.uid, o.owner.gid);
    }
    await fsyncDir(fs, tmpSet);
    // (3)
    await fs.rename(tmpSet, finalSet);
    await fsyncDir(fs, setsDir);
    await step(3);
    // (4)
    const rel = join('.sets', id);
    await replaceSymlink(fs, rel, join(dir, 'current'));
    await fsyncDir(fs, dir);
    await step(4);
    // (5)
    if (!linksOk) {
      await replaceSymlink(fs, join('current', CREDENTIAL_FILES.ca), caPath);
      await replaceSymlink(fs, join('current', CREDENTIAL_FILES.bundle), bundlePath);
      if (o.owner) {
        for (const p of [join(dir, 'current'), caPath, bundlePath]) await fs.lchown(p, o.owner.uid, o.owner.gid);
      }
      await fsyncDir(fs, dir);
    } else if (o.owner) {
      await fs.lchown(join(dir, 'current'), o.owner.uid, o.owner.gid);
    }
    await step(5);
    // (6)
    const keep = new Set([id, ...(liveTarget ? [liveTarget.replace(/^\.sets\//, '')] : [])]);
    const entries = (await fs.readdir(setsDir)).sort();
    const olderSets = entries.filter((e) => !e.endsWith('.tmp') && !keep.has(e));
    const extra = Math.max(0, (o.keepPrevious ?? 1) - (liveTarget ? 1 : 0));
    const toRemove = [...entries.filter((e) => e.endsWith('.tmp')), ...olderSets.slice(0, Math.max(0, olderSets.length - extra))];
    for (const e of toRemove) await fs.rm(join(setsDir, e), { recursive: true, force: true });
    for (const e of await fs.readdir(dir)) {
      if (/\.tmp-\d+-\d+$/.test(e)) await fs.rm(join(dir, e), { recursive: false, force: true });
    }
    return { changed: true, setDir: finalSet, bundlePath, caPath };
  } catch (e) {
    if (e instanceof WriteError) throw e;
    throw new WriteError(dir, `writing the credential set failed (the previous set stays live): ${(e as Error).message}`, { cause: e });
  }
}
