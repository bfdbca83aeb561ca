/**
 * TLS certificate auth (`auth/cert/login`): the client certificate is presented on the HTTPS
 * connection (an `https.Agent` built for the login call), no secret travels in the body.
 *
 * Rotation (vault-api.md §0.2): a token obtained with a certificate can only be renewed with the
 * byte-identical certificate (OpenBao ≥ 2.5.3 enforces this), so after the node's certificate
 * rotates the old token must be **replaced by a new login**, not renewed. This strategy therefore
 * 1. reads the certificate and key files at every login (never cached across logins);
 * 2. remembers the certificate text it logged in with;
 * 3. before handing out the cached token, compares that text with the file on disk; when they differ
 *    the token is dropped and the next call logs in again with the new certificate.
 *
 * The files may be one bundle (key + leaf + chain, the credential set's `bundle.pem`): pass the same
 * path as `certFile` and `keyFile`, or only `certFile`. Needs an `https://` Vault address; the
 * server must trust the issuing CA in `auth/cert/certs/:name` and the certificate needs the
 * clientAuth EKU.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AuthStrategy } from '../client.js';
import { createHttpsAgent } from '../client.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { certificateBlocks } from '../pem.js';
import { createLoginStrategy, loginRequest, mountPath, type LoginStrategyOptions } from './login.js';

/** Options of `certAuth`: the client certificate and key files, the cert-auth role name and mount. */
export interface CertAuthOptions extends LoginStrategyOptions {
  /**
   * PEM client certificate (leaf first, intermediates after), or the whole bundle.
   * @default the connection's client certificate (`clientCertPath`, VAULT_CLIENT_CERT / BAO_CLIENT_CERT)
   */
  certFile?: string | undefined;
  /**
   * PEM private key. @default `certFile` when that is given (a bundle holding key and certificates),
   * else the connection's `clientKeyPath` (VAULT_CLIENT_KEY / BAO_CLIENT_KEY)
   */
  keyFile?: string | undefined;
  /** Restrict the login to this cert role (`auth/cert/certs/:name`). @default any matching role */
  name?: string | undefined;
  /** @default 'cert' */
  mount?: string | undefined;
}

/** The certificate blocks of a PEM text (a bundle's key block is left out). */
function certificatesOf(text: string): string {
  return certificateBlocks(text).join('\n');
}

/**
 * TLS certificate login strategy.
 *
 * @example
 * const vault = createVaultClient({
 *   address: 'https://vault.example:8200', caCertPath: '/etc/vaultdist/vault-ca.pem',
 *   auth: certAuth({ certFile: '/var/lib/vaultdist/foo/bundle.pem', name: 'erlang-nodes' }),
 * });
 */
export function certAuth(o: CertAuthOptions = {}): AuthStrategy {
  const issues: ConfigIssue[] = [];
  const mount = mountPath('mount', o.mount ?? 'cert', issues);
  if (o.certFile !== undefined && (typeof o.certFile !== 'string' || !o.certFile)) issues.push({ path: 'certFile', message: 'empty path' });
  if (issues.length) throw new ConfigError(issues);
  let certFile = o.certFile;
  let loggedInWith: string | undefined;
  const read = async (path: string, field: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      throw new ConfigError([{ path: field, message: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}` }]);
    }
  };
  const s = createLoginStrategy(
    'cert',
    async (ctx, signal) => {
      if (!ctx.connection.address.startsWith('https:')) {
        throw new ConfigError([{ path: ctx.connection.sources.address ?? 'address', message: 'TLS certificate auth needs an https:// Vault address' }]);
      }
      // (1)
      certFile = o.certFile ?? ctx.connection.clientCertPath;
      const keyFile = o.keyFile ?? (o.certFile ? o.certFile : ctx.connection.clientKeyPath);
      if (!certFile || !keyFile) {
        throw new ConfigError([{ path: 'certFile', message: 'no client certificate: pass certFile or set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY' }]);
      }
      const certText = certificatesOf(await read(certFile, 'certFile'));
      const keyText = await read(keyFile, 'keyFile');
      if (!certText) throw new ConfigError([{ path: 'certFile', message: `${certFile} holds no PEM certificate` }]);
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyText)) throw new ConfigError([{ path: 'keyFile', message: `${keyFile} holds no PEM private key` }]);
      const agent = createHttpsAgent(ctx.connection, { cert: certText, key: keyText });
      try {
        const auth = await loginRequest(ctx, `auth/${mount}/login`, o.name ? { name: o.name } : {}, { signal, httpsAgent: agent });
        // (2)
        loggedInWith = certText;
        return auth;
      } finally {
        agent.destroy();
      }
    },
    {
      ...o,
      // (3)
      stale: () => {
        if (o.stale?.()) return true;
        try {
          return loggedInWith !== undefined && certFile !== undefined && certificatesOf(readFileSync(certFile, 'utf8')) !== loggedInWith;
        } catch {
          return false; // unreadable right now: keep the token; the next login reports the problem
        }
      },
    },
  );
  // A login handed over by another process (the agent's work processes) carries the digest of the
  // certificate it was made with: it is adopted only while `certFile` still holds that certificate,
  // so after a rotation the next work process logs in with the new one (as this process would).
  const current = s.current!.bind(s);
  const adopt = s.adopt!.bind(s);
  s.current = () => {
    const l = current();
    return l && loggedInWith !== undefined ? { ...l, binding: digest(loggedInWith) } : l;
  };
  s.adopt = (l) => {
    if (!l.binding || !o.certFile) return;
    let now: string;
    try {
      now = certificatesOf(readFileSync(o.certFile, 'utf8'));
    } catch {
      return;
    }
    if (digest(now) !== l.binding) return;
    loggedInWith = now;
    certFile = o.certFile;
    adopt(l);
  };
  return s;
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex');
