import { RenderError } from '../errors.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A lone UTF-16 surrogate is not a Unicode character: OTP's scanner rejects `\x{D800}` ("illegal
 * character", the node does not boot) and no UTF-8 file name can contain one (Node writes U+FFFD), so
 * such a value can never mean what the caller wanted.
 */
function rejectLoneSurrogate(field: string, value: string): void {
  const m = LONE_SURROGATE.exec(value);
  if (m) {
    throw new RenderError(field, `contains a lone UTF-16 surrogate U+${m[0].charCodeAt(0).toString(16).toUpperCase()} at index ${m.index} (not a Unicode character: OTP cannot read it and no file can be named with it)`);
  }
}

/**
 * Renders any string as an Erlang string literal that evaluates back to exactly the same code points.
 * Printable ASCII is kept; `"` and `\` are escaped; everything else becomes `\x{HEX}`, so no value can
 * end the string, start a comment or inject a term.
 * @param field named in the RenderError (a lone UTF-16 surrogate cannot be rendered).
 */
export function erlangString(value: string, field = 'value'): string {
  rejectLoneSurrogate(field, value);
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
export function erlangAtom(value: string, field = 'value'): string {
  if (/^[a-z][A-Za-z0-9_@]*$/.test(value)) return value;
  rejectLoneSurrogate(field, value);
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
  rejectLoneSurrogate(field, path);
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
  // erl would read the word as a flag of its own (e.g. an epmdModule of "-eval").
  if (value.startsWith('-')) throw new RenderError(field, `${JSON.stringify(value)} starts with "-", so erl would read it as a flag`);
  // erlexec reads a word starting with "+" as an emulator flag (`+MT…` aborts the VM: bad "MT" parameter;
  // found by the seeded fuzz in test/integration/hardening-render.test.ts, seed 649974).
  if (value.startsWith('+')) throw new RenderError(field, `${JSON.stringify(value)} starts with "+", so erl would read it as an emulator flag`);
  return value;
}
