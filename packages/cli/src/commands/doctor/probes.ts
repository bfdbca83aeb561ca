/**
 * Network probes for `doctor`: raw epmd and distribution-handshake conversations over TCP.
 * Loopback or any address the user names; nothing is sent beyond one request.
 */
import { connect } from 'node:net';
import tls from 'node:tls';
import { normalizeSerial } from '@vaultdist/sdk/internal';
import { EXIT, ExitError } from '../../errors.js';

export type EpmdResult =
  | { state: 'closed'; error: string }
  | { state: 'answering'; epmdPort: number; names: { name: string; port: number }[] }
  | { state: 'garbled'; error: string };

/**
 * epmd NAMES_REQ (ERTS "Distribution Protocol": `<<1:16, 110>>`); the reply is the 4-byte epmd port
 * followed by lines `name N at port P`, then epmd closes.
 */
export function epmdNames(host: string, port = 4369, timeoutMs = 3000): Promise<EpmdResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const sock = connect({ host, port });
    const finish = (r: EpmdResult) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      resolve(r);
    };
    const t = setTimeout(() => finish(chunks.length ? parse() : { state: 'closed', error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    const parse = (): EpmdResult => {
      const b = Buffer.concat(chunks);
      if (b.length < 4) return { state: 'garbled', error: `short answer (${b.length} bytes)` };
      const names = [...b.subarray(4).toString('latin1').matchAll(/name (\S+) at port (\d+)/g)].map((m) => ({ name: m[1]!, port: Number(m[2]) }));
      return { state: 'answering', epmdPort: b.readUInt32BE(0), names };
    };
    sock.once('connect', () => sock.write(Buffer.from([0, 1, 110])));
    sock.on('data', (d) => chunks.push(d));
    sock.once('end', () => finish(parse()));
    sock.once('error', (e: NodeJS.ErrnoException) => finish(chunks.length ? parse() : { state: 'closed', error: e.code ?? e.message }));
  });
}

export type PlaintextResult =
  | { state: 'closed'; error: string }
  /** Answered the dist handshake with a status message (`sok`, `snot_allowed` …): plaintext distribution. */
  | { state: 'plaintext'; status: string }
  /** Answered with a TLS record (alert): the port speaks TLS. */
  | { state: 'tls' }
  | { state: 'silent'; detail: string };

// Distribution flags a current OTP node announces (erts dist.h): everything OTP 25/26 make mandatory.
const DFLAGS =
  0x1 | 0x4 | 0x8 | 0x10 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800 | 0x1000 | 0x2000 | 0x4000 | 0x10000 | 0x20000 | 0x40000 | 0x80000 | 0x100000 | 0x200000 | 0x1000000 | 0x2000000;

/**
 * A distribution `send_name` message ('N' format, OTP 23+), length-prefixed: 2 bytes over plain TCP
 * (inet_tcp_dist), 4 bytes over TLS (inet_tls_dist runs its handshake with `{packet, 4}`).
 */
function sendNameMessage(host: string, lengthBytes: 2 | 4 = 2): Buffer {
  const name = Buffer.from(`vaultdist_doctor${process.pid}@${host.includes(':') ? 'localhost' : host}`, 'latin1');
  const body = Buffer.alloc(1 + 8 + 4 + 2 + name.length);
  body.write('N', 0, 'latin1');
  body.writeBigUInt64BE(BigInt(DFLAGS), 1);
  body.writeUInt32BE(1, 9);
  body.writeUInt16BE(name.length, 13);
  name.copy(body, 15);
  const head = Buffer.alloc(lengthBytes);
  if (lengthBytes === 2) head.writeUInt16BE(body.length);
  else head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/**
 * Sends a plaintext distribution `send_name` ('N', OTP 23+ handshake) and classifies the reply:
 * a status message (`s…`) means the port speaks unencrypted Erlang distribution.
 */
export function plaintextHandshake(host: string, port: number, timeoutMs = 3000): Promise<PlaintextResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const sock = connect({ host, port });
    const finish = (r: PlaintextResult) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      resolve(r);
    };
    const classify = (): PlaintextResult => {
      const b = Buffer.concat(chunks);
      if (b.length >= 3 && b[2] === 0x73 /* 's' */) return { state: 'plaintext', status: b.subarray(3, 2 + b.readUInt16BE(0)).toString('latin1') };
      if (b.length >= 1 && b[0]! >= 0x14 && b[0]! <= 0x17) return { state: 'tls' };
      return { state: 'silent', detail: b.length ? `unrecognised ${b.length}-byte answer` : 'closed without answering' };
    };
    const t = setTimeout(() => finish(chunks.length ? classify() : { state: 'silent', detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    sock.once('connect', () => sock.write(sendNameMessage(host)));
    sock.on('data', (d) => {
      chunks.push(d);
      const b = Buffer.concat(chunks);
      if ((b.length >= 2 && b.length >= 2 + b.readUInt16BE(0)) || (b[0]! >= 0x14 && b[0]! <= 0x17 && b.length >= 5)) finish(classify());
    });
    sock.once('end', () => finish(classify()));
    sock.once('error', (e: NodeJS.ErrnoException) => finish(chunks.length ? classify() : { state: 'closed', error: e.code ?? e.message }));
  });
}

/** `host:port`, `[v6]:port` or `host` (with a default port). */
export function parseAddress(flag: string, value: string, defaultPort?: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  const port = m?.[2] ? Number(m[2]) : defaultPort;
  if (!m || port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ExitError(EXIT.USAGE, `${flag}: ${JSON.stringify(value)} is not HOST:PORT`);
  }
  return { host: m[1]!, port };
}

export interface AnonTlsResult {
  /** The TLS handshake completed from the client's point of view (server certificate received). */
  handshake: boolean;
  /**
   * Whether the server kept the certificate-less connection: `true` when it answered the distribution
   * handshake sent over TLS, `false` when it sent an alert / closed, undefined when it stayed silent.
   */
  accepted: boolean | undefined;
  serial: string | undefined;
  notBefore: Date | undefined;
  notAfter: Date | undefined;
  /** The served certificate's subjectAltName entries (`DNS:host`, `IP Address:1.2.3.4`, `URI:…`). */
  sans: string[];
  error: string | undefined;
}

/**
 * TLS without a client certificate. With TLS 1.3 the server checks the client certificate after the
 * client's Finished, so a refusal arrives after `secureConnect`; instead of guessing with a timer, the
 * probe sends a distribution `send_name` over TLS: an accepting node answers it, a refusing one alerts.
 */
export function tlsAnonProbe(host: string, port: number, timeoutMs = 4000): Promise<AnonTlsResult> {
  return new Promise((resolve) => {
    let done = false;
    let info: Pick<AnonTlsResult, 'serial' | 'notBefore' | 'notAfter' | 'sans'> = { serial: undefined, notBefore: undefined, notAfter: undefined, sans: [] };
    let handshake = false;
    const sock = tls.connect({ host, port, rejectUnauthorized: false, minVersion: 'TLSv1.2', ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }) });
    const finish = (accepted: boolean | undefined, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      resolve({ handshake, accepted, ...info, error });
    };
    const t = setTimeout(() => finish(undefined, `no answer within ${timeoutMs} ms`), timeoutMs);
    sock.once('secureConnect', () => {
      handshake = true;
      const peer = sock.getPeerCertificate();
      info = {
        serial: peer?.serialNumber ? normalizeSerial(peer.serialNumber) : undefined,
        notBefore: peer?.valid_from ? new Date(peer.valid_from) : undefined,
        notAfter: peer?.valid_to ? new Date(peer.valid_to) : undefined,
        sans: peer?.subjectaltname ? peer.subjectaltname.split(/,\s*/).filter(Boolean) : [],
      };
      sock.write(sendNameMessage(host, 4));
    });
    sock.on('data', () => finish(true));
    sock.once('error', (e: NodeJS.ErrnoException) => finish(handshake ? false : undefined, e.message));
    sock.once('close', () => finish(handshake ? false : undefined, 'closed'));
  });
}

/**
 * Whether a certificate's SANs cover the host a peer dials: `IP Address:<ip>` for an IPv4/IPv6
 * literal, else `DNS:<host>` (case-insensitive). Peers check exactly that ({dns_id, Host} / the IP).
 */
export function sansCoverHost(sans: readonly string[], host: string): boolean {
  const ip = /^[\d.]+$/.test(host) || host.includes(':');
  return sans.some((s) => (ip ? s === `IP Address:${host}` : s.toLowerCase() === `dns:${host.toLowerCase()}`));
}
