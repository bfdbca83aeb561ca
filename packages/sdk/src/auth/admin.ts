/**
 * Idempotent admin calls for the auth side of a bootstrap: AppRole roles, role-id, secret-id
 * creation (response-wrapped by default), TLS cert-auth roles and the JWT method's config and roles.
 * Each `ensure*` reads first and writes only when a field differs, returning `changed: false` on a
 * second run (house style: every admin call can be run twice).
 */
import type { VaultClient } from '../client.js';
import { ConfigError, VaultResponseError } from '../errors.js';
import { ensureConfigured, type Changed } from '../pki/admin.js';

interface Opts {
  signal?: AbortSignal | undefined;
  dryRun?: boolean | undefined;
}

const clean = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export interface AppRoleOptions extends Opts {
  /** @default 'approle' */
  mount?: string | undefined;
  tokenPolicies: string[];
  /** e.g. "20m". */
  tokenTtl?: string | undefined;
  tokenMaxTtl?: string | undefined;
  /** Lifetime of each secret_id. @default "0" (no expiry) */
  secretIdTtl?: string | undefined;
  /** Logins per secret_id; 0 = unlimited. */
  secretIdNumUses?: number | undefined;
  /** CIDRs allowed to use secret_ids. */
  secretIdBoundCidrs?: string[] | undefined;
  tokenBoundCidrs?: string[] | undefined;
  /** @default 'service' */
  tokenType?: 'service' | 'batch' | 'default' | undefined;
  extra?: Record<string, unknown> | undefined;
}

/** Body of `auth/approle/role/:name` for the given options. */
export function appRoleBody(o: AppRoleOptions): Record<string, unknown> {
  return clean({
    bind_secret_id: true,
    token_policies: o.tokenPolicies,
    token_ttl: o.tokenTtl,
    token_max_ttl: o.tokenMaxTtl,
    secret_id_ttl: o.secretIdTtl,
    secret_id_num_uses: o.secretIdNumUses,
    secret_id_bound_cidrs: o.secretIdBoundCidrs,
    token_bound_cidrs: o.tokenBoundCidrs,
    token_type: o.tokenType,
    ...o.extra,
  });
}

/** Creates or updates an AppRole role (`auth/:mount/role/:name`). */
export function ensureAppRole(vault: VaultClient, name: string, o: AppRoleOptions): Promise<Changed> {
  const mount = o.mount ?? 'approle';
  return ensureConfigured(vault, `auth/${mount}/role/${name}`, appRoleBody(o), { ...o, label: `AppRole role ${mount}/${name}` });
}

/** Reads an AppRole role's role_id (not a secret by itself, but an identifier to hand to the node). */
export async function readRoleId(vault: VaultClient, name: string, o: { mount?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<string> {
  const path = `auth/${o.mount ?? 'approle'}/role/${name}/role-id`;
  const r = await vault.read<{ role_id?: string }>(path, { signal: o.signal });
  if (typeof r.data?.role_id !== 'string') throw new VaultResponseError(path, 'answer has no role_id');
  return r.data.role_id;
}

export type SecretIdResult =
  | { wrapped: true; wrappingToken: string; wrappingAccessor: string; ttlSeconds: number; creationPath: string }
  | { wrapped: false; secretId: string; secretIdAccessor: string; ttlSeconds: number };

export interface CreateSecretIdOptions {
  /** @default 'approle' */
  mount?: string | undefined;
  /**
   * Response-wrap the answer for this long (e.g. "120s"); `false` returns the bare secret_id.
   * @default '120s'
   */
  wrapTtl?: string | false | undefined;
  /** Metadata attached to the secret_id (shown in audit logs and token metadata). */
  metadata?: Record<string, string> | undefined;
  cidrList?: string[] | undefined;
  numUses?: number | undefined;
  ttl?: string | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Creates a new secret_id for an AppRole role. Not idempotent by nature: each call mints a new one
 * (it is never retried). By default the answer is response-wrapped, so only the node that unwraps it
 * ever sees the secret_id. Keep the result out of logs.
 */
export async function createSecretId(vault: VaultClient, name: string, o: CreateSecretIdOptions = {}): Promise<SecretIdResult> {
  const path = `auth/${o.mount ?? 'approle'}/role/${name}/secret-id`;
  const wrapTtl = o.wrapTtl === undefined ? '120s' : o.wrapTtl;
  const body = clean({
    metadata: o.metadata ? JSON.stringify(o.metadata) : undefined,
    cidr_list: o.cidrList,
    num_uses: o.numUses,
    ttl: o.ttl,
  });
  const r = await vault.write<{ secret_id?: string; secret_id_accessor?: string; secret_id_ttl?: number }>(path, body, {
    signal: o.signal,
    idempotent: false,
    wrapTtl: wrapTtl || undefined,
  });
  if (wrapTtl) {
    const w = r.wrapInfo;
    if (!w?.token) throw new VaultResponseError(path, 'answer is not response-wrapped');
    return { wrapped: true, wrappingToken: w.token, wrappingAccessor: w.accessor, ttlSeconds: w.ttl, creationPath: w.creation_path };
  }
  if (typeof r.data?.secret_id !== 'string') throw new VaultResponseError(path, 'answer has no secret_id');
  return { wrapped: false, secretId: r.data.secret_id, secretIdAccessor: String(r.data.secret_id_accessor ?? ''), ttlSeconds: Number(r.data.secret_id_ttl ?? 0) };
}

export interface CertRoleOptions extends Opts {
  /** @default 'cert' */
  mount?: string | undefined;
  /** PEM CA (e.g. the PKI intermediate) or pinned leaf that login certificates must chain to. */
  certificate: string;
  tokenPolicies: string[];
  tokenTtl?: string | undefined;
  tokenMaxTtl?: string | undefined;
  /** Globs, e.g. ["erlang://*"]. */
  allowedUriSans?: string[] | undefined;
  allowedDnsSans?: string[] | undefined;
  allowedCommonNames?: string[] | undefined;
  displayName?: string | undefined;
  extra?: Record<string, unknown> | undefined;
}

/** Creates or updates a TLS cert-auth role (`auth/:mount/certs/:name`). */
export function ensureCertRole(vault: VaultClient, name: string, o: CertRoleOptions): Promise<Changed> {
  if (!o.certificate?.includes('BEGIN CERTIFICATE')) throw new ConfigError([{ path: 'certificate', message: 'a PEM CA certificate is required' }]);
  const mount = o.mount ?? 'cert';
  const body = clean({
    certificate: `${o.certificate.trim()}\n`,
    token_policies: o.tokenPolicies,
    token_ttl: o.tokenTtl,
    token_max_ttl: o.tokenMaxTtl,
    allowed_uri_sans: o.allowedUriSans,
    allowed_dns_sans: o.allowedDnsSans,
    allowed_common_names: o.allowedCommonNames,
    display_name: o.displayName,
    ...o.extra,
  });
  return ensureConfigured(vault, `auth/${mount}/certs/${name}`, body, { ...o, label: `cert role ${mount}/${name}` });
}

export interface JwtConfigOptions extends Opts {
  /** @default 'jwt' */
  mount?: string | undefined;
  /** PEM public keys that sign accepted JWTs (offline validation, no OIDC discovery). */
  jwtValidationPubkeys?: string[] | undefined;
  oidcDiscoveryUrl?: string | undefined;
  jwksUrl?: string | undefined;
  boundIssuer?: string | undefined;
  defaultRole?: string | undefined;
}

/** Configures the JWT auth method (`auth/:mount/config`). */
export function ensureJwtConfig(vault: VaultClient, o: JwtConfigOptions): Promise<Changed> {
  const mount = o.mount ?? 'jwt';
  const body = clean({
    jwt_validation_pubkeys: o.jwtValidationPubkeys?.map((k) => k.trim()),
    oidc_discovery_url: o.oidcDiscoveryUrl,
    jwks_url: o.jwksUrl,
    bound_issuer: o.boundIssuer,
    default_role: o.defaultRole,
  });
  return ensureConfigured(vault, `auth/${mount}/config`, body, { ...o, label: `JWT config ${mount}` });
}

export interface JwtRoleOptions extends Opts {
  /** @default 'jwt' */
  mount?: string | undefined;
  /** Claim used as the identity alias name. @default 'sub' */
  userClaim?: string | undefined;
  boundAudiences?: string[] | undefined;
  boundSubject?: string | undefined;
  boundClaims?: Record<string, string | string[]> | undefined;
  tokenPolicies: string[];
  tokenTtl?: string | undefined;
  tokenMaxTtl?: string | undefined;
}

/** Creates or updates a JWT role (`auth/:mount/role/:name`, `role_type=jwt`). */
export function ensureJwtRole(vault: VaultClient, name: string, o: JwtRoleOptions): Promise<Changed> {
  const mount = o.mount ?? 'jwt';
  const body = clean({
    role_type: 'jwt',
    user_claim: o.userClaim ?? 'sub',
    bound_audiences: o.boundAudiences,
    bound_subject: o.boundSubject,
    bound_claims: o.boundClaims,
    token_policies: o.tokenPolicies,
    token_ttl: o.tokenTtl,
    token_max_ttl: o.tokenMaxTtl,
  });
  return ensureConfigured(vault, `auth/${mount}/role/${name}`, body, { ...o, label: `JWT role ${mount}/${name}` });
}
