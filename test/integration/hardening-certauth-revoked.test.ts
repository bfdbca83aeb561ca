/**
 * Residual risk measured (SECURITY.md §3.5): when agents renew with Vault cert auth, is a REVOKED node
 * certificate still a valid login, able to mint itself a fresh certificate? And does registering the
 * PKI CRL with the cert auth mount (`auth/<mount>/crls/<name>`) close that?
 */
import { join } from 'node:path';
import {
  certAuth,
  createVaultClient,
  fetchCrl,
  isVaultSdkError,
  issueNodeCredentials,
  revokeCertificate,
  silentLogger,
} from '../../packages/sdk/src/index.js';
import {
  ensureAuthMethod,
  ensureCertRole,
  ensurePolicy,
  nodePolicy,
} from '../../packages/sdk/src/internal.js';
import { adminClient, suffix, testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

describe('cert-auth renewal with a revoked node certificate', () => {
  const admin = adminClient();
  const sfx = suffix();
  const mount = `cert-rv-${sfx}`;
  const policy = `vaultdist-rv-${sfx}`;
  const pki = useTestPki();
  const tmp = useTestdir();

  beforeAll(async () => {
    await ensurePolicy(admin, policy, nodePolicy(pki.mount, pki.role));
    await ensureAuthMethod(admin, mount, 'cert');
    await ensureCertRole(admin, 'nodes', { mount, certificate: pki.rootPem, tokenPolicies: [policy], tokenTtl: '10m', allowedUriSans: ['erlang://*'] });
  });
  afterAll(async () => {
    await admin.delete(`sys/auth/${mount}`);
    await admin.delete(`sys/policies/acl/${policy}`);
  });

  it('logs in and re-issues until the CRL is registered with cert auth; then the login is refused', async () => {
    const v = testVault();
    const dir = join(tmp.dir, 'stolen');
    const stolen = await issueNodeCredentials(pki.vault, { mount: pki.mount, role: pki.role, node: 'stolen@127.0.0.1', dir });
    await revokeCertificate(pki.vault, { mount: pki.mount, serial: stolen.leaf.serial });
    expect((await fetchCrl(pki.vault, pki.mount)).revoked.map((r) => r.serial)).toContain(stolen.leaf.serial);

    const login = () =>
      createVaultClient({ address: v.tlsAddr, caCertPath: v.caCertPath, env: {}, logger: silentLogger, auth: certAuth({ certFile: stolen.written.bundlePath, name: 'nodes', mount }) });

    // 1. Revoked in the PKI mount only: the thief still logs in and mints a fresh certificate.
    const thief = login();
    const fresh = await issueNodeCredentials(thief, { mount: pki.mount, role: pki.role, node: 'stolen@127.0.0.1', dir: join(tmp.dir, 'fresh') }).catch((e: unknown) => e);
    const before = isVaultSdkError(fresh) ? `refused: ${fresh.message}` : `logged in and re-issued serial ${(fresh as { leaf: { serial: string } }).leaf.serial}`;

    // 2. The CRL registered with the cert auth mount: the revoked certificate can no longer log in.
    await admin.write(`auth/${mount}/crls/${pki.mount}`, { crl: (await fetchCrl(pki.vault, pki.mount)).pem });
    const after = await login()
      .read('auth/token/lookup-self')
      .then(() => 'logged in')
      .catch((e: unknown) => `refused: ${(e as Error).message}`);
    console.log(`cert auth with a revoked node certificate (OpenBao):\n  PKI CRL only:                ${before}\n  CRL registered in cert auth: ${after}`);
    expect(after).toMatch(/^refused/);
    // Pin what SECURITY.md says: revocation in the PKI mount alone does not stop cert-auth renewal.
    expect(before).toMatch(/^logged in and re-issued/);
  });
});
