/**
 * The OTP 27 / Elixir 1.18 compatibility lane: nodes started from the Debian trixie root built by
 * scripts/otp27/build-root (cached per machine, /var/cache/vaultdist/otp27-trixie by default).
 *
 * `otp27Lane()` makes sure the root exists (building it on first use; with the cache it only checks),
 * runs a smoke node through the wrapper and returns the wrapper paths. Pass `lane.erl` as
 * `StartNodeOptions.erl`: the wrapper (scripts/otp27/erl) runs the root's erl in a private mount
 * namespace + chroot, with /tmp and the repository bind-mounted at the same paths, on the host's
 * network, and execs all the way down, so the harness's PID is beam.smp's.
 *
 * The lane is skipped (loudly) ONLY when the root cannot be built for a reason outside the project:
 * not running as root, no mount namespaces, or the Debian mirror unreachable (build-root exit 2/3).
 * Anything else (a defect of the build or the wrapper) throws, so the test file fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueNodeCredentials, renderOptfile, type OptfileOptions, type VaultClient } from '../../packages/sdk/src/index.js';
import { setDefaultErl, sharedFreePort, startNode, stopAllNodes } from './erlang.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = join(REPO, 'scripts', 'otp27');

export interface Otp27Lane {
  /** Wrapper for the root's `erl` (usable as StartNodeOptions.erl). */
  erl: string;
  erlc: string;
  elixir: string;
  /** Runs any command from the root: `[run, '/usr/bin/…', …args]`. */
  run: string;
  /** `erlang:system_info(otp_release)` inside the root, e.g. "27". */
  otpRelease: string;
  /** The full OTP version from the root, e.g. "27.3.4.1". */
  otpVersion: string;
}

export type Otp27Status = { ok: true; lane: Otp27Lane } | { ok: false; reason: string };

let cached: Otp27Status | undefined;

/** Builds (once per machine) and checks the OTP 27 root. Synchronous: usable at module load. */
export function otp27Status(): Otp27Status {
  if (cached) return cached;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return (cached = { ok: false, reason: 'the OTP 27 lane needs root (it starts nodes in a mount namespace + chroot); tests run as uid ' + process.getuid() });
  }
  const build = spawnSync('bash', [join(DIR, 'build-root')], { encoding: 'utf8', timeout: 20 * 60_000 });
  if (build.status === 2 || build.status === 3) {
    return (cached = { ok: false, reason: `scripts/otp27/build-root exited ${build.status}: ${(build.stderr || '').trim().split('\n').slice(-6).join(' | ')}` });
  }
  if (build.status !== 0) {
    throw new Error(`scripts/otp27/build-root failed (exit ${build.status ?? build.signal}):\n${build.stdout}\n${build.stderr}`);
  }
  const erl = join(DIR, 'erl');
  let out: string;
  try {
    out = execFileSync(erl, ['-noshell', '-eval', `io:format("~s ~s", [erlang:system_info(otp_release), element(2, file:read_file(filename:join([code:root_dir(), "releases", erlang:system_info(otp_release), "OTP_VERSION"])))]), halt().`], {
      encoding: 'utf8',
      cwd: REPO,
      timeout: 60_000,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`the OTP 27 root exists but its erl does not run through scripts/otp27/erl: ${err.stderr || err.message}`);
  }
  const [otpRelease, otpVersion] = out.trim().split(/\s+/);
  if (!otpRelease || !otpVersion) throw new Error(`unexpected smoke output from the OTP 27 root: ${JSON.stringify(out)}`);
  return (cached = {
    ok: true,
    lane: { erl, erlc: join(DIR, 'erlc'), elixir: join(DIR, 'elixir'), run: join(DIR, 'run'), otpRelease, otpVersion },
  });
}

/** The wrapper path for StartNodeOptions.erl, or undefined when the lane is skipped. */
export function otp27Erl(): string | undefined {
  const s = otp27Status();
  return s.ok ? s.lane.erl : undefined;
}

/**
 * `describe` for the lane: runs the block with the lane, or skips it with a loud banner on stderr
 * (and in the test name) when the root cannot be built here.
 */
export function describeOtp27(name: string, fn: (lane: () => Otp27Lane) => void): void {
  const s = otp27Status();
  if (!s.ok) {
    process.stderr.write(`\n${'!'.repeat(100)}\n!! OTP 27 LANE SKIPPED (${name}): ${s.reason}\n${'!'.repeat(100)}\n\n`);
    describe.skip(`${name} [SKIPPED: ${s.reason}]`, () => fn(() => { throw new Error('unreachable'); }));
    return;
  }
  const lane = s.lane;
  describe(`${name} [OTP ${lane.otpVersion}]`, () => fn(() => lane));
}

/** Issues Vault credentials for `node` into `dir` and writes the SDK's optfile there (as first-path.test.ts). */
export async function issueNodeDir(
  pki: { vault: VaultClient; mount: string; role: string },
  dir: string,
  node: string,
  render: Partial<OptfileOptions> = {},
) {
  const res = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node, dir });
  const optfile = join(dir, 'ssl_dist.conf');
  writeFileSync(optfile, renderOptfile({ bundleFile: res.written.bundlePath, caFile: res.written.caPath, ...render }));
  return { dir, optfile, res, bundle: res.written.bundlePath, ca: res.written.caPath };
}

/** Polls until `pred` holds (a deadline for asynchronous effects such as log lines, not a speed assertion). */
export async function eventually<T>(what: string, fn: () => T | Promise<T>, pred: (v: T) => boolean, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!pred(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms (last value ${JSON.stringify(last).slice(-500)})`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}

/** Waits until the node's log matches `re` (logger output is written asynchronously). */
export const logMatches = (node: { name: string; log(): string }, re: RegExp) =>
  eventually(`log of ${node.name} matches ${re}`, () => node.log(), (l) => re.test(l));

/**
 * Runs another e2e test file on OTP 27: every node it starts without an explicit `erl` comes from the
 * trixie root (setDefaultErl applies to this test file's module instance only). Call at the top level
 * of a test/e2e/otp27-*.test.ts file: `await runFileOnOtp27('first-path', () => import('./first-path.test.js'))`.
 * The imported file's describe blocks register in the calling file. A first test proves the default
 * really is OTP 27, so the imported tests cannot silently run on the host's OTP 25.
 */
export async function runFileOnOtp27(label: string, load: () => Promise<unknown>): Promise<void> {
  const s = otp27Status();
  if (!s.ok) {
    process.stderr.write(`\n${'!'.repeat(100)}\n!! OTP 27 LANE SKIPPED (${label}): ${s.reason}\n${'!'.repeat(100)}\n\n`);
    describe.skip(`[OTP 27 lane] ${label} [SKIPPED: ${s.reason}]`, () => {
      it('runs on OTP 27', () => undefined);
    });
    return;
  }
  const lane = s.lane;
  setDefaultErl(lane.erl);
  describe(`[OTP 27 lane] ${label} runs on OTP ${lane.otpVersion}`, () => {
    afterAll(() => stopAllNodes(), 60_000);
    it('starts its nodes from the OTP 27 root', async () => {
      const { mkdtempSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(join(tmpdir(), 'vaultdist-otp27-probe-'));
      try {
        // -start_epmd false + a fixed port: a bare `-name` node would start an epmd on 4369, which
        // other tests assert is closed (test/helpers/erlang.ts refuses such nodes now).
        const port = await sharedFreePort(['127.0.0.1']);
        const n = await startNode({ name: 'otp27probe@127.0.0.1', dir, flags: ['-start_epmd', 'false', '-erl_epmd_port', String(port)] });
        expect(await n.eval('erlang:system_info(otp_release)')).toBe(`"${lane.otpRelease}"`);
        await n.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });
  await load();
}
