import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import * as x509 from '../x509/peculiar.js'; // loaded on first use (issue #16)
import type { VaultClient } from '../client.js';
import { CertificateError, VaultResponseError, WriteError } from '../errors.js';
import { fsyncDir, nodeWriterFs, type WriterFs } from '../files/credential-set.js';
import { swapSymlink, uniqueId } from '../files/dir-swap.js';
import { assertPrivatePath, fixDir, ownDir, removeTree, writeFileDurable } from '../files/safe-fs.js';
import { splitPem, toPem } from '../pem.js';
import { normalizeSerial } from '../x509/parse.js';

/**
 * CRLs for Erlang distribution.
 *
 * OTP 25's `ssl_crl_hash_dir` (the `crl_cache` that `renderOptfile({crl})` renders) looks a peer's CRL
 * up by file name only: `Dir/<hash>.r0`, `Dir/<hash>.r1`, … until the first missing number, where
 * `<hash>` is `public_key:short_name_hash(Issuer)`, the OpenSSL `X509_NAME_hash` of the certificate's
 * issuer name (8 lowercase hex digits, what `openssl x509 -hash` prints for the CA). The files are read
 * on every handshake (no cache), so a new CRL takes effect on the next connection without a reload.
 * A CRL whose `nextUpdate` has passed counts as no CRL: with `crl_check = peer` every peer is then
 * refused (`revocation_status_undetermined`), so the directory must be refreshed before `nextUpdate`.
 */

// ---- a minimal DER reader (only what Name hashing needs) -------------------------------------------

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  body: number;
  /** Offset just past the content. */
  end: number;
}

function readTlv(buf: Uint8Array, pos: number, limit = buf.length): Tlv {
  if (pos + 2 > limit) throw new Error('truncated DER');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte DER tags are not supported');
  let len = buf[pos + 1]!;
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i]!;
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new Error('DER length beyond the end of the data');
  return { tag, start: pos, body, end };
}

function children(buf: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.body; p < t.end; ) {
    const c = readTlv(buf, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const UTF8_STRING = 0x0c;
const PRINTABLE_STRING = 0x13;
const T61_STRING = 0x14;
const IA5_STRING = 0x16;

/** OTP `public_key:normalise_string/1` = OpenSSL's canonical form: trim, collapse ASCII whitespace, ASCII lowercase. */
function normaliseValue(text: string): string {
  return text
    .replace(/^[ \f\n\r\t\v]+/, '')
    .replace(/[ \f\n\r\t\v]+$/, '')
    .replace(/[ \f\n\r\t\v]+/g, ' ')
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * The OpenSSL "short" name hash (`X509_NAME_hash`, OTP `public_key:short_name_hash/1`) of a DER Name:
 * SHA-1 over the canonical encoding (each RDN's string values re-encoded as normalised UTF8String,
 * without the outer SEQUENCE header), first 4 bytes read little-endian, as 8 lowercase hex digits.
 * @throws CertificateError('parse') when the bytes are not a DER Name.
 */
export function opensslNameHash(nameDer: Uint8Array): string {
  let canonical: Buffer;
  try {
    const buf = nameDer;
    const name = readTlv(buf, 0);
    if (name.tag !== 0x30 || name.end !== buf.length) throw new Error('not a SEQUENCE');
    const parts: Buffer[] = [];
    for (const rdn of children(buf, name)) {
      if (rdn.tag !== 0x31) throw new Error('RDN is not a SET');
      const atvs: Buffer[] = [];
      for (const atv of children(buf, rdn)) {
        const [oid, value, ...rest] = children(buf, atv);
        if (atv.tag !== 0x30 || !oid || oid.tag !== 0x06 || !value || rest.length) throw new Error('bad AttributeTypeAndValue');
        const raw = Buffer.from(buf.subarray(value.body, value.end));
        let encodedValue: Buffer;
        if (value.tag === UTF8_STRING || value.tag === PRINTABLE_STRING || value.tag === IA5_STRING) {
          encodedValue = der(UTF8_STRING, Buffer.from(normaliseValue(raw.toString('utf8')), 'utf8'));
        } else if (value.tag === T61_STRING) {
          encodedValue = der(UTF8_STRING, Buffer.from(normaliseValue(raw.toString('latin1')), 'utf8'));
        } else {
          encodedValue = Buffer.from(buf.subarray(value.start, value.end));
        }
        atvs.push(der(0x30, Buffer.concat([Buffer.from(buf.subarray(oid.start, oid.end)), encodedValue])));
      }
      parts.push(der(0x31, Buffer.concat(atvs)));
    }
    canonical = Buffer.concat(parts);
  } catch (e) {
    throw new CertificateError('parse', `not a DER-encoded X.501 name: ${(e as Error).message}`, { cause: e });
  }
  const digest = createHash('sha1').update(canonical).digest();
  return digest.readUInt32LE(0).toString(16).padStart(8, '0');
}

/** DER of a certificate's subject Name (tbsCertificate field 6, after the optional [0] version). */
function certificateSubjectDer(certDer: Uint8Array): Uint8Array {
  const cert = readTlv(certDer, 0);
  const tbs = children(certDer, cert)[0];
  if (!tbs) throw new Error('no tbsCertificate');
  const f = children(certDer, tbs);
  const i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  const subject = f[i + 4];
  if (!subject || subject.tag !== 0x30) throw new Error('no subject');
  return certDer.subarray(subject.start, subject.end);
}

/** DER of a CRL's issuer Name (tbsCertList: optional version INTEGER, signature, issuer). */
function crlIssuerDer(crlDer: Uint8Array): Uint8Array {
  const list = readTlv(crlDer, 0);
  const tbs = children(crlDer, list)[0];
  if (!tbs) throw new Error('no tbsCertList');
  const f = children(crlDer, tbs);
  const i = f[0]?.tag === 0x02 ? 1 : 0;
  const issuer = f[i + 1];
  if (!issuer || issuer.tag !== 0x30) throw new Error('no issuer');
  return crlDer.subarray(issuer.start, issuer.end);
}

/** The hash OTP uses to find the CRLs of certificates issued by this CA (`openssl x509 -hash`). */
export function caSubjectHash(caPem: string): string {
  const block = splitPem(caPem).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new CertificateError('parse', 'no PEM certificate in the CA input');
  let subject: Uint8Array;
  try {
    subject = certificateSubjectDer(new Uint8Array(block.der));
  } catch (e) {
    throw new CertificateError('parse', `not a valid X.509 certificate: ${(e as Error).message}`, { cause: e });
  }
  return opensslNameHash(subject);
}

// ---- parsing ----------------------------------------------------------------------------------------

/** One revoked certificate of a CRL: serial and revocation date. */
export interface RevokedEntry {
  /** Vault-style colon hex. */
  serial: string;
  revokedAt: Date;
}

/** A fetched CRL: issuer (and its hash), this/next update, the revoked entries, PEM and DER. */
export interface CrlInfo {
  issuer: string;
  /** `<hash>` of the `<hash>.rN` file name OTP looks for. */
  issuerHash: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  revoked: RevokedEntry[];
  pem: string;
  der: Buffer;
}

/**
 * Parses one CRL (PEM `X509 CRL` or DER).
 * @throws CertificateError('parse')
 */
export function parseCrl(input: string | Uint8Array): CrlInfo {
  let derBytes: Buffer;
  if (typeof input === 'string') {
    const blocks = splitPem(input).filter((b) => b.label === 'X509 CRL' || b.label === 'CRL');
    if (blocks.length !== 1) throw new CertificateError('parse', `expected exactly one "X509 CRL" (or "CRL") PEM block, found ${blocks.length}`);
    derBytes = blocks[0]!.der;
  } else {
    derBytes = Buffer.from(input);
  }
  let crl: x509.X509Crl;
  let issuerHash: string;
  try {
    crl = new x509.X509Crl(new Uint8Array(derBytes));
    issuerHash = opensslNameHash(crlIssuerDer(new Uint8Array(derBytes)));
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError('parse', `not a valid X.509 CRL: ${(e as Error).message}`, { cause: e });
  }
  return {
    issuer: crl.issuer,
    issuerHash,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    revoked: crl.entries.map((e) => ({ serial: normalizeSerial(e.serialNumber), revokedAt: e.revocationDate })),
    pem: toPem(derBytes, 'X509 CRL'),
    der: derBytes,
  };
}

// ---- fetching ---------------------------------------------------------------------------------------

/** Options of `fetchCrl`: which issuer, the delta CRL, `signal`. */
export interface FetchCrlOptions {
  /** Read one issuer's CRL (`issuer/:ref/crl/pem`) instead of the mount's default issuer. */
  issuer?: string | undefined;
  /** The delta CRL instead of the complete one. @default false */
  delta?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Reads a PKI mount's current CRL (unauthenticated endpoint) and returns it parsed, in both PEM and DER.
 * Note: the PEM endpoint is used for both forms (the DER endpoint's binary body would be mangled by a
 * text transport); `der` is decoded from it.
 * @throws VaultResponseError when the answer is not exactly one parseable CRL.
 */
export async function fetchCrl(vault: VaultClient, mount: string, o: FetchCrlOptions = {}): Promise<CrlInfo> {
  const path = o.issuer
    ? `${mount}/issuer/${encodeURIComponent(o.issuer)}/crl${o.delta ? '/delta' : ''}/pem`
    : `${mount}/crl${o.delta ? '/delta' : ''}/pem`;
  const r = await vault.request('GET', path, { raw: true, unauthenticated: true, signal: o.signal });
  try {
    return parseCrl(r.text ?? '');
  } catch (e) {
    throw new VaultResponseError(path, `answer is not a CRL: ${(e as Error).message}`, { cause: e });
  }
}

// ---- writing the hash directory ---------------------------------------------------------------------

export interface WriteCrlDirOptions {
  fs?: WriterFs | undefined;
  owner?: { uid: number; gid: number } | undefined;
  /** Wall-clock now for the staleness check. @default new Date() */
  now?: Date | undefined;
}

export interface WriteCrlDirResult {
  changed: boolean;
  /** The directory OTP reads (`dir`, a symlink to the live set). */
  dir: string;
  /** File names in the live set, e.g. `['1a2b3c4d.r0']`. */
  files: string[];
  /** The earliest `nextUpdate` of the written CRLs: refresh before this. */
  nextUpdate: Date | undefined;
}

/** Checks and orders the CRLs: each must be signed by one of the CAs and not stale. Pure apart from crypto. */
async function planCrlFiles(crlPems: string[], caPems: string[], now: Date): Promise<{ files: Map<string, Buffer>; nextUpdate: Date | undefined }> {
  const cas = caPems.flatMap((p) => splitPem(p).filter((b) => b.label === 'CERTIFICATE')).map((b) => {
    try {
      return { cert: new x509.X509Certificate(new Uint8Array(b.der)), hash: opensslNameHash(certificateSubjectDer(new Uint8Array(b.der))) };
    } catch (e) {
      if (e instanceof CertificateError) throw e;
      throw new CertificateError('parse', `CA input is not a valid X.509 certificate: ${(e as Error).message}`, { cause: e });
    }
  });
  if (!cas.length) throw new CertificateError('chain', 'no CA certificate given: CRL signatures cannot be checked');
  const crls = crlPems.flatMap((p) => {
    const blocks = splitPem(p).filter((b) => b.label === 'X509 CRL' || b.label === 'CRL');
    if (!blocks.length) throw new CertificateError('parse', 'a CRL input has no "X509 CRL" (or "CRL") PEM block');
    return blocks.map((b) => parseCrl(new Uint8Array(b.der)));
  });
  const byHash = new Map<string, CrlInfo[]>();
  let nextUpdate: Date | undefined;
  for (const crl of crls) {
    const issuers = cas.filter((c) => c.hash === crl.issuerHash);
    let ok = false;
    for (const ca of issuers) {
      try {
        if (await new x509.X509Crl(new Uint8Array(crl.der)).verify({ publicKey: ca.cert.publicKey })) ok = true;
      } catch {
        /* try the next CA with this name */
      }
    }
    if (!ok) {
      throw new CertificateError('chain', `the CRL of ${JSON.stringify(crl.issuer)} is not signed by any of the given CAs (OTP would not accept it)`);
    }
    if (crl.nextUpdate && crl.nextUpdate.getTime() <= now.getTime()) {
      throw new CertificateError('expired', `the CRL of ${JSON.stringify(crl.issuer)} is stale (nextUpdate ${crl.nextUpdate.toISOString()}): OTP treats it as missing`);
    }
    if (crl.nextUpdate && (!nextUpdate || crl.nextUpdate < nextUpdate)) nextUpdate = crl.nextUpdate;
    const list = byHash.get(crl.issuerHash) ?? [];
    if (!list.some((c) => c.der.equals(crl.der))) list.push(crl);
    byHash.set(crl.issuerHash, list);
  }
  const files = new Map<string, Buffer>();
  for (const [hash, list] of [...byHash].sort(([a], [b]) => a.localeCompare(b))) {
    // Newest first; OTP reads .r0, .r1, … until the first gap, so numbering is dense.
    list.sort((a, b) => b.thisUpdate.getTime() - a.thisUpdate.getTime());
    list.forEach((crl, n) => files.set(`${hash}.r${n}`, Buffer.from(crl.pem)));
  }
  return { files, nextUpdate };
}

/**
 * Atomically replaces the CRL hash directory `dir` that the optfile's
 * `{crl_cache, {ssl_crl_hash_dir, {internal, [{dir, Dir}]}}}` points at.
 *
 * 1. every CRL is parsed, its signature checked against `caPems` and its `nextUpdate` checked; any
 *    failure throws before anything is written;
 * 2. the files `<issuer hash>.r<N>` (PEM; OTP accepts PEM and DER) are written into a fresh
 *    `.<name>.sets/<id>.tmp` next to `dir` (`O_EXCL | O_NOFOLLOW`, 0644, fchowned to `owner` through
 *    their descriptors; the set directory stays this process's, 0755), fsynced, and the set renamed to
 *    `.<name>.sets/<id>`. `.<name>.sets` itself is
 *    a real directory of this process (0755; a planted symlink is refused, never followed), and as
 *    root no directory on the way may be controlled by another user (`assertPrivatePath`): the node
 *    user can never swap an entry between a write and a chown (issue #15);
 * 3. `dir` itself is a symlink to the live set, switched by renaming a new symlink over it;
 * 4. sets older than the previous one are removed (`removeTree`: no symlink followed).
 * Identical content → nothing is written. A missing `dir` or an empty real directory is taken over;
 * a non-empty real directory is refused (it is not vaultdist's).
 * @throws CertificateError for bad input, WriteError when the file system fails (the old set stays live).
 */
export async function writeCrlDir(dir: string, crlPems: string[], caPems: string[], o: WriteCrlDirOptions = {}): Promise<WriteCrlDirResult> {
  if (typeof dir !== 'string' || !dir.startsWith('/')) throw new WriteError(String(dir), 'the CRL directory must be an absolute path (it is written into the optfile)');
  const fs = o.fs ?? nodeWriterFs;
  const { files, nextUpdate } = await planCrlFiles(crlPems, caPems, o.now ?? new Date());
  if (!files.size) throw new CertificateError('parse', 'no CRL given');
  const names = [...files.keys()];
  const parent = dirname(dir);
  const setsDir = join(parent, `.${basename(dir)}.sets`);
  try {
    await assertPrivatePath(fs, parent, 'the CRL directory');
    await fs.mkdir(parent, { recursive: true, mode: 0o755 });
    await assertPrivatePath(fs, parent, 'the CRL directory');
    // Is the live set identical?
    let liveTarget: string | undefined;
    try {
      liveTarget = await fs.readlink(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINVAL') {
        // A real directory (or file) is in the way: take over only an empty directory.
        const st = await fs.lstat(dir);
        if (!st.isDirectory()) throw new WriteError(dir, 'is not a directory; move it away or choose another CRL directory');
        const entries = await fs.readdir(dir);
        if (entries.length) throw new WriteError(dir, 'is a non-empty directory not managed by vaultdist; move it away or choose another CRL directory');
        await fs.rmdir(dir);
      } else if (code !== 'ENOENT') throw e;
    }
    if (liveTarget) {
      const live = (await fs.readdir(dir).catch(() => [] as string[])).sort();
      if (live.join('\n') === [...names].sort().join('\n')) {
        const same = await Promise.all(names.map(async (n) => (await fs.readFile(join(dir, n), 'utf8').catch(() => '')) === files.get(n)!.toString()));
        if (same.every(Boolean)) return { changed: false, dir, files: names, nextUpdate };
      }
    }
    // (2)
    await ownDir(fs, setsDir, 0o755);
    const id = uniqueId();
    const tmpSet = join(setsDir, `${id}.tmp`);
    await fs.mkdir(tmpSet, { mode: 0o755 });
    await fixDir(fs, tmpSet, 0o755);
    for (const [n, data] of files) await writeFileDurable(fs, join(tmpSet, n), data, 0o644, o.owner);
    await fsyncDir(fs, tmpSet);
    await fs.rename(tmpSet, join(setsDir, id));
    await fsyncDir(fs, setsDir);
    // (3)
    await swapSymlink(fs, join(basename(setsDir), id), dir, o.owner);
    await fsyncDir(fs, parent);
    // (4)
    // Keep the previous set too: a handshake that resolved the old link a moment ago may still be reading it.
    const keep = new Set([id, ...(liveTarget ? [basename(liveTarget)] : [])]);
    for (const e of await fs.readdir(setsDir)) if (!keep.has(e)) await removeTree(fs, join(setsDir, e));
    return { changed: true, dir, files: names, nextUpdate };
  } catch (e) {
    if (e instanceof WriteError) throw e;
    throw new WriteError(dir, `writing the CRL directory failed (the previous CRLs stay live): ${(e as Error).message}`, { cause: e });
  }
}
