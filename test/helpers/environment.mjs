// Jest environment for integration and e2e tests: when a test fails, print the logs of every BEAM
// node it started (registered by test/helpers/erlang.ts in globalThis.__VD_NODE_LOGS__).
import { readFileSync } from 'node:fs';
import { TestEnvironment } from 'jest-environment-node';

export default class VaultdistEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    const reg = this.global.__VD_NODE_LOGS__;
    if (event.name === 'test_start' && reg) reg.nodes = [];
    if (event.name === 'test_done' && event.test.errors.length > 0 && reg?.nodes?.length) {
      for (const n of reg.nodes) {
        let text = '';
        try {
          text = readFileSync(n.logPath, 'utf8');
        } catch {
          text = '(no log)';
        }
        process.stderr.write(`\n----- log of node ${n.name} (${n.logPath}) -----\n${text.slice(-6000)}\n`);
      }
    }
  }
}
