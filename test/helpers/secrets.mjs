// The one definition of "a secret in test output", used by the suite-wide scan in the jest
// environment (environment.mjs) and by the CLI/agent child-process runner (packages/cli/test/helpers.ts).
// Plain ESM so the jest environment module can import it untransformed; types in secrets.d.mts.

const PRIVATE_KEY_RE = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
// OpenBao/Vault service and batch tokens: s./b. + 24 characters (OpenBao), hvs./hvb. + more (Vault).
const TOKEN_RE = /(?<![A-Za-z0-9_.-])(?:hvs|hvb|s|b)\.[A-Za-z0-9_-]{24,}(?![A-Za-z0-9_-])/;

/** What secret `text` contains ([] when clean): a PRIVATE KEY block, the run's root token, a Vault-token-shaped string. */
export function secretsIn(text, rootToken = process.env.VAULTDIST_TEST_VAULT_TOKEN) {
  const hits = [];
  if (PRIVATE_KEY_RE.test(text)) hits.push({ kind: 'private-key', what: 'a PRIVATE KEY block' });
  if (rootToken && rootToken.length >= 8 && text.includes(rootToken)) hits.push({ kind: 'root-token', what: "the run's root token (VAULTDIST_TEST_VAULT_TOKEN)" });
  const token = TOKEN_RE.exec(text);
  if (token) hits.push({ kind: 'vault-token', what: `a Vault token (${token[0].slice(0, 6)}…)` });
  return hits;
}
