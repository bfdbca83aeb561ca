import type { VaultClient } from './client.js';
import { CertificateError } from './errors.js';
import { parseNodeName, type NodeName } from './node-name.js';
import { requestNodeCertificate, type NodeCertificate } from './pki/sign.js';
import { writeCredentialSet, type WriteCredentialSetOptions, type WriteCredentialSetResult } from './files/credential-set.js';
import { validateCredentials } from './x509/validate.js';
import { parseCertificate, type CertificateInfo } from './x509/parse.js';
import type { KeyType } from './x509/keys.js';

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
   * Trust anchors for ca.pem. @default the self-signed certificates in Vault's `ca_chain`
   * (during a CA rotation pass old + new roots here).
   */
  trust?: string[] | undefined;
  /** Reject certificates with less lifetime than this left. @default 0 */
  minRemainingMs?: number | undefined;
  now?: Date | undefined;
  write?: WriteCredentialSetOptions | undefined;
  signal?: AbortSignal | undefined;
}

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
  const { intermediates, roots } = splitChain(issued.caChain);
  const trust = o.trust ?? roots;
  if (!trust.length) {
    throw new CertificateError('chain', `Vault's ca_chain for ${o.mount} has no root certificate; pass the root(s) as "trust"`);
  }
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
