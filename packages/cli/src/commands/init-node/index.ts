/**
 * `vaultdist init node --name NAME@HOST --dir DIR`: the node side.
 *
 * 1. settings: flags over an existing DIR/vaultdist.json;
 * 2. the node's own Vault identity (issue #12, ./identity.ts): with an operator token create/update it,
 *    then sign AS THE NODE; with the node's AppRole credentials check they are this node's; then keep a
 *    live set that is valid for the node with > 1/3 of its life left, else key + CSR here, Vault signs
 *    through `<mount>/sign/vaultdist-<slug>`, validate, atomic swap (SDK issueNodeCredentials);
 * 3. companion Erlang modules (when the package ships them) into DIR/erlang + DIR/ebin;
 * 3b. with --crl: the first CRL directory (DIR/crl), before the node can ever start with CRL checking
 *    (fail-closed: an empty CRL directory refuses every peer);
 * 4. ssl_dist.conf, vm.args, Elixir snippets, agent config, settings: each written atomically, only if changed;
 * 5. print the next steps.
 */
import { isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { fetchCrl, nodeIdentityNames, parseNodeName, readCredentialFiles, requireDistributableNode, type TlsVersion } from '@vaultdist/sdk';
import { crlIssuerCandidates, writeCrlDir } from '@vaultdist/sdk/internal';
import { installCompanion } from '../../companion.js';
import { issueInto, liveSetIsFresh } from '../../credentials.js';
import { EXIT, ExitError } from '../../errors.js';
import { checkCanChown, chownNodeFiles, resolveOwner } from '../../owner.js';
import { checkNodeDir, checkTtlFlag, ensureDir, paths, readSettings, renderAll, renderIex, renderNodeVmArgs, erlFlagString, writeFileAtomic, type NodeSettings } from '../../node-dir.js';
import { formatDuration, type Output } from '../../output.js';
import { connectVault, type AppRoleFlags, type VaultFlags } from '../../vault.js';
import { nodeAccess } from './identity.js';
import { reloadRunningNode, userEdited } from './running-node.js';
import { addToHostAgentConfig, defaultHostAgentConfig, readHostAgentConfig } from '../../host-agent-config.js';
import { isIPv4 } from 'node:net';

/** The vm.args the previous run generated (undefined without one, or when it cannot be rendered). */
function previousVmArgs(prev: NodeSettings | undefined): string | undefined {
  if (!prev) return undefined;
  try {
    return renderNodeVmArgs(prev);
  } catch {
    return undefined;
  }
}

export interface InitNodeOptions extends VaultFlags, AppRoleFlags {
  name: string;
  dir: string;
  mount: string | undefined;
  /** The template role `init vault` made (`--role`); the node signs through its own `vaultdist-<slug>`. */
  role: string | undefined;
  /** Prefix of the node's policy name (`init vault --policy`). */
  policy: string | undefined;
  /** Registry plugin mount the node's policy grants. */
  registryMount: string | undefined;
  keyType: NodeSettings['keyType'] | undefined;
  ttl: string | undefined;
  distPort: number | undefined;
  listenInterface: string | undefined;
  tls: TlsVersion[] | undefined;
  companion: boolean;
  certAuthMount: string | undefined;
  healthPort: number | undefined;
  /** Renewal login of the agent; default cert over HTTPS, else the node's AppRole role when it has one, else token. */
  agentAuth: NodeSettings['agentAuth'] | undefined;
  /** `--connect-all false|true`; undefined keeps the previous setting (default true). */
  connectAll: boolean | undefined;
  /** The host's agent config this node is added to; default DIR/../agent.yaml. */
  agentConfig: string | undefined;
  /** CRL checking for distribution (--crl / --no-crl); undefined keeps the previous setting. */
  crl: boolean | undefined;
  forceIssue: boolean;
  /** `--owner USER[:GROUP]`: chown the credential set and the files the node reads; undefined keeps the previous setting. */
  owner: string | undefined;
  json: boolean;
}

export const NODE_DEFAULTS = {
  mount: 'pki_dist',
  role: 'erlang-node',
  policyPrefix: 'vaultdist-node',
  registryMount: 'vaultdist',
  keyType: 'ec-p256',
  distPort: 9100,
  certAuthMount: 'cert',
  healthPort: 9464,
} as const;

export async function initNode(o: InitNodeOptions, out: Output): Promise<number> {
  const node = parseNodeName(o.name);
  requireDistributableNode(node); // IPv6: refused up front with a replacement that works (#15)
  checkTtlFlag(o.ttl); // below the renewal schedule's floor: refused before anything is issued (#15)
  for (const [flag, v] of [['--policy', o.policy], ['--role', o.role]] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_.-]+$/.test(v)) throw new ExitError(EXIT.USAGE, `${flag} ${JSON.stringify(v)}: letters, digits, "_", "-" and "." only`);
  }
  for (const [flag, v] of [['--mount', o.mount], ['--registry-mount', o.registryMount], ['--cert-auth-mount', o.certAuthMount], ['--approle-mount', o.approleMount]] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(v)) throw new ExitError(EXIT.USAGE, `${flag} ${JSON.stringify(v)} has characters Vault paths do not allow`);
  }
  if (o.listenInterface !== undefined && !isIPv4(o.listenInterface)) throw new ExitError(EXIT.USAGE, `--listen-interface ${JSON.stringify(o.listenInterface)}: not an IPv4 address`);
  const dir = isAbsolute(o.dir) ? o.dir : resolve(out.io.cwd, o.dir);
  checkNodeDir(dir);
  // the host's agent config (issue #14): checked before anything is issued, written at (4c)
  const hostConfigPath = o.agentConfig ? resolve(out.io.cwd, o.agentConfig) : await defaultHostAgentConfig(dir);
  if (hostConfigPath) await readHostAgentConfig(hostConfigPath); // quotes, $, backtick … refused before anything is issued (#15)
  const owner = o.owner !== undefined ? resolveOwner(o.owner) : undefined;
  const prev = await readSettings(dir);
  if (prev && prev.node !== node.full) {
    throw new ExitError(EXIT.CONFIG, `${paths(dir).settings} belongs to node ${prev.node}, not ${node.full}`, { hint: 'use a directory per node' });
  }
  const base = connectVault(o, out);
  const settings: NodeSettings = {
    version: 1,
    node: node.full,
    dir,
    vaultAddr: base.connection.addresses.join(','),
    vaultCaCert: base.connection.caCertPath ? resolve(out.io.cwd, base.connection.caCertPath) : (prev?.vaultCaCert ?? null),
    mount: o.mount ?? prev?.mount ?? NODE_DEFAULTS.mount,
    role: '',
    baseRole: o.role ?? prev?.baseRole ?? NODE_DEFAULTS.role,
    policyPrefix: o.policy ?? prev?.policyPrefix ?? NODE_DEFAULTS.policyPrefix,
    registryMount: o.registryMount ?? prev?.registryMount ?? NODE_DEFAULTS.registryMount,
    keyType: o.keyType ?? prev?.keyType ?? NODE_DEFAULTS.keyType,
    ttl: o.ttl ?? prev?.ttl ?? '',
    distPort: o.distPort ?? prev?.distPort ?? NODE_DEFAULTS.distPort,
    listenInterface: o.listenInterface ?? prev?.listenInterface ?? (node.hostKind === 'ipv4' ? node.host : undefined),
    tlsVersions: o.tls ?? prev?.tlsVersions ?? ['tlsv1.3'],
    modules: [],
    certAuthMount: o.certAuthMount ?? prev?.certAuthMount ?? NODE_DEFAULTS.certAuthMount,
    certAuthRole: '',
    healthPort: o.healthPort ?? prev?.healthPort ?? NODE_DEFAULTS.healthPort,
    // resolved below, once it is known whether the node has an AppRole role (see (2))
    agentAuth: o.agentAuth ?? prev?.agentAuth ?? 'token',
    approleMount: o.approleMount ?? prev?.approleMount ?? 'approle',
    connectAll: o.connectAll ?? prev?.connectAll ?? true,
    crl: o.crl ?? prev?.crl ?? false,
    owner: owner ?? prev?.owner ?? null,
  };
  const names = nodeIdentityNames(node, { policyPrefix: settings.policyPrefix });
  settings.role = names.role;
  settings.certAuthRole = names.role;

  // (2) the node's Vault identity and a client signing as the node: every check before anything is written
  const fresh = o.forceIssue ? undefined : await liveSetIsFresh(settings);
  // 'token' was the old default on plain HTTP; a re-run moves such a node to its own identity (AppRole)
  const explicitAgentAuth = o.agentAuth ?? (prev?.agentAuth === 'token' ? undefined : prev?.agentAuth);
  const roleIdFile = await readFile(paths(dir).roleIdFile, 'utf8').then((t) => ({ roleId: t.trim() }), () => undefined);
  const https = base.connection.address.startsWith('https:');
  // mkdir + the --owner check run after every Vault-side check and before the first Vault write
  let dirReady = false;
  const prepareDir = async () => {
    if (dirReady) return;
    dirReady = true;
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new ExitError(EXIT.WRITE, `--dir ${dir}: ${(e as Error).message}`);
    }
    // fail before anything is issued when the files cannot be handed to the owner (not root)
    if (settings.owner) await checkCanChown(dir, settings.owner);
  };
  const access = await nodeAccess(
    base,
    { ...o, approleMount: settings.approleMount },
    settings,
    node,
    names,
    { needSign: !fresh, agentAuth: explicitAgentAuth, https, haveAppRoleFiles: roleIdFile, beforeWrite: prepareDir },
    out,
  );
  await prepareDir();
  // The agent logs in as the node: cert auth over HTTPS, else the node's AppRole role when it has one.
  settings.agentAuth = access?.agentAuth ?? explicitAgentAuth ?? (https ? 'cert' : roleIdFile ? 'approle' : 'token');
  const agentAppRole = access?.appRole;
  if (settings.agentAuth === 'cert' && !base.connection.address.startsWith('https:')) {
    out.warn(`the agent is set to renew with cert auth, which needs Vault over HTTPS (${base.connection.address} is not); pass --agent-auth approle or token`);
  }

  let serial: string;
  let notAfter: Date;
  let issued = false;
  try {
    if (fresh) {
      out.progress(`keeping the current certificate ${fresh.serial} (valid until ${fresh.notAfter.toISOString()})`);
      serial = fresh.serial;
      notAfter = fresh.notAfter;
    } else {
      const signer = access?.signer;
      if (!signer) throw new ExitError(EXIT.INTERNAL, 'no Vault client to sign with');
      out.progress(`generating a ${settings.keyType} key and CSR for ${node.full}; asking ${settings.mount}/sign/${settings.role} as the node`);
      const r = await issueInto(signer, settings);
      for (const w of r.warnings) out.warn(`Vault: ${w}`);
      out.progress(`certificate ${r.leaf.serial} valid until ${r.leaf.notAfter.toISOString()} written to ${paths(dir).bundle}`);
      serial = r.leaf.serial;
      notAfter = r.leaf.notAfter;
      issued = true;
    }
  } finally {
    await access?.done();
  }
  if (agentAppRole && settings.agentAuth === 'approle') {
    // The agent logs in with the node's own AppRole role; the secret_id stays on this host only (0600).
    await mkdir(resolve(dir, 'approle'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(paths(dir).roleIdFile, `${agentAppRole.roleId}\n`, 0o600);
    await writeFileAtomic(paths(dir).secretIdFile, `${agentAppRole.secretId}\n`, 0o600);
    out.progress(`AppRole credentials of ${names.role} for the agent written to ${resolve(dir, 'approle')} (0600)`);
  }

  if (settings.agentAuth === 'approle' && !existsSync(paths(dir).secretIdFile)) {
    out.warn(`agent.yaml uses AppRole but ${paths(dir).secretIdFile} does not exist: run init node with --role-id/--wrapped-secret-id, or pass --agent-auth token|cert`);
  }

  // (3)
  if (o.companion) {
    const c = await installCompanion(dir);
    if (c.warning) out.warn(c.warning);
    settings.modules = c.modules;
    if (c.modules.length) out.progress(`companion modules ${c.modules.join(', ')} installed into ${paths(dir).ebin} (${c.source === 'precompiled' ? 'precompiled' : c.source === 'erlc' ? 'compiled by erlc' : 'precompiled, the rest compiled by erlc'} for OTP ${c.otpRelease ?? '?'})`);
  }

  // (3b) the CRL directory exists and is fresh before an optfile with CRL checking is written
  let crl: { files: string[]; nextUpdate: string | undefined; revoked: number; changed: boolean } | undefined;
  if (settings.crl) {
    const p = paths(dir);
    out.progress(`fetching the CRL of ${settings.mount} for ${p.crlDir}`);
    const c = await fetchCrl(base, settings.mount);
    const files = await readCredentialFiles(dir);
    if (!files) throw new ExitError(EXIT.CONFIG, `${dir} has no credential set: the CRL's signature cannot be checked`);
    const w = await writeCrlDir(p.crlDir, [c.pem], crlIssuerCandidates(files), settings.owner ? { owner: settings.owner } : {});
    crl = { files: w.files, nextUpdate: w.nextUpdate?.toISOString(), revoked: c.revoked.length, changed: w.changed };
    if (w.changed) out.progress(`wrote the CRL directory ${p.crlDir} (${w.files.join(', ')}, next update ${crl.nextUpdate ?? 'none'})`);
  }

  // (4)
  const written: string[] = [];
  await ensureDir(resolve(dir, 'elixir'), 0o755); // umask-independent; a planted symlink is refused (#15)
  const kept: string[] = [];
  for (const [name, f] of Object.entries(renderAll(settings))) {
    // a re-run never silently drops the user's edit to vm.args (issue #14): it stays, the new one goes next to it
    if (name === 'vm.args' && (await userEdited(f.path, previousVmArgs(prev), f.text))) {
      await writeFileAtomic(`${f.path}.new`, f.text, f.mode);
      kept.push(f.path);
      out.warn(`${f.path} has local changes: kept as it is; this run's vm.args is in ${f.path}.new (merge it, then delete ${f.path}.new)`);
      continue;
    }
    if (await writeFileAtomic(f.path, f.text, f.mode)) {
      written.push(f.path);
      out.progress(`wrote ${name} → ${f.path}`);
    }
  }

  // (4b) --owner: the credential set (also a kept one), optfile, vm.args, ebin, CRL dir, approle files
  if (settings.owner) {
    const chowned = await chownNodeFiles(dir, settings.owner);
    out.progress(`owner ${settings.owner.uid}:${settings.owner.gid} set on ${chowned.length} path(s) in ${dir} (agent.yaml keeps it for renewals)`);
  }

  // (4c) one agent config for all the nodes of this host (issue #14)
  const hostConfig = hostConfigPath ? await addToHostAgentConfig(hostConfigPath, settings) : undefined;
  if (hostConfig?.changed) out.progress(`${node.full} is in the host's agent config ${hostConfig.path} (${hostConfig.nodes.length} node(s))`);

  // (4d) a replaced set reaches a running node now: the agent's reload + verify (issue #14)
  const running = issued ? await reloadRunningNode(settings, serial) : ({ state: 'not-running' } as const);
  if (running.state === 'reloaded') out.progress(`the running node (pid ${running.pid}) ${running.verified ? `now serves certificate ${running.serial}` : 'was reloaded'}`);
  else if (running.state === 'failed') out.warn(`the running node (pid ${running.pid}) still serves its old certificate: ${running.reason}; restart it, or let the agent reload it`);

  // (5)
  const p = paths(dir);
  if (out.json) {
    out.emit({ node: node.full, dir, serial, notAfter: notAfter.toISOString(), issued, written, kept, agentConfig: hostConfig?.path ?? p.agentConfig, running, crl, files: Object.fromEntries(Object.entries(renderAll(settings)).map(([k, v]) => [k, v.path])), settings });
    return EXIT.OK;
  }
  out.line(out.paint('bold', `Node ${node.full} is ready in ${dir}`));
  out.line(`  certificate ${serial}, expires ${notAfter.toISOString()} (in ${formatDuration(notAfter.getTime() - Date.now())})${issued ? '' : ' (kept)'}`);
  out.line(`  ${written.length ? `${written.length} file(s) written` : 'no files changed'}`);
  const login =
    settings.agentAuth === 'cert'
      ? `cert auth at auth/${settings.certAuthMount} as ${names.role}`
      : settings.agentAuth === 'approle'
        ? `AppRole ${settings.approleMount}/${names.role} (${paths(dir).roleIdFile}, secret-id)`
        : `the token in BAO_TOKEN/VAULT_TOKEN where it runs (give it only the policy ${names.policy})`;
  out.line(`  Vault identity: ${settings.mount}/roles/${names.role} signs only ${names.uri}; the agent logs in with ${login}`);
  out.line('');
  out.line(out.paint('bold', 'Next steps:'));
  out.line(`  1. start the node (Erlang):  erl -args_file ${p.vmArgs}`);
  out.line(`     every node uses distribution port ${settings.distPort} on its own address (same cookie on all nodes: ~/.erlang.cookie)`);
  out.line(`  2. or Elixir:                ${renderIex(settings).split('\n')[2]!.replace(/^exec /, '').replace(/ "\$@"$/, '')}`);
  out.line(`     releases: copy ${p.elixirEnv}, ${p.elixirVmArgs} and ${p.elixirRemoteVmArgs} to rel/ (env.sh.eex, vm.args.eex, remote.vm.args.eex)`);
  if (running.state === 'reloaded') out.line(`  the running node (pid ${running.pid}) ${running.verified ? `now serves certificate ${running.serial}` : 'was reloaded'}`);
  out.line(hostConfig ? `  3. keep certificates fresh (one agent for every node of this host):  vaultdist agent --config ${hostConfig.path}` : `  3. keep certificates fresh:  vaultdist agent --config ${p.agentConfig}   (with several nodes on this host: --agent-config FILE makes one config for all)`);
  if (settings.crl) {
    out.line(`     CRL checking is on: peers are checked against ${p.crlDir} (next update ${crl?.nextUpdate ?? 'none'});`);
    out.line('     the agent must keep running: a missing or stale CRL makes the node refuse EVERY peer');
  }
  out.line(`  4. check it:                 vaultdist doctor --dir ${dir} --probe ${node.host}:${settings.distPort}`);
  out.line(`  remote shells need the same flags plus -dist_listen false: ${erlFlagString(settings, { noListen: true })}`);
  return EXIT.OK;
}
