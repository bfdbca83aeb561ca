// Debris check (issue #16): the suite leaves no files outside ignored folders.
//
// The first global setup of a run takes a snapshot of the repository's untracked, not-ignored files
// (`git status`) and of the temp dir's entries that tests and their tools create (vaultdist-*,
// go-plugin sockets plugin<digits>, erl_crash.dump); every test file's environment appends its
// [start, end] window to a run log (fileWindow). The last global teardown lists what is new and still
// there, and names the test file(s) whose window contains each entry's creation time. It prints a
// warning; VAULTDIST_TEST_DEBRIS=fail makes it fail the run. On a machine shared with other runs,
// their files can show up too (named "no test file of this run").
//
// BEAM crash dumps go to .cache/test/erl_crash.dump (ERL_CRASH_DUMP, ignored) instead of the node's
// working directory, often the repository root.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = join(ROOT, '.cache', 'test');
const TMP_DEBRIS = /^(vaultdist|erl_crash|plugin\d+$)/;
const SLACK_MS = 1000;

function untracked() {
  try {
    const out = execFileSync('git', ['status', '--porcelain=v1', '-z', '--untracked-files=all'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .split('\0')
      .filter((l) => l.startsWith('?? '))
      .map((l) => join(ROOT, l.slice(3)));
  } catch {
    return [];
  }
}

function tmpEntries() {
  const dir = tmpdir();
  try {
    return readdirSync(dir)
      .filter((n) => TMP_DEBRIS.test(n))
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** Called by every global setup of a run; the first one takes the snapshot. */
export function debrisBegin() {
  const state = (globalThis.__VD_DEBRIS__ ??= { refs: 0 });
  state.refs++;
  if (state.refs > 1) return;
  mkdirSync(CACHE, { recursive: true });
  process.env.ERL_CRASH_DUMP ??= join(CACHE, 'erl_crash.dump');
  state.log = join(CACHE, `files-${process.pid}-${Date.now()}.jsonl`);
  process.env.VAULTDIST_TEST_FILES_LOG = state.log;
  state.before = new Set([...untracked(), ...tmpEntries()]);
}

/** Called by every global teardown; the last one reports. */
export function debrisEnd() {
  const state = globalThis.__VD_DEBRIS__;
  if (!state || --state.refs > 0) return;
  globalThis.__VD_DEBRIS__ = undefined;
  let windows = [];
  try {
    windows = readFileSync(state.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    // no test file ran in an environment that logs
  }
  rmSync(state.log, { force: true });
  const left = [...untracked(), ...tmpEntries()].filter((p) => !state.before.has(p) && existsSync(p));
  if (left.length === 0) return;
  const lines = left.map((p) => {
    let born = 0;
    try {
      const st = lstatSync(p);
      born = st.birthtimeMs || st.mtimeMs;
    } catch {
      // gone meanwhile
    }
    const by = windows.filter((w) => born >= w.start - SLACK_MS && born <= w.end + SLACK_MS).map((w) => relative(ROOT, w.file));
    const where = p.startsWith(ROOT) ? relative(ROOT, p) : p;
    return `  ${where} (created ${new Date(born).toISOString().slice(11, 23)}) by ${by.length ? by.join(' or ') : 'no test file of this run'}`;
  });
  const msg = `debris (test/helpers/debris.mjs): files left outside ignored folders:\n${lines.join('\n')}`;
  if (process.env.VAULTDIST_TEST_DEBRIS === 'fail') throw new Error(msg);
  process.stderr.write(`\n!!!!! ${msg}\n`);
}

/** A test file's window, appended to the run log by its environment's teardown. */
export function fileWindow(file) {
  const start = Date.now();
  return () => {
    const log = process.env.VAULTDIST_TEST_FILES_LOG;
    if (!log) return;
    try {
      appendFileSync(log, `${JSON.stringify({ file, start, end: Date.now() })}\n`);
    } catch {
      // the run log is gone (a run without the global setup)
    }
  };
}
