#!/usr/bin/env node
// Builds a self-contained `vaultdist` tarball that installs without the workspace and without the npm
// registry: the workspace packages (@vaultdist/sdk, @vaultdist/agent) and every third-party runtime
// dependency are bundled (npm `bundleDependencies`).
//
// 1. `pnpm deploy --prod` the CLI into a scratch dir with a flat (hoisted) node_modules, then COPY it
//    into the staging dir. Note: pnpm deploy hard-links the workspace packages' files (package.json,
//    dist) into the scratch dir, so editing them there would edit the workspace sources; every edit
//    below happens on the copy only;
// 2. rewrite every `workspace:*` spec (CLI and bundled workspace packages) to the exact version;
// 3. mark all dependencies as bundled and `npm pack` the staging dir.
//
// The companion OTP application's beams (erlang/ebin, erlang/priv: git-ignored, never committed) are
// (re)built first by build-erlang.mjs with OTP 25, plus the OTP 27 carrier when the OTP 27 lane is
// available (VAULTDIST_PACK_REQUIRE_OTP27=1 makes its absence an error, for a release build).
//
// Usage: node packages/cli/scripts/pack.mjs [OUT_DIR]   (prints the tarball path on stdout)
// Run `node scripts/build.mjs` first: the dist folders are what gets packed.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildErlang } from './build-erlang.mjs';

const cliDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(cliDir, '..', '..');
const out = resolve(process.argv[2] ?? join(tmpdir(), 'vaultdist-pack'));
mkdirSync(out, { recursive: true });
for (const p of ['packages/sdk', 'packages/agent', 'packages/cli']) {
  if (!existsSync(join(root, p, 'dist', 'index.js'))) throw new Error(`${p}/dist is missing: run node scripts/build.mjs first`);
}
const { carriers } = buildErlang({ requireOtp27: process.env.VAULTDIST_PACK_REQUIRE_OTP27 === '1' });
const pnpm = existsSync(join(root, '.tools/node_modules/.bin/pnpm')) ? join(root, '.tools/node_modules/.bin/pnpm') : 'pnpm';
const stage = mkdtempSync(join(tmpdir(), 'vaultdist-stage-'));
try {
  // (1)
  const scratch = join(stage, 'deploy');
  execFileSync(pnpm, ['--filter', 'vaultdist', 'deploy', '--prod', '--legacy', '--config.node-linker=hoisted', '--config.package-import-method=copy', scratch], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pkgDir = join(stage, 'pkg');
  cpSync(scratch, pkgDir, { recursive: true, dereference: true, preserveTimestamps: false });
  rmSync(scratch, { recursive: true, force: true });
  for (const f of ['erlang/ebin/vaultdist.app', 'erlang/priv/build.json', ...carriers.map((r) => `erlang/priv/otp-${r}/vaultdist_tls_dist.beam`)]) {
    if (!existsSync(join(pkgDir, f))) throw new Error(`the staged package lacks ${f} (the companion beams must be shipped)`);
  }
  // Belt and braces: replace a file by a new inode before writing it.
  const writeNew = (file, text) => {
    rmSync(file, { force: true });
    writeFileSync(file, text);
  };
  // Fewer files = a faster `npx` extract: drop source maps, type declarations and markdown of
  // the bundled dependencies (the CLI's own dist keeps its maps for stack traces). Our own packages
  // keep theirs: the agent README documents its config, metrics and reload (issue #14).
  const prune = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() && e.name === '@vaultdist') continue;
      if (e.isDirectory()) {
        if (['__tests__', '.github'].includes(e.name)) rmSync(p, { recursive: true, force: true });
        else prune(p);
      } else if (/\.(map|d\.ts|d\.mts|d\.cts|md|markdown)$/i.test(e.name) || /^(CHANGELOG|HISTORY)/i.test(e.name)) rmSync(p, { force: true });
    }
  };
  prune(join(pkgDir, 'node_modules'));
  // (2)
  const versions = {};
  for (const name of ['sdk', 'agent']) {
    const pj = JSON.parse(readFileSync(join(pkgDir, 'node_modules', '@vaultdist', name, 'package.json'), 'utf8'));
    versions[pj.name] = pj.version;
  }
  const fix = (deps = {}) => Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, String(v).startsWith('workspace:') ? versions[k] : v]));
  for (const name of ['sdk', 'agent']) {
    const f = join(pkgDir, 'node_modules', '@vaultdist', name, 'package.json');
    const pj = JSON.parse(readFileSync(f, 'utf8'));
    pj.dependencies = fix(pj.dependencies);
    delete pj.devDependencies;
    writeNew(f, `${JSON.stringify(pj, null, 2)}\n`);
  }
  const f = join(pkgDir, 'package.json');
  const pj = JSON.parse(readFileSync(f, 'utf8'));
  pj.dependencies = fix(pj.dependencies);
  // The bundled workspace packages need their own third-party deps at the top level of the install.
  for (const name of ['sdk', 'agent']) {
    const dep = JSON.parse(readFileSync(join(pkgDir, 'node_modules', '@vaultdist', name, 'package.json'), 'utf8'));
    for (const [k, v] of Object.entries(dep.dependencies ?? {})) pj.dependencies[k] ??= v;
  }
  // (3)
  pj.bundleDependencies = Object.keys(pj.dependencies);
  delete pj.scripts;
  delete pj.devDependencies;
  writeNew(f, `${JSON.stringify(pj, null, 2)}\n`);
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: pkgDir, encoding: 'utf8' }).trim().split('\n').pop();
  process.stdout.write(`${join(out, name)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
  // pnpm 10's deploy with the hoisted linker also links the deployed bins under the workspace root
  // joined with the absolute target (ROOT/tmp/vaultdist-stage-*/deploy/node_modules/.bin): remove
  // that copy and its parent if pnpm created it (debris the test suite checks for).
  const stray = join(root, stage);
  rmSync(stray, { recursive: true, force: true });
  try {
    rmdirSync(dirname(stray)); // only when empty
  } catch {
    // not empty (someone else's files) or already gone
  }
}
