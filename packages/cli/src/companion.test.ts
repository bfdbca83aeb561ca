/**
 * installCompanion (issue #16): the precompiled beams are installed without erlc; erlc is only the
 * fallback for an OTP release the package has no beams for. Needs the built beams
 * (packages/cli/erlang/ebin, priv: `node scripts/build.mjs`, run by scripts/setup).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { installCompanion, targetOtpRelease } from './companion.js';
import { packageRoot } from './package-root.js';

const app = join(packageRoot(), 'erlang');
const build = JSON.parse(readFileSync(join(app, 'priv', 'build.json'), 'utf8')) as { ebin: string; carrier: string[] };
const modules = ['vaultdist_cluster', 'vaultdist_epmd', 'vaultdist_reload', 'vaultdist_tls_dist'];
let base: string;
let n = 0;
const fresh = () => {
  const d = join(base, `n${n++}`);
  mkdirSync(d);
  return d;
};

beforeAll(() => {
  // Under the repository's .cache (ignored), not /tmp: no debris.
  mkdirSync(join(packageRoot(), '..', '..', '.cache'), { recursive: true });
  base = mkdtempSync(join(packageRoot(), '..', '..', '.cache', 'companion-test-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

it('installs the shipped OTP 25 beams and the app file without erlc', async () => {
  const dir = fresh();
  const r = await installCompanion(dir, { erlc: '/nonexistent/erlc', otpRelease: build.ebin });
  expect(r).toMatchObject({ source: 'precompiled', warning: undefined, otpRelease: build.ebin, changed: true });
  expect(r.modules.sort()).toEqual(modules);
  for (const m of modules) {
    expect(readFileSync(join(dir, 'ebin', `${m}.beam`))).toEqual(readFileSync(join(app, 'ebin', `${m}.beam`)));
    expect(statSync(join(dir, 'ebin', `${m}.beam`)).mode & 0o7777).toBe(0o644);
  }
  expect(readFileSync(join(dir, 'ebin', 'vaultdist.app'), 'utf8')).toMatch(/\{application, vaultdist,/);
  // a second run changes nothing
  expect((await installCompanion(dir, { erlc: '/nonexistent/erlc', otpRelease: build.ebin })).changed).toBe(false);
});

it('installs the carrier built for the target release (27), the other modules from the OTP 25 ebin', async () => {
  if (!build.carrier.includes('27')) return console.warn('no OTP 27 carrier in this build (the OTP 27 lane was not available): skipped');
  const dir = fresh();
  const r = await installCompanion(dir, { erlc: '/nonexistent/erlc', otpRelease: '27' });
  expect(r).toMatchObject({ source: 'precompiled', warning: undefined, otpRelease: '27' });
  expect(readFileSync(join(dir, 'ebin', 'vaultdist_tls_dist.beam'))).toEqual(readFileSync(join(app, 'priv', 'otp-27', 'vaultdist_tls_dist.beam')));
  expect(readFileSync(join(dir, 'ebin', 'vaultdist_reload.beam'))).toEqual(readFileSync(join(app, 'ebin', 'vaultdist_reload.beam')));
});

it('falls back to erlc only for what it has no beams for, and says so when erlc is missing', async () => {
  // OTP 26: the OTP 25 ebin loads there, but the carrier must be compiled for 26.
  const missing = await installCompanion(fresh(), { erlc: '/nonexistent/erlc', otpRelease: '26' });
  expect(missing.source).toBe('precompiled');
  expect(missing.modules).not.toContain('vaultdist_tls_dist');
  expect(missing.warning).toMatch(/vaultdist_tls_dist not compiled \(OTP 26 has no precompiled vaultdist_tls_dist.*\/nonexistent\/erlc not found on PATH/);
  // OTP 30: beyond what OTP 25 code may load on: everything goes through erlc.
  const far = await installCompanion(fresh(), { erlc: '/nonexistent/erlc', otpRelease: '30' });
  expect(far).toMatchObject({ source: 'none', modules: [] });
  expect(far.warning).toMatch(/companion modules vaultdist_cluster, vaultdist_epmd, vaultdist_reload, vaultdist_tls_dist not compiled/);
});

it('reads the target release from the erl on PATH without starting it', async () => {
  const t0 = performance.now();
  const rel = await targetOtpRelease({ PATH: process.env.PATH });
  expect(rel).toMatch(/^\d+$/);
  expect(performance.now() - t0).toBeLessThan(200); // Debian/standard layout: releases/start_erl.data
  expect(await targetOtpRelease({ PATH: '/nonexistent' })).toBeUndefined();
  expect(await targetOtpRelease({ PATH: '/nonexistent', VAULTDIST_OTP_RELEASE: '27' })).toBe('27');
});
