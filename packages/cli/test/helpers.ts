/**
 * Test support for the CLI: runs the BUILT command (`packages/cli/bin.js`, what npm installs) as a child
 * process, so exit codes, stdout/stderr separation and process behaviour are what users get.
 * `scripts/test` builds first (scripts/setup); a missing dist is reported, not skipped.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_BIN = join(CLI_DIR, 'bin.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a user shell would have, minus any Vault settings of the test runner. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(VAULT_|BAO_|VAULTDIST_(ROLE|SECRET)|NODE_OPTIONS$)/.test(k)) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

// The same check as the suite-wide scan in test/helpers/environment.mjs.
import { secretsIn } from '../../../test/helpers/secrets.mjs';

export { secretsIn };
export type { SecretFinding } from '../../../test/helpers/secrets.mjs';

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /**
   * Secrets hygiene (issue #7): the output of every command run here must hold no PRIVATE KEY block,
   * not the run's root token and nothing shaped like a Vault token; otherwise the call rejects with
   * the command and what was found. The one legitimate exception: `init vault` prints a
   * response-wrapping token (or `--create-token`'s token) once, on purpose; pass
   * `allowPrintedToken: 'init vault prints …'` (the reason) for exactly such calls. It permits a
   * Vault-token-shaped string only, never a key or the root token.
   */
  allowPrintedToken?: string | undefined;
}

export function runCommand(cmd: string, args: string[], o: RunOptions = {}): Promise<CliResult> {
  return checked(`${cmd} ${args.join(' ')}`, spawnCommand(cmd, args, o), o.allowPrintedToken);
}

async function checked(command: string, run: Promise<CliResult>, allowPrintedToken: string | undefined): Promise<CliResult> {
  const r = await run;
  const found: string[] = [];
  for (const [stream, text] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ] as const) {
    for (const h of secretsIn(text)) if (!(h.kind === 'vault-token' && allowPrintedToken)) found.push(`${stream}: ${h.what}`);
  }
  if (found.length) throw new Error(`secret in the output of \`${command.slice(0, 300)}\` (exit ${r.code}): ${found.join('; ')}`);
  return r;
}

function spawnCommand(cmd: string, args: string[], o: RunOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env ?? cleanEnv(), cwd: o.cwd ?? CLI_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 90_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `vaultdist ARGS` from the workspace build. */
/** Runs `vaultdist ARGS` from the workspace build (output checked for secrets: see `RunOptions`). */
export function vaultdist(args: string[], o: { env?: Record<string, string | undefined>; cwd?: string; allowPrintedToken?: string | undefined } = {}): Promise<CliResult> {
  if (!existsSync(join(CLI_DIR, 'dist', 'index.js'))) throw new Error('packages/cli/dist is missing: run node scripts/build.mjs (scripts/test does)');
  return runCommand(process.execPath, [CLI_BIN, ...args], { env: cleanEnv(o.env), ...(o.cwd ? { cwd: o.cwd } : {}), allowPrintedToken: o.allowPrintedToken });
}
