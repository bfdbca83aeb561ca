/**
 * The suite-wide secrets scan (test/helpers/environment.mjs) really fails a run: a child jest with the
 * project's environment runs four throw-away test files whose tests all PASS, one leaking a private
 * key into a BEAM-node log that its afterAll deletes (registered the way test/helpers/erlang.ts does),
 * one printing the run's root token through console.error, one logging a client token, one clean. The leaking files must be
 * reported by name and the run must exit non-zero; the clean one must pass.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, cleanEnv } from '../../packages/cli/test/helpers.js';
import { testdir } from '../helpers/vault.js';
import { REPO_ROOT as ROOT } from '../../scripts/vault-dev/src/index.js';


describe('suite-wide secrets scan', () => {
  const t = testdir('vaultdist-scan-');
  afterAll(() => t.cleanup());

  it('fails the run for a key in a node log or the root token on the console, and names them', async () => {
    const dir = join(t.dir, 'fixture');
    mkdirSync(dir);
    const keyLog = join(dir, 'leaky.node.log');
    writeFileSync(
      join(dir, 'key-in-node-log.test.cjs'),
      `const { writeFileSync, rmSync } = require('node:fs');
describe('node log', () => {
  afterAll(() => rmSync(${JSON.stringify(keyLog)}));
  it('starts a "node" whose log gets a key', () => {
    globalThis.__VD_NODE_LOGS__ ??= { nodes: [] };
    globalThis.__VD_NODE_LOGS__.nodes.push({ name: 'leaky@127.0.0.1', logPath: ${JSON.stringify(keyLog)} });
    writeFileSync(${JSON.stringify(keyLog)}, 'ssl options: [{key, "-----BEGIN EC PRIVATE KEY-----\\\\nMHc..."}]\\n');
    expect(true).toBe(true);
  });
  it('a later test', () => expect(true).toBe(true));
});
`,
    );
    writeFileSync(join(dir, 'token-on-console.test.cjs'), `it('prints the token', () => { console.error('using', process.env.VAULTDIST_TEST_VAULT_TOKEN); expect(1).toBe(1); });\n`);
    writeFileSync(join(dir, 'clean.test.cjs'), `it('prints nothing secret', () => { console.log('serial 01:02', 'accessor', 'uAjlV5xlZivRIBidFzAGubAD', 'file s.pem'); expect(1).toBe(1); });\n`);
    writeFileSync(join(dir, 'client-token.test.cjs'), `it('logs a client token', () => { console.info('{"client_token":"s.qLu8XboyJZN72y3Kd9nLKKd5"}'); expect(1).toBe(1); });\n`);
    const config = { rootDir: dir, testEnvironment: join(ROOT, 'test/helpers/environment.mjs'), testMatch: ['**/*.test.cjs'], transform: {} };
    const r = await runCommand(process.execPath, [join(ROOT, 'node_modules/jest/bin/jest.js'), '--ci', '--config', JSON.stringify(config)], {
      cwd: dir,
      env: cleanEnv({ VAULTDIST_TEST_VAULT_TOKEN: 'root-0123456789abcdef-fixture' }),
      // the child run echoes the fixture's fake client token (s.qLu8…) on purpose: that is what it tests
      allowPrintedToken: 'the fixture prints a fake Vault token to prove the scan catches it',
    });
    const out = r.stdout + r.stderr;
    expect(r.code).toBe(1);
    expect(out).toMatch(/FAIL .*key-in-node-log\.test\.cjs/);
    expect(out).toMatch(/FAIL .*token-on-console\.test\.cjs/);
    expect(out).toMatch(/PASS .*clean\.test\.cjs/);
    expect(out).toContain(`log of node leaky@127.0.0.1 (${keyLog}): a PRIVATE KEY block`);
    expect(out).toContain("console.error output: the run's root token");
    expect(out).toContain('console.info output: a Vault token (s.qLu8…)');
    expect(out).toMatch(/FAIL .*client-token\.test\.cjs/);
    expect(out).toMatch(/Tests:\s+5 passed, 5 total/); // every test passed: the scan alone failed the run
    expect(out).toMatch(/Test Suites:\s+3 failed, 1 passed, 4 total/);
  });
});
