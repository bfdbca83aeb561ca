/**
 * `vaultdist init vault --registry`: the vaultdist registry plugin (packages/vault-plugin, issue #13).
 *
 * 1. preflight (once, reads only): the binary's sha256 (`--registry-sha256`, or hashed from
 *    `--registry-binary`), what the operator's token may do (`sys/capabilities-self` on the catalog
 *    entry, the mount and the cluster config), and the catalog entry the server already has
 *    (registered by its config file's `plugin` stanza, or earlier);
 * 2. steps for the plan, each idempotent: register the plugin in `sys/plugins/catalog` (sudo), enable
 *    it at the registry mount (or move an existing mount to this version and reload it), write the
 *    cluster config (allowed node names from --allowed-hosts);
 * 3. what the token may not do, or cannot (no sha256 known, the catalog lacks the plugin), is not
 *    attempted: the exact server configuration and commands to add are printed instead, before the plan.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { VaultClient } from '@vaultdist/sdk';
import type { Changed } from '@vaultdist/sdk/internal';
import { parseDuration } from '../../duration.js';
import { EXIT, ExitError } from '../../errors.js';
import type { Output } from '../../output.js';

/** The plugin version this CLI release configures (packages/vault-plugin/VERSION). */
export const REGISTRY_PLUGIN_VERSION = 'v0.1.0';
/** Catalog name of the plugin and the mount type. */
export const REGISTRY_PLUGIN_NAME = 'vaultdist';

export interface RegistryFlags {
  /** Cluster to configure at `<mount>/clusters/<cluster>`. @default "default" */
  cluster: string;
  /** Hex sha256 of the plugin binary in the server's plugin_directory. */
  sha256: string | undefined;
  /** A copy of that binary here, to hash instead of --registry-sha256. */
  binary: string | undefined;
  /** The plugin's version (compiled in; the catalog entry must say the same). @default REGISTRY_PLUGIN_VERSION */
  version: string;
  /** File name of the binary in plugin_directory. @default "vaultdist" */
  command: string;
  /** Registration lease TTL and the longest a registration lives. @default "60s", "10m" */
  ttl: string;
  maxTtl: string;
}

/** What init vault passes in (a subset of InitVaultOptions). */
export interface RegistryContext {
  registryMount: string;
  allowedHosts: string[];
  allowAnyHost: boolean;
  registry: RegistryFlags;
}

export interface RegistryStep {
  name: string;
  run(dryRun: boolean): Promise<Changed | Changed[]>;
}

const same = (action: string): Changed => ({ changed: false, action, warnings: [] });
const change = (action: string): Changed => ({ changed: true, action, warnings: [] });

/** allowed_nodes of the cluster config: any name on the hosts node certificates may name. */
export function allowedNodes(c: Pick<RegistryContext, 'allowAnyHost' | 'allowedHosts'>): string[] {
  return c.allowAnyHost ? ['*'] : c.allowedHosts.map((h) => `*@${h}`);
}

function validateFlags(c: RegistryContext): void {
  const r = c.registry;
  if (r.sha256 && !/^[0-9a-f]{64}$/i.test(r.sha256)) throw new ExitError(EXIT.USAGE, `--registry-sha256 ${JSON.stringify(r.sha256)}: expected 64 hex digits (sha256sum of the plugin binary)`);
  if (r.sha256 && r.binary) throw new ExitError(EXIT.USAGE, '--registry-sha256 and --registry-binary exclude each other');
  if (!/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(r.version)) throw new ExitError(EXIT.USAGE, `--registry-version ${JSON.stringify(r.version)}: expected a semantic version like ${REGISTRY_PLUGIN_VERSION}`);
  if (!/^[A-Za-z0-9_.-]+$/.test(r.command)) throw new ExitError(EXIT.USAGE, `--registry-command ${JSON.stringify(r.command)}: a file name in plugin_directory (letters, digits, _ . -)`);
  if (!/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$/.test(r.cluster)) throw new ExitError(EXIT.USAGE, `--registry-cluster ${JSON.stringify(r.cluster)}: letters, digits, _ . -, starting and ending with a letter or digit`);
  const ttl = parseDuration('--registry-ttl', r.ttl);
  const max = parseDuration('--registry-max-ttl', r.maxTtl);
  if (ttl > max) throw new ExitError(EXIT.USAGE, `--registry-ttl ${r.ttl} is longer than --registry-max-ttl ${r.maxTtl}`);
}

/** The server configuration and commands an operator adds by hand (printed when this token cannot). */
export function registryServerConfig(c: RegistryContext, sha256: string | undefined): string {
  const r = c.registry;
  const sum = sha256 ?? '<sha256sum of the vaultdist binary>';
  const nodes = allowedNodes(c)
    .map((p) => `'${p}'`)
    .join(',');
  return [
    `# 1. Put the plugin binary into the server's plugin directory as ${r.command} (mode 0755, owned by root).`,
    '# 2a. OpenBao >= 2.6: declare it in the server configuration, then restart (or SIGHUP) the server:',
    'plugin_directory = "/etc/openbao/plugins"   # your existing plugin_directory, if any',
    'plugin_auto_register = true',
    `plugin "secret" "${REGISTRY_PLUGIN_NAME}" {`,
    `  command   = "${r.command}"`,
    `  version   = "${r.version}"`,
    `  sha256sum = "${sum}"`,
    '}',
    '# 2b. HashiCorp Vault (plugin_directory set in its configuration), as an operator with sudo on sys/plugins/catalog:',
    `#   vault plugin register -sha256=${sum} -version=${r.version} -command=${r.command} secret ${REGISTRY_PLUGIN_NAME}`,
    '# 3. Enable and configure it (or run this command again with such a token):',
    `#   vault secrets enable -path=${c.registryMount} -plugin-version=${r.version} ${REGISTRY_PLUGIN_NAME}`,
    `#   vault write ${c.registryMount}/clusters/${r.cluster} allowed_nodes=${nodes} ttl=${r.ttl} max_ttl=${r.maxTtl}`,
  ].join('\n');
}

type Caps = Record<string, string[]>;

async function capabilities(vault: VaultClient, paths: string[]): Promise<Caps> {
  const r = await vault.write<Record<string, unknown>>('sys/capabilities-self', { paths }, { idempotent: true });
  const out: Caps = {};
  for (const p of paths) {
    const v = r.data?.[p] ?? (paths.length === 1 ? r.data?.capabilities : undefined);
    out[p] = Array.isArray(v) ? v.map(String) : [];
  }
  return out;
}

const may = (caps: string[], ...want: string[]) => caps.includes('root') || want.every((w) => (w === 'write' ? caps.includes('update') || caps.includes('create') : caps.includes(w)));

async function catalogEntry(vault: VaultClient, version: string): Promise<{ sha256: string; command: string } | undefined> {
  try {
    const r = await vault.read<{ sha256?: string; command?: string }>(`sys/plugins/catalog/secret/${REGISTRY_PLUGIN_NAME}?version=${encodeURIComponent(version)}`, { allowNotFound: true });
    return r.data?.sha256 ? { sha256: r.data.sha256, command: r.data.command ?? '' } : undefined;
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 400 || status === 403 || status === 404) return undefined; // not registered, or not ours to see
    throw e;
  }
}

async function mountInfo(vault: VaultClient, mount: string): Promise<{ type: string; pluginVersion: string; running: string } | undefined> {
  try {
    const r = await vault.read<{ type?: string; plugin_version?: string; running_plugin_version?: string }>(`sys/mounts/${mount}`, { allowNotFound: true });
    return r.data?.type ? { type: r.data.type, pluginVersion: r.data.plugin_version ?? '', running: r.data.running_plugin_version ?? '' } : undefined;
  } catch (e) {
    const status = (e as { status?: number }).status;
    // 400: OpenBao's "no matching mount"; 403: not ours to see (then not ours to enable either).
    if (status === 400 || status === 403) return undefined;
    throw e;
  }
}

/** Preflight (reads only) and the plan steps; prints the server configuration for what this token cannot do. */
export async function registrySteps(vault: VaultClient, c: RegistryContext, out: Output): Promise<RegistryStep[]> {
  validateFlags(c);
  const r = c.registry;
  const mount = c.registryMount;
  let sha256 = r.sha256?.toLowerCase();
  if (r.binary) {
    try {
      sha256 = createHash('sha256').update(await readFile(r.binary)).digest('hex');
    } catch (e) {
      throw new ExitError(EXIT.CONFIG, `--registry-binary ${r.binary}: ${(e as Error).message}`);
    }
  }
  const catalogPath = `sys/plugins/catalog/secret/${REGISTRY_PLUGIN_NAME}`;
  const configPath = `${mount}/clusters/${r.cluster}`;
  const caps = await capabilities(vault, [catalogPath, `sys/mounts/${mount}`, configPath]);
  const mayRegister = may(caps[catalogPath]!, 'write', 'sudo');
  const mayMount = may(caps[`sys/mounts/${mount}`]!, 'write');
  const mayConfigure = may(caps[configPath]!, 'write');
  const registered = await catalogEntry(vault, r.version);

  // What will be registered: the server's entry when it matches (or no sha256 was given), else ours.
  const needsRegistration = !registered || (sha256 !== undefined && registered.sha256 !== sha256);
  const canRegister = needsRegistration && sha256 !== undefined && mayRegister;
  const pluginReady = !needsRegistration || canRegister;
  const manual: string[] = [];
  if (needsRegistration && !canRegister) {
    manual.push(
      sha256 === undefined
        ? `the server has no plugin ${REGISTRY_PLUGIN_NAME} ${r.version} in its catalog, and no --registry-sha256/--registry-binary says which binary to register`
        : `this token may not register plugins (sudo + update on ${catalogPath})`,
    );
  }
  if (pluginReady && !mayMount) manual.push(`this token may not enable secrets engines at sys/mounts/${mount}`);
  if (pluginReady && !mayConfigure) manual.push(`this token may not write ${configPath}`);
  if (manual.length) {
    const text = `The vaultdist registry plugin is not set up fully by this run: ${manual.join('; ')}.\nAdd it by hand:\n${registryServerConfig(c, registered && !sha256 ? registered.sha256 : sha256)}`;
    if (out.json) out.warn(text);
    else {
      out.line(text);
      out.line('');
    }
  }

  const label = `plugin secret/${REGISTRY_PLUGIN_NAME} ${r.version}`;
  const steps: RegistryStep[] = [
    {
      name: 'registry-plugin',
      run: async (dry) => {
        if (!needsRegistration) return same(`${label} is registered (sha256 ${registered!.sha256.slice(0, 12)}…)`);
        if (!canRegister) return same(`${label}: not registered by this run (see the server configuration printed above)`);
        const what = `${registered ? 're-register' : 'register'} ${label} (sha256 ${sha256!.slice(0, 12)}…, command ${r.command} in the server's plugin_directory)`;
        if (!dry) {
          try {
            await vault.write(catalogPath, { sha256, version: r.version, command: r.command }, { idempotent: true });
          } catch (e) {
            throw new ExitError(EXIT.CONFIG, `registering ${label}: ${(e as Error).message}`, {
              cause: e,
              hint: `the binary must be in the server's plugin_directory as ${r.command}, with this sha256 and version ${r.version} compiled in:\n${registryServerConfig(c, sha256)}`,
            });
          }
        }
        return change(what);
      },
    },
    {
      name: 'registry-mount',
      run: async (dry) => {
        const m = await mountInfo(vault, mount);
        if (m && m.type !== REGISTRY_PLUGIN_NAME) throw new ExitError(EXIT.CONFIG, `mount ${mount}/ exists with type ${m.type}, not ${REGISTRY_PLUGIN_NAME}`, { hint: 'pass --registry-mount PATH for another mount' });
        if (!pluginReady || !mayMount) return same(`${REGISTRY_PLUGIN_NAME} at ${mount}/: ${m ? `enabled (${m.running || m.pluginVersion})` : 'not enabled by this run'}`);
        if (!m) {
          if (!dry) await vault.write(`sys/mounts/${mount}`, { type: REGISTRY_PLUGIN_NAME, plugin_version: r.version, description: 'vaultdist node registry' });
          return change(`enable ${REGISTRY_PLUGIN_NAME} ${r.version} at ${mount}/`);
        }
        // After a re-registration (a new binary of the same version) the mount must reload too, or it
        // keeps running the old process; a later start would find the sha256 changed (the 404 trap).
        if (m.pluginVersion === r.version && m.running === r.version && !canRegister) return same(`${REGISTRY_PLUGIN_NAME} ${r.version} is enabled at ${mount}/`);
        if (!dry) {
          if (m.pluginVersion !== r.version) await vault.write(`sys/mounts/${mount}/tune`, { plugin_version: r.version });
          await vault.write('sys/plugins/reload/backend', { mounts: [mount] }, { idempotent: true });
        }
        return change(`move ${mount}/ to ${REGISTRY_PLUGIN_NAME} ${r.version} and reload it (registrations are kept in its storage)`);
      },
    },
    {
      name: 'registry-cluster',
      run: async (dry) => {
        const want = { allowed_nodes: allowedNodes(c), ttl: parseDuration('--registry-ttl', r.ttl), max_ttl: parseDuration('--registry-max-ttl', r.maxTtl) };
        const desc = `cluster ${r.cluster} (allowed_nodes ${want.allowed_nodes.join(',')}, ttl ${r.ttl}, max_ttl ${r.maxTtl}) at ${configPath}`;
        if (!pluginReady || !mayConfigure) return same(`${desc}: not written by this run`);
        const m = await mountInfo(vault, mount);
        const have = m?.type === REGISTRY_PLUGIN_NAME ? (await vault.read<{ allowed_nodes?: string[]; ttl?: number; max_ttl?: number }>(configPath, { allowNotFound: true })).data : undefined;
        if (have && JSON.stringify([have.allowed_nodes, have.ttl, have.max_ttl]) === JSON.stringify([want.allowed_nodes, want.ttl, want.max_ttl])) return same(`${desc} is configured`);
        if (!dry) await vault.write(configPath, { allowed_nodes: want.allowed_nodes, ttl: `${want.ttl}s`, max_ttl: `${want.max_ttl}s` }, { idempotent: true });
        return change(`${have ? 'update' : 'configure'} ${desc}`);
      },
    },
  ];
  return steps;
}
