/**
 * `tsx scripts/vault-dev/src/cli.ts [--registry-plugin]`: runs an OpenBao dev server until Ctrl-C,
 * printing the environment to use it (with --registry-plugin: the vaultdist registry plugin registered
 * through the server config and enabled at vaultdist/). For manual exploration; tests and the demo call
 * `startVaultDev()`.
 */
import { startVaultDev } from './index.js';

const dev = await startVaultDev({ registryPlugin: process.argv.includes('--registry-plugin') });
process.stdout.write(
  `export VAULT_ADDR=${dev.addr}\nexport VAULT_TOKEN=${dev.token}\n# TLS listener (cert auth): ${dev.tlsAddr} with VAULT_CACERT=${dev.caCertPath}\n# log: ${dev.logPath}\n${dev.registry ? `# registry plugin ${dev.registry.version} (sha256 ${dev.registry.sha256}) at ${dev.registry.mount}/\n` : ''}`,
);
const stop = async () => {
  await dev.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
