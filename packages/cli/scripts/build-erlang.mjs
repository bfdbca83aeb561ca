#!/usr/bin/env node
// Builds the companion OTP application `vaultdist` (packages/cli/erlang) into what the package ships:
//
//   erlang/ebin/*.beam + vaultdist.app   every module, compiled by the OLDEST supported OTP (25): OTP
//                                        loads code from up to two releases back, so these load on 25-27
//   erlang/priv/otp-<R>/vaultdist_tls_dist.beam
//                                        the carrier once per OTP release it was built for: it uses OTP
//                                        internals chosen at compile time (-if(?OTP_RELEASE ...)) and
//                                        refuses to run on another release than the one that compiled it,
//                                        a safety kept as is. Built for 25 (the erlc on PATH) and 27 (the
//                                        OTP 27 lane, scripts/otp27/erlc) when that lane is available
//   erlang/priv/build.json               {"ebin": "25", "carrier": ["25", "27"], "vsn": ...}: what
//                                        `vaultdist init node` copies for which OTP (companion.ts)
//
// *.beam are not committed (git-ignored): they are built here, by `node scripts/build.mjs` (setup) and
// by pack.mjs right before packing, so a tarball never carries beams older than the sources.
// Deterministic (+deterministic: no paths or timestamps in the beams), so rebuilding identical
// sources gives identical bytes. Skips the work when nothing changed (sources, erlc releases).
//
// Usage: node packages/cli/scripts/build-erlang.mjs [--require-otp27]
//   VAULTDIST_ERLC (default erlc on PATH) must be OTP 25; VAULTDIST_ERLC_27 (default scripts/otp27/erlc
//   when its root exists) builds the OTP 27 carrier. --require-otp27 fails instead of skipping it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OLDEST_OTP = '25';
const cliDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(cliDir, '..', '..');
const app = join(cliDir, 'erlang');
const src = join(app, 'src');
const ebin = join(app, 'ebin');
const priv = join(app, 'priv');

function otpRelease(erlc) {
  // The erl beside erlc (the OTP 27 lane's wrapper has one) answers for the release erlc compiles for.
  const erl = erlc === 'erlc' ? 'erl' : join(dirname(erlc), 'erl');
  return execFileSync(erl, ['-noshell', '-eval', 'io:put_chars(erlang:system_info(otp_release)), halt().'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function otp27Erlc() {
  if (process.env.VAULTDIST_ERLC_27) return process.env.VAULTDIST_ERLC_27;
  const wrapper = join(root, 'scripts', 'otp27', 'erlc');
  // The lane needs root (mount namespace + chroot) and its root built by scripts/otp27/build-root.
  if (!existsSync(wrapper) || (process.getuid?.() ?? 0) !== 0) return undefined;
  const cache = process.env.VAULTDIST_OTP27_ROOT ?? '/var/cache/vaultdist/otp27-trixie';
  return existsSync(join(cache, 'usr', 'bin', 'erlc')) ? wrapper : undefined;
}

function compile(erlc, out, files) {
  // Into a private dir first, then renamed into place: a failed build never leaves a partial ebin.
  const tmp = mkdtempSync(join(tmpdir(), 'vaultdist-erlc-'));
  try {
    execFileSync(erlc, ['+deterministic', '+debug_info', '-o', tmp, ...files], { stdio: ['ignore', 'pipe', 'pipe'], cwd: app });
    mkdirSync(out, { recursive: true });
    for (const f of readdirSync(tmp)) renameSync(join(tmp, f), join(out, f));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function buildErlang({ requireOtp27 = false, log = (m) => process.stderr.write(`[build-erlang] ${m}\n`) } = {}) {
  const erlc = process.env.VAULTDIST_ERLC ?? 'erlc';
  const erlc27 = otp27Erlc();
  if (requireOtp27 && !erlc27) throw new Error('the OTP 27 carrier build needs the OTP 27 lane (scripts/otp27/build-root, as root) or VAULTDIST_ERLC_27');
  const files = readdirSync(src).filter((f) => /^[a-z][a-z0-9_]*\.erl$/.test(f)).sort();
  const modules = files.map((f) => f.replace(/\.erl$/, ''));
  const pkg = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8'));
  const h = createHash('sha256').update(pkg.version).update(readFileSync(join(src, 'vaultdist.app.src')));
  for (const f of files) h.update(f).update(readFileSync(join(src, f)));
  h.update(`${erlc}\0${erlc27 ?? '-'}`);
  const digest = h.digest('hex');
  const manifest = join(priv, 'build.json');
  const carriers = [OLDEST_OTP, ...(erlc27 ? ['27'] : [])];
  const want = (m) => existsSync(join(ebin, `${m}.beam`));
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).digest === digest && modules.every(want) && carriers.every((r) => existsSync(join(priv, `otp-${r}`, 'vaultdist_tls_dist.beam')))) {
    return { built: false, carriers };
  }
  const rel = otpRelease(erlc);
  if (rel !== OLDEST_OTP) throw new Error(`${erlc} is OTP ${rel}: the shipped beams are built with OTP ${OLDEST_OTP}, the oldest supported (set VAULTDIST_ERLC)`);
  // Built into a staging dir beside ebin/priv, then swapped in with renames: a concurrent init node
  // (tests, other shells) never sees a half-built ebin (and would fall back to erlc if it did).
  const stage = mkdtempSync(join(app, '.build-'));
  try {
    const newEbin = join(stage, 'ebin');
    const newPriv = join(stage, 'priv');
    compile(erlc, newEbin, files.map((f) => join(src, f)));
    // ebin/vaultdist.app from src/vaultdist.app.src: modules filled in, vsn = the package version.
    const appSrc = readFileSync(join(src, 'vaultdist.app.src'), 'utf8')
      .replace(/\{vsn, "[^"]*"\}/, `{vsn, "${pkg.version}"}`)
      .replace(/\{modules, \[\]\}/, `{modules, [${modules.join(', ')}]}`);
    writeFileSync(join(newEbin, 'vaultdist.app'), appSrc);
    mkdirSync(join(newPriv, `otp-${OLDEST_OTP}`), { recursive: true });
    writeFileSync(join(newPriv, `otp-${OLDEST_OTP}`, 'vaultdist_tls_dist.beam'), readFileSync(join(newEbin, 'vaultdist_tls_dist.beam')));
    if (erlc27) {
      const rel27 = otpRelease(erlc27);
      if (rel27 !== '27') throw new Error(`${erlc27} is OTP ${rel27}, not 27`);
      compile(erlc27, join(newPriv, 'otp-27'), [join(src, 'vaultdist_tls_dist.erl')]);
    } else {
      log('OTP 27 lane not available: no precompiled OTP 27 carrier (init node compiles it with erlc on OTP 27 hosts)');
    }
    writeFileSync(join(newPriv, 'build.json'), `${JSON.stringify({ vsn: pkg.version, ebin: OLDEST_OTP, carrier: carriers, digest }, null, 2)}\n`);
    for (const [dir, fresh, old] of [[ebin, newEbin, 'old-ebin'], [priv, newPriv, 'old-priv']]) {
      if (existsSync(dir)) renameSync(dir, join(stage, old));
      renameSync(fresh, dir);
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  log(`built ${modules.length} modules with OTP ${OLDEST_OTP}, carrier for OTP ${carriers.join(', ')}`);
  return { built: true, carriers };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildErlang({ requireOtp27: process.argv.includes('--require-otp27') });
}
