/**
 * A minimal DER encoder: exactly what a PKCS#10 request and a PKCS#8 EC/Ed25519 key need (X.690 §10).
 * Every function returns the complete TLV; lengths use the definite short/long form, as DER requires.
 * Internal to the SDK (not exported from index.ts): pkcs10.ts (CSR, SPKI, PKCS#8) is its only user.
 */
import { isIP } from 'node:net';

function header(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}

/** One TLV with the given tag byte and contents (concatenated). */
export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = contents.length === 1 ? Buffer.from(contents[0]!) : Buffer.concat(contents);
  return Buffer.concat([header(tag, body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, ...items);
/** SET OF with a single member or members already in DER order (callers here never need sorting). */
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, ...items);
export const NULL = Buffer.from([0x05, 0x00]);
/** INTEGER 0 and 1: the only integers written here (versions). */
export const INTEGER_0 = Buffer.from([0x02, 0x01, 0x00]);
export const INTEGER_1 = Buffer.from([0x02, 0x01, 0x01]);
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
/** BIT STRING with no unused bits (signatures, keys). */
export const bitString = (bytes: Uint8Array): Buffer => tlv(0x03, Buffer.from([0]), bytes);
/** `[n]` context-specific, constructed (e.g. the CSR's `[0] attributes`). */
export const contextConstructed = (n: number, ...items: Uint8Array[]): Buffer => tlv(0xa0 | n, ...items);
/** `[n]` context-specific, primitive (IMPLICIT tagging of a primitive type, e.g. GeneralName). */
export const contextPrimitive = (n: number, bytes: Uint8Array): Buffer => tlv(0x80 | n, bytes);

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(a);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new RangeError(`bad OID ${dotted}`);
  const out: number[] = [];
  for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
/** X.680 PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ? */
export const isPrintableString = (s: string): boolean => /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
export function printableString(s: string): Buffer {
  if (!isPrintableString(s)) throw new RangeError('not a PrintableString');
  return tlv(0x13, Buffer.from(s, 'latin1'));
}
/** IA5 = 7-bit ASCII. */
export const isIa5String = (s: string): boolean => /^[\x00-\x7f]*$/.test(s);

/**
 * The network-order bytes of an IPv4 (4) or IPv6 (16) address, including `::` compression and an
 * embedded IPv4 tail (`::ffff:127.0.0.1`). Returns undefined for anything else, zone ids included.
 */
export function ipBytes(ip: string): Buffer | undefined {
  const kind = isIP(ip);
  if (kind === 4) return Buffer.from(ip.split('.').map(Number));
  if (kind !== 6 || ip.includes('%')) return undefined;
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // Embedded IPv4 tail: rewrite it as two hex groups (isIP already checked the whole address).
    const v4 = text.slice(lastColon + 1).split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - left.length - right.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const words = [...left, ...Array<number>(fill).fill(0), ...right];
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}
