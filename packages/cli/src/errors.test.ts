import { CertificateError, ConfigError, NodeNameError, VaultHttpError, VaultNetworkError, VaultPermissionDeniedError, VaultSealedError, WriteError } from '@vaultdist/sdk';
import { classifyError, exitCodeFor } from '../../agent/src/errors.js';
import { EXIT, ExitError, toExitError } from './errors.js';

const http = (status: number) => new VaultHttpError({ status, errors: ['x'], method: 'POST', url: 'http://127.0.0.1:8200/v1/pki/sign/r' });

describe('toExitError (one classification with the agent, issue #16)', () => {
  // the CLI and the agent used to disagree: a 5xx was exit 13/10 in the CLI and 11 in the agent
  const cases: [string, unknown, number][] = [
    ['a 500 (an election)', http(500), 11],
    ['a 503 sealed', new VaultSealedError({ status: 503, errors: ['Vault is sealed'], method: 'GET', url: 'http://127.0.0.1:8200/v1/x' }), 11],
    ['no answer', new VaultNetworkError({ method: 'GET', url: 'http://127.0.0.1:1/v1/x', errno: 'ECONNREFUSED' }), 11],
    ['a 401', http(401), 12],
    ['a 403', new VaultPermissionDeniedError({ status: 403, errors: ['permission denied'], method: 'GET', url: 'http://127.0.0.1:8200/v1/x' }), 12],
    ['a 400 while issuing', http(400), 13],
    ['a rejected certificate', new CertificateError('chain', 'does not chain'), 13],
    ['a config error', new ConfigError([{ path: 'x', message: 'bad' }]), 10],
    ['a write error', new WriteError('/x', 'EACCES'), 14],
  ];
  it.each(cases)('%s: the CLI exits like the agent', (_what, e, code) => {
    const x = toExitError(e, 'issue');
    expect(x).toBeInstanceOf(ExitError);
    expect((x as ExitError).code).toBe(code);
    expect(exitCodeFor(classifyError(e))).toBe(code);
  });

  it('keeps its two rules: a node name on the command line is a usage error, a 4xx while configuring Vault a config error', () => {
    expect((toExitError(new NodeNameError('bad', 'no @')) as ExitError).code).toBe(EXIT.USAGE);
    expect((toExitError(http(400), 'vault-admin') as ExitError).code).toBe(EXIT.CONFIG);
  });
});
