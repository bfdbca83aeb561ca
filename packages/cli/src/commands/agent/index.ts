/**
 * `vaultdist agent`: runs the renewal agent (@vaultdist/agent) in this process.
 *
 * Note: the agent package is being built in parallel; its programmatic `main(argv)` is loaded lazily so
 * the rest of the CLI works without it. Until it exists this command fails with exit 1 and says so.
 */
import { EXIT, ExitError } from '../../errors.js';
import type { Output } from '../../output.js';

export interface AgentOptions {
  argv: string[];
}

export async function agent(o: AgentOptions, out: Output): Promise<number> {
  const spec = '@vaultdist/agent';
  let mod: { main?: (argv: string[]) => Promise<number | void> };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (e) {
    throw new ExitError(EXIT.INTERNAL, `the renewal agent (${spec}) is not available in this build: ${(e as Error).message}`);
  }
  if (typeof mod.main !== 'function') throw new ExitError(EXIT.INTERNAL, `${spec} does not export main(argv) yet`);
  out.progress(`starting the agent (${o.argv.join(' ')})`);
  const code = await mod.main(o.argv);
  return typeof code === 'number' ? code : EXIT.OK;
}
