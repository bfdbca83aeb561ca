// deploy-node.ts: a deploy hook that gets one Erlang node its short-lived mTLS certificate
// from Vault/OpenBao and writes everything the node needs to use it.
//
// Run it on the target host (or in the release pipeline) with:
//   VAULT_ADDR=https://vault.example:8200 VAULT_CACERT=/etc/vaultdist/vault-ca.pem \
//   VD_ROLE_ID=… VD_WRAPPED_SECRET_ID=… VD_NODE=app@10.0.0.5 VD_CERT_DIR=/etc/vaultdist/app \
//   node deploy-node.js
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  appRoleAuth,
  createVaultClient,
  issueNodeCredentials,
  isVaultSdkError,
  renderOptfile,
  renderReleaseEnvSh,
  renderVmArgs,
} from '@vaultdist/sdk';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

try {
  // Address, CA file, namespace … come from VAULT_* / BAO_* like Vault's own tools.
  // The secret_id arrives response-wrapped and is unwrapped exactly once, here.
  const vault = createVaultClient({
    auth: appRoleAuth({
      roleId: required('VD_ROLE_ID'),
      wrappingToken: required('VD_WRAPPED_SECRET_ID'),
      mount: process.env.VD_APPROLE_MOUNT, // default: approle
    }),
  });
  const dir = required('VD_CERT_DIR');
  const distPort = Number(process.env.VD_DIST_PORT ?? '9100');

  // Key made here, CSR signed by Vault, everything validated, then one atomic swap of
  // DIR/bundle.pem (key + leaf + chain) and DIR/ca.pem. Nothing is written if validation fails.
  const result = await issueNodeCredentials(vault, {
    mount: process.env.VD_PKI_MOUNT ?? 'pki_int',
    role: process.env.VD_PKI_ROLE ?? 'erlang-node',
    node: required('VD_NODE'),
    dir,
    ttl: '24h',
  });
  for (const warning of result.warnings) console.warn(`vault warning: ${warning}`);

  // ssl_dist.conf for -ssl_dist_optfile, a vm.args fragment for plain `erl`, and
  // rel/env.sh.eex for an Elixir release.
  const optfile = join(dir, 'ssl_dist.conf');
  await writeFile(optfile, renderOptfile({ bundleFile: result.written.bundlePath, caFile: result.written.caPath }));
  await writeFile(join(dir, 'vm.args'), renderVmArgs({ node: result.node, optfile, distPort }));
  await writeFile(join(dir, 'env.sh.eex'), renderReleaseEnvSh({ optfile, distPort, node: result.node }));

  console.log(JSON.stringify({ node: result.node.full, serial: result.leaf.serial, notAfter: result.leaf.notAfter, changed: result.written.changed }));
} catch (e) {
  // Typed errors carry a stable code and never a token, secret_id or private key.
  console.error(isVaultSdkError(e) ? `${e.code}: ${e.message}` : e);
  process.exitCode = 1;
}
