/**
 * Runs the benchmark suite (or the named benchmarks) one after another, each in its own process, and
 * prints their output. `pnpm bench` builds the packages first (footprint and rotation run the built
 * agent/CLI).
 *
 *   node_modules/.bin/tsx bench/run.ts [dist|sdk|fleet|rotation|footprint|ha ...] [-- --option=value ...]
 * Options after `--` are passed to the benchmark and need exactly one name.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ALL = ['dist', 'sdk', 'fleet', 'rotation', 'footprint', 'ha'];

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const names = dash < 0 ? argv : argv.slice(0, dash);
const pass = dash < 0 ? [] : argv.slice(dash + 1);
for (const n of names) {
  if (!ALL.includes(n)) {
    console.error(`bench/run.ts: unknown benchmark ${JSON.stringify(n)} (known: ${ALL.join(', ')})`);
    process.exit(2);
  }
}
const selected = names.length ? names : ALL;
if (pass.length && selected.length !== 1) {
  console.error('bench/run.ts: options after -- need exactly one benchmark name');
  process.exit(2);
}
let failed = 0;
for (const name of selected) {
  console.log(`\n===== bench/${name}.ts ${pass.join(' ')}`);
  const r = spawnSync(join(HERE, '..', 'node_modules', '.bin', 'tsx'), [join(HERE, `${name}.ts`), ...pass], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${name}.ts exited ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
