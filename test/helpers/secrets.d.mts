export type SecretFinding = 'private-key' | 'root-token' | 'vault-token';
/** What secret `text` contains ([] when clean): a PRIVATE KEY block, the run's root token, a Vault-token-shaped string. */
export function secretsIn(text: string, rootToken?: string): { kind: SecretFinding; what: string }[];
