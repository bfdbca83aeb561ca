/**
 * Entry point. `runCli` parses argv, runs one command and returns its exit code; `main` is what
 * bin.js calls and is the only place that calls `process.exit` (house style §11).
 */
import { buildProgram, CommanderError } from './cli.js';
import { EXIT, InternalError, isExitError, toExitError } from './errors.js';
import { processIo, type CliIo } from './output.js';

export { EXIT, EXIT_TABLE, ExitError, InternalError } from './errors.js';
export type { CliIo } from './output.js';

const ISSUES_URL = 'https://github.com/vaultdist/vaultdist/issues/new';

function redactPaths(s: string): string {
  return s.replace(/(\/[^\s/:'"]+){2,}/g, '<path>');
}

/** Runs the CLI with the given arguments (without `node` and the script path). Never exits the process. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help/version were printed by commander; everything else is a usage error (already printed).
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      if (e.code === 'commander.executeSubCommandAsync') return EXIT.OK;
      return EXIT.USAGE;
    }
    const x = toExitError(e);
    if (isExitError(x)) {
      io.stderr.write(`vaultdist: error: ${x.message}\n`);
      if (x.hint) io.stderr.write(`  fix: ${x.hint}\n`);
      return x.code;
    }
    const ie = x as InternalError;
    io.stderr.write(`vaultdist: internal error: ${redactPaths(ie.message)}\n`);
    io.stderr.write(`  this is a bug; please report it at ${ISSUES_URL} (with the command line, paths and tokens removed)\n`);
    if (io.env.VAULTDIST_DEBUG) io.stderr.write(`${String((ie.cause as Error)?.stack ?? ie.stack)}\n`);
    return EXIT.INTERNAL;
  }
}

/** Process entry used by bin.js. */
export async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
  // Let stdout drain; anything still holding the loop open (keep-alive agents) must not keep us alive.
  process.stdout.write('', () => process.exit(code));
}
