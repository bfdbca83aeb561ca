/**
 * Reading the live credential set (`DIR/bundle.pem` = key + leaf + chain, `DIR/ca.pem` = trust
 * anchors): how its parts are found, owned here (issue #16: the agent's node and CRL workers and the
 * CLI each sliced the files themselves). Pure; `readCredentialFiles` (credential-set.ts) does the I/O.
 */
import { certificateBlocks, privateKeyBlock } from '../pem.js';

/** The two files of a live set, as text. */
export interface CredentialFiles {
  bundle: string;
  ca: string;
}

/** The parts of a live set: PEM blocks as in the files, in file order, each ending with one newline (so they can be joined). */
export interface CredentialSetParts {
  /** The private key of `bundle.pem`, or undefined when it has none. */
  keyPem: string | undefined;
  /** The leaf (first certificate of `bundle.pem`), or undefined when it has none. */
  leafPem: string | undefined;
  /** The certificates after the leaf in `bundle.pem` (the issuing chain). */
  chainPems: string[];
  /** The certificates of `ca.pem` (the trust anchors the node uses). */
  trustPems: string[];
}

/** Splits a live set into key, leaf, chain and trust anchors (nothing is validated here: see `validateCredentials`). */
export function credentialSetParts(files: CredentialFiles): CredentialSetParts {
  const nl = (b: string) => `${b}\n`;
  const certs = certificateBlocks(files.bundle).map(nl);
  const key = privateKeyBlock(files.bundle);
  return { keyPem: key && nl(key), leafPem: certs[0], chainPems: certs.slice(1), trustPems: certificateBlocks(files.ca).map(nl) };
}

/**
 * The certificates a CRL of this set may be signed by: the trust anchors, then the chain (the
 * issuing intermediate signs the CRL of its mount).
 */
export function crlIssuerCandidates(files: CredentialFiles): string[] {
  const p = credentialSetParts(files);
  return [...p.trustPems, ...p.chainPems];
}
