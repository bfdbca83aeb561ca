/**
 * `@vaultdist/sdk/base`: the SDK's file names and small helpers that load no Vault client, no X.509
 * library and no config parser (issue #16: the agent's long-lived supervisor process imports this
 * instead of the package index). Each name is owned by its module; this file only gathers them.
 */
export { CREDENTIAL_FILES } from './files/credential-set.js';
export { PEERS_FILE, DIST_PORT_FILE } from './registry/peers-file.js';
export { writeFileAtomic } from './files/atomic-write.js';
export { delay } from './transport/delay.js';
export { tokenRenewDelayMs } from './auth/token.js';
export { normalizeSerial } from './x509/parse.js';
