/**
 * `vaultdist agent`: runs the renewal agent (@vaultdist/agent) in this process. Its `main(argv)` comes
 * from the light `@vaultdist/agent/main` entry (not the package index, which also loads the config
 * schema): as a daemon the agent keeps its Vault and X.509 work in a work process (issue #16).
 */
import { EXIT, ExitError } from '../../errors.js';
import type { Output } from '../../output.js';

export interface AgentOptions {
  argv: string[];
}

export async function agent(o: AgentOptions, out: Output): Promise<number> {
  const spec = '@vaultdist/agent/main';
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
