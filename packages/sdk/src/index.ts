/**
 * `@vaultdist/sdk` public surface: what deploy tooling needs to connect to Vault/OpenBao, give a node
 * its identity, issue and write its credential set, render its Erlang/Elixir flags, and use the
 * registry. Every export is listed by name (house style §2); each is documented at its definition.
 *
 * Intentionally internal (issue #16): the building blocks the agent and the CLI share (PEM splitting,
 * retry/backoff math, the PKI/auth admin helpers, the CSR encoder, file-system primitives, …) are
 * exported from `@vaultdist/sdk/internal` instead. They are not covered by semver.
 */
// Errors (house style §3): one hierarchy, a type guard per class.
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

// The client: connection (BAO_/VAULT_ environment, HA address lists), retry policy, logger.
export { createVaultClient, staticToken } from './client.js';
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
export { resolveVaultConnection, readVaultEnv, parseVaultAddresses, DEFAULT_VAULT_ADDRESS } from './vault/config.js';
export type { VaultConnectionOptions, ResolvedVaultConnection, VaultEnvSettings } from './vault/config.js';
export { DEFAULT_RETRY_POLICY, NO_RETRY } from './transport/retry-policy.js';
export type { RetryPolicy } from './transport/retry-policy.js';
export { createDefaultLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';

// Auth strategies (house style §5): one factory per method, each returning an AuthStrategy.
export { tokenAuth, startTokenRenewal } from './auth/token.js';
export type { TokenRenewalOptions, TokenRenewalResult, TokenRenewalStopReason, TokenRenewalWatcher, TokenRenewalPolicy } from './auth/token.js';
export { appRoleAuth, unwrapSecretId } from './auth/approle.js';
export type { AppRoleAuthOptions } from './auth/approle.js';
export { certAuth } from './auth/cert.js';
export type { CertAuthOptions } from './auth/cert.js';
export { jwtAuth } from './auth/jwt.js';
export type { JwtAuthOptions } from './auth/jwt.js';
export { kubernetesAuth } from './auth/kubernetes.js';
export type { KubernetesAuthOptions } from './auth/kubernetes.js';

// Node identity: names, and the per-node Vault objects (PKI role, policy, AppRole, cert role).
export { parseNodeName, nodeIdentityUri, requireDistributableNode } from './node-name.js';
export type { NodeName, NodeHostKind } from './node-name.js';
export { nodeSlug, nodeIdentityNames, ensureNodeIdentity, DEFAULT_REGISTRY_MOUNT } from './identity.js';
export type { NodeIdentityNames, EnsureNodeIdentityOptions, EnsureNodeIdentityResult, NodePkiRoleOptions, NodePolicyOptions, NodeTokenOptions } from './identity.js';

// Credentials: issue (key generated locally, CSR signed by the node's role), validate, write, revoke.
export { KEY_TYPES, NODE_KEY_TYPES, DEFAULT_KEY_TYPE } from './key-types.js';
export type { KeyType, NodeKeyType } from './key-types.js';
export { issueNodeCredentials } from './credentials.js';
export type { IssueNodeCredentialsOptions, IssueNodeCredentialsResult } from './credentials.js';
export { parseCertificate } from './x509/parse.js';
export { inspectCertificate, inspectChain } from './x509/inspect.js'; // node:crypto, for commands that only look (issue #16)
export type { CertificateInfo } from './x509/parse.js';
export { validateCredentials } from './x509/validate.js';
export type { ValidateCredentialsOptions } from './x509/validate.js';
export { writeCredentialSet, readCredentialFiles, CREDENTIAL_FILES } from './files/credential-set.js';
export type { CredentialSetContent, WriteCredentialSetOptions, WriteCredentialSetResult } from './files/credential-set.js';
export { fetchCaChain } from './pki/ca-chain.js';
export { revokeCertificate } from './pki/revoke.js';
export type { RevokeCertificateOptions, RevokeCertificateResult } from './pki/revoke.js';
export { fetchCrl } from './pki/crl.js';
export type { CrlInfo, RevokedEntry, FetchCrlOptions } from './pki/crl.js';
export { probeDistCertificate } from './probe.js';
export type { ProbeOptions, ProbeResult } from './probe.js';

// Renderers: the TLS optfile, vm.args / erl flags, Elixir release files.
export { renderOptfile } from './render/optfile.js';
export type { OptfileOptions, TlsVersion, Carrier } from './render/optfile.js';
export { distFlags, renderVmArgs } from './render/vm-args.js';
export type { DistFlagsOptions, VmArgsOptions } from './render/vm-args.js';
export { renderReleaseVmArgs, renderReleaseRemoteVmArgs, renderReleaseEnvSh, iexCommand } from './render/elixir.js';
export type { ReleaseVmArgsOptions, ReleaseEnvShOptions, IexCommandOptions } from './render/elixir.js';

// The registry plugin (#13): typed client.
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

// The exit codes of the vaultdist commands and the agent (for scripts that run them).
export { EXIT_CODES, EXIT_CODE_TABLE } from './exit-codes.js';
export type { ExitCode } from './exit-codes.js';
