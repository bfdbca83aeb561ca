/**
 * The chain path search shared by `verifyChain` (@peculiar/x509, x509/validate.ts) and `inspectChain`
 * (node:crypto, x509/inspect.ts): one rule over either parser, so the two cannot drift apart. Pure: it
 * imports no parser (inspect.ts stays light for `vaultdist doctor`).
 *
 * 1. Stop when the current certificate IS an anchor, or is signed by one (the anchor ends the path).
 * 2. Otherwise the next certificate is an unused one from `chain` that signed the current one; it must be
 *    valid at `now`. At most 10 steps.
 */
import { CertificateError } from '../errors.js';

/** What the search needs to know about a parsed certificate `C`. */
export interface ChainOps<C> {
  /** Byte-identical certificates. */
  same(a: C, b: C): boolean;
  /** `child` names `issuer` as its issuer and carries its signature. */
  signedBy(child: C, issuer: C): boolean | Promise<boolean>;
  /** `c` is inside its validity window at `now`. */
  validAt(c: C, now: Date): boolean;
  /** Subject / issuer as shown in error messages. */
  subject(c: C): string;
  issuer(c: C): string;
}

/**
 * The path from `leaf` through `chain` to one of `trust` (leaf first, anchor last; the leaf alone when
 * it is itself an anchor).
 * @throws CertificateError('chain')
 */
export async function findChainPath<C>(leaf: C, chain: readonly C[], trust: readonly C[], now: Date, ops: ChainOps<C>): Promise<C[]> {
  if (!trust.length) throw new CertificateError('chain', 'no trusted CA certificate given');
  const path = [leaf];
  let current = leaf;
  for (let depth = 0; depth < 10; depth++) {
    // (1)
    for (const anchor of trust) {
      if (ops.same(current, anchor)) return path;
      if (await ops.signedBy(current, anchor)) return [...path, anchor];
    }
    // (2)
    let next: C | undefined;
    for (const c of chain) {
      if (!path.includes(c) && (await ops.signedBy(current, c))) {
        next = c;
        break;
      }
    }
    if (!next) {
      throw new CertificateError('chain', `certificate ${JSON.stringify(ops.subject(current))} (issuer ${JSON.stringify(ops.issuer(current))}) does not chain to the trusted CA bundle`);
    }
    if (!ops.validAt(next, now)) {
      throw new CertificateError('chain', `intermediate ${JSON.stringify(ops.subject(next))} is not valid at ${now.toISOString()}`);
    }
    path.push(next);
    current = next;
  }
  throw new CertificateError('chain', 'chain longer than 10 certificates');
}
