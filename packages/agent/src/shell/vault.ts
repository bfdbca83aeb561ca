/**
 * Vault clients for the agent: one per distinct auth config, SDK retries OFF (`NO_RETRY`): the
 * agent's backoff is the only retry layer on this call path (house style §4, openbao `auth.go`).
 */
import { readFileSync } from 'node:fs';
import {
  NO_RETRY,
  appRoleAuth,
  certAuth,
  createVaultClient,
  isVaultHttpError,
  isVaultResponseError,
  isVaultSealedError,
  kubernetesAuth,
  tokenAuth,
  type AuthStrategy,
  type VaultClient,
} from '@vaultdist/sdk';
import { fromStructuredLogger } from '@vaultdist/sdk/internal';
import type { AgentConfig, AuthConfig } from '../config/schema.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../ports.js';

const readSecret = (path: string, what: string): string => {
  try {
    const v = readFileSync(path, 'utf8').trim();
    if (!v) throw new Error('empty');
    return v;
  } catch (e) {
    throw new AgentError('config', `cannot read ${what} from ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
};

/** A token read from a file at every login: after a 403 the file is read again (an operator may have replaced it). */
function tokenFileAuth(path: string): AuthStrategy {
  let cached: string | undefined;
  return {
    kind: 'token-file',
    getToken: async () => (cached ??= readSecret(path, 'the Vault token')),
    invalidate: () => {
      const before = cached;
      cached = undefined;
      // replay only when the file now holds another token
      return readSecret(path, 'the Vault token') !== before;
    },
  };
}

/**
 * 4xx errors of the LOGIN step are auth failures (exit 12), whatever status Vault chose: OpenBao answers
 * a wrong AppRole secret_id with 400 "invalid role or secret ID", which would otherwise classify as an
 * issue error (13). Network errors, timeouts, a sealed Vault and any other 5xx (an election, a
 * standby without an active server: issue #14) stay "Vault unreachable/unavailable" (11), except cert
 * auth's 500 for a client certificate that fails verification (auth); config errors (an unreadable
 * secret file) stay config (10).
 */
export function loginErrorsAsAuth(s: AuthStrategy): AuthStrategy {
  const getToken = s.getToken.bind(s);
  s.getToken = async (ctx, signal) => {
    try {
      return await getToken(ctx, signal);
    } catch (e) {
      if ((isVaultHttpError(e) && !isVaultSealedError(e) && ((e as { status: number }).status < 500 || clientCertRefused(e))) || isVaultResponseError(e)) {
        throw new AgentError('auth', `Vault login (${s.kind}) failed: ${(e as Error).message}`, { cause: e });
      }
      throw e;
    }
  };
  return s;
}

/**
 * OpenBao/Vault cert auth answers a client certificate that fails verification (expired, unknown CA)
 * with a 500 "failed to verify client's certificate: x509: …": that is the credential, not Vault being
 * unavailable (found by the expired-node recovery test).
 */
function clientCertRefused(e: unknown): boolean {
  return ((e as { errors?: unknown }).errors as string[] | undefined)?.some((m) => /verify client'?s? certificate|x509:/i.test(m)) ?? false;
}

export function createAuthStrategy(a: AuthConfig): AuthStrategy {
  return loginErrorsAsAuth(authStrategyFor(a));
}

function authStrategyFor(a: AuthConfig): AuthStrategy {
  switch (a.method) {
    case 'token':
      return a.tokenFile ? tokenFileAuth(a.tokenFile) : tokenAuth({ token: a.token ?? '' });
    case 'approle':
      return appRoleAuth({
        mount: a.mount,
        roleId: a.roleId ?? readSecret(a.roleIdFile!, 'the AppRole role_id'),
        ...(a.secretIdFile ? { secretIdFile: a.secretIdFile } : { secretId: a.secretId ?? undefined }),
      });
    case 'cert':
      // certAuth re-reads the files at every login and drops the token when the certificate file
      // changed, so after each rotation of the node whose bundle it uses it logs in with the new one.
      return certAuth({ certFile: a.certFile, keyFile: a.keyFile, mount: a.mount, ...(a.name ? { name: a.name } : {}) });
    case 'kubernetes':
      // the JWT file is re-read at every login (projected service-account tokens rotate on disk)
      return kubernetesAuth({ role: a.role, mount: a.mount, jwtFile: a.jwtFile });
  }
}

export function createAgentVaultClient(config: AgentConfig, auth: AuthConfig, logger: Logger): VaultClient {
  const v = config.vault;
  return createVaultClient({
    address: v.address,
    caCertPath: v.caCert ?? undefined,
    namespace: v.namespace ?? undefined,
    tlsServerName: v.tlsServerName ?? undefined,
    skipVerify: v.skipVerify,
    auth: createAuthStrategy(auth),
    retry: { ...NO_RETRY, timeoutMs: v.requestTimeoutMs },
    logger: fromStructuredLogger(logger),
    // the environment was already folded into the config by resolveConfig
    env: {},
  });
}
