/**
 * `vaultdist init vault`: the Vault side, idempotent, with a printed plan.
 *
 * 1. plan: run every step in dry-run mode (reads only) and print `+ change` / `= unchanged` lines;
 * 2. stop there with --dry-run, or when nothing would change ("no changes");
 * 3. apply: run the steps again for real, in order, with a progress line per change;
 * 4. print what nodes need next: per --node, its role_id + a response-wrapped secret_id.
 *
 * Identity model (issue #12 part 1): every node has its own Vault identity (SDK `ensureNodeIdentity`:
 * PKI role, policy, AppRole role and cert-auth role `vaultdist-<slug>`), created here with --node or by
 * `init node` with an operator token. The role named by --role is only the template of the per-node
 * roles (key type, TTLs, allowed hosts): its `allowed_uri_sans` is emptied, and the shared policy,
 * AppRole role and cert-auth role older versions gave every node (`erlang://*`) are deleted.
 */
import { readFile } from 'node:fs/promises';
import {
  DEFAULT_REGISTRY_MOUNT,
  ensureNodeIdentity,
  fetchCrl,
  nodeIdentityNames,
  parseNodeName,
  type NodeName,
  type VaultClient,
} from '@vaultdist/sdk';
import {
  createSecretId,
  ensureAbsent,
  ensureAuthMethod,
  ensureConfigured,
  ensureIntermediateCa,
  ensureMount,
  ensurePolicy,
  ensureRole,
  ensureRootCa,
  hostAllowed,
  nodeIdentityPolicy,
  nodeRoleBody,
  readCaPem,
  readIssuingCaPems,
  readRoleId,
  certificateBlocks,
  keyAlgorithm,
  privateKeyBlock,
  type Changed,
} from '@vaultdist/sdk/internal';
import type { NodeKeyType } from '@vaultdist/sdk/key-types';
import { parseDuration } from '../../duration.js';
import { EXIT, ExitError, toExitError } from '../../errors.js';
import type { Output } from '../../output.js';
import { connectVault, type VaultFlags } from '../../vault.js';
import { certAuthCrlName, decimalSerial, importRootCa } from '../../vault-admin.js';

export type AuthMethodName = 'approle' | 'cert' | 'token';

export interface InitVaultOptions extends VaultFlags {
  rootMount: string;
  mount: string;
  rootCommonName: string;
  intCommonName: string;
  /** Use the CA already in the root mount; fail if there is none. */
  existingRoot: boolean;
  /** PEM bundle (certificate + key) to import as the root. */
  importRoot: string | undefined;
  rootTtl: string;
  intTtl: string;
  role: string;
  allowedHosts: string[];
  allowAnyHost: boolean;
  keyType: NodeKeyType;
  leafTtl: string;
  leafMaxTtl: string;
  /** Prefix of the per-node policy names (`<policy>-<slug>`); a shared policy of exactly this name is deleted. */
  policy: string;
  /** `--node NAME@HOST` (repeatable): create the node's identity and print its AppRole credentials. */
  nodes: string[];
  /** Mount of the registry plugin the node policies grant (#13). */
  registryMount: string;
  /** `--registry`: register, enable and configure the registry plugin (registry.ts). */
  registry?: import('./registry.js').RegistryFlags | undefined;
  auth: AuthMethodName[];
  approleMount: string;
  certMount: string;
  secretIdTtl: string;
  wrapTtl: string;
  newSecretId: boolean;
  createToken: boolean;
  urls: string | undefined;
  crlExpiry: string | undefined;
  dryRun: boolean;
  json: boolean;
}

interface Step {
  name: string;
  run(dryRun: boolean): Promise<Changed | Changed[]>;
}

/** Vault's `key_type`/`key_bits` for a key type (the SDK's table, `keyAlgorithm`). */
const KEY = (t: NodeKeyType) => [keyAlgorithm(t).vaultKeyType as 'ec' | 'rsa', keyAlgorithm(t).vaultKeyBits] as const; // NodeKeyType has no ed25519

/**
 * The ACL policy of one node (`vaultdist render policy.hcl --role NAME@HOST`): nodes have no shared
 * policy any more (issue #12), so the second argument names the node.
 */
export function renderNodePolicy(mount: string, node: string, registryMount = DEFAULT_REGISTRY_MOUNT): string {
  if (!node.includes('@')) throw new ExitError(EXIT.USAGE, `policy.hcl is per node now: pass the node (NAME@HOST) instead of the role ${JSON.stringify(node)}`);
  let n: NodeName;
  try {
    n = parseNodeName(node);
  } catch (e) {
    throw new ExitError(EXIT.USAGE, `${JSON.stringify(node)}: ${(e as Error).message}`);
  }
  return nodeIdentityPolicy(n, { pkiMount: mount, registryMount });
}

/** Parses every --node before anything is read or written: name syntax, IPv4/DNS host, host allowed. */
function validateNodes(o: InitVaultOptions): NodeName[] {
  const seen = new Map<string, NodeName>();
  for (const raw of o.nodes) {
    let n: NodeName;
    try {
      n = parseNodeName(raw);
    } catch (e) {
      throw new ExitError(EXIT.USAGE, `--node ${JSON.stringify(raw)}: ${(e as Error).message}`);
    }
    if (n.hostKind === 'ipv6') throw new ExitError(EXIT.USAGE, `--node ${raw}: IPv6 hosts are not supported for node identities (use a DNS name or an IPv4 address)`);
    const t = { allowAnyName: o.allowAnyHost, allowedDomains: o.allowedHosts, allowGlobDomains: true, allowSubdomains: false };
    if (!hostAllowed(n.host, t)) throw new ExitError(EXIT.USAGE, `--node ${raw}: host ${n.host} is not in --allowed-hosts ${o.allowedHosts.join(',')}`);
    seen.set(n.full, n);
  }
  if (o.createToken && !seen.size) throw new ExitError(EXIT.USAGE, '--create-token makes one token per --node NAME@HOST (each with that node\'s policy): pass --node');
  if (o.createToken && !o.auth.includes('token')) throw new ExitError(EXIT.USAGE, '--create-token needs --auth token');
  return [...seen.values()];
}

function validate(o: InitVaultOptions): void {
  const root = parseDuration('--root-ttl', o.rootTtl);
  const int = parseDuration('--int-ttl', o.intTtl);
  const max = parseDuration('--leaf-max-ttl', o.leafMaxTtl);
  const ttl = parseDuration('--leaf-ttl', o.leafTtl);
  if (o.secretIdTtl) parseDuration('--secret-id-ttl', o.secretIdTtl);
  parseDuration('--wrap-ttl', o.wrapTtl);
  if (ttl > max) throw new ExitError(EXIT.USAGE, `--leaf-ttl ${o.leafTtl} is longer than --leaf-max-ttl ${o.leafMaxTtl}`);
  // Mount max TTL must sit above the leaf max, and a leaf may not outlive its issuer (facts doc §0.8).
  if (max >= int) throw new ExitError(EXIT.USAGE, `--leaf-max-ttl ${o.leafMaxTtl} must be shorter than --int-ttl ${o.intTtl} (the intermediate mount's max TTL)`);
  if (int >= root) throw new ExitError(EXIT.USAGE, `--int-ttl ${o.intTtl} must be shorter than --root-ttl ${o.rootTtl}`);
  if (!o.allowAnyHost && !o.allowedHosts.length) {
    throw new ExitError(EXIT.USAGE, 'say which hosts nodes may have: --allowed-hosts host1,*.dist.example.com (or --allow-any-host for a quick start)');
  }
  if (o.existingRoot && o.importRoot) throw new ExitError(EXIT.USAGE, '--existing-root and --import-root exclude each other');
  for (const m of [o.mount, o.rootMount, o.approleMount, o.certMount, o.registryMount]) {
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(m)) throw new ExitError(EXIT.USAGE, `mount path ${JSON.stringify(m)} has characters Vault paths do not allow`);
  }
  if (o.mount === o.rootMount) throw new ExitError(EXIT.USAGE, '--mount and --root-mount must differ (the root signs the intermediate)');
  if (!/^[A-Za-z0-9_.-]+$/.test(o.policy) || !/^[A-Za-z0-9_.-]+$/.test(o.role)) throw new ExitError(EXIT.USAGE, `--policy ${JSON.stringify(o.policy)} / --role ${JSON.stringify(o.role)}: letters, digits, "_", "-" and "." only`);
}

/**
 * The template role: hosts as bare/glob allowed_domains, key type and TTLs, which `init node` copies into
 * each node's own role. It allows no URI SAN, so it signs no node identity (and no node policy grants it).
 */
export function roleBody(o: InitVaultOptions): Record<string, unknown> {
  const [keyType, keyBits] = KEY(o.keyType);
  return nodeRoleBody({
    allowAnyName: o.allowAnyHost,
    allowedDomains: o.allowAnyHost ? [] : o.allowedHosts,
    allowBareDomains: !o.allowAnyHost,
    allowSubdomains: false,
    allowIpSans: true,
    allowedUriSans: [],
    keyType,
    keyBits,
    ttl: o.leafTtl,
    maxTtl: o.leafMaxTtl,
    extra: { allow_glob_domains: !o.allowAnyHost && o.allowedHosts.some((h) => h.includes('*')) },
  });
}

export async function initVault(o: InitVaultOptions, out: Output): Promise<number> {
  validate(o);
  const nodes = validateNodes(o);
  const vault = connectVault(o, out, { requireToken: true });
  const h = await vault.health();
  if (h.sealed) throw new ExitError(EXIT.VAULT_UNREACHABLE, `Vault at ${vault.connection.address} is sealed`, { hint: 'unseal it, then run again' });
  // an existing mount of another type (e.g. --mount secret, a kv mount): a usage error naming the flag,
  // before anything is written (issue #14: "internal error … this is a bug")
  const mountTypes = (await vault.read<Record<string, { type?: string }>>('sys/mounts')).data ?? {};
  const authTypes = (await vault.read<Record<string, { type?: string }>>('sys/auth')).data ?? {};
  for (const [flag, path, want, table] of [
    ['--mount', o.mount, 'pki', mountTypes],
    ['--root-mount', o.rootMount, 'pki', mountTypes],
    ...(o.auth.includes('approle') ? [['--approle-mount', o.approleMount, 'approle', authTypes] as const] : []),
    ...(o.auth.includes('cert') ? [['--cert-mount', o.certMount, 'cert', authTypes] as const] : []),
  ] as const) {
    const have = table[`${path}/`]?.type;
    if (have && have !== want) throw new ExitError(EXIT.USAGE, `${flag} ${path}: ${path}/ is already a ${have} ${table === mountTypes ? 'secrets engine' : 'auth method'}, not ${want}`, { hint: `pick another path for ${flag} (vaultdist creates a ${want} mount there)` });
  }

  let importPem: string | undefined;
  if (o.importRoot) {
    try {
      importPem = await readFile(o.importRoot, 'utf8');
    } catch (e) {
      throw new ExitError(EXIT.CONFIG, `--import-root ${o.importRoot}: ${(e as Error).message}`);
    }
    if (!privateKeyBlock(importPem) || !certificateBlocks(importPem).length) {
      throw new ExitError(EXIT.CONFIG, `--import-root ${o.importRoot}: needs a PEM bundle with the CA certificate and its private key`);
    }
  }

  const [keyType, keyBits] = KEY(o.keyType);
  const state = { approleCreated: new Set<string>() };
  const steps: Step[] = [
    { name: 'root-mount', run: (dry) => ensureMount(vault, o.rootMount, { maxLeaseTtl: o.rootTtl, description: 'vaultdist root CA', dryRun: dry }) },
    {
      name: 'root-ca',
      run: async (dry) => {
        const have = await readCaPem(vault, o.rootMount);
        if (o.existingRoot) {
          if (!have) throw new ExitError(EXIT.CONFIG, `--existing-root: ${o.rootMount}/ at ${vault.connection.address} has no CA`, { hint: 'drop --existing-root to generate one, or --import-root FILE' });
          return { changed: false, action: `use the existing root CA in ${o.rootMount}/`, warnings: [] };
        }
        if (importPem) return importRootCa(vault, o.rootMount, importPem, Boolean(have), { dryRun: dry });
        const [keyType, keyBits] = KEY(o.keyType);
        return ensureRootCa(vault, o.rootMount, { commonName: o.rootCommonName, keyType, keyBits, ttl: o.rootTtl, dryRun: dry });
      },
    },
    { name: 'int-mount', run: (dry) => ensureMount(vault, o.mount, { maxLeaseTtl: o.intTtl, description: 'vaultdist issuing CA for Erlang distribution', dryRun: dry }) },
    {
      name: 'int-ca',
      run: (dry) => {
        const [keyType, keyBits] = KEY(o.keyType);
        return ensureIntermediateCa(vault, o.mount, { rootMount: o.rootMount, commonName: o.intCommonName, keyType, keyBits, ttl: o.intTtl, dryRun: dry });
      },
    },
  ];
  if (o.urls) {
    const base = o.urls.replace(/\/+$/, '');
    for (const m of [o.rootMount, o.mount]) {
      steps.push({
        name: `urls-${m}`,
        run: (dry) =>
          ensureConfigured(vault, `${m}/config/urls`, { issuing_certificates: [`${base}/v1/${m}/ca`], crl_distribution_points: [`${base}/v1/${m}/crl`] }, { label: `${m}/config/urls`, dryRun: dry }),
      });
    }
  }
  if (o.crlExpiry) {
    steps.push({ name: 'crl', run: (dry) => ensureConfigured(vault, `${o.mount}/config/crl`, { expiry: o.crlExpiry }, { label: `${o.mount}/config/crl`, dryRun: dry }) });
  }
  const shared = 'shared by every node, which let any node get certificates for any node: each node has its own now';
  steps.push(
    {
      name: 'role',
      run: async (dry) => {
        const r = await ensureRole(vault, o.mount, o.role, roleBody(o), { dryRun: dry });
        return { ...r, action: `${r.action} (template of the per-node roles; no URI SAN, signs no node identity)` };
      },
    },
    { name: 'shared-policy', run: (dry) => ensureAbsent(vault, `sys/policies/acl/${o.policy}`, `policy ${o.policy}`, { dryRun: dry, why: shared }) },
  );
  if (o.auth.includes('approle')) {
    steps.push(
      { name: 'approle-auth', run: (dry) => ensureAuthMethod(vault, o.approleMount, 'approle', { dryRun: dry }) },
      { name: 'shared-approle', run: (dry) => ensureAbsentIfMounted(vault, o.approleMount, `auth/${o.approleMount}/role/${o.role}`, `AppRole role ${o.approleMount}/${o.role}`, { dryRun: dry, why: shared }) },
    );
  }
  if (o.auth.includes('cert')) {
    steps.push(
      { name: 'cert-auth', run: (dry) => ensureAuthMethod(vault, o.certMount, 'cert', { dryRun: dry }) },
      { name: 'shared-cert-role', run: (dry) => ensureAbsentIfMounted(vault, o.certMount, `auth/${o.certMount}/certs/${o.role}`, `cert role ${o.certMount}/${o.role}`, { dryRun: dry, why: shared }) },
      {
        // Cert auth does not consult the PKI's CRL: without its own copy a revoked node certificate still
        // logs in and mints itself a new one (SECURITY.md §3.5). `vaultdist revoke` pushes every new CRL here.
        name: 'cert-crl',
        run: async (dry) => {
          const name = certAuthCrlName(o.mount);
          const label = `cert auth CRL auth/${o.certMount}/crls/${name} (the CRL of ${o.mount}/; \`vaultdist revoke\` keeps it current)`;
          if (!(await readCaPem(vault, o.mount))) return { changed: true, action: `register ${label}`, warnings: [] };
          const crl = await fetchCrl(vault, o.mount);
          const want = crl.revoked.map((r) => decimalSerial(r.serial)).sort();
          const have = await vault.read<{ serials?: Record<string, unknown> }>(`auth/${o.certMount}/crls/${name}`, { allowNotFound: true }).catch(() => ({ data: undefined }));
          if (have.data && JSON.stringify(Object.keys(have.data.serials ?? {}).sort()) === JSON.stringify(want)) return { changed: false, action: `${label} is up to date`, warnings: [] };
          if (!dry) await vault.write(`auth/${o.certMount}/crls/${name}`, { crl: crl.pem }, { idempotent: true });
          return { changed: true, action: `${have.data ? 'update' : 'register'} ${label}`, warnings: [] };
        },
      },
    );
  }
  for (const n of nodes) {
    const names = nodeIdentityNames(n, { policyPrefix: o.policy });
    steps.push({
      name: `node ${n.full}`,
      run: async (dry) => {
        const mounted = dry ? await authMounts(vault) : undefined;
        const r = await ensureNodeIdentity(vault, n, {
          pkiMount: o.mount,
          registryMount: o.registryMount,
          policyPrefix: o.policy,
          keyType,
          keyBits,
          ttl: o.leafTtl,
          maxTtl: o.leafMaxTtl,
          // in a dry run an auth mount this run would enable does not exist yet: plan its role as new
          approleMount: o.auth.includes('approle') && (!mounted || mounted.has(o.approleMount)) ? o.approleMount : false,
          certMount: o.auth.includes('cert') && (!mounted || mounted.has(o.certMount)) ? o.certMount : false,
          caPem: await readIssuingCaPems(vault, o.mount),
          dryRun: dry,
        });
        const planned: Changed[] = [];
        if (mounted && o.auth.includes('approle') && !mounted.has(o.approleMount)) planned.push({ changed: true, action: `create AppRole role ${o.approleMount}/${names.role} (node ${n.full})`, warnings: [] });
        if (mounted && o.auth.includes('cert') && !mounted.has(o.certMount)) planned.push({ changed: true, action: `create cert role ${o.certMount}/${names.role} (URI SAN ${names.uri} only)`, warnings: [] });
        const approleStep = r.steps.find((x: Changed) => x.action.includes(`AppRole role ${o.approleMount}/${names.role}`));
        if (!dry && approleStep?.changed && approleStep.action.startsWith('create')) state.approleCreated.add(n.full);
        return [...r.steps, ...planned];
      },
    });
    if (o.auth.includes('approle')) {
      steps.push({
        name: `secret-id ${n.full}`,
        run: async () => {
          const fresh = !(await roleIdIfAny(vault, o.approleMount, names.role));
          // The secret_id itself is created after the plan is applied (see initVault step 4).
          return fresh || o.newSecretId
            ? { changed: true, action: `create a secret_id for ${n.full} (AppRole role ${names.role}), response-wrapped for ${o.wrapTtl}`, warnings: [] }
            : { changed: false, action: `no new secret_id for ${n.full} (pass --new-secret-id for one)`, warnings: [] };
        },
      });
    }
    if (o.auth.includes('token') && o.createToken) {
      steps.push({ name: `token ${n.full}`, run: async () => ({ changed: true, action: `create a periodic token with policy ${names.policy} (node ${n.full})`, warnings: [] }) });
    }
  }

  if (o.registry) steps.push(...(await (await import('./registry.js')).registrySteps(vault, { ...o, registry: o.registry }, out)));
  // (1) plan
  out.progress(`planning against ${vault.connection.address}`);
  const plan: { step: string; changed: boolean; action: string }[] = [];
  for (const s of steps) {
    for (const r of await run(s, true)) plan.push({ step: s.name, changed: r.changed, action: r.action });
  }
  const changes = plan.filter((p) => p.changed);
  out.line(out.paint('bold', `Plan for ${vault.connection.address}${o.dryRun ? ' (dry run)' : ''}:`));
  for (const p of plan) out.line(`  ${p.changed ? out.paint('green', '+') : out.paint('dim', '=')} ${p.action}`);
  const nodeInfo = async () =>
    Promise.all(
      nodes.map(async (n) => {
        const names = nodeIdentityNames(n, { policyPrefix: o.policy });
        return { node: n.full, slug: names.slug, role: names.role, policy: names.policy, roleId: o.auth.includes('approle') ? await roleIdIfAny(vault, o.approleMount, names.role) : undefined };
      }),
    );
  // (2)
  if (!changes.length || o.dryRun) {
    out.line(changes.length ? `${changes.length} change(s) planned; nothing was written (--dry-run).` : 'no changes');
    const info = await nodeInfo();
    if (out.json) out.emit({ dryRun: o.dryRun, changed: false, plannedChanges: changes.length, plan, nodes: info });
    else for (const i of info) if (i.roleId) out.line(`  node ${i.node}: AppRole role ${o.approleMount}/${i.role}, role_id ${i.roleId} (pass --new-secret-id for a wrapped secret_id)`);
    return EXIT.OK;
  }
  // (3) apply
  state.approleCreated.clear();
  const applied: string[] = [];
  for (const s of steps) {
    if (s.name.startsWith('secret-id ') || s.name.startsWith('token ')) continue;
    for (const r of await run(s, false)) {
      for (const w of r.warnings) out.warn(w);
      if (r.changed) {
        out.progress(r.action);
        applied.push(r.action);
      }
    }
  }
  // (4) credentials for the nodes: each node's own role_id, secret_id (wrapped) and token
  const nodeResults: { node: string; slug: string; role: string; policy: string; roleId?: string; wrappedSecretId?: { token: string; ttlSeconds: number }; token?: string }[] = [];
  for (const n of nodes) {
    const names = nodeIdentityNames(n, { policyPrefix: o.policy });
    const r: (typeof nodeResults)[number] = { node: n.full, slug: names.slug, role: names.role, policy: names.policy };
    if (o.auth.includes('approle')) {
      r.roleId = await readRoleId(vault, names.role, { mount: o.approleMount });
      if (state.approleCreated.has(n.full) || o.newSecretId) {
        const w = await createSecretId(vault, names.role, {
          mount: o.approleMount,
          wrapTtl: o.wrapTtl,
          ...(o.secretIdTtl ? { ttl: o.secretIdTtl } : {}),
          metadata: { created_by: 'vaultdist init vault', node: n.full },
        });
        if (!w.wrapped) throw new ExitError(EXIT.INTERNAL, 'the secret_id came back unwrapped');
        r.wrappedSecretId = { token: w.wrappingToken, ttlSeconds: w.ttlSeconds };
        out.progress(`created a secret_id for ${n.full} (response-wrapped, ${w.ttlSeconds} s)`);
      }
    }
    if (o.auth.includes('token') && o.createToken) {
      const t = await vault.write('auth/token/create', { policies: [names.policy], period: '24h', no_parent: true, display_name: names.role });
      r.token = t.auth?.client_token;
      out.progress(`created a periodic token with policy ${names.policy}`);
    }
    nodeResults.push(r);
  }
  const result: Record<string, unknown> = { dryRun: false, changed: true, plan, applied, nodes: nodeResults };
  if (out.json) {
    out.emit(result);
    return EXIT.OK;
  }
  out.line(`${applied.length} change(s) applied.`);
  out.line('');
  const addr = vault.connection.addresses.join(',');
  const extra = [
    o.mount !== 'pki_dist' ? `--mount ${o.mount}` : '',
    o.role !== 'erlang-node' ? `--role ${o.role}` : '',
    o.approleMount !== 'approle' ? `--approle-mount ${o.approleMount}` : '',
    o.certMount !== 'cert' ? `--cert-auth-mount ${o.certMount}` : '',
    // a private-CA Vault: the node hosts need its CA too (issue #14; copy the file there)
    vault.connection.caCertPath ? `--vault-cacert ${vault.connection.caCertPath}` : '',
  ].filter(Boolean);
  const operatorExtra = [...extra, o.policy !== 'vaultdist-node' ? `--policy ${o.policy}` : '', o.registryMount !== 'vaultdist' ? `--registry-mount ${o.registryMount}` : ''].filter(Boolean);
  out.line(out.paint('bold', 'Next steps: one Vault identity per node'));
  out.line('  Every node gets its own PKI role, policy, AppRole role and cert-auth role (vaultdist-<slug>): its credentials');
  out.line(`  get certificates for that node only. The role ${o.mount}/roles/${o.role} is their template and signs no node identity.`);
  out.line('  On a host with an operator token (creates the node\'s identity, then signs as the node):');
  out.line(`    VAULT_TOKEN=<operator token> vaultdist init node --vault-addr ${addr} ${[...operatorExtra, ''].join(' ')}--name NAME@HOST --dir /etc/vaultdist/NAME`);
  out.line(`  For a host without an operator token, run here: vaultdist init vault … --node NAME@HOST (repeatable); it prints that node's`);
  out.line('  role_id and a response-wrapped secret_id for `init node --role-id … --wrapped-secret-id …` on the host.');
  for (const r of nodeResults) {
    out.line('');
    out.line(out.paint('bold', `  node ${r.node}`) + ` (role ${r.role}, policy ${r.policy})`);
    if (r.roleId) {
      out.line(`    AppRole role_id: ${r.roleId}`);
      if (r.wrappedSecretId) out.line(`    wrapped secret_id (single use, expires in ${r.wrappedSecretId.ttlSeconds} s): ${r.wrappedSecretId.token}`);
      out.line(
        `    vaultdist init node --vault-addr ${addr} ${[...extra, ''].join(' ')}--role-id ${r.roleId} --wrapped-secret-id ${r.wrappedSecretId ? r.wrappedSecretId.token : '<TOKEN from --new-secret-id>'} --name ${r.node} --dir /etc/vaultdist/${parseNodeName(r.node).name}`,
      );
    }
    if (r.token) out.line(`    periodic token (policy ${r.policy}, 24h, renewable): ${r.token}`);
  }
  if (o.auth.includes('cert')) {
    out.line('');
    out.line(`  Renewals log in at auth/${o.certMount} with the node's own certificate and role (needs Vault over HTTPS).`);
    out.line(`  Revoke a node with \`vaultdist revoke --dir DIR\`: it also pushes the CRL to auth/${o.certMount}/crls/${certAuthCrlName(o.mount)},`);
    out.line('  without which a revoked certificate could still log in there and renew itself.');
  }
  if (applied.some((a) => a.startsWith('delete '))) {
    out.line('');
    out.line('  Upgraded from a shared role: this run deleted what every node shared (see the plan). Run `vaultdist init node` once per');
    out.line('  existing node (with an operator token, or --node credentials from here): until then its renewals are refused.');
  }
  return EXIT.OK;

  async function run(s: Step, dry: boolean): Promise<Changed[]> {
    try {
      const r = await s.run(dry);
      return Array.isArray(r) ? r : [r];
    } catch (e) {
      const x = toExitError(e, 'vault-admin');
      if (x instanceof ExitError) throw new ExitError(x.code, `${dry ? 'planning' : 'applying'} ${s.name}: ${x.message}`, { cause: e, ...(x.hint ? { hint: x.hint } : {}) });
      throw e;
    }
  }
}

/** The role_id, or undefined while the AppRole role does not exist yet (dry runs). */
async function roleIdIfAny(vault: VaultClient, mount: string, role: string): Promise<string | undefined> {
  try {
    return await readRoleId(vault, role, { mount });
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 400 || status === 404 || (e as { code?: string }).code === 'VAULT_RESPONSE') return undefined;
    throw e;
  }
}

/** Auth mounts that exist now (path without the trailing slash). */
async function authMounts(vault: VaultClient): Promise<Set<string>> {
  const auths = (await vault.read<Record<string, unknown>>('sys/auth')).data ?? {};
  return new Set(Object.keys(auths).map((k) => k.replace(/\/$/, '')));
}

/** ensureAbsent for an object under an auth mount that may not exist yet (then the object cannot either). */
async function ensureAbsentIfMounted(vault: VaultClient, mount: string, path: string, label: string, o: { dryRun: boolean; why: string }): Promise<Changed> {
  if (!(await authMounts(vault)).has(mount)) return { changed: false, action: `${label} is absent`, warnings: [] };
  return ensureAbsent(vault, path, label, o);
}

export type { VaultClient };
