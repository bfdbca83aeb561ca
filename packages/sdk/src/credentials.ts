import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VaultClient } from './client.js';
import { CertificateError } from './errors.js';
import { parseNodeName, type NodeName } from './node-name.js';
import { requestNodeCertificate, type NodeCertificate } from './pki/sign.js';
import { writeCredentialSet, type WriteCredentialSetOptions, type WriteCredentialSetResult } from './files/credential-set.js';
import { validateCredentials, verifyChain } from './x509/validate.js';
import { splitPem } from './pem.js';
import { parseCertificate, type CertificateInfo } from './x509/parse.js';
import type { KeyType } from './x509/keys.js';

/** Options of `issueNodeCredentials`: where to sign, for which node, into which directory, and the trust to pin. */
export interface IssueNodeCredentialsOptions {
  mount: string;
  role: string;
  /** `name@host` or a parsed name. */
  node: string | NodeName;
  /** Credential directory (bundle.pem, ca.pem). */
  dir: string;
  keyType?: KeyType | undefined;
  ttl?: string | undefined;
  mode?: 'sign' | 'issue' | undefined;
  /**
   * Trust anchors for ca.pem, given by the operator: the documented CA-rotation step (old + new issuing
   * CA) or a first setup with known anchors. The leaf must chain to them; no pinning check.
   * @default Vault's issuing CA (the CA that signed the leaf, `ca_chain[0]`), adopted only when it is
   * in, or issued by a certificate in, the trust set in use (`pinned`): see {@link adoptTrust}
   */
  trust?: string[] | undefined;
  /**
   * The trust set in use. @default the certificates in DIR/ca.pem (none on a first issuance: Vault's
   * issuing CA is then taken on first use). `false`: no pinning (not recommended).
   */
  pinned?: string[] | false | undefined;
  /** Extra anchors kept in ca.pem next to the issuing CA (rotation overlap), and accepted for pinning. */
  extraTrust?: string[] | undefined;
  /** Reject certificates with less lifetime than this left. @default 0 */
  minRemainingMs?: number | undefined;
  now?: Date | undefined;
  write?: WriteCredentialSetOptions | undefined;
  signal?: AbortSignal | undefined;
}

/** What `issueNodeCredentials` did: the issued certificate, the validated leaf, what was written, warnings. */
export interface IssueNodeCredentialsResult {
  node: NodeName;
  leaf: CertificateInfo;
  issued: NodeCertificate;
  written: WriteCredentialSetResult;
  warnings: string[];
}

function selfSigned(pem: string): boolean {
  const c = parseCertificate(pem);
  return c.subject === c.issuer;
}

/** Splits Vault's ca_chain into intermediates (sent with the leaf) and roots (trusted). */
export function splitChain(caChain: string[]): { intermediates: string[]; roots: string[] } {
  const intermediates: string[] = [];
  const roots: string[] = [];
  for (const pem of caChain) (selfSigned(pem) ? roots : intermediates).push(pem);
  return { intermediates, roots };
}

const certBlocks = (pems: string[]) => pems.flatMap((p) => splitPem(p).filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem));

/** The CERTIFICATE blocks of DIR/ca.pem, or [] when there is none yet. */
export async function readTrustInUse(dir: string): Promise<string[]> {
  try {
    return certBlocks([await readFile(join(dir, 'ca.pem'), 'utf8')]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export interface AdoptTrustOptions {
  /** The CA that signed the new leaf (Vault's `issuing_ca` / `ca_chain[0]`). */
  issuingCa: string;
  /** Vault's `ca_chain` (issuing CA first, then its parents up to the root). */
  caChain?: string[] | undefined;
  /** The trust set in use (DIR/ca.pem). Empty: first issuance, the issuing CA is taken on first use. */
  inUse: string[];
  /** Operator-configured anchors (CA rotation): kept in the new set and accepted for pinning. */
  extra?: string[] | undefined;
  now?: Date | undefined;
}

const sameCert = (a: string, b: string) => parseCertificate(a).fingerprint256 === parseCertificate(b).fingerprint256;

/**
 * Trust pinning across renewals. The new ca.pem is Vault's issuing CA and the chain up to its root
 * (signatures checked, so nothing can be appended), plus `extra`. The issuing CA is adopted only when
 * - it is one of the certificates in use or in `extra` (the normal renewal, or an announced rotation), or
 * - the set in use holds roots only (ca.pem before #12, or a root that issues directly) and the issuing
 *   CA chains to one of them: an old ca.pem narrows to the root's issuing intermediate;
 * or when nothing is in use yet (first issuance). Anything else is a trust anchor the set in use does
 * not chain to (another intermediate, a rotated CA not announced through the rotation step, or an answer
 * from whoever impersonates Vault): refused before anything is written.
 * @throws CertificateError('trust-anchor'), or ('chain') for an answer whose own chain is broken
 */
export async function adoptTrust(o: AdoptTrustOptions): Promise<string[]> {
  const now = o.now ?? new Date();
  const [issuing] = certBlocks([o.issuingCa]);
  if (!issuing) throw new CertificateError('chain', "Vault's answer names no issuing CA certificate");
  const answer = certBlocks(o.caChain ?? []);
  const parents = answer.filter((c) => !sameCert(c, issuing));
  const extra = certBlocks(o.extra ?? []);
  const accepted = [...certBlocks(o.inUse), ...extra];
  const isRoot = (pem: string) => {
    const c = parseCertificate(pem);
    return c.subject === c.issuer;
  };
  // issuing CA → root, through the answer's parents; the root may come from the set in use or the answer
  const roots = [...accepted, ...answer, issuing].filter(isRoot);
  let path: string[];
  try {
    path = (await verifyChain(issuing, parents, roots, now)).map((c) => c.toString('pem') + '\n');
  } catch (e) {
    throw new CertificateError('chain', `Vault's issuing CA does not chain to a root through its ca_chain: ${(e as Error).message}`, { cause: e });
  }
  if (accepted.length) {
    const pinned = accepted.some((a) => sameCert(a, issuing));
    const rootsOnly = accepted.every(isRoot);
    const root = path[path.length - 1]!;
    if (!pinned && !(rootsOnly && accepted.some((a) => sameCert(a, root)))) {
      const ca = parseCertificate(issuing);
      const have = accepted.map((p) => parseCertificate(p).subject);
      throw new CertificateError(
        'trust-anchor',
        `Vault's issuing CA ${JSON.stringify(ca.subject)} (sha256 ${ca.fingerprint256.slice(0, 16)}…) is not in, and not issued by, the trust set in use (${have.map((h) => JSON.stringify(h)).join(', ')}); refusing to adopt it. For a planned CA rotation, add the new issuing CA as an extra trust anchor first (agent trust.extraCaFiles, vaultdist issue --trust-ca, SDK extraTrust)`,
      );
    }
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const pem of [...path, ...extra]) {
    const fp = parseCertificate(pem).fingerprint256;
    if (!seen.has(fp)) {
      seen.add(fp);
      out.push(pem);
    }
  }
  return out;
}

/**
 * The whole node-side flow: key + CSR here, Vault signs, validate everything, then swap the files
 * atomically. Nothing is written when validation fails; the old set stays live.
 */
export async function issueNodeCredentials(vault: VaultClient, o: IssueNodeCredentialsOptions): Promise<IssueNodeCredentialsResult> {
  const node = typeof o.node === 'string' ? parseNodeName(o.node) : o.node;
  const issued = await requestNodeCertificate(vault, {
    mount: o.mount,
    role: o.role,
    node,
    keyType: o.keyType,
    ttl: o.ttl,
    mode: o.mode,
    signal: o.signal,
  });
  const { intermediates } = splitChain(issued.caChain);
  const trust =
    o.trust ??
    (await adoptTrust({
      issuingCa: issued.issuingCa,
      caChain: issued.caChain,
      inUse: o.pinned === false ? [] : (o.pinned ?? (await readTrustInUse(o.dir))),
      extra: o.extraTrust,
      now: o.now,
    }));
  if (!trust.length) throw new CertificateError('chain', 'no trust anchor given');
  const leaf = await validateCredentials({
    keyPem: issued.privateKey,
    certPem: issued.certificate,
    chainPems: intermediates,
    trustPems: trust,
    node,
    now: o.now,
    minRemainingMs: o.minRemainingMs,
  });
  const written = await writeCredentialSet(
    o.dir,
    { privateKey: issued.privateKey, certificate: issued.certificate, chain: intermediates, caBundle: trust },
    o.write,
  );
  return { node, leaf, issued, written, warnings: issued.warnings };
}
