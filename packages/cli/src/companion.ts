/**
 * Companion Erlang modules shipped in the package's `erlang/` folder (vaultdist_reload, and
 * vaultdist_epmd when present): copied into DIR/erlang and compiled into DIR/ebin with `erlc`.
 *
 * Modes do not depend on the umask (issue #15: under umask 000/002 ebin/, erlang/ and the .beam files
 * the node loads came out group- or world-writable): the directories are 0755 and every file 0644,
 * set with fchmod. `erlc` compiles into a private temporary directory and each .beam is installed
 * with `writeFileAtomic`, so nothing is compiled in place, and a planted symlink in DIR is refused.
 * DIR/run (0755) is created for the node's pid file (`-vaultdist_pidfile`); `--owner` hands it to the
 * node user, so it is never taken back here.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, type Stats } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDir, paths, writeFileAtomic } from './node-dir.js';
import { packageRoot } from './package-root.js';

const run = promisify(execFile);

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

export async function shippedModules(): Promise<string[]> {
  const dir = join(packageRoot(), 'erlang');
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((f) => /^[a-z][a-z0-9_]*\.erl$/.test(f)).sort();
}

/**
 * Installs the shipped modules into `dir`. Returns the module names compiled, and a warning when
 * there was something to compile but `erlc` failed or is missing (the node still works without them).
 */
export async function installCompanion(dir: string, erlc = 'erlc'): Promise<{ modules: string[]; warning: string | undefined; changed: boolean }> {
  const files = await shippedModules();
  if (!files.length) return { modules: [], warning: undefined, changed: false };
  const src = join(dir, 'erlang');
  const ebin = join(dir, 'ebin');
  await ensureDir(src, 0o755);
  await ensureDir(ebin, 0o755);
  await ensureDir(dirname(paths(dir).pidfile), 0o755, { reclaim: false });
  let changed = false;
  for (const f of files) {
    const text = await readFile(join(packageRoot(), 'erlang', f), 'utf8');
    if (await writeFileAtomic(join(src, f), text, 0o644)) changed = true;
  }
  const modules = files.map((f) => f.replace(/\.erl$/, ''));
  // Recompile unless every .beam is a plain file of ours, 0644, with one link: an install from an older
  // vaultdist (compiled in place under the caller's umask, or in an ebin the node user owned) is never
  // copied or chmodded, only replaced with fresh bytes.
  const me = process.geteuid?.() ?? -1;
  const sound = (m: string) => {
    const st = lstatOrUndefined(join(ebin, `${m}.beam`));
    return !!st && st.isFile() && st.nlink === 1 && (st.mode & 0o7777) === 0o644 && (me < 0 || st.uid === me);
  };
  if (changed || !modules.every(sound)) {
    const out = await mkdtemp(join(tmpdir(), 'vaultdist-erlc-'));
    try {
      await run(erlc, ['-o', out, ...files.map((f) => join(src, f))]);
      for (const m of modules) await writeFileAtomic(join(ebin, `${m}.beam`), await readFile(join(out, `${m}.beam`)), 0o644);
    } catch (e) {
      const msg = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${erlc} not found on PATH` : ((e as { stderr?: string }).stderr || (e as Error).message).trim();
      return { modules: [], warning: `companion modules not compiled (${msg}); the node cannot start with -proto_dist vaultdist_tls (the carrier vaultdist_tls_dist must be in ${ebin}) and certificate reloads need vaultdist_reload there: install erlc and re-run`, changed };
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }
  return { modules, warning: undefined, changed: true };
}
