import { CertificateError } from '../errors.js';

/**
 * Supported node key types. EC P-256 is the default. Ed25519 is offered because a real OTP 25 node
 * pair was seen connecting with Vault-issued Ed25519 leaves over TLS 1.3 distribution
 * (test/e2e/sdk-ed25519.test.ts; see the SDK README for the TLS 1.2 result and the OCSP caveat).
 */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'ed25519';
export const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'ed25519'];

export interface KeyAlgorithm {
  generate: EcKeyGenParams | RsaHashedKeyGenParams | Algorithm;
  signing: EcdsaParams | Algorithm;
  vaultKeyType: 'ec' | 'rsa' | 'ed25519';
  /** 0 for Ed25519 (Vault ignores key_bits there). */
  vaultKeyBits: number;
}

export function keyAlgorithm(type: KeyType): KeyAlgorithm {
  switch (type) {
    case 'ec-p256':
      return { generate: { name: 'ECDSA', namedCurve: 'P-256' }, signing: { name: 'ECDSA', hash: 'SHA-256' }, vaultKeyType: 'ec', vaultKeyBits: 256 };
    case 'ec-p384':
      return { generate: { name: 'ECDSA', namedCurve: 'P-384' }, signing: { name: 'ECDSA', hash: 'SHA-384' }, vaultKeyType: 'ec', vaultKeyBits: 384 };
    case 'rsa-2048':
    case 'rsa-3072':
      return {
        generate: {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: type === 'rsa-2048' ? 2048 : 3072,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        },
        signing: { name: 'RSASSA-PKCS1-v1_5' },
        vaultKeyType: 'rsa',
        vaultKeyBits: type === 'rsa-2048' ? 2048 : 3072,
      };
    case 'ed25519':
      return { generate: { name: 'Ed25519' }, signing: { name: 'Ed25519' }, vaultKeyType: 'ed25519', vaultKeyBits: 0 };
    default:
      throw new CertificateError('key-type', `unsupported key type ${JSON.stringify(type)} (use one of ${KEY_TYPES.join(', ')})`);
  }
}

export function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

/** Generates a node key pair locally (WebCrypto); the private key never leaves this process unasked. */
export async function generateKeyPair(type: KeyType = 'ec-p256'): Promise<CryptoKeyPair> {
  const alg = keyAlgorithm(type);
  return (await crypto.subtle.generateKey(alg.generate, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PKCS#8 PEM (`PRIVATE KEY`), which OTP's ssl accepts as `keyfile`. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return toPem(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/**
 * Splits a PEM bundle into its blocks, each with its label (text outside blocks is ignored).
 * @throws CertificateError('parse') for a block whose body decodes to no bytes.
 */
export function splitPem(text: string): { label: string; pem: string; der: Buffer }[] {
  const out: { label: string; pem: string; der: Buffer }[] = [];
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
