/**
 * pino JSON logger with redaction (house style §13). One child per component.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../config/schema.js';

/** Paths pino censors wherever they appear (tokens, secret ids, private keys, cookies). */
export const REDACT_PATHS = [
  'token',
  '*.token',
  '*.*.token',
  'secretId',
  '*.secretId',
  '*.*.secretId',
  'secret_id',
  '*.secret_id',
  'client_token',
  '*.client_token',
  'privateKey',
  '*.privateKey',
  'private_key',
  '*.private_key',
  'cookie',
  '*.cookie',
  '*.*.cookie',
  'headers["x-vault-token"]',
  '*.headers["x-vault-token"]',
];

/** Keys pino writes itself; a meta field with one of these names would make a line with two such keys. */
export const RESERVED_LOG_KEYS = ['level', 'time', 'pid', 'hostname', 'msg', 'name'] as const;

/** Renames reserved keys in a log call's meta (`level` → `meta_level`): a guard, no call passes one. */
function renameReserved(meta: unknown): unknown {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || meta instanceof Error) return meta;
  if (!RESERVED_LOG_KEYS.some((k) => Object.hasOwn(meta, k))) return meta;
  return Object.fromEntries(Object.entries(meta).map(([k, v]) => [(RESERVED_LOG_KEYS as readonly string[]).includes(k) ? `meta_${k}` : k, v]));
}

export function createLogger(o: { level: LogLevel; destination?: DestinationStream | undefined }): PinoLogger {
  return pino(
    {
      level: o.level,
      base: { pid: process.pid, name: 'vaultdist-agent' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          if (args.length > 0) args[0] = renameReserved(args[0]) as (typeof args)[0];
          return method.apply(this, args);
        },
      },
    },
    o.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
