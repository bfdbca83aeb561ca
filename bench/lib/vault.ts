/** A benchmark's own OpenBao dev server (scripts/vault-dev) with one PKI mount and a node role. */
import { randomBytes } from 'node:crypto';
import { createVaultClient, silentLogger, type VaultClient } from '../../packages/sdk/src/index.js';
import {
  ensureMount,
  ensureRole,
  ensureRootCa,
  nodeRoleBody,
} from '../../packages/sdk/src/internal.js';
import { startVaultDev, type VaultDev } from '../../scripts/vault-dev/src/index.js';

export interface BenchPki {
  dev: VaultDev;
  vault: VaultClient;
  mount: string;
  role: string;
  stop(): Promise<void>;
}

export async function startBenchPki(o: { ttl?: string; maxTtl?: string } = {}): Promise<BenchPki> {
  const dev = await startVaultDev();
  try {
    const vault = createVaultClient({ address: dev.addr, token: dev.token, env: {}, logger: silentLogger });
    const mount = `pki-bench-${randomBytes(3).toString('hex')}`;
    const role = 'node';
    await ensureMount(vault, mount, { maxLeaseTtl: '87600h' });
    await ensureRootCa(vault, mount, { commonName: `vaultdist bench root ${mount}`, ttl: '8760h' });
    await ensureRole(vault, mount, role, nodeRoleBody({ allowAnyName: true, ttl: o.ttl ?? '1h', maxTtl: o.maxTtl ?? '48h' }));
    return { dev, vault, mount, role, stop: () => dev.stop() };
  } catch (e) {
    await dev.stop();
    throw e;
  }
}
