/**
 * The one duration parser of the SDK, the CLI and the agent (issue #14: `init node --ttl 1h30m` was
 * accepted by Vault and refused by the agent's own pattern after the certificate had been written).
 *
 * It accepts exactly what Vault/OpenBao accept for a duration field (go-secure-stdlib
 * `parseutil.ParseDurationSecond`):
 * 1. a plain integer: seconds (`"3600"`, also a JavaScript number);
 * 2. a string ending in `s`, `m`, `h` (including `ms`, `us`, `µs`, `ns`): Go's `time.ParseDuration`,
 *    i.e. one or more decimal numbers with a unit, fractions allowed (`"1h30m"`, `"1.5h"`, `"90s"`,
 *    `"500ms"`);
 * 3. a string ending in `d`: a whole number of days (`"7d"`). Note: `"1d12h"` is refused, as Vault
 *    refuses it (Go's parser knows no `d` unit).
 *
 * Negative durations are refused (no TTL or interval here can be negative). Pure: no I/O.
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The same language as one regular expression (for config schemas and JSON Schema `pattern`):
 * plain seconds, whole days, or a Go duration.
 */
export const DURATION_PATTERN = /^(?:\d+|\d+d|\+?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const GO_PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/** Why a duration was refused (for messages that name the input). */
export class DurationSyntaxError extends Error {
  override name = 'DurationSyntaxError';
}

/** The accepted forms, for error messages. */
export const DURATION_FORMS = 'a Vault duration such as "90s", "30m", "1h30m", "1.5h", "7d" or plain seconds "3600"';

/**
 * Parses a Vault duration into milliseconds (fractions kept: `"500ms"` → 500).
 * @throws DurationSyntaxError naming the value.
 * @example parseDurationMs('1h30m') // 5_400_000
 */
export function parseDurationMs(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || !Number.isInteger(value)) throw new DurationSyntaxError(`${value} is not a duration: a number must be whole seconds ≥ 0`);
    return value * 1000;
  }
  const v = value.trim();
  if (v.startsWith('-')) throw new DurationSyntaxError(`${JSON.stringify(value)} is negative; expected ${DURATION_FORMS}`);
  if (!DURATION_PATTERN.test(v)) throw new DurationSyntaxError(`${JSON.stringify(value)} is not ${DURATION_FORMS}`);
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (v.endsWith('d')) return Number(v.slice(0, -1)) * 86_400_000;
  let total = 0;
  for (const m of v.matchAll(GO_PART)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

/**
 * Parses a Vault duration into whole seconds, truncated as Vault truncates TTLs (`"1.5s"` → 1).
 * @throws DurationSyntaxError naming the value.
 * @example parseDurationSeconds('1.5h') // 5400
 */
export function parseDurationSeconds(value: string | number): number {
  return Math.floor(parseDurationMs(value) / 1000);
}

/** Whether Vault would accept `value` as a duration. */
export function isDuration(value: string | number): boolean {
  try {
    parseDurationMs(value);
    return true;
  } catch {
    return false;
  }
}
