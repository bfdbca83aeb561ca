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

export function createLogger(o: { level: LogLevel; destination?: DestinationStream | undefined }): PinoLogger {
  return pino(
    {
      level: o.level,
      base: { pid: process.pid, name: 'vaultdist-agent' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    o.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
