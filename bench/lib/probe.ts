/**
 * A timing probe for the rotation benchmark: a TLS client handshake with a distribution port that
 * reports the served serial at `secureConnect` (the moment the new connection has the certificate)
 * and closes. The SDK's probeDistCertificate deliberately waits another 150 ms on TLS 1.3 to catch a
 * late client-certificate refusal, which is right for verification but would quantize the timings.
 */
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { normalizeSerial } from '../../packages/sdk/src/internal.js';

export interface TimedProbe {
  serial: string | undefined;
  /** performance.now() at secureConnect (or at the failure). */
  at: number;
  error?: string | undefined;
}

export function timedProbe(o: { host: string; port: number; cert: string; key: string; ca: string; timeoutMs?: number }): Promise<TimedProbe> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: TimedProbe) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const sock = tls.connect({ host: o.host, port: o.port, cert: o.cert, key: o.key, ca: o.ca, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
    const timer = setTimeout(() => finish({ serial: undefined, at: performance.now(), error: 'timeout' }), o.timeoutMs ?? 3000);
    sock.once('secureConnect', () => {
      const at = performance.now();
      const sn = sock.getPeerCertificate()?.serialNumber;
      finish({ serial: sn ? normalizeSerial(sn) : undefined, at, error: sock.authorized ? undefined : String(sock.authorizationError) });
    });
    sock.once('error', (e) => finish({ serial: undefined, at: performance.now(), error: e.message }));
  });
}
