import { CertificateError } from '../errors.js';
import { toPem } from '../pem.js';

import { KEY_TYPES, type KeyType } from '../key-types.js';

export { KEY_TYPES, type KeyType };

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

/** Generates a node key pair locally (WebCrypto); the private key never leaves this process unasked. */
export async function generateKeyPair(type: KeyType = 'ec-p256'): Promise<CryptoKeyPair> {
  const alg = keyAlgorithm(type);
  return (await crypto.subtle.generateKey(alg.generate, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PKCS#8 PEM (`PRIVATE KEY`), which OTP's ssl accepts as `keyfile`. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return toPem(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}
