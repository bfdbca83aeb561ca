/**
 * Files and privileges on the node host (issue #15), as a local attacker who IS the node user:
 *
 * - a symlink swapper running as the node user races the root writers of `vaultdist issue` (the SDK's
 *   writeCredentialSet, with the `--owner` of init node) and of the agent's CRL refresh (writeCrlDir
 *   into DIR/.crl.sets): every time it wins, root has handed a root-only 0600 file to the node user.
 *   The count must be 0;
 * - planted DIR/.sets, DIR/crl's set directory and DIR/elixir symlinks: nothing is written outside DIR,
 *   nothing is deleted there.
 *
 * The directory is set up exactly as `init node --owner` leaves it (the writers, then the CLI's
 * chownNodeFiles). Root only (useradd); skipped otherwise.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fetchCrl, writeCredentialSet, type CredentialSetContent } from '../../packages/sdk/src/index.js';
import { writeCrlDir } from '../../packages/sdk/src/internal.js';
import { chownNodeFiles } from '../../packages/cli/src/owner.js';
import { validateConfig } from '../../packages/agent/src/index.js';
import { mathRandom, nodeFs, nodeProcess, systemClock, type AgentPorts } from '../../packages/agent/src/ports.js';
import { reloadNode } from '../../packages/agent/src/shell/reloader.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const isRoot = process.getuid?.() === 0 && existsSync('/usr/sbin/useradd');

const set = (n: number): CredentialSetContent => ({
  privateKey: `-----BEGIN PRIVATE KEY-----\nKEY${n}\n-----END PRIVATE KEY-----`,
  certificate: `-----BEGIN CERTIFICATE-----\nLEAF${n}\n-----END CERTIFICATE-----`,
  chain: [],
  caBundle: [`-----BEGIN CERTIFICATE-----\nROOT${n}\n-----END CERTIFICATE-----`],
});

/**
 * The attacker: as the node user, watches `watch` for the writers' `*.tmp` set directories and swaps
 * each for a symlink to its own directory, whose entries (`names`) are symlinks to `target`.
 */
const SWAPPER = `
const fs = require('fs'); const path = require('path');
const [watch, bait] = process.argv.slice(1);
let n = 0;
for (;;) {
  let es; try { es = fs.readdirSync(watch); } catch { continue; }
  for (const e of es) {
    if (!e.endsWith('.tmp')) continue;
    const p = path.join(watch, e);
    try { fs.renameSync(p, p + '.moved' + (n++)); fs.symlinkSync(bait, p); } catch {}
  }
}`;

function startSwapper(user: { uid: number; gid: number }, watch: string, bait: string): ChildProcess {
  return spawn(process.execPath, ['-e', SWAPPER, watch, bait], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
}

async function stopSwapper(p: ChildProcess): Promise<void> {
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

(isRoot ? describe : describe.skip)('hardening: files and privileges (root only: useradd)', () => {
  const pki = useTestPki();
  const t = useTestdir('vaultdist-files-');
  let user: { name: string; uid: number; gid: number };

  beforeAll(async () => {
    const name = `vdfil${randomUUID().slice(0, 8)}`;
    execFileSync('/usr/sbin/useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    user = { name, uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim()) };
    chmodSync(t.dir, 0o711);
  });
  afterAll(async () => {
    if (user) execFileSync('/usr/sbin/userdel', [user.name]);
  });

  /** What the old `init node --owner` left: the container and everything in it the node user's. */
  function legacyLayout(c: string): void {
    const all = (p: string): string[] => [p, ...(lstatSync(p).isDirectory() ? readdirSync(p).flatMap((e) => all(join(p, e))) : [])];
    for (const p of all(c)) lchownSync(p, user.uid, user.gid);
  }

  /** A root-only secret (0600 in a 0700 directory) and the attacker's bait directory pointing at it. */
  function stage(label: string, names: string[]): { target: string; bait: string; handedOver: () => boolean; reset: () => void } {
    const secretDir = join(t.dir, `${label}-root-only`);
    mkdirSync(secretDir, { mode: 0o700 });
    const target = join(secretDir, 'shadow');
    writeFileSync(target, 'root:secret\n', { mode: 0o600 });
    const bait = join(t.dir, `${label}-bait`);
    mkdirSync(bait, { mode: 0o755 });
    for (const n of names) symlinkSync(target, join(bait, n));
    chownSync(bait, user.uid, user.gid);
    return { target, bait, handedOver: () => statSync(target).uid !== 0, reset: () => chownSync(target, 0, 0) };
  }

  it('a symlink swapper never makes `issue` (writeCredentialSet) hand a root-only file to the node user', async () => {
    const dir = join(t.dir, 'issue');
    const owner = { uid: user.uid, gid: user.gid };
    await writeCredentialSet(dir, set(0), { owner });
    await chownNodeFiles(dir, owner); // what init node --owner leaves behind
    legacyLayout(join(dir, '.sets')); // … and what the old one left: the writer takes it back
    const s = stage('issue', ['bundle.pem', 'ca.pem']);
    const swapper = startSwapper(user, join(dir, '.sets'), s.bait);
    let won = 0;
    let failed = 0;
    const runs = 100;
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 1; i <= runs; i++) {
        await writeCredentialSet(dir, set(i), { owner }).catch((e: unknown) => { if (!failed++) console.log(String(e)); });
        if (s.handedOver()) {
          won++;
          s.reset();
        }
      }
    } finally {
      await stopSwapper(swapper);
    }
    console.log(`issue race: ${won} of ${runs} writes handed the root-only file to uid ${user.uid} (${failed} writes failed)`);
    expect(won).toBe(0);
    expect(statSync(join(dir, 'bundle.pem')).uid).toBe(user.uid); // the node still gets its key
    expect(lstatSync(join(dir, '.sets')).uid).toBe(0); // taken back from the old layout
  }, 60_000);

  it("a symlink swapper never makes the agent's CRL refresh (writeCrlDir into DIR/.crl.sets) hand a root-only file over", async () => {
    const dir = join(t.dir, 'crl');
    const owner = { uid: user.uid, gid: user.gid };
    await writeCredentialSet(dir, set(0), { owner });
    const a = await fetchCrl(pki.vault, pki.mount);
    await pki.vault.request('GET', `${pki.mount}/crl/rotate`);
    const b = await fetchCrl(pki.vault, pki.mount);
    expect(a.pem).not.toBe(b.pem);
    await writeCrlDir(join(dir, 'crl'), [a.pem], [pki.rootPem], { owner });
    await chownNodeFiles(dir, owner);
    legacyLayout(join(dir, '.crl.sets'));
    const s = stage('crl', [`${a.issuerHash}.r0`]);
    const swapper = startSwapper(user, join(dir, '.crl.sets'), s.bait);
    let won = 0;
    let failed = 0;
    const runs = 100;
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 1; i <= runs; i++) {
        await writeCrlDir(join(dir, "crl"), [(i % 2 ? b : a).pem], [pki.rootPem], { owner }).catch((e: unknown) => { if (!failed++) console.log(String(e)); });
        if (s.handedOver()) {
          won++;
          s.reset();
        }
      }
    } finally {
      await stopSwapper(swapper);
    }
    console.log(`CRL refresh race: ${won} of ${runs} writes handed the root-only file to uid ${user.uid} (${failed} writes failed)`);
    expect(won).toBe(0);
    expect(readdirSync(join(dir, 'crl')).length).toBe(1);
  }, 60_000);
});

describe('hardening: planted symlinks and pid files', () => {
  const pki = useTestPki();
  const t = useTestdir('vaultdist-plant-');

  /** A directory outside DIR with one file in it, and a check that it is exactly as it was. */
  function elsewhere(label: string): { path: string; untouched: () => void } {
    const path = join(t.dir, `${label}-elsewhere`);
    mkdirSync(path);
    writeFileSync(join(path, 'keep-me'), 'x');
    return { path, untouched: () => expect(readdirSync(path)).toEqual(['keep-me']) };
  }

  it('a planted DIR/.sets symlink is refused, not followed: nothing written outside DIR, nothing deleted there', async () => {
    const dir = join(t.dir, 'sets');
    mkdirSync(dir);
    const e = elsewhere('sets');
    symlinkSync(e.path, join(dir, '.sets'));
    const err = await writeCredentialSet(dir, set(1)).catch((x: unknown) => x);
    expect(err).toMatchObject({ name: 'WriteError', message: expect.stringMatching(/\.sets: is a symlink \(to .*sets-elsewhere\); vaultdist never follows a symlink it did not create/) });
    e.untouched();
    expect(readlinkSync(join(dir, '.sets'))).toBe(e.path);
    expect(existsSync(join(dir, 'bundle.pem'))).toBe(false);
  });

  it('a planted DIR/.crl.sets symlink is refused, not followed', async () => {
    const dir = join(t.dir, 'crlsets');
    mkdirSync(dir);
    const e = elsewhere('crl');
    symlinkSync(e.path, join(dir, '.crl.sets'));
    const crl = await fetchCrl(pki.vault, pki.mount);
    const err = await writeCrlDir(join(dir, 'crl'), [crl.pem], [pki.rootPem]).catch((x: unknown) => x);
    expect(err).toMatchObject({ name: 'WriteError', message: expect.stringMatching(/\.crl\.sets: is a symlink/) });
    e.untouched();
    expect(existsSync(join(dir, 'crl'))).toBe(false);
  });

  it('the agent signals a pid only when it is a BEAM running the node (an unrelated process survives)', async () => {
    const dir = join(t.dir, 'pid');
    mkdirSync(dir);
    const victim = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((r) => victim.once('exit', (code, sig) => r(sig ?? code)));
    try {
      writeFileSync(join(dir, 'beam.pid'), `${victim.pid}\n`);
      const v = validateConfig({
        vault: { auth: { method: 'token', token: 't' } },
        nodes: [{ name: 'pid@127.0.0.1', dir, mount: 'pki', role: 'node', reload: { strategy: 'signal', pidFile: join(dir, 'beam.pid'), handlerInstalled: true }, verify: { port: 4370 } }],
      });
      const ports: AgentPorts = { clock: systemClock, random: mathRandom, fs: nodeFs, process: nodeProcess, logger: { debug() {}, info() {}, warn() {}, error() {} } };
      const err = await reloadNode(ports, v.config!.nodes[0]!, 'aa', new AbortController().signal).catch((x: unknown) => x);
      expect(err).toMatchObject({ kind: 'reload', message: expect.stringMatching(new RegExp(`pid ${victim.pid} from .*beam.pid is not a BEAM running pid@127.0.0.1 \\(it is "sleep"\\); nothing signalled`)) });
      await new Promise((r) => setTimeout(r, 200));
      expect(victim.exitCode).toBeNull();
      expect(victim.signalCode).toBeNull();
    } finally {
      victim.kill('SIGKILL');
      await exited;
    }
  });
});
