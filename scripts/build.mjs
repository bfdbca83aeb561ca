// Builds every workspace package that has sources (tsc project references), in dependency order.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const order = ['packages/sdk', 'packages/agent', 'packages/cli'].filter((p) => existsSync(`${p}/src/index.ts`));
execFileSync('node_modules/.bin/tsc', ['-b', ...order], { stdio: 'inherit' });
// The companion OTP application's precompiled beams (packages/cli/erlang/ebin, priv): OTP 25 + the OTP 27 carrier.
if (existsSync('packages/cli/scripts/build-erlang.mjs')) {
  const { buildErlang } = await import('../packages/cli/scripts/build-erlang.mjs');
  buildErlang();
}
