import type { VaultClient } from '../client.js';
import { isVaultHttpError, RenderError } from '../errors.js';
import { isDuration, parseDurationSeconds } from '../duration.js';

/**
 * Idempotent admin calls used by bootstrap (`vaultdist init vault`) and tests.
 * Each returns whether it changed anything, so a second run can report "no changes".
 */
export interface Changed {
  changed: boolean;
  /** Human-readable description of what was (or would be) done. */
  action: string;
  warnings: string[];
}

interface Opts {
  signal?: AbortSignal | undefined;
  dryRun?: boolean | undefined;
}

// the one duration parser (issue #14), re-exported here for the existing public name
export { parseDurationSeconds };

/** Enables a secrets engine mount (PKI by default) and tunes its max lease TTL. */
export async function ensureMount(
  vault: VaultClient,
  path: string,
  options: Opts & { type?: string; maxLeaseTtl?: string; description?: string } = {},
): Promise<Changed> {
  const type = options.type ?? 'pki';
  const mounts = (await vault.read<Record<string, { type: string; config?: { max_lease_ttl?: number } }>>('sys/mounts', { signal: options.signal })).data ?? {};
  const existing = mounts[`${path}/`];
  if (existing) {
    if (existing.type !== type) throw new Error(`mount ${path}/ exists with type ${existing.type}, expected ${type}`);
    if (options.maxLeaseTtl) {
      const tune = (await vault.read<{ max_lease_ttl: number }>(`sys/mounts/${path}/tune`, { signal: options.signal })).data;
      if (tune?.max_lease_ttl !== parseDurationSeconds(options.maxLeaseTtl)) {
        if (!options.dryRun) await vault.write(`sys/mounts/${path}/tune`, { max_lease_ttl: options.maxLeaseTtl }, { signal: options.signal, idempotent: true });
        return { changed: true, action: `tune ${path}/ max_lease_ttl=${options.maxLeaseTtl}`, warnings: [] };
      }
    }
    return { changed: false, action: `mount ${path}/ exists`, warnings: [] };
  }
  if (!options.dryRun) {
    await vault.write(
      `sys/mounts/${path}`,
      { type, description: options.description ?? '', config: options.maxLeaseTtl ? { max_lease_ttl: options.maxLeaseTtl } : {} },
      { signal: options.signal },
    );
  }
  return { changed: true, action: `enable ${type} at ${path}/`, warnings: [] };
}

/** Disables a mount (tests' teardown). Absent is fine. */
export async function removeMount(vault: VaultClient, path: string, options: Opts = {}): Promise<void> {
  await vault.delete(`sys/mounts/${path}`, { signal: options.signal, idempotent: true });
}

export interface GenerateRootOptions extends Opts {
  commonName: string;
  keyType?: 'ec' | 'rsa';
  keyBits?: number;
  ttl?: string;
  issuerName?: string;
}

export interface CaResult extends Changed {
  certificate: string | undefined;
}

/** Reads the default issuer's certificate of a PKI mount, or undefined when none is configured. */
export async function readCaPem(vault: VaultClient, mount: string, options: Opts = {}): Promise<string | undefined> {
  let pem: string | undefined;
  try {
    const r = await vault.read<{ certificate?: string }>(`${mount}/cert/ca`, { signal: options.signal, allowNotFound: true, unauthenticated: true });
    pem = r.data?.certificate;
  } catch (e) {
    // OpenBao/Vault >= 1.11 answer 400 "no default issuer currently configured" on an empty mount.
    if (isVaultHttpError(e) && e.status === 400 && e.errors.some((m) => m.includes('no default issuer'))) return undefined;
    // The read carries no token (cert/ca is unauthenticated on a PKI mount), so a path with no PKI
    // mount behind it answers 403 rather than 404: nothing there, hence no CA.
    if (isVaultHttpError(e) && e.status === 403) return undefined;
    throw e;
  }
  return pem && pem.includes('BEGIN CERTIFICATE') ? `${pem.trim()}\n` : undefined;
}

/**
 * The issuing CAs of a PKI mount: every issuer that has a key there and is not revoked (so not an
 * imported root), as one PEM bundle in the mount's order, or undefined when there is none. What a
 * cert-auth role should trust: the issuing intermediate(s) only, all of them during a CA rotation's
 * overlap, never the root (a sibling mount's certificates chain to it too). Needs an operator token.
 */
export async function readIssuingCaPems(vault: VaultClient, mount: string, options: Opts = {}): Promise<string | undefined> {
  let ids: string[];
  try {
    ids = await vault.list(`${mount}/issuers`, { signal: options.signal });
  } catch (e) {
    if (isVaultHttpError(e) && (e.status === 404 || e.status === 403 || e.status === 400)) return undefined;
    throw e;
  }
  const pems: string[] = [];
  for (const id of ids) {
    const r = await vault.read<{ certificate?: string; key_id?: string; revoked?: boolean }>(`${mount}/issuer/${id}`, { signal: options.signal });
    if (r.data?.key_id && !r.data.revoked && r.data.certificate?.includes('BEGIN CERTIFICATE')) pems.push(r.data.certificate.trim());
  }
  return pems.length ? `${pems.join('\n')}\n` : undefined;
}

/** Generates an internal root CA on `mount` unless it already has one. */
export async function ensureRootCa(vault: VaultClient, mount: string, o: GenerateRootOptions): Promise<CaResult> {
  const existing = await readCaPem(vault, mount, o);
  if (existing) return { changed: false, action: `${mount}/ already has a CA`, warnings: [], certificate: existing };
  if (o.dryRun) return { changed: true, action: `generate root CA ${JSON.stringify(o.commonName)} in ${mount}/`, warnings: [], certificate: undefined };
  const r = await vault.write<{ certificate: string }>(
    `${mount}/root/generate/internal`,
    {
      common_name: o.commonName,
      key_type: o.keyType ?? 'ec',
      key_bits: o.keyBits ?? 256,
      ttl: o.ttl ?? '87600h',
      issuer_name: o.issuerName,
    },
    { signal: o.signal },
  );
  return { changed: true, action: `generate root CA ${JSON.stringify(o.commonName)} in ${mount}/`, warnings: r.warnings, certificate: `${r.data.certificate.trim()}\n` };
}

export interface IntermediateOptions extends Opts {
  rootMount: string;
  commonName: string;
  keyType?: 'ec' | 'rsa';
  keyBits?: number;
  ttl?: string;
}

/**
 * Generates an intermediate in `mount`, signs it with the root in `rootMount`, and imports the whole
 * chain with `set-signed` (so leaf `ca_chain` includes the root). Skipped when `mount` has a CA.
 */
export async function ensureIntermediateCa(vault: VaultClient, mount: string, o: IntermediateOptions): Promise<CaResult> {
  const existing = await readCaPem(vault, mount, o);
  if (existing) return { changed: false, action: `${mount}/ already has a CA`, warnings: [], certificate: existing };
  const action = `generate intermediate ${JSON.stringify(o.commonName)} in ${mount}/ signed by ${o.rootMount}/`;
  if (o.dryRun) return { changed: true, action, warnings: [], certificate: undefined };
  const gen = await vault.write<{ csr: string }>(
    `${mount}/intermediate/generate/internal`,
    { common_name: o.commonName, key_type: o.keyType ?? 'ec', key_bits: o.keyBits ?? 256 },
    { signal: o.signal },
  );
  const signed = await vault.write<{ certificate: string; ca_chain?: string[]; issuing_ca: string }>(
    `${o.rootMount}/root/sign-intermediate`,
    { csr: gen.data.csr, common_name: o.commonName, ttl: o.ttl ?? '43800h', format: 'pem' },
    { signal: o.signal },
  );
  const chain = signed.data.ca_chain?.length ? signed.data.ca_chain : [signed.data.certificate, signed.data.issuing_ca];
  const set = await vault.write(`${mount}/intermediate/set-signed`, { certificate: chain.join('\n') }, { signal: o.signal });
  return { changed: true, action, warnings: [...gen.warnings, ...signed.warnings, ...set.warnings], certificate: `${signed.data.certificate.trim()}\n` };
}

/** Role parameters vaultdist cares about; anything else in `extra` is sent as-is. */
export interface NodeRoleOptions extends Opts {
  /** Domains nodes may use; combined with allowSubdomains/allowBareDomains. */
  allowedDomains?: string[];
  allowSubdomains?: boolean;
  allowBareDomains?: boolean;
  /** Allow any DNS name (tests, quick starts). @default false */
  allowAnyName?: boolean;
  allowIpSans?: boolean;
  /** URI SAN globs. @default ['erlang://*'] */
  allowedUriSans?: string[];
  /** `any` lets nodes choose (sign: from the CSR; issue: the requested type, OpenBao ≥ 2.0). */
  keyType?: 'ec' | 'rsa' | 'ed25519' | 'any';
  keyBits?: number;
  ttl?: string;
  maxTtl?: string;
  /** Do not store issued certificates in Vault. Serial revocation then needs the PEM. @default false */
  noStore?: boolean;
  extra?: Record<string, unknown>;
}

export function nodeRoleBody(o: NodeRoleOptions): Record<string, unknown> {
  return {
    allowed_domains: o.allowedDomains ?? [],
    allow_subdomains: o.allowSubdomains ?? false,
    allow_bare_domains: o.allowBareDomains ?? false,
    allow_any_name: o.allowAnyName ?? false,
    allow_localhost: true,
    allow_ip_sans: o.allowIpSans ?? true,
    allow_wildcard_certificates: false,
    enforce_hostnames: true,
    allowed_uri_sans: o.allowedUriSans ?? ['erlang://*'],
    server_flag: true,
    client_flag: true,
    key_type: o.keyType ?? 'ec',
    key_bits: o.keyBits ?? 256,
    ttl: o.ttl ?? '24h',
    max_ttl: o.maxTtl ?? '72h',
    no_store: o.noStore ?? false,
    use_csr_common_name: true,
    use_csr_sans: true,
    require_cn: true,
    ...o.extra,
  };
}

/**
 * Whether a value read back from Vault equals the value we would write: lists may come back as
 * comma strings, durations as integer seconds, PEM/HCL text without the trailing newline.
 */
export function sameValue(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    const h = Array.isArray(have) ? have : typeof have === 'string' && have ? have.split(',') : [];
    return want.length === h.length && want.every((w, i) => sameValue(w, h[i]) || String(w).trim() === String(h[i]).trim());
  }
  if (typeof want === 'string' && typeof have === 'string') return want.trim() === have.trim();
  if (typeof want === 'string' && typeof have === 'number' && isDuration(want)) {
    return parseDurationSeconds(want) === have;
  }
  return want === have;
}

/** Field names of `body` whose wanted value differs from what Vault returned in `current`. */
export function diffFields(body: Record<string, unknown>, current: Record<string, unknown>): string[] {
  return Object.keys(body).filter((k) => body[k] !== undefined && !sameValue(body[k], current[k]));
}

/**
 * Generic read → diff → write for a configuration endpoint whose GET returns what POST accepts.
 * Fields absent from `body` are left alone.
 */
export async function ensureConfigured(vault: VaultClient, path: string, body: Record<string, unknown>, o: Opts & { label?: string } = {}): Promise<Changed> {
  const label = o.label ?? path;
  const cur = await vault.read<Record<string, unknown>>(path, { signal: o.signal, allowNotFound: true });
  if (cur.data) {
    const diff = diffFields(body, cur.data);
    if (!diff.length) return { changed: false, action: `${label} is up to date`, warnings: [] };
    const w = o.dryRun ? undefined : await vault.write(path, body, { signal: o.signal, idempotent: true });
    return { changed: true, action: `update ${label} (${diff.join(', ')})`, warnings: w?.warnings ?? [] };
  }
  const w = o.dryRun ? undefined : await vault.write(path, body, { signal: o.signal, idempotent: true });
  return { changed: true, action: `create ${label}`, warnings: w?.warnings ?? [] };
}

/** Creates or updates a PKI role; unchanged when every field already has the wanted value. */
export async function ensureRole(vault: VaultClient, mount: string, name: string, body: Record<string, unknown>, o: Opts = {}): Promise<Changed> {
  return ensureConfigured(vault, `${mount}/roles/${name}`, body, { ...o, label: `role ${mount}/roles/${name}` });
}

/** Writes an ACL policy unless identical text is already stored. */
export async function ensurePolicy(vault: VaultClient, name: string, policy: string, o: Opts = {}): Promise<Changed> {
  const cur = await vault.read<{ policy?: string }>(`sys/policies/acl/${name}`, { signal: o.signal, allowNotFound: true });
  if (cur.data?.policy?.trim() === policy.trim()) return { changed: false, action: `policy ${name} is up to date`, warnings: [] };
  if (!o.dryRun) await vault.write(`sys/policies/acl/${name}`, { policy }, { signal: o.signal, idempotent: true });
  return { changed: true, action: `${cur.data ? 'update' : 'create'} policy ${name}`, warnings: [] };
}

/** Enables an auth method at `path` unless something is already mounted there. */
export async function ensureAuthMethod(vault: VaultClient, path: string, type: string, o: Opts = {}): Promise<Changed> {
  const auths = (await vault.read<Record<string, { type: string }>>('sys/auth', { signal: o.signal })).data ?? {};
  const existing = auths[`${path}/`];
  if (existing) {
    if (existing.type !== type) throw new Error(`auth path ${path}/ has type ${existing.type}, expected ${type}`);
    return { changed: false, action: `auth ${type} at ${path}/ exists`, warnings: [] };
  }
  if (!o.dryRun) {
    try {
      await vault.write(`sys/auth/${path}`, { type }, { signal: o.signal });
    } catch (e) {
      if (!(isVaultHttpError(e) && e.errors.some((m) => m.includes('already in use')))) throw e;
    }
  }
  return { changed: true, action: `enable auth ${type} at ${path}/`, warnings: [] };
}

/**
 * An ACL policy path as a quoted HCL string that cannot be escaped (issue #15: `render policy.hcl
 * --role 'x" …'` injected HCL): Vault path characters and the ACL globs `+`/`*` only, no `..`
 * segment; anything else (quotes, backslash, whitespace, newlines, braces, `#`, `$`) is a RenderError.
 */
export function aclPolicyPath(path: string): string {
  if (typeof path !== 'string' || !/^[A-Za-z0-9_.@:+*/-]+$/.test(path) || path.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new RenderError('policy path', `${JSON.stringify(path)} may only hold letters, digits and _ . @ : + * / - (no "." or ".." segment)`);
  }
  return `"${path}"`;
}

/** The issue/sign-only policy for one role (plus what renewal and revoke-with-key need). */
export function nodePolicy(mount: string, role: string): string {
  aclPolicyPath(`${mount}/sign/${role}`); // mount and role validated before any text is built (#15)
  return [
    `# vaultdist: nodes may only get certificates from ${mount}/roles/${role}`,
    `path "${mount}/sign/${role}" {`,
    `  capabilities = ["create", "update"]`,
    `}`,
    `path "${mount}/issue/${role}" {`,
    `  capabilities = ["create", "update"]`,
    `}`,
    `path "${mount}/revoke-with-key" {`,
    `  capabilities = ["update"]`,
    `}`,
    `path "${mount}/cert/ca_chain" {`,
    `  capabilities = ["read"]`,
    `}`,
    '',
  ].join('\n');
}
