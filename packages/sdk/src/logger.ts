/**
 * The logger signatures, owned here (issue #16: the agent and the SDK each declared their own, and
 * each package wrote its own adapter between them).
 *
 * - {@link Logger}: what the SDK calls, `(msg, meta?)` (octokit's `log`).
 * - {@link StructuredLogger}: what the agent logs through, pino's `(meta, msg)` with fixed message
 *   strings, so a pino instance can be passed as is.
 *
 * {@link fromStructuredLogger} adapts the second to the first.
 */

/** The four-method logger the SDK accepts: `(msg, meta?)`. */
export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

/** A pino-compatible logger: `(meta, msg)`, optional `fatal` and `child` (the agent's `Logger` port). */
export interface StructuredLogger {
  debug(meta: object, msg: string): void;
  info(meta: object, msg: string): void;
  warn(meta: object, msg: string): void;
  error(meta: object, msg: string): void;
  fatal?(meta: object, msg: string): void;
  child?(bindings: object): StructuredLogger;
}

/** Default logger (octokit `createLogger`): debug/info are no-ops, warn/error go to the console. */
export function createDefaultLogger(): Logger {
  return {
    debug: () => {},
    info: () => {},
    warn: (msg, meta) => console.warn(`[vaultdist] ${msg}`, meta ?? ''),
    error: (msg, meta) => console.error(`[vaultdist] ${msg}`, meta ?? ''),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The SDK's `(msg, meta)` calls, forwarded to a pino-style `(meta, msg)` logger. */
export function fromStructuredLogger(l: StructuredLogger): Logger {
  return {
    debug: (msg, meta) => l.debug(meta ?? {}, msg),
    info: (msg, meta) => l.info(meta ?? {}, msg),
    warn: (msg, meta) => l.warn(meta ?? {}, msg),
    error: (msg, meta) => l.error(meta ?? {}, msg),
  };
}
