import { ExitError, EXIT } from './errors.js';

/**
 * Parses a Vault-style duration ("72h", "30m", "1h30m", "90s", "7d", or plain seconds) into seconds.
 * @throws ExitError(USAGE) naming the flag.
 */
export function parseDuration(flag: string, value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  if (!/^(\d+(d|h|m|s))+$/.test(v)) throw new ExitError(EXIT.USAGE, `${flag}: ${JSON.stringify(value)} is not a duration (e.g. 24h, 30m, 1h30m, 7d)`);
  let total = 0;
  for (const m of v.matchAll(/(\d+)(d|h|m|s)/g)) total += Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
  return total;
}
