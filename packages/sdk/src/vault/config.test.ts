import { isConfigError } from '../errors.js';
import { resolveVaultConnection } from './config.js';

/** The paths of the ConfigError issues, or 'resolved'. */
function issuePaths(options: Parameters<typeof resolveVaultConnection>[0], env: Record<string, string>): string[] | 'resolved' {
  try {
    resolveVaultConnection(options, env);
  } catch (e) {
    if (!isConfigError(e)) throw e;
    return e.issues.map((i) => i.path);
  }
  return 'resolved';
}

describe('resolveVaultConnection: every issue names the option or the env var at fault', () => {
  it.each([
    [{ address: 'not a url' }, {}, ['address']],
    [{ address: 'ftp://vault:8200' }, { BAO_ADDR: 'http://ok:1' }, ['address']],
    [{}, { BAO_ADDR: 'vault:8200x' }, ['BAO_ADDR']],
    [{}, { VAULT_ADDR: 'not a url' }, ['VAULT_ADDR']],
    [{}, { VAULT_SKIP_VERIFY: 'maybe' }, ['VAULT_SKIP_VERIFY']],
    [{ clientCertPath: '/c.pem' }, {}, ['clientKeyPath']],
    [{ clientKeyPath: '/k.pem' }, {}, ['clientCertPath']],
    [{}, { BAO_CLIENT_CERT: '/c.pem' }, ['VAULT_CLIENT_KEY']],
    [{}, { VAULT_CLIENT_KEY: '/k.pem' }, ['VAULT_CLIENT_CERT']],
    // empty means unset: the missing half is the option's twin
    [{ clientCertPath: '/c.pem' }, { VAULT_CLIENT_KEY: '' }, ['clientKeyPath']],
    [{}, { BAO_ADDR: 'http://a:1,ftp://b:2' }, ['BAO_ADDR']],
  ] as const)('%j with env %j → %j', (options, env, paths) => {
    expect(issuePaths(options, env)).toEqual(paths);
  });
  it('never reports the source label "option" or "default" as a path', () => {
    expect(issuePaths({ address: 'x' }, {})).not.toContain('option');
    expect(issuePaths({ address: 'http://h:1/' }, {})).toBe('resolved');
  });
});
