/**
 * One error hierarchy for everything the SDK throws (house style §3).
 *
 * Every class carries a stable string `code`; guards check `instanceof` **or** `name`, so errors that
 * crossed a realm (jest VM contexts, duplicated package copies) are still recognised.
 * Note: nothing here ever holds a token, a secret_id or a private key. URLs are redacted when the error
 * is constructed, and raw response bodies are never kept.
 */
export type VaultSdkErrorCode =
  | 'VAULT_HTTP'
  | 'VAULT_NETWORK'
  | 'VAULT_TIMEOUT'
  | 'VAULT_SEALED'
  | 'VAULT_PERMISSION_DENIED'
  | 'VAULT_RESPONSE'
  | 'CONFIG'
  | 'CERTIFICATE'
  | 'NODE_NAME'
  | 'RENDER'
  | 'WRITE'
  | 'ABORTED';

/** Base class of every SDK error: a stable `code`, an `isVaultSdkError` brand that survives module copies, and a message that never carries a secret (redacted when built). */
export class VaultSdkError extends Error {
  override name = 'VaultSdkError';
  readonly code: VaultSdkErrorCode = 'VAULT_HTTP';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  /** Brand that survives realms. */
  get isVaultSdkError(): true {
    return true;
  }
}

/** The fields a `VaultHttpError` is built from (already redacted). */
export interface VaultHttpErrorInit {
  status: number;
  errors: string[];
  method: string;
  /** Already redacted URL. */
  url: string;
  namespace?: string | undefined;
  requestId?: string | undefined;
  retryAfterMs?: number | undefined;
  /** Other addresses tried for this request before, each with its failure, e.g. `http://a:8200 (ECONNREFUSED)`. */
  alsoTried?: readonly string[] | undefined;
}

/** The message tail naming the other addresses that failed. */
function triedTail(alsoTried: readonly string[] | undefined): string {
  return alsoTried && alsoTried.length ? ` (also tried ${alsoTried.join(', ')})` : '';
}

/** Vault answered with a status >= 400. All of Vault's `errors[]` are kept, in order. */
export class VaultHttpError extends VaultSdkError {
  override name = 'VaultHttpError';
  override readonly code: VaultSdkErrorCode = 'VAULT_HTTP';
  readonly status: number;
  readonly errors: string[];
  readonly method: string;
  readonly url: string;
  readonly namespace: string | undefined;
  readonly requestId: string | undefined;
  /** Parsed `Retry-After`, when the server sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(init: VaultHttpErrorInit, message?: string) {
    const detail = init.errors.length ? init.errors.map((e) => e.trim().replace(/\s+/g, ' ')).join('; ') : 'no error text';
    super(message ?? `Vault ${init.method} ${init.url} failed with ${init.status}: ${detail}${triedTail(init.alsoTried)}`);
    this.status = init.status;
    this.errors = init.errors;
    this.method = init.method;
    this.url = init.url;
    this.namespace = init.namespace;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** 503 "Vault is sealed". */
export class VaultSealedError extends VaultHttpError {
  override name = 'VaultSealedError';
  override readonly code: VaultSdkErrorCode = 'VAULT_SEALED';
}

/** 403 permission denied / missing or expired token. */
export class VaultPermissionDeniedError extends VaultHttpError {
  override name = 'VaultPermissionDeniedError';
  override readonly code: VaultSdkErrorCode = 'VAULT_PERMISSION_DENIED';
}

/** The connection failed: DNS, refused, reset, TLS. Never reported as an HTTP status. */
export class VaultNetworkError extends VaultSdkError {
  override name = 'VaultNetworkError';
  override readonly code: VaultSdkErrorCode = 'VAULT_NETWORK';
  readonly method: string;
  readonly url: string;
  /** Node's error code, e.g. ECONNREFUSED, ECONNRESET. */
  readonly errno: string | undefined;
  constructor(init: { method: string; url: string; errno?: string | undefined; cause?: unknown; alsoTried?: readonly string[] | undefined }) {
    super(`Vault ${init.method} ${init.url}: network error${init.errno ? ` (${init.errno})` : ''}${triedTail(init.alsoTried)}`, { cause: init.cause });
    this.method = init.method;
    this.url = init.url;
    this.errno = init.errno;
  }
}

/** The per-request timeout elapsed. */
export class VaultTimeoutError extends VaultSdkError {
  override name = 'VaultTimeoutError';
  override readonly code: VaultSdkErrorCode = 'VAULT_TIMEOUT';
  readonly timeoutMs: number;
  constructor(init: { method: string; url: string; timeoutMs: number; alsoTried?: readonly string[] | undefined }) {
    super(`Vault ${init.method} ${init.url}: no answer within ${init.timeoutMs} ms${triedTail(init.alsoTried)}`);
    this.timeoutMs = init.timeoutMs;
  }
}

/** Vault answered 2xx but the body was not what the endpoint documents (malformed JSON, missing field). */
export class VaultResponseError extends VaultSdkError {
  override name = 'VaultResponseError';
  override readonly code: VaultSdkErrorCode = 'VAULT_RESPONSE';
  readonly url: string;
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super(`Vault ${url}: ${message}`, options);
    this.url = url;
  }
}

/** One problem of a configuration: the option or variable (`path`) and what is wrong with it. */
export interface ConfigIssue {
  /** Option, env var or config key at fault, e.g. `VAULT_SKIP_VERIFY` or `nodes[0].dir`. */
  path: string;
  message: string;
}

/** Bad configuration: options, environment or config file. */
export class ConfigError extends VaultSdkError {
  override name = 'ConfigError';
  override readonly code: VaultSdkErrorCode = 'CONFIG';
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** What a `CertificateError` is about (`key-mismatch`, `chain`, `san`, `expired`, …). */
export type CertificateProblem =
  | 'parse'
  | 'key-mismatch'
  | 'chain'
  | 'san'
  | 'expired'
  | 'not-yet-valid'
  | 'lifetime'
  | 'eku'
  | 'key-type'
  /** Vault's issuing CA is not in, and not issued by, the trust set already in use (trust pinning). */
  | 'trust-anchor';

/** A certificate, key or chain failed validation. Wraps every @peculiar/x509 throw in `cause`. */
export class CertificateError extends VaultSdkError {
  override name = 'CertificateError';
  override readonly code: VaultSdkErrorCode = 'CERTIFICATE';
  readonly problem: CertificateProblem;
  constructor(problem: CertificateProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.problem = problem;
  }
}

/** An Erlang node name OTP would reject. */
export class NodeNameError extends VaultSdkError {
  override name = 'NodeNameError';
  override readonly code: VaultSdkErrorCode = 'NODE_NAME';
  readonly input: string;
  constructor(input: string, reason: string) {
    super(`invalid Erlang node name ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
  }
}

/** A value cannot be rendered safely into an Erlang term, vm.args or shell snippet. */
export class RenderError extends VaultSdkError {
  override name = 'RenderError';
  override readonly code: VaultSdkErrorCode = 'RENDER';
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`cannot render ${field}: ${reason}`);
    this.field = field;
  }
}

/** Writing the credential set failed; the previous set is still in place. */
export class WriteError extends VaultSdkError {
  override name = 'WriteError';
  override readonly code: VaultSdkErrorCode = 'WRITE';
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
    this.path = path;
  }
}

function guard<T extends VaultSdkError>(cls: abstract new (...a: never[]) => T, name: string) {
  return (e: unknown): e is T =>
    e instanceof cls || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === name);
}

/** Whether `e` is a `VaultSdkError`: `instanceof`, or its brand for errors from another copy of the SDK. */
export const isVaultSdkError = (e: unknown): e is VaultSdkError =>
  e instanceof VaultSdkError ||
  (typeof e === 'object' && e !== null && (e as { isVaultSdkError?: unknown }).isVaultSdkError === true);
/** Whether `e` is a `VaultHttpError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isVaultHttpError = (e: unknown): e is VaultHttpError =>
  e instanceof VaultHttpError ||
  (isVaultSdkError(e) && typeof (e as { status?: unknown }).status === 'number');
/** Whether `e` is a `VaultSealedError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isVaultSealedError = guard(VaultSealedError, 'VaultSealedError');
/** Whether `e` is a `VaultPermissionDeniedError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isVaultPermissionDeniedError = guard(VaultPermissionDeniedError, 'VaultPermissionDeniedError');
/** Whether `e` is a `VaultNetworkError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isVaultNetworkError = guard(VaultNetworkError, 'VaultNetworkError');
/** Whether `e` is a `VaultTimeoutError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isVaultTimeoutError = guard(VaultTimeoutError, 'VaultTimeoutError');
/** Whether `e` is a `VaultResponseError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isVaultResponseError = guard(VaultResponseError, 'VaultResponseError');
/** Whether `e` is a `ConfigError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isConfigError = guard(ConfigError, 'ConfigError');
/** Whether `e` is a `CertificateError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isCertificateError = guard(CertificateError, 'CertificateError');
/** Whether `e` is a `NodeNameError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isNodeNameError = guard(NodeNameError, 'NodeNameError');
/** Whether `e` is a `RenderError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isRenderError = guard(RenderError, 'RenderError');
/** Whether `e` is a `WriteError`: `instanceof`, or its `name` for errors from another copy of the SDK. */
export const isWriteError = guard(WriteError, 'WriteError');
