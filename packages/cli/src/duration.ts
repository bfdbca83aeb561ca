import { DurationSyntaxError, parseDurationSeconds } from '@vaultdist/sdk/duration'; // the light entry (no x509/axios)
import { ExitError, EXIT } from './errors.js';

/**
 * A flag's Vault duration ("72h", "1h30m", "1.5h", "90s", "7d", or plain seconds) in whole seconds,
 * through the SDK's one parser (the same the agent validates its config with, issue #14).
 * @throws ExitError(USAGE) naming the flag.
 */
export function parseDuration(flag: string, value: string): number {
  try {
    return parseDurationSeconds(value);
  } catch (e) {
    if (e instanceof DurationSyntaxError) throw new ExitError(EXIT.USAGE, `${flag}: ${e.message}`);
    throw e;
  }
}
