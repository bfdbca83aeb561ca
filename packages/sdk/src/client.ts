import { readFileSync, readdirSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { AxiosResponse, AxiosStatic } from 'axios';
import {
  VaultHttpError,
  VaultNetworkError,
  VaultPermissionDeniedError,
  VaultResponseError,
  VaultSealedError,
  VaultTimeoutError,
  ConfigError,
  isVaultPermissionDeniedError,
  VaultSdkError,
} from './errors.js';
import { createDefaultLogger, type Logger } from './logger.js';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelayMs, type AttemptOutcome, type RetryPolicy } from './transport/retry-policy.js';
import { delay } from './transport/delay.js';
import { redactText, redactUrl } from './transport/redact.js';
import { resolveVaultConnection, type ResolvedVaultConnection, type VaultConnectionOptions } from './vault/config.js';

const require = createRequire(import.meta.url);
// node-vault is CommonJS; it builds URLs and headers and delegates the HTTP exchange to the
// `request-promise` function we inject below (axios with AbortSignal, raw bodies and TLS agents).
const nodeVault = require('node-vault') as (cfg: Record<string, unknown>) => NodeVaultClient;
// The same (CommonJS) axios instance node-vault loads: importing axios's ESM build as well would load
// a second copy (~5 MB RSS in the agent, bench/footprint.ts).
const axios = require('axios') as AxiosStatic;

interface NodeVaultClient {
  request(options: Record<string, unknown>): Promise<unknown>;
}

export type VaultMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';

export interface VaultRequestOptions {
  /** Combined with the per-attempt timeout; aborting stops retries at once. */
  signal?: AbortSignal | undefined;
  /** Request body (JSON). */
  body?: unknown;
  /**
   * Whether the call may be retried after a failure that might have reached Vault.
   * @default true for GET and LIST, false otherwise (a `pki/issue` POST creates a new certificate each time).
   */
  idempotent?: boolean | undefined;
  /** Response wrapping TTL, e.g. "120s" (X-Vault-Wrap-TTL). */
  wrapTtl?: string | undefined;
  /** Return the body as text (raw PEM endpoints). */
  raw?: boolean | undefined;
  /** Send no token (login, unwrap with explicit token, unauthenticated reads). */
  unauthenticated?: boolean | undefined;
  /** Use this token instead of the auth strategy's (e.g. a wrapping token for unwrap). */
  token?: string | undefined;
  /** TLS agent for this call (cert auth logins present a client certificate). */
  httpsAgent?: https.Agent | undefined;
  /** Override the client's retry policy for this call. */
  retry?: Partial<RetryPolicy> | undefined;
  /** Treat 404 as "absent": resolve with `undefined` data instead of throwing. */
  allowNotFound?: boolean | undefined;
}

/** Vault's `auth` block. */
export interface VaultAuthInfo {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies?: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id?: string;
  token_type?: string;
  orphan?: boolean;
}

export interface VaultWrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
}

export interface VaultResponse<T> {
  status: number;
  data: T;
  /** Vault `warnings`: a silently capped TTL shows up here. */
  warnings: string[];
  auth: VaultAuthInfo | undefined;
  wrapInfo: VaultWrapInfo | undefined;
  requestId: string | undefined;
  /** Raw text for `raw` requests. */
  text: string | undefined;
}

/** What an auth strategy gets from the client: unauthenticated access to login endpoints. */
export interface AuthContext {
  request<T>(method: VaultMethod, path: string, options?: VaultRequestOptions): Promise<VaultResponse<T>>;
  /** The client's TLS settings, to build an agent with a client certificate. */
  readonly connection: ResolvedVaultConnection;
  readonly logger: Logger;
}

/**
 * An auth method (house style §5, octokit `authStrategy`). The token lives inside the strategy.
 */
export interface AuthStrategy {
  readonly kind: string;
  /** A valid token, logging in first if needed. */
  getToken(ctx: AuthContext, signal?: AbortSignal): Promise<string>;
  /**
   * Called after a 403. Returns true when the strategy dropped its token and can log in again
   * (a renewable identity); the client then replays the request once. Static tokens return false.
   */
  invalidate(): boolean;
  /** The current login's lease facts, when known (used by the renewal watcher). */
  current?(): { token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number } | undefined;
}

export interface VaultClientOptions extends VaultConnectionOptions {
  /** Auth strategy; defaults to the static token from options/env when there is one. */
  auth?: AuthStrategy | undefined;
  /** @default DEFAULT_RETRY_POLICY */
  retry?: Partial<RetryPolicy> | undefined;
  logger?: Logger | undefined;
  /** Called for every Vault warning, with the path. @default logger.warn */
  onWarning?: ((warning: string, path: string) => void) | undefined;
  /** Environment to read BAO_/VAULT_ variables from. @default process.env */
  env?: Record<string, string | undefined> | undefined;
  /** Randomness for jitter, [0,1). @default Math.random */
  random?: (() => number) | undefined;
}

export interface VaultClient {
  readonly connection: ResolvedVaultConnection;
  readonly logger: Logger;
  request<T = Record<string, unknown>>(method: VaultMethod, path: string, options?: VaultRequestOptions): Promise<VaultResponse<T>>;
  read<T = Record<string, unknown>>(path: string, options?: VaultRequestOptions): Promise<VaultResponse<T>>;
  write<T = Record<string, unknown>>(path: string, body?: unknown, options?: VaultRequestOptions): Promise<VaultResponse<T>>;
  list(path: string, options?: VaultRequestOptions): Promise<string[]>;
  delete(path: string, options?: VaultRequestOptions): Promise<VaultResponse<unknown>>;
  /** GET sys/health without throwing on standby/sealed codes. */
  health(options?: { signal?: AbortSignal }): Promise<VaultHealth>;
  /** A client with the same connection but another auth strategy or defaults (ky `extend`). */
  extend(options: Partial<VaultClientOptions>): VaultClient;
  /** The auth strategy in use, if any. */
  readonly auth: AuthStrategy | undefined;
}

export interface VaultHealth {
  status: number;
  initialized: boolean;
  sealed: boolean;
  standby: boolean;
  version: string | undefined;
}

interface RawResult {
  statusCode: number;
  body: unknown;
  text: string;
  headers: Record<string, string>;
}

const MALFORMED = Symbol('malformed');

function loadCa(conn: ResolvedVaultConnection): string[] | undefined {
  const out: string[] = [];
  try {
    if (conn.caCertPath) out.push(readFileSync(conn.caCertPath, 'utf8'));
    if (conn.caPath) {
      for (const f of readdirSync(conn.caPath)) {
        if (/\.(pem|crt)$/i.test(f)) out.push(readFileSync(join(conn.caPath, f), 'utf8'));
      }
    }
  } catch (e) {
    throw new ConfigError([
      { path: conn.sources.caCertPath ?? conn.sources.caPath ?? 'caCertPath', message: `cannot read CA: ${(e as Error).message}` },
    ]);
  }
  return out.length ? out : undefined;
}

/** Builds the HTTPS agent for a connection (CA, optional client cert, skip-verify, SNI). */
export function createHttpsAgent(
  conn: ResolvedVaultConnection,
  clientCert?: { cert: string; key: string } | undefined,
): https.Agent {
  let cert = clientCert?.cert;
  let key = clientCert?.key;
  if (!clientCert && conn.clientCertPath && conn.clientKeyPath) {
    try {
      cert = readFileSync(conn.clientCertPath, 'utf8');
      key = readFileSync(conn.clientKeyPath, 'utf8');
    } catch (e) {
      throw new ConfigError([{ path: conn.sources.clientCertPath ?? 'clientCertPath', message: `cannot read client certificate: ${(e as Error).message}` }]);
    }
  }
  return new https.Agent({
    ca: loadCa(conn),
    cert,
    key,
    rejectUnauthorized: !conn.skipVerify,
    servername: conn.tlsServerName,
    keepAlive: true,
  });
}

function nodeErrno(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code) && code !== 'ERR_BAD_RESPONSE') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function safeCause(e: unknown, errno: string | undefined): Error {
  const msg = e instanceof Error ? e.message : String(e);
  return Object.assign(new Error(redactText(msg)), errno ? { code: errno } : {});
}

/**
 * Creates a typed Vault/OpenBao client.
 *
 * @example
 * const vault = createVaultClient({ address: 'http://127.0.0.1:8200', token: 'root' });
 * const { data } = await vault.read<{ keys: string[] }>('sys/mounts');
 */
export function createVaultClient(options: VaultClientOptions = {}): VaultClient {
  const env = options.env ?? process.env;
  const connection = resolveVaultConnection(options, env);
  const logger = options.logger ?? createDefaultLogger();
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const random = options.random ?? Math.random;
  const onWarning = options.onWarning ?? ((w: string, path: string) => logger.warn('vault warning', { path, warning: w }));
  const auth: AuthStrategy | undefined =
    options.auth ?? (connection.token !== undefined ? staticToken(connection.token) : undefined);
  const defaultAgent = connection.address.startsWith('https:') ? createHttpsAgent(connection) : undefined;

  // The transport node-vault calls. It never throws for HTTP statuses; node-vault maps those.
  const rp = (opts: Record<string, unknown>): Promise<{ statusCode: number; body: unknown; request: { path: string } }> => {
    const capture = opts.capture as { result?: RawResult };
    return axios
      .request({
        method: opts.method as string,
        url: opts.uri as string,
        headers: opts.headers as Record<string, string>,
        data: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal as AbortSignal,
        httpsAgent: (opts.httpsAgent as https.Agent | undefined) ?? defaultAgent,
        responseType: 'text',
        transformResponse: [(x: unknown) => x],
        validateStatus: () => true,
        maxRedirects: 1,
        proxy: false,
      })
      .then((res: AxiosResponse<string>) => {
        const text = typeof res.data === 'string' ? res.data : '';
        const ctype = String(res.headers['content-type'] ?? '');
        let body: unknown = text;
        if (text && (ctype.includes('json') || (!opts.raw && /^\s*[{[]/.test(text)))) {
          try {
            body = JSON.parse(text);
          } catch {
            body = MALFORMED;
          }
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) headers[k.toLowerCase()] = String(v);
        capture.result = { statusCode: res.status, body, text, headers };
        let path = opts.uri as string;
        try {
          path = new URL(path).pathname;
        } catch {
          /* keep */
        }
        return { statusCode: res.status, body: body === MALFORMED ? {} : body, request: { path } };
      });
  };
  const nv = nodeVault({
    endpoint: connection.address,
    apiVersion: 'v1',
    'request-promise': { defaults: () => rp },
    namespace: connection.namespace,
    noCustomHTTPVerbs: true,
  });

  async function attempt(method: VaultMethod, path: string, ro: VaultRequestOptions, token: string | undefined, signal: AbortSignal): Promise<RawResult> {
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (token) headers['X-Vault-Token'] = token;
    if (ro.wrapTtl) headers['X-Vault-Wrap-TTL'] = ro.wrapTtl;
    if (ro.body !== undefined) headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    const capture: { result?: RawResult } = {};
    const isList = method === 'LIST';
    const p = `/${path.replace(/^\/+/, '')}${isList ? (path.includes('?') ? '&' : '?') + 'list=true' : ''}`;
    try {
      await nv.request({
        path: p,
        method: isList ? 'GET' : method,
        headers,
        body: ro.body,
        signal,
        capture,
        raw: ro.raw,
        httpsAgent: ro.httpsAgent,
      });
    } catch (e) {
      // node-vault rejects non-2xx answers (ApiResponseError); we rebuild them from the capture below.
      if (!capture.result) throw e;
    }
    return capture.result as RawResult;
  }

  function httpError(method: VaultMethod, path: string, r: RawResult): VaultHttpError {
    const errs =
      r.body && typeof r.body === 'object' && Array.isArray((r.body as { errors?: unknown }).errors)
        ? ((r.body as { errors: unknown[] }).errors.map(String))
        : [];
    const init = {
      status: r.statusCode,
      errors: errs,
      method,
      url: redactUrl(`${connection.address}/v1/${path}`),
      namespace: connection.namespace,
      requestId: r.headers['x-request-id'],
      retryAfterMs: parseRetryAfter(r.headers['retry-after'], Date.now()),
    };
    if (r.statusCode === 503 && errs.some((e) => /sealed/i.test(e))) return new VaultSealedError(init);
    if (r.statusCode === 403) return new VaultPermissionDeniedError(init);
    return new VaultHttpError(init);
  }

  async function requestOnce<T>(method: VaultMethod, path: string, ro: VaultRequestOptions): Promise<VaultResponse<T>> {
    const url = redactUrl(`${connection.address}/v1/${path}`);
    const p: RetryPolicy = { ...policy, ...ro.retry };
    const idempotent = ro.idempotent ?? (method === 'GET' || method === 'LIST');
    for (let n = 1; ; n++) {
      ro.signal?.throwIfAborted();
      const token = ro.unauthenticated ? undefined : (ro.token ?? (auth ? await auth.getToken(ctx, ro.signal) : undefined));
      const timeout = AbortSignal.timeout(p.timeoutMs);
      const signal = ro.signal ? AbortSignal.any([ro.signal, timeout]) : timeout;
      let outcome: AttemptOutcome;
      let failure: Error;
      try {
        const r = await attempt(method, path, ro, token, signal);
        if (r.statusCode < 400) {
          if (r.body === MALFORMED) throw new VaultResponseError(url, `malformed JSON in a ${r.statusCode} answer`);
          if (ro.raw) {
            return { status: r.statusCode, data: undefined as T, warnings: [], auth: undefined, wrapInfo: undefined, requestId: undefined, text: r.text };
          }
          const b = (r.body && typeof r.body === 'object' ? r.body : {}) as Record<string, unknown>;
          const warnings = Array.isArray(b.warnings) ? b.warnings.map(String) : [];
          for (const w of warnings) onWarning(w, path);
          return {
            status: r.statusCode,
            data: (b.data ?? undefined) as T,
            warnings,
            auth: (b.auth ?? undefined) as VaultAuthInfo | undefined,
            wrapInfo: (b.wrap_info ?? undefined) as VaultWrapInfo | undefined,
            requestId: typeof b.request_id === 'string' ? b.request_id : undefined,
            text: undefined,
          };
        }
        if (r.statusCode === 404 && ro.allowNotFound) {
          return { status: 404, data: undefined as T, warnings: [], auth: undefined, wrapInfo: undefined, requestId: undefined, text: undefined };
        }
        failure = httpError(method, path, r);
        outcome = { kind: 'status', status: r.statusCode, retryAfterMs: (failure as VaultHttpError).retryAfterMs };
      } catch (e) {
        if (e instanceof VaultSdkError) throw e;
        if (ro.signal?.aborted) throw ro.signal.reason;
        if (timeout.aborted) {
          failure = new VaultTimeoutError({ method, url, timeoutMs: p.timeoutMs });
          outcome = { kind: 'timeout' };
        } else {
          const errno = nodeErrno(e);
          if (errno || axios.isAxiosError(e)) {
            // The raw axios error holds the request config (headers with X-Vault-Token, the body):
            // only its message and code travel on, so no logger or serializer can leak a secret.
            failure = new VaultNetworkError({ method, url, errno, cause: safeCause(e, errno) });
            outcome = { kind: 'network', errno };
          } else {
            throw e;
          }
        }
      }
      const wait = retryDelayMs(p, n, outcome, idempotent, random());
      if (wait === undefined) throw failure;
      logger.debug('vault request retry', { method, url, attempt: n, waitMs: wait, reason: failure.message });
      await delay(wait, ro.signal);
    }
  }

  async function request<T>(method: VaultMethod, path: string, ro: VaultRequestOptions = {}): Promise<VaultResponse<T>> {
    try {
      return await requestOnce<T>(method, path, ro);
    } catch (e) {
      // On a 403 with a renewable identity: log in again once and replay.
      if (isVaultPermissionDeniedError(e) && !ro.unauthenticated && !ro.token && auth?.invalidate()) {
        logger.info('permission denied; logging in again and replaying once', { path });
        return requestOnce<T>(method, path, ro);
      }
      throw e;
    }
  }

  const ctx: AuthContext = {
    request: (m, p, o) => request(m, p, { ...o, unauthenticated: o?.token ? false : true }),
    connection,
    logger,
  };

  const client: VaultClient = {
    connection,
    logger,
    auth,
    request,
    read: (path, o) => request('GET', path, o),
    write: (path, body, o) => request('POST', path, { ...o, body }),
    delete: (path, o) => request('DELETE', path, o),
    async list(path, o) {
      const r = await request<{ keys?: string[] }>('LIST', path, { ...o, allowNotFound: true });
      return r.data?.keys ?? [];
    },
    async health(o) {
      const r = await request<unknown>('GET', 'sys/health?standbycode=200&sealedcode=200&uninitcode=200', {
        signal: o?.signal,
        unauthenticated: true,
        raw: true,
      });
      let b: Record<string, unknown>;
      try {
        b = JSON.parse(r.text ?? '') as Record<string, unknown>;
      } catch (e) {
        throw new VaultResponseError(redactUrl(`${connection.address}/v1/sys/health`), 'malformed health answer', { cause: e });
      }
      return {
        status: r.status,
        initialized: b.initialized === true,
        sealed: b.sealed === true,
        standby: b.standby === true,
        version: typeof b.version === 'string' ? b.version : undefined,
      };
    },
    extend(more) {
      return createVaultClient({ ...options, ...more, env });
    },
  };
  return client;
}

/** The simplest strategy: a fixed token. A 403 is final. */
export function staticToken(token: string): AuthStrategy {
  return {
    kind: 'token',
    getToken: async () => token,
    invalidate: () => false,
  };
}
