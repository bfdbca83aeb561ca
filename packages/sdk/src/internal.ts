/**
 * `@vaultdist/sdk/internal`: the building blocks the agent and the CLI share with the SDK, one module
 * per rule (issue #16): PEM splitting, key types, the live credential set, atomic writes and the
 * directory swap, the BAO_/VAULT_ environment, durations, retry and backoff math, exit codes, the
 * logger signature, the PKI/auth admin helpers and the CSR encoder.
 *
 * Not part of the public API and not covered by semver: deploy tooling uses `@vaultdist/sdk`.
 * Every export is listed by name (house style §2); the public names are not repeated here.
 */
export { createHttpsAgent, checkVaultPath, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_CONSISTENCY_WINDOW_MS } from './client.js';
export { readEnvTwin, parseBoolean } from './vault/config.js';
export { retryDelayMs, safeToResend, isUnavailable, parseRetryAfter } from './transport/retry-policy.js';
export type { AttemptOutcome } from './transport/retry-policy.js';
export { delay } from './transport/delay.js';
export { redactUrl, redactBody, redactText } from './transport/redact.js';
export { lookupSelf, renewSelf, tokenRenewDelayMs, renewBackoffMs, DEFAULT_TOKEN_RENEWAL_POLICY, systemWatcherClock } from './auth/token.js';
export type { TokenLookup, RenewResult, WatcherClock } from './auth/token.js';
export { KUBERNETES_TOKEN_PATH } from './auth/kubernetes.js';
export { createLoginStrategy, loginRequest } from './auth/login.js';
export type { LoginFn, LoginLease, LoginStrategyOptions } from './auth/login.js';
export { ensureAppRole, appRoleBody, readRoleId, createSecretId, ensureCertRole, ensureJwtConfig, ensureJwtRole } from './auth/admin.js';
export type { AppRoleOptions, SecretIdResult, CreateSecretIdOptions, CertRoleOptions, JwtConfigOptions, JwtRoleOptions } from './auth/admin.js';
export { nodePkiRoleBody, nodeIdentityPolicy, nodeAppRoleOptions, nodeCertRoleOptions, ensureNodePkiRole, ensureAbsent, hostTemplateOf, hostAllowed, DEFAULT_NODE_POLICY_PREFIX } from './identity.js';
export type { HostTemplate } from './identity.js';
export { generateKeyPair, exportPrivateKeyPem, keyAlgorithm } from './x509/keys.js';
export { buildCsr, nodeSans } from './x509/csr.js';
export type { NodeSans, BuildCsrOptions } from './x509/csr.js';
export { createCsr, generateNodeKeyObjects, exportKeyObjectPem } from './x509/pkcs10.js';
export type { CreateCsrOptions, NodeKeyObjects } from './x509/pkcs10.js';
export { normalizeSerial } from './x509/parse.js';
export { verifyChain, keyMatchesCertificate } from './x509/validate.js';
export { signCsr, issueCertificate, requestNodeCertificate } from './pki/sign.js';
export type { SignOptions, SignedCertificate, IssuedCertificate, NodeCertificateRequest, NodeCertificate } from './pki/sign.js';
export { normalizeChain } from './pki/ca-chain.js';
export { ensureMount, removeMount, ensureRootCa, ensureIntermediateCa, ensureRole, ensurePolicy, ensureAuthMethod, nodeRoleBody, nodePolicy, readCaPem, readIssuingCaPems, parseDurationSeconds, sameValue, diffFields, ensureConfigured } from './pki/admin.js';
export type { Changed, GenerateRootOptions, IntermediateOptions, NodeRoleOptions, CaResult } from './pki/admin.js';
export { parseDurationMs, isDuration, DurationSyntaxError, DURATION_FORMS } from './duration.js';
export { erlangString, erlangAtom, flagWord, requireAbsolute } from './render/erlang.js';
export { TLS_CIPHERS } from './render/optfile.js';
export { erlFlagsString, shellQuote } from './render/elixir.js';
export { bundleText, caText, nodeWriterFs, fsyncDir } from './files/credential-set.js';
export type { WriterFs } from './files/credential-set.js';
export { assertPrivatePath, ownDir, fixDir, removeTree, writeFileDurable, O_NOFOLLOW, O_DIRECTORY } from './files/safe-fs.js';
export type { SafeFs, Owner } from './files/safe-fs.js';
export { splitChain, adoptTrust, readTrustInUse } from './credentials.js';
export type { AdoptTrustOptions } from './credentials.js';
export { parseCrl, writeCrlDir, caSubjectHash, opensslNameHash } from './pki/crl.js';
export type { WriteCrlDirOptions, WriteCrlDirResult } from './pki/crl.js';
export { renderPeersFile, parsePeersFile, parseDistPortFile, writePeersFile, PEERS_FILE, DIST_PORT_FILE } from './registry/peers-file.js';
export type { PeerEntry, PeerState, PeersFile, DistPortInfo, WritePeersFileOptions } from './registry/peers-file.js';

// Rule modules added by issue #16 (one owner per shared rule).
export { splitPem, toPem, certificateBlocks, privateKeyBlock, joinPem, pemBody } from './pem.js';
export type { PemBlock } from './pem.js';
export { credentialSetParts, crlIssuerCandidates } from './files/live-set.js';
export type { CredentialFiles, CredentialSetParts } from './files/live-set.js';
export { writeFileAtomic } from './files/atomic-write.js';
export type { WriteFileAtomicOptions } from './files/atomic-write.js';
export { fromStructuredLogger } from './logger.js';
export type { StructuredLogger } from './logger.js';
export { nextBackoff } from './backoff.js';
export type { BackoffPolicy, BackoffContext, RandomSource } from './backoff.js';
export { lazyExport } from './lazy-require.js';
