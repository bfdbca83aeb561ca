import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { lazyRequire } from './lazy-require.js';
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
import { DEFAULT_RETRY_POLICY, isUnavailable, parseRetryAfter, retryDelayMs, safeToResend, type AttemptOutcome, type RetryPolicy } from './transport/retry-policy.js';
import { delay } from './transport/delay.js';
import { redactText, redactUrl } from './transport/redact.js';
import { resolveVaultConnection, type ResolvedVaultConnection, type VaultConnectionOptions } from './vault/config.js';

// node-vault is CommonJS; it builds URLs and headers and delegates the HTTP exchange to the
// `request-promise` function we inject below (axios with AbortSignal, raw bodies and TLS agents).
const nodeVault = lazyRequire<(cfg: Record<string, unknown>) => NodeVaultClient>('node-vault'); // loaded on first use (issue #16)
// The same (CommonJS) axios instance node-vault loads: importing axios's ESM build as well would load
// a second copy (~5 MB RSS in the agent, bench/footprint.ts).
const axios = lazyRequire<AxiosStatic>('axios');

interface NodeVaultClient {
  request(options: Record<string, unknown>): Promise<unknown>;
  token: string | undefined;
  namespace: string | undefined;
  pathPrefix: string;
  endpoint: string;
}

/** The HTTP methods the client sends. */
export type VaultMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';

/** Per-call options: `signal`, `body`, `idempotent` (safe to retry), `wrapTtl` (response wrapping), `raw` (text answers). */
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

/** Response-wrapping info of an answer (`wrap_info`). */
export interface VaultWrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
}

/** A Vault answer: `status`, `data`, `warnings`, auth and wrap info, `requestId`. */
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
  current?(): { token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number; binding?: string | undefined } | undefined;
  /**
   * Takes over a login made elsewhere (another process of the same identity: the agent's work
   * processes hand their token on, so a respawned worker does not log in again). Ignored when this
   * strategy already holds a login; an adopted token that turns out stale is dropped by the usual 403
   * → `invalidate()` → login path.
   */
  adopt?(lease: { token: string; leaseDurationSeconds: number; renewable: boolean; obtainedAtMs: number; binding?: string | undefined }): void;
}

/** Options of `createVaultClient`. Unset connection options come from the BAO_/VAULT_ environment (`readVaultEnv`). */
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
  /**
   * Largest answer read from Vault, in bytes; a larger one is cut off while it streams in and
   * refused with a VaultResponseError (issue #15: a 200 MB answer took 300 MB of memory).
   * @default DEFAULT_MAX_RESPONSE_BYTES (16 MiB)
   */
  maxResponseBytes?: number | undefined;
  /** How long an address that failed sorts last in the failover order. @default 10000 */
  unhealthyCooldownMs?: number | undefined;
  /**
   * Read-your-writes window: for this long after a successful write, an idempotent call answered 404
   * or 400 "unknown role" (a standby that has not applied the write yet) is asked again every 150 ms.
   * 0 turns it off. @default 3000
   */
  consistencyWindowMs?: number | undefined;
}

/** A Vault/OpenBao client from `createVaultClient`: typed `read`/`write`/`list`/`delete`/`request`, `health`, `extend`, every call abortable. */
export interface VaultClient {
  readonly connection: ResolvedVaultConnection;
  readonly logger: Logger;
  request<T = Record<string, unknown>>(method: VaultMethod, path: string, options?: VaultRequestOptions): Promise<VaultResponse<T>>;
  read<T = Record<string, unknown>>(path: string, options?: VaultRequestOptions): Promise<VaultResponse<T>>;
  write<T = Record<string, unknown>>(path: string, body?: unknown, options?: VaultRequestOptions): Promise<VaultResponse<T>>;
  list(path: string, options?: VaultRequestOptions): Promise<string[]>;
  delete(path: string, options?: VaultRequestOptions): Promise<VaultResponse<unknown>>;
  /**
   * GET sys/health without throwing on standby/sealed codes. With several addresses: the first
   * active server in failover order, else the best answer (an unsealed standby over a sealed one);
   * `address` asks one configured server only.
   */
  health(options?: { signal?: AbortSignal | undefined; address?: string | undefined }): Promise<VaultHealth>;
  /** A client with the same connection but another auth strategy or defaults (ky `extend`). */
  extend(options: Partial<VaultClientOptions>): VaultClient;
  /** The auth strategy in use, if any. */
  readonly auth: AuthStrategy | undefined;
}

/** `sys/health` of one address: initialized, sealed, standby, version and the status code. */
export interface VaultHealth {
  status: number;
  /** The configured address that answered. */
  address: string;
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
  /** The origin that gave this answer (the redirect target after a 307). */
  address: string;
}

const MALFORMED = Symbol('malformed');

/** @default 16 MiB: a CRL with ~400 000 entries. A larger answer is refused while it streams in. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** How long an address that failed stays at the back of the failover order. */
export const DEFAULT_UNHEALTHY_COOLDOWN_MS = 10_000;

/**
 * Characters of one Vault path segment. Everything the SDK and the plugin build from validated names
 * (mounts, role and policy names, `name@host`, colon-hex serials) fits; `%`, `\`, whitespace and
 * control characters never do, and `.`/`..` are refused as whole segments (issue #15: `--role
 * ../../sys/seal` reached `sys/seal`, because URL normalisation resolves the dots).
 */
const SEGMENT = /^[A-Za-z0-9_.@:+=,~-]+$/;
const QUERY = /^[A-Za-z0-9_.=&,:-]*$/;

/**
 * Validates a Vault API path (without `/v1/`) at the client's choke point. A leading `/` and one
 * trailing `/` (LIST style) are tolerated; empty, `.` and `..` segments and odd characters are not.
 * @throws ConfigError naming the path and the segment.
 */
export function checkVaultPath(path: string): string {
  const bad = (message: string) => new ConfigError([{ path: 'path', message: `Vault path ${JSON.stringify(path)}: ${message}` }]);
  if (typeof path !== 'string') throw bad('not a string');
  const q = path.indexOf('?');
  const p = (q === -1 ? path : path.slice(0, q)).replace(/^\//, '').replace(/\/$/, '');
  const query = q === -1 ? '' : path.slice(q + 1);
  if (!p) throw bad('empty');
  for (const seg of p.split('/')) {
    if (seg === '') throw bad('empty segment');
    if (seg === '.' || seg === '..') throw bad(`segment ${JSON.stringify(seg)} is not allowed`);
    if (!SEGMENT.test(seg)) throw bad(`segment ${JSON.stringify(seg)} has characters outside [A-Za-z0-9_.@:+=,~-]`);
  }
  if (!QUERY.test(query)) throw bad('query has odd characters');
  return q === -1 ? p : `${p}?${query}`;
}

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
 * Stops reusing an agent's connections: idle keep-alive sockets are closed now, busy ones when their
 * request ends (`keepAlive = false` makes Node close a socket on release instead of pooling it).
 * In-flight requests are not cut. Behind a TCP load balancer this is what moves the next request
 * to another backend (issue #14: a client pinned to a sealed standby for 25 s).
 */
function retireAgent(agent: http.Agent): void {
  (agent as unknown as { keepAlive: boolean }).keepAlive = false;
  for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) s.destroy();
}

/** @default 3000: how long after a write a stale-looking answer is asked again (see createVaultClient (7)). */
export const DEFAULT_CONSISTENCY_WINDOW_MS = 3000;
const LAG_RETRY_DELAY_MS = 150;
const SHARED = Symbol('vaultdist.shared');
interface SharedState {
  /** Monotonic ms of the last successful write through this client family. */
  lastWriteMs: number;
}

/** An answer a standby gives for something the active server has just written. */
function laggingAnswer(r: RawResult, ro: VaultRequestOptions): boolean {
  if (r.statusCode === 404) return !ro.allowNotFound;
  if (r.statusCode !== 400) return false;
  const errs = r.body && typeof r.body === 'object' && Array.isArray((r.body as { errors?: unknown }).errors) ? (r.body as { errors: unknown[] }).errors.map(String) : [];
  return errs.some((e) => /unknown role|no handler for route/i.test(e));
}

/** One configured server: its node-vault instance and its own keep-alive pool. */
interface Endpoint {
  address: string;
  nv: NodeVaultClient;
  agent: http.Agent;
  /** Monotonic ms until which the address sorts last (it failed recently). */
  downUntilMs: number;
}

/**
 * Creates a typed Vault/OpenBao client.
 *
 * **HA** (issue #14): `address` may list several servers (or one load balancer). Each request:
 * 1. is validated (`checkVaultPath`: no `..`, empty or odd segments);
 * 2. goes to the address that last answered well, then the others; an address that failed sorts last
 *    for `unhealthyCooldownMs`;
 * 3. moves on to the next address, dropping the failed address's keep-alive connections, when the
 *    answer says the server cannot serve it (sealed, standby without an active node, 429, 5xx
 *    except 501), or on a connection error or the per-attempt timeout, provided resending is safe
 *    (idempotent calls, signs, or a failure that proves nothing was executed, see `safeToResend`);
 * 4. follows one 307/308 redirect (a standby pointing at the active node), re-sending the body;
 * 5. after a round over all addresses failed, retries per the retry policy (which outlasts a leader
 *    election while the servers answer "unavailable");
 * 6. reads at most `maxResponseBytes` of an answer;
 * 7. read-your-writes: OpenBao ≥ 2.5 standbys serve reads (and no_store signs) themselves, a few
 *    hundred ms behind the active server, so a sign right after the role was written answers
 *    400 "unknown role" there (20 of 20 times on the loopback raft cluster). Within
 *    `consistencyWindowMs` of a successful write through this client (or one `extend()`ed from it),
 *    an idempotent call answered 404 or 400 "unknown role"/"no handler for route" is asked again
 *    every 150 ms until the window has passed.
 * Errors name the address that failed and the others tried.
 *
 * **Environment**: only `readVaultEnv` (vault/config.ts) reads `BAO_*`/`VAULT_*` (through `options.env`). node-vault
 * would add `process.env.VAULT_TOKEN`/`VAULT_NAMESPACE`/`VAULT_PREFIX` to every request on its own
 * (even logins and CA reads); its instances are neutralised below, and the SDK sets every header.
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
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const cooldownMs = options.unhealthyCooldownMs ?? DEFAULT_UNHEALTHY_COOLDOWN_MS;
  const onWarning = options.onWarning ?? ((w: string, path: string) => logger.warn('vault warning', { path, warning: w }));
  const auth: AuthStrategy | undefined =
    options.auth ?? (connection.token !== undefined ? staticToken(connection.token) : undefined);
  // Built once (reads the CA files); every https pool shares the TLS options.
  let httpsTemplate: https.Agent | undefined;
  const newAgent = (address: string): http.Agent => {
    if (!address.startsWith('https:')) return new http.Agent({ keepAlive: true });
    httpsTemplate ??= createHttpsAgent(connection);
    return new https.Agent({ ...httpsTemplate.options, keepAlive: true });
  };
  /** Pools for redirect targets that are not configured addresses. */
  const extraAgents = new Map<string, http.Agent>();
  const agentFor = (origin: string): http.Agent => {
    const ep = endpoints.find((e) => new URL(e.address).origin === origin);
    if (ep) return ep.agent;
    let a = extraAgents.get(origin);
    if (!a) extraAgents.set(origin, (a = newAgent(origin)));
    return a;
  };

  // The transport node-vault calls. It never throws for HTTP statuses; node-vault maps those.
  const rp = async (opts: Record<string, unknown>): Promise<{ statusCode: number; body: unknown; request: { path: string } }> => {
    const capture = opts.capture as { result?: RawResult };
    let url = new URL(opts.uri as string);
    opts.firstOrigin = url.origin;
    let agent = (opts.httpsAgent as http.Agent | undefined) ?? (opts.agent as http.Agent);
    for (let redirects = 0; ; redirects++) {
      let res: AxiosResponse<string>;
      try {
        res = await axios.request({
        method: opts.method as string,
        url: url.toString(),
        headers: opts.headers as Record<string, string>,
        data: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal as AbortSignal,
        httpAgent: agent,
        httpsAgent: agent,
        responseType: 'text',
        transformResponse: [(x: unknown) => x],
        validateStatus: () => true,
        // (4) redirects are followed here, once, so the body is re-sent and the answer is bounded too
        maxRedirects: 0,
        maxContentLength: maxResponseBytes,
        maxBodyLength: Infinity,
        proxy: false,
        });
      } catch (e) {
        // A standby redirected us (its forwarding failed), and the target it named is down: during a
        // leader election standbys point at the dead leader. The standby is up, the cluster is not
        // ready: the caller treats this as "unavailable" (retried within the budget), naming both.
        if (redirects > 0 && e && typeof e === 'object') Object.assign(e, { vaultdistRedirect: { by: (opts.firstOrigin as string) ?? '', to: url.origin } });
        throw e;
      }
      const location = res.headers.location;
      if ((res.status === 307 || res.status === 308) && typeof location === 'string' && redirects < 1) {
        const next = new URL(location, url);
        if (next.protocol === 'http:' || next.protocol === 'https:') {
          logger.debug('vault redirect', { from: url.origin, to: next.origin, status: res.status });
          if (!opts.httpsAgent || next.protocol !== 'https:') agent = agentFor(next.origin);
          url = next;
          continue;
        }
      }
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
      capture.result = { statusCode: res.status, body, text, headers, address: url.origin };
      return { statusCode: res.status, body: body === MALFORMED ? {} : body, request: { path: url.pathname } };
    }
  };
  const endpoints: Endpoint[] = connection.addresses.map((address) => {
    const nv = nodeVault({
      endpoint: address,
      apiVersion: 'v1',
      'request-promise': { defaults: () => rp },
      noCustomHTTPVerbs: true,
      debug: () => {},
    });
    // node-vault falls back to process.env.VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX / VAULT_ADDR
    // for unset config and adds them to *every* request (issue #14: the operator's token went out
    // on AppRole logins and CA reads). The SDK owns these: clear them after construction, since
    // `config.x || process.env.X` cannot be defeated through the config.
    nv.token = undefined;
    nv.namespace = undefined;
    nv.pathPrefix = '';
    nv.endpoint = address;
    return { address, nv, agent: newAgent(address), downUntilMs: 0 };
  });
  let preferred = 0;
  const shared: SharedState = (options as { [SHARED]?: SharedState })[SHARED] ?? { lastWriteMs: -Infinity };
  const consistencyWindowMs = options.consistencyWindowMs ?? DEFAULT_CONSISTENCY_WINDOW_MS;

  /** (2) The failover order: the last good address first, then the others; recent failures last. */
  function order(): Endpoint[] {
    const now = performance.now();
    const rotated = endpoints.map((_, i) => endpoints[(preferred + i) % endpoints.length]!);
    return [...rotated.filter((e) => e.downUntilMs <= now), ...rotated.filter((e) => e.downUntilMs > now).sort((a, b) => a.downUntilMs - b.downUntilMs)];
  }
  function markUp(ep: Endpoint): void {
    ep.downUntilMs = 0;
    preferred = endpoints.indexOf(ep);
  }
  /** (3) An address failed: sort it last for a while and drop its keep-alive connections. */
  function markDown(ep: Endpoint, reason: string): void {
    if (endpoints.length > 1 || ep.downUntilMs === 0) logger.debug('vault address failed', { address: ep.address, reason });
    ep.downUntilMs = performance.now() + cooldownMs;
    const old = ep.agent;
    ep.agent = newAgent(ep.address);
    retireAgent(old);
  }

  async function attempt(ep: Endpoint, method: VaultMethod, path: string, ro: VaultRequestOptions, token: string | undefined, signal: AbortSignal): Promise<RawResult> {
    // Every header is set here; node-vault adds none (see above).
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (token) headers['X-Vault-Token'] = token;
    if (connection.namespace) headers['X-Vault-Namespace'] = connection.namespace;
    if (ro.wrapTtl) headers['X-Vault-Wrap-TTL'] = ro.wrapTtl;
    if (ro.body !== undefined) headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    const capture: { result?: RawResult } = {};
    const isList = method === 'LIST';
    const p = `/${path}${isList ? (path.includes('?') ? '&' : '?') + 'list=true' : ''}`;
    try {
      await ep.nv.request({
        path: p,
        method: isList ? 'GET' : method,
        headers,
        body: ro.body,
        signal,
        capture,
        raw: ro.raw,
        httpsAgent: ro.httpsAgent,
        agent: ep.agent,
      });
    } catch (e) {
      // node-vault rejects non-2xx answers (ApiResponseError); we rebuild them from the capture below.
      if (!capture.result) throw e;
    }
    return capture.result as RawResult;
  }

  function httpError(method: VaultMethod, path: string, r: RawResult, alsoTried: string[]): VaultHttpError {
    const errs =
      r.body && typeof r.body === 'object' && Array.isArray((r.body as { errors?: unknown }).errors)
        ? ((r.body as { errors: unknown[] }).errors.map(String))
        : [];
    const init = {
      status: r.statusCode,
      errors: errs,
      method,
      url: redactUrl(`${r.address}/v1/${path}`),
      namespace: connection.namespace,
      requestId: r.headers['x-request-id'],
      retryAfterMs: parseRetryAfter(r.headers['retry-after'], Date.now()),
      alsoTried,
    };
    if (r.statusCode === 503 && errs.some((e) => /sealed/i.test(e))) return new VaultSealedError(init);
    if (r.statusCode === 403) return new VaultPermissionDeniedError(init);
    return new VaultHttpError(init);
  }

  async function requestOnce<T>(method: VaultMethod, path: string, ro: VaultRequestOptions): Promise<VaultResponse<T>> {
    const p: RetryPolicy = { ...policy, ...ro.retry };
    const idempotent = ro.idempotent ?? (method === 'GET' || method === 'LIST');
    const started = performance.now();
    for (let round = 1; ; round++) {
      let lagRetry = false;
      const tried: string[] = [];
      let last: { failure: Error; outcome: AttemptOutcome } | undefined;
      let unavailable = false;
      for (const ep of order()) {
        ro.signal?.throwIfAborted();
        const token = ro.unauthenticated ? undefined : (ro.token ?? (auth ? await auth.getToken(ctx, ro.signal) : undefined));
        const timeout = AbortSignal.timeout(p.timeoutMs);
        const signal = ro.signal ? AbortSignal.any([ro.signal, timeout]) : timeout;
        const url = redactUrl(`${ep.address}/v1/${path}`);
        let outcome: AttemptOutcome;
        let failure: Error;
        try {
          const r = await attempt(ep, method, path, ro, token, signal);
          const answered = redactUrl(`${r.address}/v1/${path}`);
          if (r.statusCode < 300) {
            if (r.body === MALFORMED) throw new VaultResponseError(answered, `malformed JSON in a ${r.statusCode} answer`);
            markUp(ep);
            if (method !== 'GET' && method !== 'LIST' && !ro.unauthenticated) shared.lastWriteMs = performance.now();
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
            markUp(ep);
            return { status: 404, data: undefined as T, warnings: [], auth: undefined, wrapInfo: undefined, requestId: undefined, text: undefined };
          }
          failure = httpError(method, path, r, tried);
          // A definitive answer (400, 403, 404, 501 …): the server is healthy, the request is wrong.
          if (!p.statusCodes.includes(r.statusCode)) {
            markUp(ep);
            // (7) a standby that has not applied this client's last write yet: ask again shortly
            if (idempotent && laggingAnswer(r, ro) && performance.now() - shared.lastWriteMs < consistencyWindowMs && performance.now() - started < consistencyWindowMs) {
              logger.debug('vault answer looks stale (a standby behind a recent write); asking again', { path, address: r.address, status: r.statusCode });
              lagRetry = true;
              break;
            }
            throw failure;
          }
          outcome = { kind: 'status', status: r.statusCode, retryAfterMs: (failure as VaultHttpError).retryAfterMs };
          unavailable = true;
        } catch (e) {
          if (e instanceof VaultSdkError) throw e;
          if (ro.signal?.aborted) throw ro.signal.reason;
          if (timeout.aborted) {
            failure = new VaultTimeoutError({ method, url, timeoutMs: p.timeoutMs, alsoTried: tried });
            outcome = { kind: 'timeout' };
          } else if (axios.isAxiosError(e) && /maxContentLength/.test(e.message)) {
            // (6) the stream was cut at the limit; nothing more is read or kept
            throw new VaultResponseError(url, `answer larger than ${maxResponseBytes} bytes (maxResponseBytes); refused`);
          } else {
            const errno = nodeErrno(e);
            const redirect = (e as { vaultdistRedirect?: { by: string; to: string } }).vaultdistRedirect;
            if (errno || axios.isAxiosError(e)) {
              // The raw axios error holds the request config (headers with X-Vault-Token, the body):
              // only its message and code travel on, so no logger or serializer can leak a secret.
              const where = redirect ? `${redirectUrl(redirect.to, path)} (redirected by ${redirect.by})` : url;
              failure = new VaultNetworkError({ method, url: where, errno, cause: safeCause(e, errno), alsoTried: tried });
              outcome = { kind: 'network', errno };
              if (redirect) unavailable = true;
            } else {
              throw e;
            }
          }
        }
        if (isUnavailable(outcome, p)) unavailable = true;
        markDown(ep, failure.message);
        tried.push(`${ep.address} (${shortReason(outcome)})`);
        last = { failure, outcome };
        if (!safeToResend(outcome, idempotent)) throw failure;
        if (endpoints.length > 1) logger.debug('vault failover', { method, path, from: ep.address, reason: shortReason(outcome) });
      }
      if (lagRetry) {
        await delay(LAG_RETRY_DELAY_MS, ro.signal);
        round--;
        continue;
      }
      const wait = retryDelayMs(p, round, last!.outcome, idempotent, random(), performance.now() - started, unavailable);
      if (wait === undefined) throw last!.failure;
      logger.debug('vault request retry', { method, path, round, waitMs: wait, reason: last!.failure.message });
      await delay(wait, ro.signal);
    }
  }

  async function request<T>(method: VaultMethod, path: string, ro: VaultRequestOptions = {}): Promise<VaultResponse<T>> {
    // (1)
    const checked = checkVaultPath(path);
    try {
      return await requestOnce<T>(method, checked, ro);
    } catch (e) {
      // On a 403 with a renewable identity: log in again once and replay.
      if (isVaultPermissionDeniedError(e) && !ro.unauthenticated && !ro.token && auth?.invalidate()) {
        logger.info('permission denied; logging in again and replaying once', { path: checked });
        return requestOnce<T>(method, checked, ro);
      }
      throw e;
    }
  }

  const ctx: AuthContext = {
    request: (m, p, o) => request(m, p, { ...o, unauthenticated: o?.token ? false : true }),
    connection,
    logger,
  };

  async function healthOf(ep: Endpoint, signal: AbortSignal | undefined): Promise<VaultHealth> {
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const path = 'sys/health?standbycode=200&sealedcode=200&uninitcode=200&perfstandbyok=true';
    const url = redactUrl(`${ep.address}/v1/sys/health`);
    let r: RawResult;
    try {
      r = await attempt(ep, 'GET', path, { raw: true }, undefined, s);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) throw new VaultTimeoutError({ method: 'GET', url, timeoutMs: policy.timeoutMs });
      if (axios.isAxiosError(e) && /maxContentLength/.test(e.message)) throw new VaultResponseError(url, `answer larger than ${maxResponseBytes} bytes`);
      const errno = nodeErrno(e);
      throw new VaultNetworkError({ method: 'GET', url, errno, cause: safeCause(e, errno) });
    }
    if (r.statusCode !== 200) throw httpError('GET', 'sys/health', r, []);
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(r.text) as Record<string, unknown>;
    } catch (e) {
      throw new VaultResponseError(url, 'malformed health answer', { cause: e });
    }
    return {
      status: r.statusCode,
      address: ep.address,
      initialized: b.initialized === true,
      sealed: b.sealed === true,
      standby: b.standby === true,
      version: typeof b.version === 'string' ? b.version : undefined,
    };
  }

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
      // The first active server in failover order; else the best answer (standby over sealed).
      const want = o?.address?.replace(/\/+$/, '');
      const eps = want ? endpoints.filter((e) => e.address === want) : order();
      if (!eps.length) throw new ConfigError([{ path: 'address', message: `${o?.address} is not one of the configured addresses` }]);
      let best: VaultHealth | undefined;
      let lastErr: unknown;
      const rank = (h: VaultHealth) => (h.sealed || !h.initialized ? 0 : h.standby ? 1 : 2);
      for (const ep of eps) {
        try {
          const h = await healthOf(ep, o?.signal);
          if (rank(h) === 2) {
            markUp(ep);
            return h;
          }
          if (h.sealed) markDown(ep, 'sealed');
          if (!best || rank(h) > rank(best)) best = h;
        } catch (e) {
          if (o?.signal?.aborted) throw e;
          markDown(ep, (e as Error).message);
          lastErr = e;
        }
      }
      if (best) return best;
      throw lastErr;
    },
    extend(more) {
      // the extended client shares the read-your-writes window (7): an operator's write through this
      // client and a node's sign through the extended one are one sequence
      return createVaultClient({ ...options, ...more, env, [SHARED]: shared } as VaultClientOptions);
    },
  };
  return client;
}

function redirectUrl(origin: string, path: string): string {
  return redactUrl(`${origin}/v1/${path}`);
}

function shortReason(o: AttemptOutcome): string {
  switch (o.kind) {
    case 'status':
      return String(o.status);
    case 'network':
      return o.errno ?? 'network error';
    default:
      return o.kind;
  }
}

/** The simplest strategy: a fixed token. A 403 is final. */
export function staticToken(token: string): AuthStrategy {
  return {
    kind: 'token',
    getToken: async () => token,
    invalidate: () => false,
  };
}
