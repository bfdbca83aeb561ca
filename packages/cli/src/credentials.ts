/**
 * Node credentials on disk: read/inspect the live set, and issue a new one through the SDK.
 */
import { readFile, stat } from 'node:fs/promises';
import {
  issueNodeCredentials,
  parseCertificate,
  parseNodeName,
  validateCredentials,
  type CertificateInfo,
  type VaultClient,
} from '@vaultdist/sdk';
import { credentialSetParts } from '@vaultdist/sdk/internal';
import { EXIT, ExitError, toExitError } from './errors.js';
import { paths, type NodeSettings } from './node-dir.js';

export interface LiveCredentials {
  keyPem: string;
  leaf: CertificateInfo;
  chainPems: string[];
  trustPems: string[];
  bundleMode: number;
}

/**
 * Reads DIR/bundle.pem + DIR/ca.pem, or undefined when absent. Throws ExitError(CONFIG) on garbage.
 * `parse`: the leaf's parser (`inspectCertificate` for commands that only look: no @peculiar/x509 load).
 */
export async function readLiveCredentials(dir: string, parse: (pem: string) => CertificateInfo = parseCertificate): Promise<LiveCredentials | undefined> {
  const p = paths(dir);
  let bundle: string;
  let ca: string;
  let mode: number;
  try {
    bundle = await readFile(p.bundle, 'utf8');
    ca = await readFile(p.ca, 'utf8');
    mode = (await stat(p.bundle)).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ExitError(EXIT.CONFIG, `${p.bundle}: ${(e as Error).message}`);
  }
  const parts = credentialSetParts({ bundle, ca });
  if (!parts.keyPem || !parts.leafPem) throw new ExitError(EXIT.CONFIG, `${p.bundle}: needs a private key and a certificate`);
  let leaf: CertificateInfo;
  try {
    leaf = parse(parts.leafPem);
  } catch (e) {
    throw new ExitError(EXIT.CONFIG, `${p.bundle}: ${(e as Error).message}`);
  }
  return {
    keyPem: parts.keyPem,
    leaf,
    chainPems: parts.chainPems,
    trustPems: parts.trustPems,
    bundleMode: mode,
  };
}

/** Whether the live set is valid for this node with at least a third of its lifetime left. */
export async function liveSetIsFresh(s: NodeSettings, now = new Date()): Promise<CertificateInfo | undefined> {
  const live = await readLiveCredentials(s.dir).catch(() => undefined);
  if (!live) return undefined;
  try {
    const leaf = await validateCredentials({ keyPem: live.keyPem, certPem: live.leaf.pem, chainPems: live.chainPems, trustPems: live.trustPems, node: parseNodeName(s.node), now });
    const life = leaf.notAfter.getTime() - leaf.notBefore.getTime();
    return leaf.notAfter.getTime() - now.getTime() > life / 3 ? leaf : undefined;
  } catch {
    return undefined;
  }
}

/** Issues a certificate for the node and swaps the credential set atomically (SDK flow). */
export async function issueInto(
  vault: VaultClient,
  s: NodeSettings,
  o: { extraTrust?: string[] | undefined } = {},
): Promise<{ leaf: CertificateInfo; serial: string; warnings: string[]; changed: boolean }> {
  try {
    const r = await issueNodeCredentials(vault, {
      // trust pinning: the issuing CA must be in DIR/ca.pem already, or in --trust-ca (CA rotation)
      ...(o.extraTrust?.length ? { extraTrust: o.extraTrust } : {}),
      mount: s.mount,
      role: s.role,
      node: s.node,
      dir: s.dir,
      keyType: s.keyType,
      ttl: s.ttl || undefined,
      // --owner of init node (kept in vaultdist.json): the new set belongs to the node user
      ...(s.owner ? { write: { owner: s.owner } } : {}),
    });
    return { leaf: r.leaf, serial: r.issued.serial, warnings: r.warnings, changed: r.written.changed };
  } catch (e) {
    const x = toExitError(e, 'issue');
    if (x instanceof ExitError) {
      const notAllowed = /not allowed by this role/.test(x.message);
      const hint = notAllowed
        ? `the role ${s.mount}/roles/${s.role} does not allow this host: run \`vaultdist init vault --allowed-hosts …\` with ${parseNodeName(s.node).host} in the list`
        : x.hint;
      throw new ExitError(x.code, `issuing a certificate for ${s.node} from ${vault.connection.address}/v1/${s.mount}/sign/${s.role}: ${x.message}`, {
        cause: e,
        ...(hint ? { hint } : {}),
      });
    }
    throw x;
  }
}
