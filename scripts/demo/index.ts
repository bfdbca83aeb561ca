/**
 * vaultdist demo (README command 1). Foundation version: issues Vault-signed certificates for two
 * BEAM nodes, starts them with epmd-less mutual-TLS distribution, shows them connected, shows a
 * certificate-less node refused and port 4369 closed, then cleans everything up (also on Ctrl-C).
 * The examples issue extends this with `vaultdist init` and a live rotation by the agent.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createVaultClient,
  distFlags,
  ensureMount,
  ensureRole,
  ensureRootCa,
  issueNodeCredentials,
  nodeRoleBody,
  probeDistCertificate,
  removeMount,
  renderOptfile,
  silentLogger,
  type VaultClient,
} from '../../packages/sdk/src/index.js';
import { startVaultDev, type VaultDev } from '../vault-dev/src/index.js';
import { sharedFreePort, startNode, stopAllNodes, tcpOpen } from '../../test/helpers/erlang.js';

const t0 = Date.now();
const step = (msg: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);

let dev: VaultDev | undefined;
let vault: VaultClient | undefined;
let mount: string | undefined;
const work = mkdtempSync(join(tmpdir(), 'vaultdist-demo-'));
let cleaning = false;

async function cleanup() {
  if (cleaning) return;
  cleaning = true;
  await stopAllNodes().catch(() => {});
  if (vault && mount) await removeMount(vault, mount).catch(() => {});
  await dev?.stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  step('interrupted: cleaning up');
  void cleanup().then(() => process.exit(130));
});

async function main() {
  const external = process.env.BAO_ADDR ?? process.env.VAULT_ADDR;
  if (external) {
    step(`using the Vault at ${external} (from ${process.env.BAO_ADDR ? 'BAO_ADDR' : 'VAULT_ADDR'})`);
    vault = createVaultClient({ logger: silentLogger });
  } else {
    step('no VAULT_ADDR: starting an embedded OpenBao dev server on loopback');
    dev = await startVaultDev();
    vault = createVaultClient({ address: dev.addr, token: dev.token, env: {}, logger: silentLogger });
    step(`OpenBao ${(await vault.health()).version} active at ${dev.addr}`);
  }
  mount = `vaultdist-demo-${Math.random().toString(16).slice(2, 8)}`;
  await ensureMount(vault, mount, { maxLeaseTtl: '87600h' });
  await ensureRootCa(vault, mount, { commonName: 'vaultdist demo root', ttl: '24h' });
  await ensureRole(vault, mount, 'node', nodeRoleBody({ allowAnyName: true, ttl: '1h', maxTtl: '2h' }));
  step(`PKI mount ${mount}/ with an EC P-256 root CA and role "node" (serverAuth+clientAuth, URI SANs erlang://*)`);

  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  const port = await sharedFreePort(hosts);
  const nodes: Record<string, { dir: string; optfile: string; serial: string }> = {};
  for (const [name, ip] of [['foo', '127.0.0.1'], ['bar', '127.0.0.2']] as const) {
    const dir = join(work, name);
    const r = await issueNodeCredentials(vault, { mount, role: 'node', node: `${name}@${ip}`, dir, ttl: '1h' });
    const optfile = join(dir, 'ssl_dist.conf');
    writeFileSync(optfile, renderOptfile({ bundleFile: r.written.bundlePath, caFile: r.written.caPath }));
    nodes[name] = { dir, optfile, serial: r.leaf.serial };
    step(`${name}@${ip}: key generated locally, CSR signed by Vault, serial ${r.leaf.serial}, expires ${r.leaf.notAfter.toISOString()}`);
  }
  const flags = (n: string, ip: string) => distFlags({ optfile: nodes[n]!.optfile, distPort: port, listenInterface: ip });
  const foo = await startNode({ name: 'foo@127.0.0.1', dir: nodes.foo!.dir, flags: flags('foo', '127.0.0.1') });
  const bar = await startNode({ name: 'bar@127.0.0.2', dir: nodes.bar!.dir, flags: flags('bar', '127.0.0.2') });
  step(`started foo and bar: -proto_dist inet_tls -start_epmd false -erl_epmd_port ${port}`);
  const pong = await foo.ping('bar@127.0.0.2');
  step(`foo -> net_adm:ping('bar@127.0.0.2') = ${pong}; foo's nodes() = [${(await foo.nodes()).join(', ')}]`);
  const bundle = readFileSync(join(nodes.foo!.dir, 'bundle.pem'), 'utf8');
  const probe = await probeDistCertificate({ host: '127.0.0.2', port, cert: bundle, key: bundle, ca: readFileSync(join(nodes.foo!.dir, 'ca.pem'), 'utf8'), servername: '127.0.0.2' });
  step(`bar's distribution port serves serial ${probe.serial} over ${probe.protocol} (Vault issued ${nodes.bar!.serial})`);

  const noDir = join(work, 'nocert');
  const noOpt = join(noDir, 'ssl_dist.conf');
  const ca = join(nodes.foo!.dir, 'ca.pem');
  rmSync(noDir, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(noDir, { recursive: true });
  writeFileSync(noOpt, `[{server, [{cacertfile, "${ca}"}, {verify, verify_peer}, {fail_if_no_peer_cert, true}, {versions, ['tlsv1.3']}]}, {client, [{cacertfile, "${ca}"}, {verify, verify_peer}, {versions, ['tlsv1.3']}]}].\n`);
  const intruder = await startNode({ name: 'intruder@127.0.0.3', dir: noDir, flags: distFlags({ optfile: noOpt, distPort: port, listenInterface: '127.0.0.3' }) });
  step(`a node without a client certificate: ping foo = ${await intruder.ping('foo@127.0.0.1')} (foo logs "Certificate required")`);
  step(`port 4369 (epmd) on 127.0.0.1: ${(await tcpOpen('127.0.0.1', 4369)) ? 'OPEN (unexpected)' : 'closed'}`);
  const ok = pong === 'pong' && probe.serial === nodes.bar!.serial;
  step(ok ? 'summary: mutual-TLS distribution with Vault-issued certificates, no epmd. OK' : 'summary: FAILED');
  return ok;
}

main()
  .then(async (ok) => {
    await cleanup();
    step('cleaned up (nodes stopped, PKI mount removed, OpenBao stopped)');
    process.exit(ok ? 0 : 1);
  })
  .catch(async (e) => {
    process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
    await cleanup();
    process.exit(1);
  });
