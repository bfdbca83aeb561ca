/**
 * The vaultdist registry plugin (packages/vault-plugin) for test servers: build it, put it in a
 * server's `plugin_directory` and register it the way an operator does, through the server's config
 * file (`plugin "secret" "vaultdist" { command, version, sha256sum }` with `plugin_auto_register`),
 * never through the hidden `-dev-plugin-dir` flag.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, chmod, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The plugin's Go module. */
export const REGISTRY_PLUGIN_SRC = join(ROOT, 'packages', 'vault-plugin');
/** Name in the server's plugin catalog, and the mount type. */
export const REGISTRY_PLUGIN_NAME = 'vaultdist';

export interface RegistryPluginBinary {
  /** Absolute path of the built binary. */
  path: string;
  /** Hex sha256 of the binary (what the catalog entry must name). */
  sha256: string;
  /** Version compiled in (what the catalog entry's `version` must equal). */
  version: string;
}

/**
 * Builds the plugin with packages/vault-plugin/build.sh (reproducible: same source and version give
 * the same sha256). `outDir` defaults to packages/vault-plugin/dist.
 */
export async function buildRegistryPlugin(o: { version?: string; outDir?: string } = {}): Promise<RegistryPluginBinary> {
  const args = [join(REGISTRY_PLUGIN_SRC, 'build.sh')];
  if (o.version) args.push('--version', o.version);
  if (o.outDir) args.push('--out', o.outDir);
  let stdout: string;
  try {
    ({ stdout } = await run('bash', args, { maxBuffer: 1 << 20, timeout: 600_000 }));
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`building the registry plugin failed (run scripts/setup, which installs Go): ${err.stderr || err.message}`);
  }
  const last = stdout.trim().split('\n').pop() ?? '';
  const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(last);
  if (!m) throw new Error(`build.sh printed no "<sha256>  <path>" line: ${stdout.slice(-500)}`);
  const out = o.outDir ?? join(REGISTRY_PLUGIN_SRC, 'dist');
  const version = o.version ?? (await readFile(join(out, 'vaultdist.version'), 'utf8')).trim();
  return { sha256: m[1]!, path: m[2]!, version };
}

async function newestSourceMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestSourceMtime(p));
    else if (/\.(go|mod|sum|sh)$|^VERSION$/.test(e.name)) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

/**
 * The default build in packages/vault-plugin/dist, rebuilt only when a source file is newer than the
 * binary (scripts/setup builds it; this keeps a test run after a Go edit honest).
 */
export async function registryPluginBinary(): Promise<RegistryPluginBinary> {
  const dist = join(REGISTRY_PLUGIN_SRC, 'dist');
  const bin = join(dist, 'vaultdist');
  try {
    const [b, version] = await Promise.all([stat(bin), readFile(join(dist, 'vaultdist.version'), 'utf8')]);
    if (b.mtimeMs >= (await newestSourceMtime(REGISTRY_PLUGIN_SRC))) {
      // Hashed here rather than read from vaultdist.sha256: what gets registered is what is on disk.
      return { path: bin, sha256: createHash('sha256').update(await readFile(bin)).digest('hex'), version: version.trim() };
    }
  } catch {
    /* not built yet */
  }
  return buildRegistryPlugin();
}

/** Copies the binary into `pluginDir` as `command` (mode 0755; a copy, since servers refuse symlinks leaving the directory). */
export async function installRegistryPlugin(pluginDir: string, binary: RegistryPluginBinary, command = REGISTRY_PLUGIN_NAME): Promise<string> {
  await mkdir(pluginDir, { recursive: true });
  const dest = join(pluginDir, command);
  await copyFile(binary.path, dest);
  await chmod(dest, 0o755);
  return dest;
}

/**
 * The server configuration that registers the plugin at start-up (OpenBao ≥ 2.6 declarative plugins;
 * HashiCorp Vault takes `plugin_directory` but registers through `sys/plugins/catalog` instead).
 */
export function registryPluginHcl(o: { pluginDir: string; binary: Pick<RegistryPluginBinary, 'sha256' | 'version'>; command?: string }): string {
  return [
    `plugin_directory = ${JSON.stringify(o.pluginDir)}`,
    'plugin_auto_register = true',
    `plugin "secret" "${REGISTRY_PLUGIN_NAME}" {`,
    `  command   = ${JSON.stringify(o.command ?? REGISTRY_PLUGIN_NAME)}`,
    `  version   = ${JSON.stringify(o.binary.version)}`,
    `  sha256sum = ${JSON.stringify(o.binary.sha256)}`,
    '}',
    '',
  ].join('\n');
}

/** Enables the registered plugin at `mount` (idempotent: an existing mount of this type is kept). */
export async function enableRegistryPlugin(addr: string, token: string, o: { mount: string; version: string }): Promise<void> {
  const h = { 'X-Vault-Token': token, 'Content-Type': 'application/json' };
  const existing = await fetch(`${addr}/v1/sys/mounts/${o.mount}`, { headers: h });
  if (existing.status === 200) {
    const body = (await existing.json()) as { data?: { type?: string }; type?: string };
    if ((body.data?.type ?? body.type) === REGISTRY_PLUGIN_NAME) return;
    throw new Error(`mount ${o.mount}/ exists with type ${body.data?.type ?? body.type}`);
  }
  const r = await fetch(`${addr}/v1/sys/mounts/${o.mount}`, {
    method: 'POST',
    headers: h,
    body: JSON.stringify({ type: REGISTRY_PLUGIN_NAME, plugin_version: o.version, description: 'vaultdist node registry' }),
  });
  if (r.status !== 204 && r.status !== 200) throw new Error(`enabling the registry plugin at ${o.mount}/: ${r.status} ${await r.text()}`);
}
