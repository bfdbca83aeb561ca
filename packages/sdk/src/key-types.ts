/**
 * Node key types: the names, the default and the set the deploy tools offer, owned here (issue #16:
 * the CLI, the agent config and the SDK each listed them, and disagreed on Ed25519).
 * No imports: the CLI's option table loads this without the X.509 stack.
 */

/**
 * Every key type the SDK can generate. EC P-256 is the default. Ed25519 is offered because a real
 * OTP 25 node pair was seen connecting with Vault-issued Ed25519 leaves over TLS 1.3 distribution
 * (test/e2e/sdk-ed25519.test.ts; see the SDK README for the TLS 1.2 result and the OCSP caveat).
 */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'ed25519';

/** All of {@link KeyType}, in preference order. */
export const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'ed25519'];

/** The key types `vaultdist` and the agent accept for a node: all but Ed25519, which fails TLS 1.2 distribution (SDK README). */
export const NODE_KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] as const satisfies readonly KeyType[];

/** One of {@link NODE_KEY_TYPES}. */
export type NodeKeyType = (typeof NODE_KEY_TYPES)[number];

/** The key type used when none is given. */
export const DEFAULT_KEY_TYPE = 'ec-p256' satisfies NodeKeyType;
