/**
 * revokeCertificate and fetchCrl against a real OpenBao: serial and PEM revocation, no_store roles,
 * already-revoked and already-expired certificates, unknown serials and bad input.
 */
import {
  fetchCrl,
  isCertificateError,
  isVaultHttpError,
  parseNodeName,
  revokeCertificate,
} from '../../packages/sdk/src/index.js';
import { ensureRole, nodeRoleBody, requestNodeCertificate } from '../../packages/sdk/src/internal.js';
import { useTestPki } from '../helpers/setup.js';

describe('revokeCertificate / fetchCrl (real OpenBao)', () => {
  const pki = useTestPki();
  beforeAll(async () => {
    await ensureRole(pki.vault, pki.mount, 'nostore', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h', noStore: true }));
  });

  const issue = (role: string, ttl = '1h') => requestNodeCertificate(pki.vault, { mount: pki.mount, role, node: parseNodeName('rv@127.0.0.1'), ttl });

  it('revokes by serial (any spelling); a second revoke reports the original time; the CRL lists it', async () => {
    const cert = await issue(pki.role);
    const upper = cert.serial.replace(/:/g, '').toUpperCase();
    const first = await revokeCertificate(pki.vault, { mount: pki.mount, serial: upper });
    expect(first.state).toBe('revoked');
    expect(first.serial).toBe(cert.serial);
    const again = await revokeCertificate(pki.vault, { mount: pki.mount, serial: cert.serial });
    expect(again.revokedAt?.getTime()).toBe(first.revokedAt?.getTime());
    const crl = await fetchCrl(pki.vault, pki.mount);
    expect(crl.revoked.map((r) => r.serial)).toContain(cert.serial);
    expect(crl.nextUpdate!.getTime()).toBeGreaterThan(Date.now());
    expect(crl.der.subarray(0, 1)[0]).toBe(0x30);
  });

  it('no_store role: serial revocation fails with a hint to pass the PEM; PEM revocation works', async () => {
    const cert = await issue('nostore');
    const err = await revokeCertificate(pki.vault, { mount: pki.mount, serial: cert.serial }).catch((e: unknown) => e);
    expect(isVaultHttpError(err)).toBe(true);
    expect((err as Error).message).toMatch(/no_store=true .*certificate PEM/);
    const ok = await revokeCertificate(pki.vault, { mount: pki.mount, certificate: cert.certificate });
    expect(ok).toMatchObject({ state: 'revoked', serial: cert.serial });
    expect((await fetchCrl(pki.vault, pki.mount)).revoked.map((r) => r.serial)).toContain(cert.serial);
  });

  it('an already-expired certificate: 200 with only a warning, surfaced as expired-not-revoked', async () => {
    const cert = await issue(pki.role, '2s');
    await new Promise((r) => setTimeout(r, Math.max(0, cert.expiration.getTime() - Date.now()) + 1100));
    const r = await revokeCertificate(pki.vault, { mount: pki.mount, certificate: cert.certificate });
    expect(r.state).toBe('expired-not-revoked');
    expect(r.revokedAt).toBeUndefined();
    expect(r.warnings.join(' ')).toMatch(/expired/i);
  });

  it('unknown serials and bad input give typed errors', async () => {
    const unknown = await revokeCertificate(pki.vault, { mount: pki.mount, serial: '01:02:03:04' }).catch((e: unknown) => e);
    expect(isVaultHttpError(unknown) && unknown.status).toBe(400);
    for (const bad of [{ serial: 'not-hex!' }, { certificate: 'nope' }, { certificate: `${pki.rootPem}` }, {}]) {
      const e = await revokeCertificate(pki.vault, { mount: pki.mount, ...bad }).catch((x: unknown) => x);
      expect([JSON.stringify(bad).slice(0, 30), isCertificateError(e)]).toEqual([JSON.stringify(bad).slice(0, 30), true]);
    }
  });
});
