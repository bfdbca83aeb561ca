/** Body fields whose values must never leave the process in an error, log line or message. */
export const SECRET_FIELDS = [
  'token',
  'client_token',
  'secret_id',
  'private_key',
  'password',
  'jwt',
  'role_id_secret',
  'wrapping_token',
] as const;

const SECRET_QUERY = /([?&](?:token|secret_id|jwt|private_key)=)[^&#]*/gi;

/**
 * Redacts a URL for error messages: strips userinfo and secret-bearing query parameters.
 * Paths are kept: Vault paths carry mount/role names, which users need to see.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(SECRET_QUERY, '$1[REDACTED]');
  } catch {
    return url.replace(SECRET_QUERY, '$1[REDACTED]');
  }
}

/** Deep copy of a value with secret fields replaced by "[REDACTED]" (for debug logging of bodies). */
export function redactBody(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactBody);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = (SECRET_FIELDS as readonly string[]).includes(k) ? '[REDACTED]' : redactBody(v);
    }
    return out;
  }
  if (typeof value === 'string' && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) return '[REDACTED]';
  return value;
}

/** Replaces anything that looks like a Vault token or a PEM private key inside free text. */
export function redactText(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]')
    .replace(/\b(hv[sbr]|s|b|r)\.[A-Za-z0-9_-]{20,}\b/g, '[REDACTED TOKEN]');
}
