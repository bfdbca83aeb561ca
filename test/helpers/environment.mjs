// Jest environment for integration and e2e tests: when a test fails, print the logs of every BEAM
// node it started (registered by test/helpers/erlang.ts in globalThis.__VD_NODE_LOGS__).
//
// Suite-wide secrets scan (issue #7, secrets hygiene): every BEAM node log a test file registered and
// everything the test file wrote through `console` must contain no `PRIVATE KEY` block, not the run's
// root token (VAULTDIST_TEST_VAULT_TOKEN) and nothing shaped like a Vault token. Node logs are read at
// the end of every test and when the first afterAll hook starts (before the usual testdir cleanup
// deletes them); a hit is printed at once and fails the test file ("Test suite failed to run", so the
// jest run exits non-zero) with the node, the log path and what was found. A test that must print
// such a thing on purpose sets `globalThis.__VD_SECRET_SCAN_ALLOW__ = true` (none does).
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { TestEnvironment } from 'jest-environment-node';
import { fileWindow } from './debris.mjs';
import { secretsIn as findSecrets } from './secrets.mjs';

/** What secret `text` contains, as human-readable names ([] when clean). */
export const secretsIn = (text, rootToken) => findSecrets(text, rootToken).map((h) => h.what);

/** Whether something accepts connections on 127.0.0.1:4369 (an epmd). */
function epmdListening() {
  return new Promise((resolve) => {
    const s = connect(4369, '127.0.0.1');
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export default class VaultdistEnvironment extends TestEnvironment {
  #scan = { logs: new Map(), hits: new Map(), consoleSeen: 0 };

  #epmdBefore = false;

  #window;

  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    this.#window = fileWindow(context.testPath); // the debris check (debris.mjs)
    // jest-circus reads only the root config's testTimeout; a project's (integration 60 s, e2e
    // 120 s in jest.config.js) is ignored and tests got the default 5 s. jest.setTimeout's symbol,
    // read by circus at run_start, applies the project's value.
    const timeout = config.projectConfig?.testTimeout;
    if (timeout) this.global[Symbol.for('TEST_TIMEOUT_SYMBOL')] = timeout;
  }

  // vaultdist nodes never start or contact an epmd; several tests assert 4369 is closed. A test file
  // that leaves an epmd behind (a node started without `-start_epmd false`) is named here at once.
  async setup() {
    await super.setup();
    this.#epmdBefore = await epmdListening();
  }

  async teardown() {
    if (!this.#epmdBefore && (await epmdListening())) {
      process.stderr.write(`\n!!!!! epmd: ${this.testPath} left an epmd listening on 127.0.0.1:4369 (a node started without -start_epmd false)\n`);
    }
    this.#window();
    await super.teardown();
  }

  #remember(reg) {
    for (const n of reg?.nodes ?? []) this.#scan.logs.set(n.logPath, n.name);
  }

  #hit(where, what) {
    const key = `${where}: ${what}`;
    if (this.#scan.hits.has(key)) return;
    this.#scan.hits.set(key, true);
    process.stderr.write(`\n!!!!! SECRET LEAK in ${this.testPath}\n!!!!! ${key}\n`);
  }

  #scanLogs() {
    for (const [path, name] of this.#scan.logs) {
      if (!existsSync(path)) continue;
      let text;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        continue;
      }
      for (const what of secretsIn(text)) this.#hit(`log of node ${name} (${path})`, what);
    }
  }

  // jest's test console (BufferedConsole, or CustomConsole in verbose runs) keeps every message in
  // `_buffer` for the reporter; reading it adds no stack frame (console origins stay the test's).
  #scanConsole() {
    const buf = this.global.console?._buffer;
    if (!Array.isArray(buf)) return;
    for (; this.#scan.consoleSeen < buf.length; this.#scan.consoleSeen++) {
      const e = buf[this.#scan.consoleSeen];
      for (const what of secretsIn(String(e?.message ?? ''))) this.#hit(`console.${e?.type ?? 'log'} output`, what);
    }
  }

  async handleTestEvent(event, state) {
    const reg = this.global.__VD_NODE_LOGS__;
    if (event.name === 'test_start' || event.name === 'test_done' || (event.name === 'hook_start' && event.hook.type === 'afterAll')) this.#remember(reg);
    if (event.name === 'test_done' || (event.name === 'hook_start' && event.hook.type === 'afterAll')) {
      this.#scanLogs();
      this.#scanConsole();
    }
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
    if (event.name === 'run_finish') {
      this.#remember(reg);
      this.#scanLogs();
      this.#scanConsole();
      if (this.#scan.hits.size > 0 && this.global.__VD_SECRET_SCAN_ALLOW__ !== true) {
        const err = new Error(`secrets scan (test/helpers/environment.mjs): secrets found in this test file's node logs or console output:\n  ${[...this.#scan.hits.keys()].join('\n  ')}`);
        err.stack = err.message;
        state.unhandledErrors.push(err);
      }
    }
  }
}
