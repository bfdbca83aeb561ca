/**
 * The companion OTP application `vaultdist` shipped in the package's `erlang/` folder (src/*.erl,
 * ebin/*.beam + vaultdist.app, priv/otp-<R>/vaultdist_tls_dist.beam; built by
 * scripts/build-erlang.mjs): installed into DIR/ebin, with the sources in DIR/erlang.
 *
 * Precompiled first, `erlc` only as a fallback (issue #16): the shipped ebin is built with the oldest
 * supported OTP (25) and loads on 25-27 (OTP loads code from up to two releases back). The carrier
 * vaultdist_tls_dist is the exception: it refuses to run on another OTP release than the one that
 * compiled it (it uses OTP internals chosen at compile time), so it is shipped once per release
 * (priv/otp-25, priv/otp-27) and compiled with erlc for any other. The target release is that of the
 * `erl` on PATH (read from its releases/start_erl.data, else asked from erl itself), or
 * VAULTDIST_OTP_RELEASE.
 *
 * Modes do not depend on the umask (issue #15: under umask 000/002 ebin/, erlang/ and the .beam files
 * the node loads came out group- or world-writable): the directories are 0755 and every file 0644,
 * set with fchmod. `erlc` compiles into a private temporary directory and each .beam is installed
 * with `writeFileAtomic`, so nothing is compiled in place, and a planted symlink in DIR is refused.
 * DIR/run (0755) is created for the node's pid file (`-vaultdist_pidfile`); `--owner` hands it to the
 * node user, so it is never taken back here.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDir, paths, writeFileAtomic } from './node-dir.js';
import { packageRoot } from './package-root.js';

const run = promisify(execFile);
const CARRIER = 'vaultdist_tls_dist';

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

const appDir = () => join(packageRoot(), 'erlang');

export async function shippedModules(): Promise<string[]> {
  const dir = join(appDir(), 'src');
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((f) => /^[a-z][a-z0-9_]*\.erl$/.test(f)).sort();
}

interface BuildInfo {
  /** OTP release the ebin was compiled with. */
  ebin: string;
  /** OTP releases with a precompiled carrier in priv/otp-<R>. */
  carrier: string[];
}

function buildInfo(modules: string[]): BuildInfo | undefined {
  try {
    const b = JSON.parse(readFileSync(join(appDir(), 'priv', 'build.json'), 'utf8')) as BuildInfo;
    if (!/^\d+$/.test(b.ebin) || !Array.isArray(b.carrier)) return undefined;
    if (!modules.every((m) => existsSync(join(appDir(), 'ebin', `${m}.beam`)))) return undefined;
    return b;
  } catch {
    return undefined;
  }
}

/** The OTP release of the `erl` on PATH ("27"), or undefined without one. */
export async function targetOtpRelease(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.VAULTDIST_OTP_RELEASE && /^\d+$/.test(env.VAULTDIST_OTP_RELEASE)) return env.VAULTDIST_OTP_RELEASE;
  const erl = (env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'erl')).find((p) => existsSync(p));
  if (!erl) return undefined;
  // A standard install (erl -> ROOT/bin/erl): ROOT/releases/start_erl.data is "ERTS_VSN OTP_RELEASE".
  try {
    const root = dirname(dirname(realpathSync(erl)));
    const rel = readFileSync(join(root, 'releases', 'start_erl.data'), 'utf8').trim().split(/\s+/)[1];
    if (rel && /^\d+$/.test(rel)) return rel;
  } catch {
    /* a wrapper script or an unusual layout: ask erl */
  }
  try {
    const { stdout } = await run(erl, ['-noshell', '-eval', 'io:put_chars(erlang:system_info(otp_release)), halt().'], { timeout: 30_000 });
    return /^\d+$/.test(stdout.trim()) ? stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

export interface CompanionResult {
  modules: string[];
  warning: string | undefined;
  changed: boolean;
  /** How DIR/ebin was filled: the shipped beams, erlc (all or some modules), or nothing. */
  source: 'precompiled' | 'erlc' | 'precompiled+erlc' | 'none';
  /** The OTP release the installed beams are for, when known. */
  otpRelease: string | undefined;
}

/**
 * Installs the shipped application into `dir`. Returns the module names installed, and a warning when
 * something had to be compiled but `erlc` failed or is missing (the node still works without them).
 */
export async function installCompanion(dir: string, o: { erlc?: string; otpRelease?: string } = {}): Promise<CompanionResult> {
  const erlc = o.erlc ?? 'erlc';
  const files = await shippedModules();
  if (!files.length) return { modules: [], warning: undefined, changed: false, source: 'none', otpRelease: undefined };
  const src = join(dir, 'erlang');
  const ebin = join(dir, 'ebin');
  await ensureDir(src, 0o755);
  await ensureDir(ebin, 0o755);
  await ensureDir(dirname(paths(dir).pidfile), 0o755, { reclaim: false });
  let changed = false;
  for (const f of files) {
    const text = await readFile(join(appDir(), 'src', f), 'utf8');
    if (await writeFileAtomic(join(src, f), text, 0o644)) changed = true;
  }
  const modules = files.map((f) => f.replace(/\.erl$/, ''));
  const rel = o.otpRelease ?? (await targetOtpRelease());
  const info = buildInfo(modules);

  // Which beam comes from where: the shipped ebin (built with OTP info.ebin) is good for releases
  // info.ebin .. info.ebin+2; the carrier only for the releases it was built for.
  const shipped = new Map<string, string>();
  let note: string | undefined;
  if (info) {
    const base = Number(info.ebin);
    const r = rel === undefined ? base : Number(rel);
    if (rel === undefined) note = `no erl on PATH: installed the companions built for OTP ${info.ebin} (the carrier ${CARRIER} refuses to run on another release: re-run init node with the node's erl on PATH, or set VAULTDIST_OTP_RELEASE)`;
    if (r >= base && r <= base + 2) {
      for (const m of modules) if (m !== CARRIER) shipped.set(m, join(appDir(), 'ebin', `${m}.beam`));
      const carrier = join(appDir(), 'priv', `otp-${r}`, `${CARRIER}.beam`);
      if (modules.includes(CARRIER) && info.carrier.includes(String(r)) && existsSync(carrier)) shipped.set(CARRIER, carrier);
    }
  }
  const toCompile = modules.filter((m) => !shipped.has(m));

  // A .beam is rewritten unless it is a plain file of ours, 0644, with one link: an install from an
  // older vaultdist (compiled in place under the caller's umask, or in an ebin the node user owned) is
  // never copied or chmodded, only replaced with fresh bytes.
  const me = process.geteuid?.() ?? -1;
  const sound = (name: string) => {
    const st = lstatOrUndefined(join(ebin, name));
    return !!st && st.isFile() && st.nlink === 1 && (st.mode & 0o7777) === 0o644 && (me < 0 || st.uid === me);
  };
  const install = async (name: string, data: Buffer | string) => {
    if (!sound(name)) await rm(join(ebin, name), { force: true });
    if (await writeFileAtomic(join(ebin, name), data, 0o644)) changed = true;
  };
  for (const [m, file] of shipped) await install(`${m}.beam`, await readFile(file));
  if (info) await install('vaultdist.app', await readFile(join(appDir(), 'ebin', 'vaultdist.app')));

  if (toCompile.length && (changed || !toCompile.every((m) => sound(`${m}.beam`)) || !info)) {
    const out = await mkdtemp(join(tmpdir(), 'vaultdist-erlc-'));
    try {
      await run(erlc, ['-o', out, ...toCompile.map((m) => join(src, `${m}.erl`))]);
      for (const m of toCompile) await install(`${m}.beam`, await readFile(join(out, `${m}.beam`)));
    } catch (e) {
      const msg = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${erlc} not found on PATH` : ((e as { stderr?: string }).stderr || (e as Error).message).trim();
      const why = info ? `OTP ${rel} has no precompiled ${toCompile.join(', ')} in this package` : 'this package has no precompiled companions';
      return {
        modules: [...shipped.keys()],
        warning: `companion modules ${toCompile.join(', ')} not compiled (${why}; ${msg}); the node cannot start with -proto_dist vaultdist_tls (the carrier ${CARRIER} must be in ${ebin}) and certificate reloads need vaultdist_reload there: install erlc and re-run`,
        changed,
        source: shipped.size ? 'precompiled' : 'none',
        otpRelease: rel,
      };
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }
  const source = toCompile.length === 0 ? 'precompiled' : shipped.size ? 'precompiled+erlc' : 'erlc';
  return { modules, warning: note, changed, source, otpRelease: rel ?? info?.ebin };
}
