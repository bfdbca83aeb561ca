/**
 * One Vault identity per node (issue #12 part 1): static per-node objects, so a node's credentials can
 * get a certificate for that node only. For node `name@host` with slug `s = nodeSlug(node)`:
 *
 * - PKI role `<pki mount>/roles/vaultdist-<s>`: the host as the only (bare) domain, the URI SAN
 *   `erlang://name@host` exactly, IP SANs only for an IPv4 host (on OpenBao limited to that address
 *   with `allowed_ip_sans_cidr`), no localhost/subdomains/globs/wildcards;
 * - ACL policy `<prefix>-<s>` (default prefix `vaultdist-node`): `update` on that role's sign path
 *   only, its own token's lookup/renew, and in the registry plugin (#13) its own registration path
 *   `<registry>/clusters/+/nodes/<name@host>` plus the members list of any cluster;
 * - AppRole role `vaultdist-<s>` (bootstrap): its own role, hence its own entity and alias;
 * - cert-auth role `vaultdist-<s>` (renewal): trusts the issuing CA and only a certificate whose URI
 *   SAN is `erlang://name@host`; the agent logs in with `name=vaultdist-<s>`.
 *
 * Why static objects and not identity templates (`allowed_uri_sans_template`): they behave the same on
 * HashiCorp Vault and OpenBao, need no entity or alias metadata (several nodes behind one AppRole role
 * share an entity whose metadata is whatever the last login wrote: vault-plugin-and-identity.md), and
 * bind cert-auth renewals, whose alias (the CN = host) is shared by every node of a host.
 *
 * Note: Vault/OpenBao PKI cannot *require* a URI SAN: a CSR without one is signed by the node's role
 * (still only for its own host). Such a certificate names no node, and the distribution carrier
 * refuses it (issue #12 part 2).
 */
import { createHash } from 'node:crypto';
import type { VaultClient } from './client.js';
import { ConfigError, isVaultHttpError } from './errors.js';
import { nodeIdentityUri, parseNodeName, type NodeName } from './node-name.js';
import { appRoleBody, ensureCertRole, type AppRoleOptions, type CertRoleOptions } from './auth/admin.js';
import { aclPolicyPath, diffFields, ensureConfigured, ensurePolicy, nodeRoleBody, type Changed } from './pki/admin.js';

/** Mount of the vaultdist registry plugin (#13). */
export const DEFAULT_REGISTRY_MOUNT = 'vaultdist';
/** Prefix of the per-node ACL policy names (`<prefix>-<slug>`). */
export const DEFAULT_NODE_POLICY_PREFIX = 'vaultdist-node';

const SLUG_MAX = 63;

const MOUNT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const NAME = /^[A-Za-z0-9_.-]+$/;

/** Mount paths and name prefixes go into HCL and URL paths: nothing that could quote or escape. */
function requireSafe(path: string, value: string, re: RegExp): void {
  if (typeof value !== 'string' || !re.test(value)) throw new ConfigError([{ path, message: `${JSON.stringify(value)}: letters, digits, "_", "-", "."${re === MOUNT_PATH ? ' and "/" between segments' : ''} only` }]);
}

function asNode(node: string | NodeName): NodeName {
  return typeof node === 'string' ? parseNodeName(node) : node;
}

/**
 * A name for the node usable in every Vault object name: lowercase `[a-z0-9-]`, at most 63 characters,
 * readable (name and host) and unique (8 hex of sha256 over the exact node name, so `App@h` and
 * `app@h`, or names that differ only in characters folded to `-`, still get distinct slugs).
 * @example nodeSlug('app@127.0.0.1') // 'app-127-0-0-1-<8 hex>'
 */
export function nodeSlug(node: string | NodeName): string {
  const n = asNode(node);
  const hash = createHash('sha256').update(n.full, 'utf8').digest('hex').slice(0, 8);
  const readable = `${n.name}-${n.host}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX - hash.length - 1)
    .replace(/-+$/, '');
  return readable ? `${readable}-${hash}` : hash;
}

/** The names of one node's Vault objects. */
export interface NodeIdentityNames {
  node: string;
  slug: string;
  /** `erlang://name@host`, the only URI SAN the node's role signs and its cert role accepts. */
  uri: string;
  /** PKI role (under the PKI mount), AppRole role and cert-auth role name: `vaultdist-<slug>`. */
  role: string;
  /** ACL policy name: `<policyPrefix>-<slug>`. */
  policy: string;
}

/** The names of a node's per-node Vault objects (PKI role, ACL policy, AppRole role, cert-auth role), derived from `nodeSlug`. */
export function nodeIdentityNames(node: string | NodeName, o: { policyPrefix?: string | undefined } = {}): NodeIdentityNames {
  const n = asNode(node);
  if (o.policyPrefix !== undefined) requireSafe('policyPrefix', o.policyPrefix, NAME);
  const slug = nodeSlug(n);
  return { node: n.full, slug, uri: nodeIdentityUri(n), role: `vaultdist-${slug}`, policy: `${o.policyPrefix ?? DEFAULT_NODE_POLICY_PREFIX}-${slug}` };
}

/** Settings of a node's PKI role: key type and bits, TTLs, allowed IP SAN range. */
export interface NodePkiRoleOptions {
  keyType?: 'ec' | 'rsa' | 'ed25519' | 'any';
  keyBits?: number;
  ttl?: string;
  maxTtl?: string;
  /**
   * Limit IP SANs to the node's address with `allowed_ip_sans_cidr` (OpenBao ≥ 2.5; HashiCorp Vault
   * ignores the field with a warning and then allows any IP SAN).
   * @default true
   */
  ipSansCidr?: boolean;
}

/** Refuses what a per-node identity cannot bind (IPv6 hosts: no DNS SAN form, like the registry). */
function requireBindable(n: NodeName): void {
  if (n.hostKind === 'ipv6') {
    throw new ConfigError([{ path: 'node', message: `${n.full}: IPv6 hosts are not supported for node identities (use a DNS name or an IPv4 address)` }]);
  }
}

/** Body of the node's PKI role `<mount>/roles/vaultdist-<slug>`. */
export function nodePkiRoleBody(node: string | NodeName, o: NodePkiRoleOptions = {}): Record<string, unknown> {
  const n = asNode(node);
  requireBindable(n);
  const ipv4 = n.hostKind === 'ipv4';
  return nodeRoleBody({
    allowedDomains: [n.host],
    allowBareDomains: true,
    allowSubdomains: false,
    allowAnyName: false,
    allowIpSans: ipv4,
    allowedUriSans: [nodeIdentityUri(n)],
    ...(o.keyType ? { keyType: o.keyType } : {}),
    ...(o.keyBits !== undefined ? { keyBits: o.keyBits } : {}),
    ...(o.ttl ? { ttl: o.ttl } : {}),
    ...(o.maxTtl ? { maxTtl: o.maxTtl } : {}),
    extra: {
      allow_glob_domains: false,
      allow_localhost: false,
      allowed_uri_sans_template: false,
      allowed_domains_template: false,
      ...(ipv4 && o.ipSansCidr !== false ? { allowed_ip_sans_cidr: [`${n.host}/32`] } : {}),
    },
  });
}

/** Settings of a node's ACL policy: the PKI mount and the registry mount. */
export interface NodePolicyOptions {
  pkiMount: string;
  /** @default 'vaultdist' */
  registryMount?: string | undefined;
}

/** HCL of the node's ACL policy. Paths on an absent mount (registry not mounted) are harmless. */
export function nodeIdentityPolicy(node: string | NodeName, o: NodePolicyOptions): string {
  const n = asNode(node);
  const { role } = nodeIdentityNames(n);
  const reg = o.registryMount ?? DEFAULT_REGISTRY_MOUNT;
  requireSafe('pkiMount', o.pkiMount, MOUNT_PATH);
  requireSafe('registryMount', reg, MOUNT_PATH);
  // every interpolated value goes through a path here; aclPolicyPath refuses what could escape the string (#15)
  const path = (p: string, caps: string[]) => [`path ${aclPolicyPath(p)} {`, `  capabilities = [${caps.map((c) => JSON.stringify(c)).join(', ')}]`, '}'];
  return [
    `# vaultdist node ${n.full}: certificates for this node only (PKI role ${o.pkiMount}/roles/${role})`,
    ...path(`${o.pkiMount}/sign/${role}`, ['update']),
    '# revoke a certificate of its own (proof of possession of the key), read the CA chain',
    ...path(`${o.pkiMount}/revoke-with-key`, ['update']),
    ...path(`${o.pkiMount}/cert/ca_chain`, ['read']),
    '# renewal: look up and renew its own token (nothing else)',
    ...path('auth/token/lookup-self', ['read']),
    ...path('auth/token/renew-self', ['update']),
    `# registry plugin (#13): register only itself, read the members of any cluster ("+" = one segment)`,
    ...path(`${reg}/clusters/+/nodes/${n.full}`, ['create', 'update', 'delete']),
    ...path(`${reg}/clusters/+/members`, ['read', 'list']),
    ...path(`${reg}/clusters/+/members/*`, ['read', 'list']),
    '',
  ].join('\n');
}

/** Token TTLs of a node's AppRole and cert-auth roles. */
export interface NodeTokenOptions {
  /** @default '1h' */
  tokenTtl?: string | undefined;
  /** @default '24h' */
  tokenMaxTtl?: string | undefined;
}

/** Options of the node's AppRole role (ensureAppRole). secret_id lifetimes are set per secret_id. */
export function nodeAppRoleOptions(names: NodeIdentityNames, o: NodeTokenOptions & { mount?: string | undefined } = {}): AppRoleOptions {
  return { mount: o.mount, tokenPolicies: [names.policy], tokenTtl: o.tokenTtl ?? '1h', tokenMaxTtl: o.tokenMaxTtl ?? '24h' };
}

/** Options of the node's cert-auth role (ensureCertRole): the issuing CA, this node's URI SAN only. */
export function nodeCertRoleOptions(names: NodeIdentityNames, caPem: string, o: NodeTokenOptions & { mount?: string | undefined } = {}): CertRoleOptions {
  return {
    mount: o.mount,
    certificate: caPem,
    allowedUriSans: [names.uri],
    tokenPolicies: [names.policy],
    tokenTtl: o.tokenTtl ?? '1h',
    tokenMaxTtl: o.tokenMaxTtl ?? '24h',
    displayName: names.role,
  };
}

interface Opts {
  signal?: AbortSignal | undefined;
  dryRun?: boolean | undefined;
}

/**
 * Creates or updates the node's PKI role. `allowed_ip_sans_cidr` is left out of the comparison when
 * the server does not know the field (HashiCorp Vault), so a second run reports no change there.
 */
export async function ensureNodePkiRole(vault: VaultClient, mount: string, node: string | NodeName, o: NodePkiRoleOptions & Opts = {}): Promise<Changed> {
  const n = asNode(node);
  const { role } = nodeIdentityNames(n);
  const path = `${mount}/roles/${role}`;
  const label = `role ${path} (${nodeIdentityUri(n)} only)`;
  const body = nodePkiRoleBody(n, o);
  const cur = await vault.read<Record<string, unknown>>(path, { signal: o.signal, allowNotFound: true });
  if (cur.data && 'allowed_ip_sans_cidr' in body && !('allowed_ip_sans_cidr' in cur.data)) delete body.allowed_ip_sans_cidr;
  const diff = cur.data ? diffFields(body, cur.data) : [];
  if (cur.data && !diff.length) return { changed: false, action: `${label} is up to date`, warnings: [] };
  const w = o.dryRun ? undefined : await vault.write(path, body, { signal: o.signal, idempotent: true });
  const warnings = (w?.warnings ?? []).map((x) =>
    /allowed_ip_sans_cidr/.test(x) ? `${path}: this server has no allowed_ip_sans_cidr, so the role allows any IP SAN (the URI SAN and host still bind the node)` : x,
  );
  return { changed: true, action: cur.data ? `update ${label} (${diff.join(', ')})` : `create ${label}`, warnings };
}

/** Options of `ensureNodeIdentity`: the PKI and registry mounts, the policy prefix, the auth mounts and the CA the cert-auth role trusts. */
export interface EnsureNodeIdentityOptions extends Opts, NodePkiRoleOptions, NodeTokenOptions {
  pkiMount: string;
  /** @default 'vaultdist' */
  registryMount?: string | undefined;
  /** @default 'vaultdist-node' */
  policyPrefix?: string | undefined;
  /** AppRole mount for the node's bootstrap role; `false` when AppRole is not set up. @default 'approle' */
  approleMount?: string | false | undefined;
  /** Cert-auth mount for the node's renewal role; `false` when cert auth is not set up. @default 'cert' */
  certMount?: string | false | undefined;
  /**
   * The issuing CA(s) the cert role trusts (PEM bundle; `readIssuingCaPems`: the intermediates with a
   * key in the mount, never the root). Required with a cert mount, except in a dry run before the CA exists.
   */
  caPem?: string | undefined;
}

/** Every step's outcome, in order: PKI role, policy, AppRole role, cert role. */
export interface EnsureNodeIdentityResult {
  names: NodeIdentityNames;
  steps: Changed[];
}

/**
 * Creates or updates (idempotently) the node's PKI role, policy, AppRole role and cert-auth role.
 * Run it with an operator token; a second run with the same options changes nothing.
 * @throws ConfigError for an IPv6 node, or a cert mount without `caPem` outside a dry run
 */
export async function ensureNodeIdentity(vault: VaultClient, node: string | NodeName, o: EnsureNodeIdentityOptions): Promise<EnsureNodeIdentityResult> {
  const n = asNode(node);
  requireBindable(n);
  const names = nodeIdentityNames(n, { policyPrefix: o.policyPrefix });
  const opts = { signal: o.signal, dryRun: o.dryRun };
  const steps: Changed[] = [];
  steps.push(await ensureNodePkiRole(vault, o.pkiMount, n, o));
  const policy = await ensurePolicy(vault, names.policy, nodeIdentityPolicy(n, { pkiMount: o.pkiMount, registryMount: o.registryMount }), opts);
  steps.push({ ...policy, action: `${policy.action} (node ${n.full})` });
  const approle = o.approleMount === undefined ? 'approle' : o.approleMount;
  if (approle) {
    const ar = nodeAppRoleOptions(names, { mount: approle, tokenTtl: o.tokenTtl, tokenMaxTtl: o.tokenMaxTtl });
    steps.push(await ensureConfigured(vault, `auth/${approle}/role/${names.role}`, appRoleBody(ar), { ...opts, label: `AppRole role ${approle}/${names.role} (node ${n.full})` }));
  }
  const cert = o.certMount === undefined ? 'cert' : o.certMount;
  if (cert) {
    if (!o.caPem) {
      if (!o.dryRun) throw new ConfigError([{ path: 'caPem', message: `the cert role for ${n.full} needs the issuing CA of ${o.pkiMount}/` }]);
      steps.push({ changed: true, action: `create cert role ${cert}/${names.role} trusting ${o.pkiMount}/'s CA, URI SAN ${names.uri} only`, warnings: [] });
    } else {
      const r = await ensureCertRole(vault, names.role, { ...nodeCertRoleOptions(names, o.caPem, { mount: cert, tokenTtl: o.tokenTtl, tokenMaxTtl: o.tokenMaxTtl }), ...opts });
      steps.push({ ...r, action: `${r.action} (URI SAN ${names.uri} only)` });
    }
  }
  return { names, steps };
}

/**
 * Deletes a Vault object (policy, role …) if it exists; in a dry run only reports. Used to retire the
 * shared objects older vaultdist versions gave every node.
 */
export async function ensureAbsent(vault: VaultClient, path: string, label: string, o: Opts & { why?: string } = {}): Promise<Changed> {
  let present: boolean;
  try {
    present = Boolean((await vault.read(path, { signal: o.signal, allowNotFound: true })).data);
  } catch (e) {
    if (isVaultHttpError(e) && (e.status === 404 || e.status === 400)) present = false;
    else throw e;
  }
  if (!present) return { changed: false, action: `${label} is absent`, warnings: [] };
  if (!o.dryRun) await vault.delete(path, { signal: o.signal, idempotent: true });
  return { changed: true, action: `delete ${label}${o.why ? ` (${o.why})` : ''}`, warnings: [] };
}

/** The host settings of the role `init vault` creates, the template of every node's own role. */
export interface HostTemplate {
  allowAnyName: boolean;
  allowedDomains: string[];
  allowGlobDomains: boolean;
  allowSubdomains: boolean;
}

/** Reads the host settings out of a PKI role as Vault returns it. */
export function hostTemplateOf(role: Record<string, unknown>): HostTemplate {
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v ? v.split(',') : []);
  return {
    allowAnyName: role.allow_any_name === true,
    allowedDomains: list(role.allowed_domains),
    allowGlobDomains: role.allow_glob_domains === true,
    allowSubdomains: role.allow_subdomains === true,
  };
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

/**
 * Whether `host` is one the template allows, with Vault's matching (case-insensitive; bare domains
 * exactly; `*` in a glob domain matches any characters, dots included; subdomains when allowed).
 */
export function hostAllowed(host: string, t: HostTemplate): boolean {
  if (t.allowAnyName) return true;
  const h = host.toLowerCase();
  return t.allowedDomains.some((d0) => {
    const d = d0.toLowerCase();
    if (h === d) return true;
    if (t.allowSubdomains && h.endsWith(`.${d.replace(/^\*\./, '')}`)) return true;
    return t.allowGlobDomains && d.includes('*') && globMatch(d, h);
  });
}
