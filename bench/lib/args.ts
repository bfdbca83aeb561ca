/**
 * Minimal `--key=value` / `--flag` parsing for the benchmark scripts. Unknown keys are a usage error
 * naming the key, so a typo never silently runs the default configuration.
 */
export type ArgSpec = Record<string, { default: string | number | boolean; help: string }>;
export type Args<S extends ArgSpec> = { [K in keyof S]: S[K]['default'] extends number ? number : S[K]['default'] extends boolean ? boolean : string };

export class UsageError extends Error {}

export function parseArgs<S extends ArgSpec>(name: string, spec: S, argv = process.argv.slice(2)): Args<S> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(spec)) out[k] = v.default;
  for (const a of argv) {
    if (a === '--help' || a === '-h') {
      console.log(`usage: ${name} ${Object.entries(spec).map(([k, v]) => `[--${k}=${JSON.stringify(v.default)}]`).join(' ')}`);
      for (const [k, v] of Object.entries(spec)) console.log(`  --${k}  ${v.help} (default ${JSON.stringify(v.default)})`);
      process.exit(0);
    }
    const m = /^--([a-zA-Z0-9-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(`${name}: unexpected argument ${JSON.stringify(a)} (use --key=value)`);
    const key = m[1]!;
    if (!(key in spec)) throw new UsageError(`${name}: unknown option --${key} (known: ${Object.keys(spec).map((k) => `--${k}`).join(', ')})`);
    const def = spec[key]!.default;
    const raw = m[2];
    if (typeof def === 'boolean') {
      if (raw === undefined || raw === 'true') out[key] = true;
      else if (raw === 'false') out[key] = false;
      else throw new UsageError(`${name}: --${key} takes true or false, not ${JSON.stringify(raw)}`);
    } else if (typeof def === 'number') {
      const n = Number(raw);
      if (raw === undefined || raw === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${name}: --${key} needs a non-negative number, got ${JSON.stringify(raw)}`);
      out[key] = n;
    } else {
      if (raw === undefined) throw new UsageError(`${name}: --${key} needs a value`);
      out[key] = raw;
    }
  }
  return out as Args<S>;
}

/** Prints the machine-readable result as one line `BENCH_RESULT {json}` (the smoke test parses it). */
export function emitResult(bench: string, result: unknown): void {
  console.log(`BENCH_RESULT ${JSON.stringify({ bench, ...(result as object) })}`);
}

/** Runs a benchmark main with uniform error reporting: usage errors exit 2, everything else 1. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      if (e instanceof UsageError) {
        console.error(e.message);
        process.exit(2);
      }
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(1);
    },
  );
}
