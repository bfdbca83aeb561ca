/**
 * Kubernetes auth (`auth/kubernetes/login` with `role` + the pod's service-account JWT).
 *
 * The token file is re-read at every login: Kubernetes rotates projected service-account tokens on
 * disk (by default about hourly), and a stale token would be rejected. Vault validates the JWT
 * against the cluster's TokenReview API, so this method only works from inside a cluster Vault can
 * reach; the JWT is never logged and never put into an error.
 */
import type { AuthStrategy } from '../client.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { jwtSourceIssues, readJwt } from './jwt.js';
import { createLoginStrategy, loginRequest, mountPath, type LoginStrategyOptions } from './login.js';

/** Where Kubernetes mounts the pod's service-account token. */
export const KUBERNETES_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Options of `kubernetesAuth`: the role, the service-account JWT (file, value or function) and the mount. */
export interface KubernetesAuthOptions extends LoginStrategyOptions {
  /** The Vault role (`auth/kubernetes/role/:name`). */
  role: string;
  /** @default KUBERNETES_TOKEN_PATH (unless `jwt` or `getJwt` is given) */
  jwtFile?: string | undefined;
  jwt?: string | undefined;
  getJwt?: ((signal: AbortSignal | undefined) => Promise<string>) | undefined;
  /** @default 'kubernetes' */
  mount?: string | undefined;
}

/**
 * Kubernetes login strategy.
 *
 * @example
 * const vault = createVaultClient({ address, auth: kubernetesAuth({ role: 'erlang-node' }) });
 */
export function kubernetesAuth(o: KubernetesAuthOptions): AuthStrategy {
  const issues: ConfigIssue[] = [];
  const mount = mountPath('mount', o.mount ?? 'kubernetes', issues);
  if (typeof o.role !== 'string' || !o.role) issues.push({ path: 'role', message: 'a Kubernetes auth role is required' });
  jwtSourceIssues(o, issues, false);
  if (issues.length) throw new ConfigError(issues);
  const source = o.jwt === undefined && o.getJwt === undefined ? { jwtFile: o.jwtFile ?? KUBERNETES_TOKEN_PATH } : o;
  return createLoginStrategy(
    'kubernetes',
    async (ctx, signal) => loginRequest(ctx, `auth/${mount}/login`, { role: o.role, jwt: await readJwt(source, signal) }, { signal }),
    o,
  );
}
