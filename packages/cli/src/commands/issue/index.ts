/** `vaultdist issue`: one-off certificate for scripts (writes the credential set, prints serial/expiry). */
import { isAbsolute, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseNodeName, requireDistributableNode } from '@vaultdist/sdk';
import { certificateBlocks } from '@vaultdist/sdk/internal';
import { issueInto } from '../../credentials.js';
import { EXIT, ExitError } from '../../errors.js';
import { checkTtlFlag, readSettings, type NodeSettings } from '../../node-dir.js';
import type { Output } from '../../output.js';
import { authenticate, connectVault, type AppRoleFlags, type VaultFlags } from '../../vault.js';
import { NODE_DEFAULTS } from '../init-node/index.js';

export interface IssueOptions extends VaultFlags, AppRoleFlags {
  dir: string;
  name: string | undefined;
  mount: string | undefined;
  role: string | undefined;
  ttl: string | undefined;
  keyType: NodeSettings['keyType'] | undefined;
  /** CA rotation step: extra trust anchors (PEM files), read before anything is issued. */
  trustCa?: string[] | undefined;
  json: boolean;
}

export async function issue(o: IssueOptions, out: Output): Promise<number> {
  const dir = isAbsolute(o.dir) ? o.dir : resolve(out.io.cwd, o.dir);
  const prev = await readSettings(dir);
  const name = o.name ?? prev?.node;
  if (!name) throw new ExitError(EXIT.USAGE, `--name NAME@HOST is required (${dir} has no vaultdist.json)`);
  const node = requireDistributableNode(parseNodeName(name)); // IPv6 refused up front (#15)
  checkTtlFlag(o.ttl); // below the renewal schedule's floor (#15)
  // --trust-ca files are checked before anything is issued (usage error naming the file)
  const extraTrust: string[] = [];
  for (const f of o.trustCa ?? []) {
    const file = isAbsolute(f) ? f : resolve(out.io.cwd, f);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new ExitError(EXIT.USAGE, `--trust-ca ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const certs = certificateBlocks(text);
    if (!certs.length) throw new ExitError(EXIT.USAGE, `--trust-ca ${f}: no PEM CERTIFICATE block`);
    extraTrust.push(...certs);
  }
  const base = connectVault(o, out);
  const s: NodeSettings = {
    ...(prev ?? {
      version: 1,
      dir,
      vaultAddr: base.connection.addresses.join(','),
      vaultCaCert: null,
      distPort: NODE_DEFAULTS.distPort,
      listenInterface: undefined,
      tlsVersions: ['tlsv1.3'],
      modules: [],
      certAuthMount: NODE_DEFAULTS.certAuthMount,
      certAuthRole: NODE_DEFAULTS.role,
      healthPort: NODE_DEFAULTS.healthPort,
      agentAuth: 'token',
      approleMount: 'approle',
      crl: false,
    }),
    node: node.full,
    dir,
    mount: o.mount ?? prev?.mount ?? NODE_DEFAULTS.mount,
    role: o.role ?? prev?.role ?? NODE_DEFAULTS.role,
    ttl: o.ttl ?? prev?.ttl ?? '',
    keyType: o.keyType ?? prev?.keyType ?? NODE_DEFAULTS.keyType,
  } as NodeSettings;
  const { vault } = await authenticate(base, o, out);
  out.progress(`asking ${s.mount}/sign/${s.role} for ${node.full}`);
  const r = await issueInto(vault, s, { extraTrust });
  for (const w of r.warnings) out.warn(`Vault: ${w}`);
  if (out.json) out.emit({ node: node.full, dir, serial: r.leaf.serial, notBefore: r.leaf.notBefore.toISOString(), notAfter: r.leaf.notAfter.toISOString(), issuer: r.leaf.issuer });
  else out.line(`${node.full}: certificate ${r.leaf.serial} valid until ${r.leaf.notAfter.toISOString()} → ${dir}/bundle.pem`);
  return EXIT.OK;
}
