import { isIP } from 'node:net';
import tls from 'node:tls';
import { normalizeSerial } from './x509/parse.js';

/** Options of `probeDistCertificate`: host, port, the client credentials and CA, server name, timeout. */
export interface ProbeOptions {
  host: string;
  port: number;
  /** Client credentials (PEM): the served certificate is only visible after a complete mTLS handshake. */
  cert?: string | undefined;
  key?: string | undefined;
  /** Trust anchors; when absent the server certificate is read without verification. */
  ca?: string | undefined;
  /** Host part of the node name, checked against the server's DNS SANs (as OTP's client does). */
  servername?: string | undefined;
  /** @default 5000 */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** What a distribution port served: `ok`, the serial and subject, or the error. */
export interface ProbeResult {
  /** The handshake completed (client certificate accepted, server verified when `ca` was given). */
  ok: boolean;
  /** Vault-style serial of the served leaf, when the server sent one. */
  serial: string | undefined;
  notAfter: Date | undefined;
  subject: string | undefined;
  protocol: string | undefined;
  /** Why the handshake failed (TLS alert, verification error, timeout, connection refused). */
  error: string | undefined;
  /** Node error code of the failure (ECONNREFUSED, ERR_SSL_…, CERT_HAS_EXPIRED …). */
  errorCode: string | undefined;
}

/**
 * Handshakes with a distribution port as a TLS client and reports which certificate it serves.
 * This is how vaultdist proves a reload took effect: the served serial must be the new one.
 * It never sends application data; the connection is closed right after the handshake.
 */
export function probeDistCertificate(o: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    const empty = { serial: undefined, notAfter: undefined, subject: undefined, protocol: undefined };
    const sni = o.servername && !isIP(o.servername) ? o.servername : undefined;
    const sock = tls.connect({
      host: o.host,
      port: o.port,
      cert: o.cert,
      key: o.key,
      ca: o.ca,
      // ca.pem holds the issuing intermediate(s), not the root: a certificate in `ca` is an anchor
      // (X509_V_FLAG_PARTIAL_CHAIN, Node >= 20.18), as the nodes' partial_chain does
      allowPartialTrustChain: true,
      servername: sni,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    } as tls.ConnectionOptions);
    const onAbort = () => finish({ ok: false, ...empty, error: 'aborted', errorCode: 'ABORT_ERR' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => finish({ ok: false, ...empty, error: `no handshake within ${o.timeoutMs ?? 5000} ms`, errorCode: 'ETIMEDOUT' }), o.timeoutMs ?? 5000);
    sock.once('secureConnect', () => {
      const peer = sock.getPeerCertificate();
      const info = {
        serial: peer?.serialNumber ? normalizeSerial(peer.serialNumber) : undefined,
        notAfter: peer?.valid_to ? new Date(peer.valid_to) : undefined,
        subject: peer?.subject ? Object.entries(peer.subject).map(([k, v]) => `${k}=${v}`).join(', ') : undefined,
        protocol: sock.getProtocol() ?? undefined,
      };
      let error: string | undefined;
      let errorCode: string | undefined;
      if (o.ca && !sock.authorized) {
        error = String(sock.authorizationError);
        errorCode = typeof sock.authorizationError === 'string' ? sock.authorizationError : (sock.authorizationError as NodeJS.ErrnoException)?.code;
      } else if (o.ca && o.servername) {
        const bad = tls.checkServerIdentity(o.servername, peer);
        if (bad) {
          error = bad.message;
          errorCode = (bad as NodeJS.ErrnoException).code;
        }
      }
      // TLS 1.3: the server verifies the client certificate after the client's Finished, so a refusal
      // arrives as an alert just after secureConnect. Wait briefly for it before calling it a success.
      const settle = setTimeout(() => finish({ ok: !error, ...info, error, errorCode }), sock.getProtocol() === 'TLSv1.3' ? 150 : 0);
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(settle);
        finish({ ok: false, ...info, error: e.message, errorCode: e.code });
      });
      sock.once('close', () => {
        clearTimeout(settle);
        finish({ ok: false, ...info, error: error ?? 'closed by the server right after the handshake', errorCode: errorCode ?? 'ECONNRESET' });
      });
    });
    sock.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, ...empty, error: e.message, errorCode: e.code }));
  });
}
