/**
 * Companion Erlang modules shipped in the package's `erlang/` folder (vaultdist_reload, and
 * vaultdist_epmd when present): copied into DIR/erlang and compiled into DIR/ebin with `erlc`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from './node-dir.js';
import { packageRoot } from './package-root.js';

const run = promisify(execFile);

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
  await mkdir(src, { recursive: true });
  await mkdir(ebin, { recursive: true });
  let changed = false;
  for (const f of files) {
    const text = await readFile(join(packageRoot(), 'erlang', f), 'utf8');
    if (await writeFileAtomic(join(src, f), text, 0o644)) changed = true;
  }
  const modules = files.map((f) => f.replace(/\.erl$/, ''));
  const missing = modules.some((m) => !existsSync(join(ebin, `${m}.beam`)));
  if (changed || missing) {
    try {
      await run(erlc, ['-o', ebin, ...files.map((f) => join(src, f))]);
    } catch (e) {
      const msg = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${erlc} not found on PATH` : ((e as { stderr?: string }).stderr || (e as Error).message).trim();
      return { modules: [], warning: `companion modules not compiled (${msg}); the node works, but certificate reloads need vaultdist_reload in ${ebin}`, changed };
    }
  }
  return { modules, warning: undefined, changed: true };
}
