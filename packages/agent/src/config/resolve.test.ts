import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../main.js';
import { parseConfigText } from './load.js';
import { mergeLayers, resolveConfig } from './resolve.js';
import { configJsonSchema } from './schema.js';

const file = {
  vault: { address: 'https://file:8200' },
  nodes: [{ name: 'foo@127.0.0.1', dir: '/d/foo', mount: 'pki', role: 'node', reload: { strategy: 'poll' }, verify: { port: 4370 } }],
};

describe('config layering: defaults < file < env < flags', () => {
  it.each([
    ['file only', {}, {}, 'https://file:8200', 'info', { host: '127.0.0.1', port: 9469, enabled: true }],
    ['VAULT_ADDR over the file', { VAULT_ADDR: 'https://vault-env:8200' }, {}, 'https://vault-env:8200', 'info', undefined],
    ['BAO_ADDR over VAULT_ADDR', { VAULT_ADDR: 'https://v:1', BAO_ADDR: 'https://b:2' }, {}, 'https://b:2', 'info', undefined],
    ['flag over env', { BAO_ADDR: 'https://b:2' }, { vaultAddr: 'https://flag:3' }, 'https://flag:3', 'info', undefined],
    ['log level env then flag', { VAULTDIST_LOG_LEVEL: 'debug' }, { logLevel: 'warn' }, 'https://file:8200', 'warn', undefined],
    ['health listen env', { VAULTDIST_HEALTH_LISTEN: '127.0.0.9:1234' }, {}, 'https://file:8200', 'info', { host: '127.0.0.9', port: 1234, enabled: true }],
    ['--no-health', {}, { noHealth: true }, 'https://file:8200', 'info', { host: '127.0.0.1', port: 9469, enabled: false }],
  ])('%s', (_n, env, flags, address, level, health) => {
    const r = resolveConfig({ file, env: { BAO_TOKEN: 't', ...env }, flags });
    expect(r.errors).toEqual([]);
    expect(r.config!.vault.address).toBe(address);
    expect(r.config!.log.level).toBe(level);
    if (health) expect(r.config!.health).toEqual(health);
  });

  it('BAO_TOKEN fills a token auth but never overrides another method', () => {
    expect(resolveConfig({ file, env: { BAO_TOKEN: 'env-token' }, flags: {} }).config!.vault.auth).toEqual({ method: 'token', token: 'env-token', tokenFile: null });
    const approle = { ...file, vault: { auth: { method: 'approle', roleId: 'r', secretIdFile: '/s' } } };
    expect(resolveConfig({ file: approle, env: { BAO_TOKEN: 'env-token' }, flags: {} }).config!.vault.auth.method).toBe('approle');
  });

  it('warns about "a token in the config file" only when the token is literally in the file', () => {
    const warning = expect.stringMatching(/^vault\.auth\.token: a token in the config file/);
    for (const env of [{ BAO_TOKEN: 'env-token' }, { VAULT_TOKEN: 'env-token' }]) {
      expect(resolveConfig({ file, env, flags: {} }).warnings).not.toContainEqual(warning);
      expect(resolveConfig({ file: { ...file, vault: { auth: { method: 'token' } } }, env, flags: {} }).warnings).not.toContainEqual(warning);
    }
    const literal = { ...file, vault: { auth: { method: 'token', token: 'file-token' } } };
    expect(resolveConfig({ file: literal, env: {}, flags: {} }).warnings).toContainEqual(warning);
    // the file's token wins over BAO_TOKEN and is still in the file: still warned
    expect(resolveConfig({ file: literal, env: { BAO_TOKEN: 'env-token' }, flags: {} }).warnings).toContainEqual(warning);
  });

  it('parses BAO_SKIP_VERIFY strictly and names bad variables', () => {
    expect(resolveConfig({ file, env: { BAO_TOKEN: 't', BAO_SKIP_VERIFY: 'false' }, flags: {} }).config!.vault.skipVerify).toBe(false);
    expect(resolveConfig({ file, env: { BAO_TOKEN: 't', VAULT_SKIP_VERIFY: '1' }, flags: {} }).config!.vault.skipVerify).toBe(true);
    expect(resolveConfig({ file, env: { BAO_TOKEN: 't', BAO_SKIP_VERIFY: 'nope' }, flags: {} }).errors).toContainEqual(expect.stringMatching(/^BAO_SKIP_VERIFY: expected a boolean .*got "nope"/));
    expect(mergeLayers({ file, env: {}, flags: { healthListen: 'nope' } }).errors[0]).toContain('--health-listen: expected host:port');
  });

  it('YAML parse errors carry the line', () => {
    const r = parseConfigText('nodes:\n  - name: a\n   bad: [', '/etc/agent.yaml');
    expect(r.errors[0]).toMatch(/^\/etc\/agent\.yaml:\d+:\d+ /);
  });
});

describe('argv', () => {
  it.each([
    [['--once', '-c', 'a.yaml'], { once: true, config: 'a.yaml' }],
    [['--once', '--force', '--config=b.yaml'], { once: true, force: true, config: 'b.yaml' }],
    [['--health-listen', '127.0.0.1:0', '--no-health', '--log-level', 'debug'], { flags: { healthListen: '127.0.0.1:0', noHealth: true, logLevel: 'debug' } }],
  ])('%j', (argv, expected) => expect(parseArgs(argv)).toMatchObject(expected));
  it.each([
    [['--bogus'], 'unknown option "--bogus"'],
    [['--config'], '--config needs a value'],
    [['--force'], '--force only works with --once'],
  ])('%j → usage error', (argv, msg) => expect(() => parseArgs(argv)).toThrow(msg));
});

describe('JSON Schema for editors', () => {
  it('--print-schema prints the committed agent.schema.json (regenerate: node packages/agent/scripts/gen-config.mjs)', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const committed = JSON.parse(readFileSync(join(here, '..', '..', 'agent.schema.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });
});

describe('one environment vocabulary with the SDK and the CLI (issue #14)', () => {
  it('empty means unset: BAO_ADDR="" falls back to VAULT_ADDR (as the CLI does)', () => {
    const r = resolveConfig({ file, env: { BAO_TOKEN: 't', BAO_ADDR: '', VAULT_ADDR: 'https://vault-env:8200' }, flags: {} });
    expect(r.errors).toEqual([]);
    expect(r.config!.vault.address).toBe('https://vault-env:8200');
  });
  it('VAULT_SKIP_VERIFY=t is true, as for the SDK (one boolean parser)', () => {
    expect(resolveConfig({ file, env: { BAO_TOKEN: 't', VAULT_SKIP_VERIFY: 't' }, flags: {} }).config!.vault.skipVerify).toBe(true);
  });
  it('several addresses: a comma-separated env value or a YAML list, every entry checked', () => {
    const env = resolveConfig({ file, env: { BAO_TOKEN: 't', BAO_ADDR: 'https://a:8200, https://b:8200/' }, flags: {} });
    expect(env.errors).toEqual([]);
    expect(env.config!.vault.address).toBe('https://a:8200,https://b:8200');
    const list = resolveConfig({ file: { ...file, vault: { address: ['https://a:8200', 'https://c:8200'] } }, env: { BAO_TOKEN: 't' }, flags: {} });
    expect(list.errors).toEqual([]);
    expect(list.config!.vault.address).toBe('https://a:8200,https://c:8200');
    expect(resolveConfig({ file, env: { BAO_TOKEN: 't', BAO_ADDR: 'https://a:8200,ftp://b' }, flags: {} }).errors).toEqual([expect.stringMatching(/^BAO_ADDR: unsupported scheme ftp:/)]);
    expect(resolveConfig({ file: { ...file, vault: { address: 'https://a:8200,nope' } }, env: { BAO_TOKEN: 't' }, flags: {} }).errors).toEqual([expect.stringMatching(/^vault\.address: not a URL: "nope"/)]);
  });
  it('a YAML alias bomb is a config error naming the file, not an internal error', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(',')}]`)].join('\n');
    const r = parseConfigText(bomb, '/etc/vaultdist/agent.yaml');
    expect(r.value).toBeUndefined();
    expect(r.errors[0]).toMatch(/^\/etc\/vaultdist\/agent\.yaml: .*alias/i);
  });
});
