/**
 * `vaultdist revoke (--dir DIR | --serial SERIAL)`: revoke a node certificate everywhere it counts.
 *
 * 1. revoke in the PKI mount: with --dir by the certificate PEM (DIR/bundle.pem's leaf; works for
 *    `no_store` roles too), with --serial by serial (SDK revokeCertificate);
 * 2. check the mount's CRL lists it (rebuild it once with `crl/rotate` if not: auto_rebuild can lag);
 * 3. push that CRL to the cert auth mounts that trust this PKI (`auth/<mount>/crls/vaultdist-<pki>`):
 *    revoking in the PKI alone does NOT stop the certificate from logging in through cert auth and
 *    minting itself a new one (SECURITY.md §3.5). Mounts come from --cert-mount, or are detected
 *    (sys/auth → cert mounts whose roles trust a CA of this PKI); --no-cert-auth skips the step;
 * 4. say what happens next: peers refuse it on their next connection once their CRL directory is
 *    refreshed by their agent (force: `vaultdist agent --config DIR/agent.yaml --once`).
 *
 * Exit 0 only when every step succeeded; 21 when the certificate is revoked but a follow-up step
 * (CRL listing, cert auth CRL) failed.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import {
  fetchCaChain,
  fetchCrl,
  isVaultPermissionDeniedError,
  parseCertificate,
  revokeCertificate,
  type CrlInfo,
  type RevokeCertificateResult,
  type VaultClient,
} from '@vaultdist/sdk';
import { certificateBlocks, credentialSetParts, pemBody, normalizeSerial } from '@vaultdist/sdk/internal';
import { EXIT, ExitError, toExitError } from '../../errors.js';
import { readSettings, paths } from '../../node-dir.js';
import type { Output } from '../../output.js';
import { connectVault, type VaultFlags } from '../../vault.js';
import { certAuthCrlName, decimalSerial } from '../../vault-admin.js';

export interface RevokeOptions extends VaultFlags {
  dir: string | undefined;
  serial: string | undefined;
  mount: string | undefined;
  /** Cert auth mounts to push the CRL to; undefined = detect. */
  certMounts: string[] | undefined;
  /** false with --no-cert-auth. */
  certAuth: boolean;
  json: boolean;
}

export interface CertAuthUpdate {
  mount: string;
  /** `auth/<mount>/crls/<name>` */
  name: string;
  state: 'updated' | 'failed';
  /** The serial is in the CRL the mount now holds (read back). */
  listed?: boolean | undefined;
  error?: string | undefined;
}

const MOUNT = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/** Cert auth mounts (`sys/auth`, type cert) with at least one role trusting a CA of `chain`. */
async function detectCertMounts(vault: VaultClient, chain: string[]): Promise<string[]> {
  const auths = (await vault.read<Record<string, { type?: string }>>('sys/auth')).data ?? {};
  const want = new Set(chain.map(pemBody));
  const out: string[] = [];
  for (const [path, info] of Object.entries(auths)) {
    if (info?.type !== 'cert') continue;
    const mount = path.replace(/\/+$/, '');
    try {
      const roles = await vault.list(`auth/${mount}/certs`);
      for (const role of roles) {
        const r = await vault.read<{ certificate?: string }>(`auth/${mount}/certs/${role}`, { allowNotFound: true });
        if (certificateBlocks(r.data?.certificate ?? '').some((c) => want.has(pemBody(c)))) {
          out.push(mount);
          break;
        }
      }
    } catch (e) {
      // not allowed to look: the detection failed (reported); a mount removed meanwhile: skipped
      if (isVaultPermissionDeniedError(e)) throw e;
    }
  }
  return out;
}

export async function revoke(o: RevokeOptions, out: Output): Promise<number> {
  if (Boolean(o.dir) === Boolean(o.serial)) throw new ExitError(EXIT.USAGE, 'give exactly one of --dir DIR (revoke the certificate in DIR/bundle.pem) and --serial SERIAL');
  if (!o.certAuth && o.certMounts?.length) throw new ExitError(EXIT.USAGE, '--no-cert-auth and --cert-mount exclude each other');
  for (const m of [o.mount, ...(o.certMounts ?? [])]) {
    if (m !== undefined && (!MOUNT.test(m) || m.split('/').some((seg) => seg === '.' || seg === '..'))) throw new ExitError(EXIT.USAGE, `mount path ${JSON.stringify(m)} has characters Vault paths do not allow`);
  }

  // What to revoke
  let certificate: string | undefined;
  let node: string | undefined;
  let mount = o.mount;
  let dir: string | undefined;
  let notAfter: Date | undefined;
  if (o.dir) {
    dir = isAbsolute(o.dir) ? o.dir : resolve(out.io.cwd, o.dir);
    const settings = await readSettings(dir);
    node = settings?.node;
    mount ??= settings?.mount;
    let bundle: string;
    try {
      bundle = await readFile(paths(dir).bundle, 'utf8');
    } catch (e) {
      throw new ExitError(EXIT.CONFIG, `--dir ${dir}: cannot read ${paths(dir).bundle}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'point --dir at a node directory written by `vaultdist init node`, or pass --serial' });
    }
    const leaf = credentialSetParts({ bundle, ca: '' }).leafPem;
    if (!leaf) throw new ExitError(EXIT.ISSUE, `${paths(dir).bundle} holds no certificate`);
    certificate = leaf;
    notAfter = parseCertificate(leaf).notAfter;
  }
  mount ??= 'pki_dist';
  const vault = connectVault(o, out, { requireToken: true });

  // (1)
  out.progress(`revoking ${certificate ? `the certificate in ${paths(dir!).bundle}` : normalizeSerial(o.serial!)} at ${mount}/revoke`);
  let r: RevokeCertificateResult;
  try {
    r = await revokeCertificate(vault, { mount, ...(certificate ? { certificate } : { serial: o.serial }) });
  } catch (e) {
    const x = toExitError(e);
    if (x instanceof ExitError) throw new ExitError(x.code, `revoking at ${mount}/revoke: ${x.message}`, { cause: e, ...(x.hint ? { hint: x.hint } : {}) });
    throw e;
  }
  const problems: string[] = [];
  const result: Record<string, unknown> = { serial: r.serial, mount, node, state: r.state, revokedAt: r.revokedAt?.toISOString(), warnings: r.warnings };

  // (2)
  let crl: CrlInfo | undefined;
  if (r.state === 'revoked') {
    try {
      crl = await fetchCrl(vault, mount);
      if (!crl.revoked.some((x) => x.serial === r.serial)) {
        out.progress(`the CRL of ${mount} does not list ${r.serial} yet; rebuilding it (${mount}/crl/rotate)`);
        await vault.read(`${mount}/crl/rotate`);
        crl = await fetchCrl(vault, mount);
      }
      const listed = crl.revoked.some((x) => x.serial === r.serial);
      if (!listed) problems.push(`the CRL of ${mount} does not list ${r.serial} even after a rebuild (is it issued by another issuer of the mount?)`);
      result.crl = { listed, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString(), revoked: crl.revoked.length };
    } catch (e) {
      problems.push(`reading the CRL of ${mount} failed: ${(e as Error).message}`);
    }
  }

  // (3)
  const updates: CertAuthUpdate[] = [];
  if (r.state === 'revoked' && o.certAuth && crl) {
    let mounts = o.certMounts;
    let detection: 'flags' | 'sys/auth' | 'failed' = 'flags';
    if (!mounts) {
      try {
        mounts = await detectCertMounts(vault, await fetchCaChain(vault, mount));
        detection = 'sys/auth';
      } catch (e) {
        detection = 'failed';
        problems.push(`cannot find the cert auth mounts (sys/auth): ${(e as Error).message}; pass --cert-mount MOUNT (or --no-cert-auth when no cert auth trusts this PKI)`);
      }
    }
    result.certAuthDetection = detection;
    const name = certAuthCrlName(mount);
    for (const m of mounts ?? []) {
      try {
        await vault.write(`auth/${m}/crls/${name}`, { crl: crl.pem }, { idempotent: true });
        const back = await vault.read<{ serials?: Record<string, unknown> }>(`auth/${m}/crls/${name}`);
        const listed = Object.keys(back.data?.serials ?? {}).includes(decimalSerial(r.serial));
        updates.push({ mount: m, name, state: 'updated', listed });
        if (!listed) problems.push(`auth/${m}/crls/${name} does not list ${r.serial} after the update`);
      } catch (e) {
        updates.push({ mount: m, name, state: 'failed', error: (e as Error).message });
        problems.push(`pushing the CRL to auth/${m}/crls/${name} failed: ${(e as Error).message}`);
      }
    }
    result.certAuth = updates;
  } else {
    result.certAuthDetection = o.certAuth ? 'not-needed' : 'skipped';
    result.certAuth = [];
  }
  result.complete = problems.length === 0;
  result.problems = problems;
  const code = problems.length ? EXIT.REVOKE_INCOMPLETE : EXIT.OK;

  // (4)
  if (out.json) {
    out.emit(result);
    for (const p of problems) out.warn(p);
    return code;
  }
  const who = node ? ` (${node})` : '';
  if (r.state === 'expired-not-revoked') {
    out.line(`${r.serial}${who} had already expired: Vault did not add it to the CRL (every peer refuses it as expired).`);
    return EXIT.OK;
  }
  out.line(out.paint('bold', `revoked ${r.serial}${who} at ${mount}, ${r.revokedAt?.toISOString() ?? ''}`));
  if (crl) out.line(`  PKI CRL: ${crl.revoked.some((x) => x.serial === r.serial) ? 'lists it' : out.paint('red', 'does NOT list it')} (${crl.revoked.length} entries, next update ${crl.nextUpdate?.toISOString() ?? 'none'})`);
  if (!o.certAuth) out.line('  cert auth: skipped (--no-cert-auth)');
  else if (!updates.length && result.certAuthDetection === 'sys/auth') out.line('  cert auth: no cert auth mount trusts this PKI; nothing to update');
  for (const u of updates) {
    out.line(
      u.state === 'updated'
        ? `  cert auth: CRL registered at auth/${u.mount}/crls/${u.name}: this certificate can no longer log in there to renew itself`
        : `  cert auth: ${out.paint('red', `auth/${u.mount}/crls/${u.name} NOT updated`)}: ${u.error}`,
    );
  }
  for (const p of problems) out.warn(p);
  out.line('');
  out.line(out.paint('bold', 'What happens next:'));
  out.line('  peers with CRL checking (init node --crl) refuse it on their NEXT connection, once their agent has');
  out.line('  refreshed their CRL directory (every crl.refreshIntervalSeconds, default 5 min). To force it now, on each host:');
  out.line(`    vaultdist agent --config ${dir ? join('<peer dir>', 'agent.yaml') : '<node dir>/agent.yaml'} --once`);
  out.line(`  live connections stay up: disconnect it on every peer (erlang:disconnect_node('${node ?? 'name@host'}')) or stop the node`);
  out.line(`  peers without CRL checking accept it until it expires${notAfter ? ` (${notAfter.toISOString()})` : ''}`);
  out.line('  an AppRole login can still mint it a new certificate: destroy its secret_id too');
  return code;
}
