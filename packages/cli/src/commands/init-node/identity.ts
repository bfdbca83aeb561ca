/**
 * `init node`'s Vault side (issue #12 part 1): make sure the node has its own identity, and get a client
 * that signs AS THE NODE. Three ways in, each checked before anything is issued or written:
 *
 * 1. operator token (may write policies and PKI roles, per `sys/capabilities-self`): read the template
 *    role `init vault` made (`--role`), check the host against it, create/update the node's identity
 *    (SDK `ensureNodeIdentity`), then log in through the node's own AppRole role with a fresh
 *    single-use secret_id (or, without AppRole, a 10-minute token holding only the node's policy);
 * 2. the node's AppRole credentials (`--role-id` + secret_id, from `init vault --node`): log in and
 *    check that the role is this node's (`vaultdist-<slug>`), not another node's or the old shared one;
 * 3. a token that may only sign for this node (the node's policy): sign with it.
 */
import {
  appRoleAuth,
  ensureNodeIdentity,
  type NodeIdentityNames,
  type NodeName,
  type VaultClient,
} from '@vaultdist/sdk';
import {
  createSecretId,
  hostAllowed,
  hostTemplateOf,
  readIssuingCaPems,
  readRoleId,
} from '@vaultdist/sdk/internal';
import { EXIT, ExitError, toExitError } from '../../errors.js';
import type { NodeSettings } from '../../node-dir.js';
import type { Output } from '../../output.js';
import { authenticate, type AppRoleFlags } from '../../vault.js';

export interface NodeAccess {
  /** How the node's identity was reached. */
  mode: 'operator' | 'approle' | 'node-token';
  /** Client logged in as the node (signs through `<mount>/sign/vaultdist-<slug>`); undefined when no sign is needed. */
  signer: VaultClient | undefined;
  /** AppRole credentials of the node for the agent's files, when the agent logs in with AppRole. */
  appRole: { roleId: string; secretId: string } | undefined;
  /** How the agent.yaml logs in: the flag, else cert over HTTPS, else the node's AppRole role when it has one, else token. */
  agentAuth: NodeSettings['agentAuth'];
  /** Revokes the short-lived login token used for the sign (best effort). */
  done(): Promise<void>;
}

/** The AppRole login of `init node` itself: one use, ten minutes; the agent gets its own secret_id. */
const SIGN_LOGIN = { numUses: 1, ttl: '10m' } as const;

export async function nodeAccess(
  base: VaultClient,
  flags: AppRoleFlags,
  s: NodeSettings,
  node: NodeName,
  names: NodeIdentityNames,
  o: {
    needSign: boolean;
    agentAuth: NodeSettings['agentAuth'] | undefined;
    https: boolean;
    haveAppRoleFiles: { roleId: string } | undefined;
    /** Local checks that need the node directory (mkdir, --owner): run after every Vault-side check, before the first Vault write. */
    beforeWrite: () => Promise<void>;
  },
  out: Output,
): Promise<NodeAccess | undefined> {
  const roleId = flags.roleId ?? out.io.env.VAULTDIST_ROLE_ID;
  if (roleId) {
    if (!o.needSign) return undefined;
    const a = await authenticate(base, { ...flags, approleMount: s.approleMount }, out);
    const got = a.appRole?.roleName;
    if (got !== names.role) {
      const shared = got && !got.startsWith('vaultdist-');
      throw new ExitError(EXIT.AUTH, `--role-id: these AppRole credentials belong to the role ${got ?? '(unknown)'}, not to ${node.full}'s own role ${names.role}`, {
        hint: shared
          ? `that is the shared role of older vaultdist versions; run \`vaultdist init vault … --node ${node.full}\` for credentials of this node's own role`
          : `use the credentials \`vaultdist init vault --node ${node.full}\` printed for this node`,
      });
    }
    await o.beforeWrite();
    return { mode: 'approle', signer: a.vault, appRole: a.appRole, agentAuth: o.agentAuth ?? (o.https ? 'cert' : 'approle'), done: () => revokeSelf(a.vault) };
  }
  if (base.connection.token === undefined) {
    if (!o.needSign) return undefined;
    throw new ExitError(EXIT.AUTH, `no Vault credentials for ${base.connection.address}`, {
      hint: 'pass --role-id with --wrapped-secret-id/--secret-id (from `init vault --node NAME@HOST`), or an operator token: --token / BAO_TOKEN / VAULT_TOKEN',
    });
  }

  // Which token is it? (default policy grants sys/capabilities-self)
  const rolePath = `${s.mount}/roles/${names.role}`;
  const policyPath = `sys/policies/acl/${names.policy}`;
  const signPath = `${s.mount}/sign/${names.role}`;
  const caps = await step('checking the token', () => base.write<Record<string, string[] | undefined>>('sys/capabilities-self', { paths: [rolePath, policyPath, signPath] }));
  const can = (p: string, ...c: string[]) => (caps.data?.[p] ?? []).some((x) => x === 'root' || x === 'sudo' || c.includes(x));
  if (!(can(rolePath, 'create', 'update') && can(policyPath, 'create', 'update'))) {
    if (!can(signPath, 'update', 'create')) {
      throw new ExitError(EXIT.AUTH, `the token may neither set up ${node.full}'s Vault identity (${policyPath}, ${rolePath}) nor sign through ${signPath}`, {
        hint: `use an operator token, or the node's own credentials from \`vaultdist init vault --node ${node.full}\``,
      });
    }
    if (o.agentAuth === 'approle' && !o.haveAppRoleFiles) {
      throw new ExitError(EXIT.CONFIG, `--agent-auth approle: a node token cannot create the node's AppRole secret_id`, { hint: 'pass --role-id/--wrapped-secret-id, or an operator token' });
    }
    const agentAuth = o.agentAuth ?? (o.https ? 'cert' : o.haveAppRoleFiles ? 'approle' : 'token');
    await o.beforeWrite();
    return { mode: 'node-token', signer: o.needSign ? base : undefined, appRole: undefined, agentAuth, done: async () => {} };
  }

  // (1) operator: the template role, the host, the auth mounts, the CA: all checked before writing.
  const tpl = await step(`reading the template role ${s.mount}/roles/${s.baseRole}`, () => base.read<Record<string, unknown>>(`${s.mount}/roles/${s.baseRole}`, { allowNotFound: true }));
  if (!tpl.data) {
    throw new ExitError(EXIT.CONFIG, `${base.connection.address}/v1/${s.mount}/roles/${s.baseRole} does not exist (the role \`init vault\` makes; its hosts, key type and TTLs are the template of ${names.role})`, {
      hint: 'run `vaultdist init vault` first, or pass the --mount/--role it used',
    });
  }
  if (!hostAllowed(node.host, hostTemplateOf(tpl.data))) {
    throw new ExitError(EXIT.ISSUE, `${node.full}: host ${node.host} is not allowed by ${base.connection.address}/v1/${s.mount}/roles/${s.baseRole} (nothing was created or issued)`, {
      hint: `run \`vaultdist init vault --allowed-hosts …\` with ${node.host} in the list`,
    });
  }
  const auths = (await step('reading the auth mounts', () => base.read<Record<string, { type?: string }>>('sys/auth'))).data ?? {};
  const approleAvailable = auths[`${s.approleMount}/`]?.type === 'approle';
  const certAvailable = auths[`${s.certAuthMount}/`]?.type === 'cert';
  const agentAuth = o.agentAuth ?? (o.https ? 'cert' : approleAvailable ? 'approle' : 'token');
  if (agentAuth === 'approle' && !approleAvailable) {
    throw new ExitError(EXIT.CONFIG, `--agent-auth approle: there is no AppRole auth at ${base.connection.address}/v1/auth/${s.approleMount}`, { hint: 'run `vaultdist init vault --auth approle,…`, or pass --approle-mount' });
  }
  if (agentAuth === 'cert' && !certAvailable) out.warn(`the agent renews with cert auth, but there is no cert auth at auth/${s.certAuthMount} (run \`vaultdist init vault --auth cert,…\` or pass --cert-auth-mount)`);
  // the cert role trusts the issuing intermediate(s) with a key in the mount, all of them during a rotation
  const ca = await step(`reading the issuing CAs of ${s.mount}/`, () => readIssuingCaPems(base, s.mount));
  if (!ca) throw new ExitError(EXIT.CONFIG, `${base.connection.address}/v1/${s.mount}/ has no CA`, { hint: 'run `vaultdist init vault` first' });

  const ttl = (v: unknown) => (typeof v === 'number' && v > 0 ? `${v}s` : typeof v === 'string' && v && v !== '0' ? v : undefined);
  const keyType = tpl.data.key_type;
  await o.beforeWrite();
  const r = await step(`setting up ${node.full}'s Vault identity`, () =>
    ensureNodeIdentity(base, node, {
      pkiMount: s.mount,
      registryMount: s.registryMount,
      policyPrefix: s.policyPrefix,
      ...(keyType === 'ec' || keyType === 'rsa' || keyType === 'ed25519' || keyType === 'any' ? { keyType } : {}),
      ...(typeof tpl.data.key_bits === 'number' ? { keyBits: tpl.data.key_bits } : {}),
      ...(ttl(tpl.data.ttl) ? { ttl: ttl(tpl.data.ttl)! } : {}),
      ...(ttl(tpl.data.max_ttl) ? { maxTtl: ttl(tpl.data.max_ttl)! } : {}),
      approleMount: approleAvailable ? s.approleMount : false,
      certMount: certAvailable ? s.certAuthMount : false,
      caPem: ca,
    }),
  );
  for (const c of r.steps) {
    for (const w of c.warnings) out.warn(w);
    if (c.changed) out.progress(c.action);
  }

  // The agent's AppRole files: the node's own role_id and a secret_id of its own (kept if current).
  let appRole: NodeAccess['appRole'];
  let nodeRoleId: string | undefined;
  if (approleAvailable) nodeRoleId = await step(`reading the role_id of ${names.role}`, () => readRoleId(base, names.role, { mount: s.approleMount }));
  if (agentAuth === 'approle' && nodeRoleId && o.haveAppRoleFiles?.roleId !== nodeRoleId) {
    const sid = await step(`creating a secret_id of ${names.role} for the agent`, () =>
      createSecretId(base, names.role, { mount: s.approleMount, wrapTtl: false, metadata: { created_by: 'vaultdist init node (agent)', node: node.full } }),
    );
    if (sid.wrapped) throw new ExitError(EXIT.INTERNAL, 'the secret_id came back wrapped');
    appRole = { roleId: nodeRoleId, secretId: sid.secretId };
  }
  if (!o.needSign) return { mode: 'operator', signer: undefined, appRole, agentAuth, done: async () => {} };

  // Log in AS THE NODE for the sign: the certificate comes through the node's own identity.
  let signer: VaultClient;
  if (nodeRoleId) {
    const sid = await step(`creating a one-use secret_id of ${names.role}`, () =>
      createSecretId(base, names.role, { mount: s.approleMount, wrapTtl: false, numUses: SIGN_LOGIN.numUses, ttl: SIGN_LOGIN.ttl, metadata: { created_by: 'vaultdist init node', node: node.full } }),
    );
    if (sid.wrapped) throw new ExitError(EXIT.INTERNAL, 'the secret_id came back wrapped');
    out.progress(`logging in as ${node.full} (AppRole role ${s.approleMount}/${names.role})`);
    signer = base.extend({ auth: appRoleAuth({ roleId: nodeRoleId, secretId: sid.secretId, mount: s.approleMount }), token: undefined });
  } else {
    const t = await step(`creating a 10-minute token with ${names.policy} only`, () =>
      base.write('auth/token/create', { policies: [names.policy], ttl: SIGN_LOGIN.ttl, display_name: names.role, meta: { node: node.full } }),
    );
    const token = t.auth?.client_token;
    if (!token) throw new ExitError(EXIT.INTERNAL, 'auth/token/create answered without a token');
    out.progress(`signing as ${node.full} with a token holding only the policy ${names.policy}`);
    signer = base.extend({ token });
  }
  return { mode: 'operator', signer, appRole, agentAuth, done: () => revokeSelf(signer) };

  async function step<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof ExitError) throw e;
      const x = toExitError(e, 'vault-admin');
      if (x instanceof ExitError) throw new ExitError(x.code, `${what}: ${x.message}`, { cause: e, ...(x.hint ? { hint: x.hint } : {}) });
      throw e;
    }
  }
}

async function revokeSelf(vault: VaultClient): Promise<void> {
  try {
    await vault.write('auth/token/revoke-self', {}, { idempotent: true });
  } catch {
    /* best effort: the token expires on its own (10 minutes / token_ttl) */
  }
}
