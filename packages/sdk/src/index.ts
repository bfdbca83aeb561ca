// @vaultdist/sdk public surface. Every export is listed by name (house style §2).
import 'reflect-metadata';

export {
  VaultSdkError,
  VaultHttpError,
  VaultSealedError,
  VaultPermissionDeniedError,
  VaultNetworkError,
  VaultTimeoutError,
  VaultResponseError,
  ConfigError,
  CertificateError,
  NodeNameError,
  RenderError,
  WriteError,
  isVaultSdkError,
  isVaultHttpError,
  isVaultSealedError,
  isVaultPermissionDeniedError,
  isVaultNetworkError,
  isVaultTimeoutError,
  isVaultResponseError,
  isConfigError,
  isCertificateError,
  isNodeNameError,
  isRenderError,
  isWriteError,
} from './errors.js';
export type { VaultSdkErrorCode, ConfigIssue, CertificateProblem, VaultHttpErrorInit } from './errors.js';

export { createVaultClient, createHttpsAgent, staticToken, checkVaultPath, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_CONSISTENCY_WINDOW_MS } from './client.js';
export type {
  VaultClient,
  VaultClientOptions,
  VaultRequestOptions,
  VaultResponse,
  VaultMethod,
  VaultAuthInfo,
  VaultWrapInfo,
  VaultHealth,
  AuthStrategy,
  AuthContext,
} from './client.js';
export { resolveVaultConnection, readEnvTwin, readVaultEnv, parseBoolean, parseVaultAddresses, DEFAULT_VAULT_ADDRESS } from './vault/config.js';
export type { VaultConnectionOptions, ResolvedVaultConnection, VaultEnvSettings } from './vault/config.js';
export { DEFAULT_RETRY_POLICY, NO_RETRY, retryDelayMs, safeToResend, isUnavailable, parseRetryAfter } from './transport/retry-policy.js';
export type { RetryPolicy, AttemptOutcome } from './transport/retry-policy.js';
export { delay } from './transport/delay.js';
export { redactUrl, redactBody, redactText } from './transport/redact.js';
export { createDefaultLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';

// Auth strategies (house style §5): one factory per method, each returning an AuthStrategy.
export { tokenAuth, lookupSelf, renewSelf, startTokenRenewal, tokenRenewDelayMs, renewBackoffMs, DEFAULT_TOKEN_RENEWAL_POLICY, systemWatcherClock } from './auth/token.js';
export type {
  TokenLookup,
  RenewResult,
  WatcherClock,
  TokenRenewalPolicy,
  TokenRenewalOptions,
  TokenRenewalResult,
  TokenRenewalStopReason,
  TokenRenewalWatcher,
} from './auth/token.js';
export { appRoleAuth, unwrapSecretId } from './auth/approle.js';
export type { AppRoleAuthOptions } from './auth/approle.js';
export { certAuth } from './auth/cert.js';
export type { CertAuthOptions } from './auth/cert.js';
export { jwtAuth } from './auth/jwt.js';
export type { JwtAuthOptions } from './auth/jwt.js';
export { kubernetesAuth, KUBERNETES_TOKEN_PATH } from './auth/kubernetes.js';
export type { KubernetesAuthOptions } from './auth/kubernetes.js';
export { createLoginStrategy, loginRequest } from './auth/login.js';
export type { LoginFn, LoginLease, LoginStrategyOptions } from './auth/login.js';
export {
  ensureAppRole,
  appRoleBody,
  readRoleId,
  createSecretId,
  ensureCertRole,
  ensureJwtConfig,
  ensureJwtRole,
} from './auth/admin.js';
export type { AppRoleOptions, SecretIdResult, CreateSecretIdOptions, CertRoleOptions, JwtConfigOptions, JwtRoleOptions } from './auth/admin.js';

export { parseNodeName, nodeIdentityUri, requireDistributableNode } from './node-name.js';
export type { NodeName, NodeHostKind } from './node-name.js';
export {
  nodeSlug,
  nodeIdentityNames,
  nodePkiRoleBody,
  nodeIdentityPolicy,
  nodeAppRoleOptions,
  nodeCertRoleOptions,
  ensureNodePkiRole,
  ensureNodeIdentity,
  ensureAbsent,
  hostTemplateOf,
  hostAllowed,
  DEFAULT_REGISTRY_MOUNT,
  DEFAULT_NODE_POLICY_PREFIX,
} from './identity.js';
export type { NodeIdentityNames, NodePkiRoleOptions, NodePolicyOptions, NodeTokenOptions, EnsureNodeIdentityOptions, EnsureNodeIdentityResult, HostTemplate } from './identity.js';

export { generateKeyPair, exportPrivateKeyPem, splitPem, toPem, keyAlgorithm, KEY_TYPES } from './x509/keys.js';
export type { KeyType } from './x509/keys.js';
export { buildCsr, nodeSans } from './x509/csr.js';
export type { NodeSans, BuildCsrOptions } from './x509/csr.js';
// The fast path requestNodeCertificate uses: node:crypto keys, CSR DER-encoded by the SDK
// (x509/der.ts, the encoder itself, stays internal).
export { createCsr, generateNodeKeyObjects, exportKeyObjectPem } from './x509/pkcs10.js';
export type { CreateCsrOptions, NodeKeyObjects } from './x509/pkcs10.js';
export { parseCertificate, normalizeSerial } from './x509/parse.js';
export type { CertificateInfo } from './x509/parse.js';
export { validateCredentials, verifyChain, keyMatchesCertificate } from './x509/validate.js';
export type { ValidateCredentialsOptions } from './x509/validate.js';

export { signCsr, issueCertificate, requestNodeCertificate } from './pki/sign.js';
export type { SignOptions, SignedCertificate, IssuedCertificate, NodeCertificateRequest, NodeCertificate } from './pki/sign.js';
export { normalizeChain, fetchCaChain } from './pki/ca-chain.js';
export {
  ensureMount,
  removeMount,
  ensureRootCa,
  ensureIntermediateCa,
  ensureRole,
  ensurePolicy,
  ensureAuthMethod,
  nodeRoleBody,
  nodePolicy,
  readCaPem,
  readIssuingCaPems,
  parseDurationSeconds,
  sameValue,
  diffFields,
  ensureConfigured,
} from './pki/admin.js';
export type { Changed, GenerateRootOptions, IntermediateOptions, NodeRoleOptions, CaResult } from './pki/admin.js';
export { parseDurationMs, isDuration, DurationSyntaxError, DURATION_FORMS } from './duration.js';

export { erlangString, erlangAtom, flagWord, requireAbsolute } from './render/erlang.js';
export { renderOptfile, TLS_CIPHERS } from './render/optfile.js';
export type { OptfileOptions, TlsVersion, Carrier } from './render/optfile.js';
export { distFlags, renderVmArgs } from './render/vm-args.js';
export type { DistFlagsOptions, VmArgsOptions } from './render/vm-args.js';
export {
  renderReleaseVmArgs,
  renderReleaseRemoteVmArgs,
  renderReleaseEnvSh,
  iexCommand,
  erlFlagsString,
  shellQuote,
} from './render/elixir.js';
export type { ReleaseVmArgsOptions, ReleaseEnvShOptions, IexCommandOptions } from './render/elixir.js';

export { writeCredentialSet, readCredentialFiles, bundleText, caText, nodeWriterFs, CREDENTIAL_FILES } from './files/credential-set.js';
export type { WriterFs, CredentialSetContent, WriteCredentialSetOptions, WriteCredentialSetResult } from './files/credential-set.js';
export { assertPrivatePath, ownDir, fixDir, removeTree, writeFileDurable, O_NOFOLLOW, O_DIRECTORY } from './files/safe-fs.js';
export type { SafeFs } from './files/safe-fs.js';

export { issueNodeCredentials, splitChain, adoptTrust, readTrustInUse } from './credentials.js';
export type { IssueNodeCredentialsOptions, IssueNodeCredentialsResult, AdoptTrustOptions } from './credentials.js';

export { probeDistCertificate } from './probe.js';
export type { ProbeOptions, ProbeResult } from './probe.js';

export { revokeCertificate } from './pki/revoke.js';
export type { RevokeCertificateOptions, RevokeCertificateResult } from './pki/revoke.js';
export { fetchCrl, parseCrl, writeCrlDir, caSubjectHash, opensslNameHash } from './pki/crl.js';
export type { CrlInfo, RevokedEntry, FetchCrlOptions, WriteCrlDirOptions, WriteCrlDirResult } from './pki/crl.js';

// The registry plugin (#13): typed client + the peers/dist.port files shared with vaultdist_epmd.
export {
  registerNode,
  renewRegistration,
  listMembers,
  readMember,
  deregisterNode,
  evictNode,
  writeClusterConfig,
  readClusterConfig,
} from './registry/client.js';
export type {
  RegistryTarget,
  RegisterNodeOptions,
  Registration,
  RenewRegistrationOptions,
  RenewedLease,
  RegistryMember,
  MembersResult,
  NodeRefOptions,
  ClusterConfig,
  WriteClusterConfigOptions,
} from './registry/client.js';
export { renderPeersFile, parsePeersFile, parseDistPortFile, writePeersFile, PEERS_FILE, DIST_PORT_FILE } from './registry/peers-file.js';
export type { PeerEntry, PeerState, PeersFile, DistPortInfo, WritePeersFileOptions } from './registry/peers-file.js';
