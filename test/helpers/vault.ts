/** Access to the run's OpenBao dev server and per-test PKI mounts. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createVaultClient,
  silentLogger,
  type VaultClient,
  type VaultClientOptions,
} from '../../packages/sdk/src/index.js';
import {
  ensureMount,
  ensureRole,
  ensureRootCa,
  nodeRoleBody,
  removeMount,
  type NodeRoleOptions,
} from '../../packages/sdk/src/internal.js';

export interface TestVault {
  addr: string;
  tlsAddr: string;
  token: string;
  caCertPath: string;
  logPath: string;
}

export function testVault(): TestVault {
  const addr = process.env.VAULTDIST_TEST_VAULT_ADDR;
  const token = process.env.VAULTDIST_TEST_VAULT_TOKEN;
  if (!addr || !token) throw new Error('no OpenBao dev server: run the tests through the jest config (globalSetup starts it)');
  return {
    addr,
    token,
    tlsAddr: process.env.VAULTDIST_TEST_VAULT_TLS_ADDR!,
    caCertPath: process.env.VAULTDIST_TEST_VAULT_CACERT!,
    logPath: process.env.VAULTDIST_TEST_VAULT_LOG!,
  };
}

/** A root-token client for the dev server (tests only). */
export function adminClient(extra: Partial<VaultClientOptions> = {}): VaultClient {
  const v = testVault();
  return createVaultClient({ address: v.addr, token: v.token, env: {}, logger: silentLogger, ...extra });
}

export const suffix = () => randomBytes(4).toString('hex');

export interface TestPki {
  mount: string;
  role: string;
  rootPem: string;
  vault: VaultClient;
  cleanup(): Promise<void>;
}

/** A fresh PKI mount with a root CA and a node role: `pki-<random>`. */
export async function createTestPki(o: { role?: Partial<NodeRoleOptions>; commonName?: string } = {}): Promise<TestPki> {
  const vault = adminClient();
  const mount = `pki-${suffix()}`;
  const role = 'node';
  await ensureMount(vault, mount, { maxLeaseTtl: '87600h' });
  const root = await ensureRootCa(vault, mount, { commonName: o.commonName ?? `vaultdist test root ${mount}`, ttl: '8760h' });
  await ensureRole(vault, mount, role, nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '24h', ...o.role }));
  return { mount, role, rootPem: root.certificate!, vault, cleanup: () => removeMount(vault, mount) };
}

/** A temp dir removed by the returned cleanup. */
export function testdir(prefix = 'vaultdist-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
