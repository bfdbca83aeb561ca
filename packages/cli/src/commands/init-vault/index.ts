/**
 * `vaultdist init vault`: the Vault side, idempotent, with a printed plan.
 *
 * 1. plan: run every step in dry-run mode (reads only) and print `+ change` / `= unchanged` lines;
 * 2. stop there with --dry-run, or when nothing would change ("no changes");
 * 3. apply: run the steps again for real, in order, with a progress line per change;
 * 4. print what nodes need next (role_id + a response-wrapped secret_id when AppRole was just set up).
 */
import { readFile } from 'node:fs/promises';
import {
  createSecretId,
  ensureAppRole,
  ensureAuthMethod,
  ensureConfigured,
  ensureCertRole,
  ensureIntermediateCa,
  ensureMount,
  ensurePolicy,
  ensureRole,
  ensureRootCa,
  fetchCrl,
  nodePolicy,
  nodeRoleBody,
  readCaPem,
  readRoleId,
  type Changed,
  type VaultClient,
} from '@vaultdist/sdk';
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
  keyType: 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072';
  leafTtl: string;
  leafMaxTtl: string;
  policy: string;
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
  run(dryRun: boolean): Promise<Changed>;
}

const KEY = { 'ec-p256': ['ec', 256], 'ec-p384': ['ec', 384], 'rsa-2048': ['rsa', 2048], 'rsa-3072': ['rsa', 3072] } as const;

/** The policy nodes get: sign/issue on the role only, plus what renewal and revoke-with-key need. */
export function renderNodePolicy(mount: string, role: string): string {
  return [
    nodePolicy(mount, role).trimEnd(),
    '# renewal: a node may look up and renew its own token (nothing else)',
    'path "auth/token/lookup-self" {',
    '  capabilities = ["read"]',
    '}',
    'path "auth/token/renew-self" {',
    '  capabilities = ["update"]',
    '}',
    '',
  ].join('\n');
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
  for (const m of [o.mount, o.rootMount, o.approleMount, o.certMount]) {
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(m)) throw new ExitError(EXIT.USAGE, `mount path ${JSON.stringify(m)} has characters Vault paths do not allow`);
  }
  if (o.mount === o.rootMount) throw new ExitError(EXIT.USAGE, '--mount and --root-mount must differ (the root signs the intermediate)');
}

/** Role body: hosts as bare/glob allowed_domains, node names as erlang:// URI SANs, client+server EKU. */
export function roleBody(o: InitVaultOptions): Record<string, unknown> {
  const [keyType, keyBits] = KEY[o.keyType];
  return nodeRoleBody({
    allowAnyName: o.allowAnyHost,
    allowedDomains: o.allowAnyHost ? [] : o.allowedHosts,
    allowBareDomains: !o.allowAnyHost,
    allowSubdomains: false,
    allowIpSans: true,
    allowedUriSans: o.allowAnyHost ? ['erlang://*'] : o.allowedHosts.map((h) => `erlang://*@${h}`),
    keyType,
    keyBits,
    ttl: o.leafTtl,
    maxTtl: o.leafMaxTtl,
    extra: { allow_glob_domains: !o.allowAnyHost && o.allowedHosts.some((h) => h.includes('*')) },
  });
}

export async function initVault(o: InitVaultOptions, out: Output): Promise<number> {
  validate(o);
  const vault = connectVault(o, out, { requireToken: true });
  const h = await vault.health();
  if (h.sealed) throw new ExitError(EXIT.VAULT_UNREACHABLE, `Vault at ${vault.connection.address} is sealed`, { hint: 'unseal it, then run again' });

  let importPem: string | undefined;
  if (o.importRoot) {
    try {
      importPem = await readFile(o.importRoot, 'utf8');
    } catch (e) {
      throw new ExitError(EXIT.CONFIG, `--import-root ${o.importRoot}: ${(e as Error).message}`);
    }
    if (!importPem.includes('PRIVATE KEY') || !importPem.includes('BEGIN CERTIFICATE')) {
      throw new ExitError(EXIT.CONFIG, `--import-root ${o.importRoot}: needs a PEM bundle with the CA certificate and its private key`);
    }
  }

  const policyText = renderNodePolicy(o.mount, o.role);
  const uriGlobs = o.allowAnyHost ? ['erlang://*'] : o.allowedHosts.map((h) => `erlang://*@${h}`);
  const state = { approleRoleCreated: false };
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
        const [keyType, keyBits] = KEY[o.keyType];
        return ensureRootCa(vault, o.rootMount, { commonName: o.rootCommonName, keyType, keyBits, ttl: o.rootTtl, dryRun: dry });
      },
    },
    { name: 'int-mount', run: (dry) => ensureMount(vault, o.mount, { maxLeaseTtl: o.intTtl, description: 'vaultdist issuing CA for Erlang distribution', dryRun: dry }) },
    {
      name: 'int-ca',
      run: (dry) => {
        const [keyType, keyBits] = KEY[o.keyType];
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
  steps.push(
    { name: 'role', run: (dry) => ensureRole(vault, o.mount, o.role, roleBody(o), { dryRun: dry }) },
    { name: 'policy', run: (dry) => ensurePolicy(vault, o.policy, policyText, { dryRun: dry }) },
  );
  const tokenOpts = { tokenPolicies: [o.policy], tokenTtl: '1h', tokenMaxTtl: '24h' };
  if (o.auth.includes('approle')) {
    steps.push(
      { name: 'approle-auth', run: (dry) => ensureAuthMethod(vault, o.approleMount, 'approle', { dryRun: dry }) },
      {
        name: 'approle-role',
        run: async (dry) => {
          const r = await ensureAppRole(vault, o.role, { mount: o.approleMount, ...tokenOpts, secretIdTtl: o.secretIdTtl, secretIdNumUses: 0, dryRun: dry });
          if (r.changed && r.action.startsWith('create')) state.approleRoleCreated = true;
          return r;
        },
      },
      {
        name: 'secret-id',
        run: async () => {
          const want = state.approleRoleCreated || o.newSecretId;
          // The secret_id itself is created after the plan is applied (see initVault step 4).
          return want
            ? { changed: true, action: `create a secret_id for ${o.role}, response-wrapped for ${o.wrapTtl}`, warnings: [] }
            : { changed: false, action: 'no new secret_id (pass --new-secret-id for one)', warnings: [] };
        },
      },
    );
  }
  if (o.auth.includes('cert')) {
    steps.push(
      { name: 'cert-auth', run: (dry) => ensureAuthMethod(vault, o.certMount, 'cert', { dryRun: dry }) },
      {
        name: 'cert-role',
        run: async (dry) => {
          const ca = await readCaPem(vault, o.mount);
          if (!ca) return { changed: true, action: `create cert auth role auth/${o.certMount}/certs/${o.role} trusting ${o.mount}/'s CA`, warnings: [] };
          return ensureCertRole(vault, o.role, { mount: o.certMount, certificate: ca, allowedUriSans: uriGlobs, ...tokenOpts, dryRun: dry });
        },
      },
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
  if (o.auth.includes('token') && o.createToken) {
    steps.push({ name: 'token', run: async () => ({ changed: true, action: `create a periodic token with policy ${o.policy}`, warnings: [] }) });
  }

  // (1) plan
  out.progress(`planning against ${vault.connection.address}`);
  const plan: { step: string; changed: boolean; action: string }[] = [];
  for (const s of steps) {
    const r = await run(s, true);
    plan.push({ step: s.name, changed: r.changed, action: r.action });
  }
  const changes = plan.filter((p) => p.changed);
  out.line(out.paint('bold', `Plan for ${vault.connection.address}${o.dryRun ? ' (dry run)' : ''}:`));
  for (const p of plan) out.line(`  ${p.changed ? out.paint('green', '+') : out.paint('dim', '=')} ${p.action}`);
  // (2)
  if (!changes.length || o.dryRun) {
    out.line(changes.length ? `${changes.length} change(s) planned; nothing was written (--dry-run).` : 'no changes');
    const roleId = o.auth.includes('approle') ? await roleIdIfAny(vault, o.approleMount, o.role) : undefined;
    if (out.json) out.emit({ dryRun: o.dryRun, changed: false, plannedChanges: changes.length, plan, roleId });
    return EXIT.OK;
  }
  // (3) apply
  state.approleRoleCreated = false;
  const applied: string[] = [];
  for (const s of steps) {
    if (s.name === 'secret-id' || s.name === 'token') continue;
    const r = await run(s, false);
    if (r.changed) {
      out.progress(r.action);
      applied.push(r.action);
    }
  }
  // (4) credentials for the nodes
  const result: Record<string, unknown> = { dryRun: false, changed: true, plan, applied };
  if (o.auth.includes('approle')) {
    result.roleId = await readRoleId(vault, o.role, { mount: o.approleMount });
    if (state.approleRoleCreated || o.newSecretId) {
      const w = await createSecretId(vault, o.role, { mount: o.approleMount, wrapTtl: o.wrapTtl, metadata: { created_by: 'vaultdist init vault' } });
      if (!w.wrapped) throw new ExitError(EXIT.INTERNAL, 'the secret_id came back unwrapped');
      result.wrappedSecretId = { token: w.wrappingToken, ttlSeconds: w.ttlSeconds };
      out.progress(`created a secret_id for ${o.role} (response-wrapped, ${w.ttlSeconds} s)`);
    }
  }
  if (o.auth.includes('token') && o.createToken) {
    const t = await vault.write('auth/token/create', { policies: [o.policy], period: '24h', no_parent: true, display_name: `vaultdist-${o.role}` });
    result.token = t.auth?.client_token;
    out.progress(`created a periodic token with policy ${o.policy}`);
  }
  if (out.json) {
    out.emit(result);
    return EXIT.OK;
  }
  out.line(`${applied.length} change(s) applied.`);
  out.line('');
  out.line(out.paint('bold', 'Next steps, on each BEAM host:'));
  const addr = vault.connection.address;
  if (result.roleId) {
    const w = result.wrappedSecretId as { token: string; ttlSeconds: number } | undefined;
    out.line(`  AppRole role_id: ${result.roleId}`);
    if (w) out.line(`  wrapped secret_id (single use, expires in ${w.ttlSeconds} s): ${w.token}`);
    out.line(
      `  vaultdist init node --vault-addr ${addr} --mount ${o.mount} --role ${o.role} --role-id ${result.roleId} --wrapped-secret-id ${w ? w.token : '<TOKEN>'} --name NAME@HOST --dir /etc/vaultdist/NAME`,
    );
  } else {
    out.line(`  VAULT_TOKEN=<token with policy ${o.policy}> vaultdist init node --vault-addr ${addr} --mount ${o.mount} --role ${o.role} --name NAME@HOST --dir /etc/vaultdist/NAME`);
  }
  if (result.token) out.line(`  quick-start token (policy ${o.policy}, periodic 24h): ${String(result.token)}`);
  if (o.auth.includes('cert')) {
    out.line(`  renewals log in at auth/${o.certMount} with the node's own certificate (needs Vault over HTTPS).`);
    out.line(`  revoke a node with \`vaultdist revoke --dir DIR\`: it also pushes the CRL to auth/${o.certMount}/crls/${certAuthCrlName(o.mount)},`);
    out.line('  without which a revoked certificate could still log in there and renew itself.');
  }
  return EXIT.OK;

  async function run(s: Step, dry: boolean): Promise<Changed> {
    try {
      return await s.run(dry);
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

export type { VaultClient };
