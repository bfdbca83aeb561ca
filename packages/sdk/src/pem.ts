/**
 * PEM text: the one place that splits and writes PEM blocks (issue #16: the agent, the CLI and the
 * SDK each had their own regular expressions, and they disagreed on trailing newlines and on
 * `BEGIN EC PRIVATE KEY`). Pure, no dependencies but the error type.
 */
import { CertificateError } from './errors.js';

/** One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, …), the normalised PEM text and its DER bytes. */
export interface PemBlock {
  label: string;
  /** Re-encoded: 64-column base64, ending with one newline. */
  pem: string;
  der: Buffer;
}

/** DER bytes as a PEM block with `label`, 64-column base64, one trailing newline. */
export function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Splits a PEM bundle into its blocks, each with its label (text outside blocks is ignored).
 * @throws CertificateError('parse') for a block whose body decodes to no bytes.
 */
export function splitPem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const der = Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64');
    if (der.length === 0) {
      throw new CertificateError('parse', `PEM block ${out.length + 1} (${m[1]}) has an empty or non-base64 body`);
    }
    out.push({ label: m[1]!, pem: toPem(der, m[1]!), der });
  }
  return out;
}

/**
 * The `CERTIFICATE` blocks of `text`, verbatim and in order (no trailing newline), without decoding
 * them: for fingerprints and trust lists where the exact text matters. Empty when there are none.
 */
export function certificateBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** The first private-key block of `text` (`PRIVATE KEY`, `EC PRIVATE KEY`, `RSA PRIVATE KEY`), verbatim, or undefined. */
export function privateKeyBlock(text: string): string | undefined {
  return /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/.exec(text)?.[0];
}

/** Joins PEM blocks into one file text, each ending with exactly one newline. */
export function joinPem(blocks: readonly string[]): string {
  return blocks.map((b) => `${b.trimEnd()}\n`).join('');
}

/** The base64 body of one PEM block (armour and white space removed), e.g. to compare DER across encodings. */
export function pemBody(pem: string): string {
  return pem.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
}
