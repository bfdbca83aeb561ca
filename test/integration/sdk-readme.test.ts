/**
 * The SDK README's deploy-tool example runs as written: the README includes
 * packages/sdk/examples/deploy-node.ts verbatim (checked here), and that file is run as a program
 * (tsx, resolving '@vaultdist/sdk' to the sources) against the real OpenBao.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseCertificate } from '../../packages/sdk/src/index.js';
import {
  createSecretId,
  ensureAppRole,
  ensureAuthMethod,
  ensurePolicy,
  nodePolicy,
  readRoleId,
} from '../../packages/sdk/src/internal.js';
import { adminClient, suffix, testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const SDK = join(ROOT, 'packages/sdk');
const EXAMPLE = join(SDK, 'examples/deploy-node.ts');

describe('SDK README example', () => {
  const admin = adminClient();
  const sfx = suffix();
  const approle = `readme-approle-${sfx}`;
  const policy = `readme-${sfx}`;
  const pki = useTestPki();
  const tmp = useTestdir();
  beforeAll(async () => {
    await ensurePolicy(admin, policy, nodePolicy(pki.mount, pki.role));
    await ensureAuthMethod(admin, approle, 'approle');
    await ensureAppRole(admin, 'node', { mount: approle, tokenPolicies: [policy], tokenTtl: '10m' });
  });
  afterAll(async () => {
    await admin.delete(`sys/auth/${approle}`);
    await admin.delete(`sys/policies/acl/${policy}`);
  });

  it('the README shows examples/deploy-node.ts verbatim', () => {
    const readme = readFileSync(join(SDK, 'README.md'), 'utf8');
    const m = /<!-- example:start examples\/deploy-node\.ts -->\n```ts\n([\s\S]*?)```\n<!-- example:end -->/.exec(readme);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(readFileSync(EXAMPLE, 'utf8'));
  });

  it('runs as written: AppRole with a wrapped secret_id, certificate, optfile, vm.args, env.sh', async () => {
    const roleId = await readRoleId(admin, 'node', { mount: approle });
    const wrapped = await createSecretId(admin, 'node', { mount: approle });
    if (!wrapped.wrapped) throw new Error('expected a wrapped secret_id');
    const dir = join(tmp.dir, 'node');
    const env = {
      PATH: process.env.PATH!,
      HOME: tmp.dir,
      VAULT_ADDR: testVault().addr,
      VD_ROLE_ID: roleId,
      VD_WRAPPED_SECRET_ID: wrapped.wrappingToken,
      VD_APPROLE_MOUNT: approle,
      VD_NODE: 'app@127.0.0.1',
      VD_CERT_DIR: dir,
      VD_PKI_MOUNT: pki.mount,
      VD_PKI_ROLE: pki.role,
      VD_DIST_PORT: '9150',
    };
    const tsx = [join(ROOT, 'node_modules/.bin/tsx'), '--tsconfig', join(SDK, 'examples/tsconfig.json'), EXAMPLE];
    const { stdout } = await run(tsx[0]!, tsx.slice(1), { env, cwd: tmp.dir });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { node: string; serial: string; changed: boolean };
    expect(out.node).toBe('app@127.0.0.1');
    expect(out.changed).toBe(true);
    const bundle = readFileSync(join(dir, 'bundle.pem'), 'utf8');
    expect(bundle.indexOf('PRIVATE KEY')).toBeLessThan(bundle.indexOf('BEGIN CERTIFICATE'));
    expect(parseCertificate(bundle.slice(bundle.indexOf('-----BEGIN CERTIFICATE'))).serial).toBe(out.serial);
    expect(readFileSync(join(dir, 'ssl_dist.conf'), 'utf8')).toContain(`{certfile, "${join(dir, 'bundle.pem')}"}`);
    expect(readFileSync(join(dir, 'vm.args'), 'utf8')).toContain('-erl_epmd_port 9150');
    expect(readFileSync(join(dir, 'env.sh.eex'), 'utf8')).toContain('ELIXIR_ERL_OPTIONS');

    // Run again with the same (now used) wrapping token: a typed error, exit 1, no secret printed.
    let failed: { code?: number; stderr?: string } = {};
    try {
      await run(tsx[0]!, tsx.slice(1), { env, cwd: tmp.dir });
    } catch (e) {
      failed = e as { code?: number; stderr?: string };
    }
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^VAULT_HTTP: .*wrapping token is not valid or does not exist/m);
    expect(failed.stderr).not.toContain(wrapped.wrappingToken);
  }, 60_000);
});
