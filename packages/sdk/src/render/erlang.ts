import { RenderError } from '../errors.js';

/**
 * Renders any string as an Erlang string literal that evaluates back to exactly the same code points.
 * Printable ASCII is kept; `"` and `\` are escaped; everything else becomes `\x{HEX}`, so no value can
 * end the string, start a comment or inject a term.
 */
export function erlangString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += `\\x{${cp.toString(16).toUpperCase()}}`;
  }
  return `${out}"`;
}

/** Renders an atom, quoting when needed (`'tlsv1.3'`). */
export function erlangAtom(value: string): string {
  if (/^[a-z][A-Za-z0-9_@]*$/.test(value)) return value;
  let out = "'";
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += `\\x{${cp.toString(16).toUpperCase()}}`;
  }
  return `${out}'`;
}

/** Absolute path check shared by renderers: relative paths resolve against the node's cwd, a classic trap. */
export function requireAbsolute(field: string, path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new RenderError(field, `${JSON.stringify(path)} is not an absolute path (OTP resolves relative paths against the node's working directory)`);
  if (path.includes('\0')) throw new RenderError(field, 'path contains a NUL byte');
  return path;
}

/**
 * A value that goes into vm.args or a shell/`--erl` word unquoted. erlexec splits args files on
 * whitespace and treats `#` as a comment, so only a conservative character set is accepted.
 */
export function flagWord(field: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new RenderError(field, 'empty value');
  if (!/^[A-Za-z0-9_@%+=:,./{}-]+$/.test(value)) {
    throw new RenderError(field, `${JSON.stringify(value)} contains characters that cannot be written safely into vm.args or a command line (allowed: letters, digits and _@%+=:,./{}-)`);
  }
  return value;
}
