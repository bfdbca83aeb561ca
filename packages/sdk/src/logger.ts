/** The four-method logger the SDK accepts (pino-compatible: `(msg, meta)` is adapted by the caller). */
export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
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

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
