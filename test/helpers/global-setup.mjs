// Jest global setup: one real OpenBao dev server for the whole run (each test creates its own PKI
// mount with a random suffix, so tests don't depend on each other). Workers inherit the env vars.
// Plain ESM loading the TypeScript helper through tsx, since jest does not transform ESM global setup.
import { tsImport } from 'tsx/esm/api';
import { debrisBegin } from './debris.mjs';

export default async function globalSetup() {
  debrisBegin();
  const { startVaultDev } = await tsImport('../../scripts/vault-dev/src/index.ts', import.meta.url);
  // The vaultdist registry plugin (#13) is registered through the server config and enabled at
  // vaultdist/ (VAULTDIST_TEST_REGISTRY_MOUNT), so registry tests can use this server.
  const dev = await startVaultDev({ registryPlugin: true });
  globalThis.__VAULTDIST_DEV__ = dev;
  process.env.VAULTDIST_TEST_VAULT_ADDR = dev.addr;
  process.env.VAULTDIST_TEST_VAULT_TLS_ADDR = dev.tlsAddr;
  process.env.VAULTDIST_TEST_VAULT_TOKEN = dev.token;
  process.env.VAULTDIST_TEST_VAULT_CACERT = dev.caCertPath;
  process.env.VAULTDIST_TEST_VAULT_LOG = dev.logPath;
  process.env.VAULTDIST_TEST_VAULT_PID = String(dev.pid);
  process.env.VAULTDIST_TEST_REGISTRY_MOUNT = dev.registry.mount;
}
