/**
 * JWT/OIDC auth (`auth/jwt/login` with `role` + `jwt`), for CI systems and workload identity
 * providers that hand out signed JWTs (GitHub Actions, GitLab, SPIFFE JWT-SVIDs, a local signer).
 *
 * The JWT is obtained fresh for every login from `jwt` (a string), `jwtFile` (re-read each time:
 * projected tokens are rotated on disk) or `getJwt()` (fetch one from an identity provider). The
 * JWT itself is a credential: it is never logged and never put into an error.
 */
import { readFile } from 'node:fs/promises';
import type { AuthStrategy } from '../client.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { createLoginStrategy, loginRequest, mountPath, type LoginStrategyOptions } from './login.js';

/** Options of `jwtAuth`: the role, the JWT (value, file re-read at each login, or a function) and the mount. */
export interface JwtAuthOptions extends LoginStrategyOptions {
  /** The Vault role (`auth/jwt/role/:name`); omitted → the mount's `default_role`. */
  role?: string | undefined;
  /** Exactly one of `jwt`, `jwtFile`, `getJwt`. */
  jwt?: string | undefined;
  jwtFile?: string | undefined;
  getJwt?: ((signal: AbortSignal | undefined) => Promise<string>) | undefined;
  /** @default 'jwt' */
  mount?: string | undefined;
}

/** Resolves a JWT source (shared with Kubernetes auth). Internal: not exported from the package index. */
export async function readJwt(o: Pick<JwtAuthOptions, 'jwt' | 'jwtFile' | 'getJwt'>, signal: AbortSignal | undefined): Promise<string> {
  let jwt: string;
  if (o.getJwt) jwt = await o.getJwt(signal);
  else if (o.jwtFile) {
    try {
      jwt = await readFile(o.jwtFile, 'utf8');
    } catch (e) {
      throw new ConfigError([{ path: 'jwtFile', message: `cannot read ${o.jwtFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}` }]);
    }
  } else jwt = o.jwt ?? '';
  jwt = jwt.trim();
  if (jwt.split('.').length !== 3) throw new ConfigError([{ path: o.jwtFile ? 'jwtFile' : 'jwt', message: 'not a compact JWT (header.payload.signature)' }]);
  return jwt;
}

/** Checks that at most (or, when `required`, exactly) one JWT source is given. Internal. */
export function jwtSourceIssues(o: Pick<JwtAuthOptions, 'jwt' | 'jwtFile' | 'getJwt'>, issues: ConfigIssue[], required: boolean): void {
  const n = [o.jwt, o.jwtFile, o.getJwt].filter((v) => v !== undefined).length;
  if (n > 1) issues.push({ path: 'jwt', message: 'give only one of jwt, jwtFile, getJwt' });
  if (n === 0 && required) issues.push({ path: 'jwt', message: 'one of jwt, jwtFile, getJwt is required' });
}

/**
 * JWT login strategy.
 *
 * @example
 * const vault = createVaultClient({ address, auth: jwtAuth({ role: 'deployer', jwtFile: '/run/secrets/id-token' }) });
 */
export function jwtAuth(o: JwtAuthOptions): AuthStrategy {
  const issues: ConfigIssue[] = [];
  const mount = mountPath('mount', o.mount ?? 'jwt', issues);
  jwtSourceIssues(o, issues, true);
  if (issues.length) throw new ConfigError(issues);
  return createLoginStrategy(
    'jwt',
    async (ctx, signal) => loginRequest(ctx, `auth/${mount}/login`, { ...(o.role ? { role: o.role } : {}), jwt: await readJwt(o, signal) }, { signal }),
    o,
  );
}
