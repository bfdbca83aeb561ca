/**
 * Typed client for the vaultdist registry plugin (issue #13): an authenticated node registry that
 * replaces epmd. Paths (mount default `vaultdist/`):
 * - `clusters/:cluster` — operator config (`allowed_nodes`, `ttl`, `max_ttl`);
 * - `clusters/:cluster/nodes/:node` — write = register (a leased secret), read = one member,
 *   delete = deregister (the node itself) or evict (an operator);
 * - `clusters/:cluster/members` — every live member in one call;
 * - `sys/leases/renew` — renewing a registration.
 *
 * Every input is validated before a request is sent (typed `ConfigError` / `NodeNameError` naming it).
 *
 * Note: `VaultResponse` does not carry the top-level `lease_id`/`lease_duration` of Vault's envelope,
 * so the two lease-returning calls read the envelope themselves (`raw`), and pass its warnings to the
 * client's logger the way the client does.
 */
import type { VaultClient } from '../client.js';
import { ConfigError, VaultResponseError, isVaultHttpError } from '../errors.js';
import { redactUrl } from '../transport/redact.js';
import {
  checkCluster,
  checkHost,
  checkLeaseId,
  checkMeta,
  checkMount,
  checkOtpRelease,
  checkPort,
  checkRegistryNode,
  checkSerial,
  DEFAULT_REGISTRY_MOUNT,
} from './validate.js';

/** Where a cluster lives: the plugin mount and the cluster name. */
export interface RegistryTarget {
  /** @default "vaultdist" */
  mount?: string | undefined;
  /** Cluster name, one path segment (`[A-Za-z0-9][A-Za-z0-9_.-]{0,62}`). */
  cluster: string;
  signal?: AbortSignal | undefined;
}

/** Options of `registerNode`: cluster, node, port and optional host, OTP release, serial, meta. */
export interface RegisterNodeOptions extends RegistryTarget {
  /** `name@host` (the caller's own node; Vault's ACL on the node path enforces that). */
  node: string;
  /** The node's distribution port. */
  port: number;
  /** Address peers dial; defaults (plugin side) to the node name's host. */
  host?: string | undefined;
  /** `erlang:system_info(otp_release)`, e.g. "27". */
  otpRelease?: string | undefined;
  /** Serial of the certificate the node serves (any spelling; stored normalized). */
  serial?: string | undefined;
  /** Free-form string metadata. */
  meta?: Record<string, string> | undefined;
}

/** A registration as the plugin returns it, plus the lease to renew. */
export interface Registration {
  node: string;
  host: string;
  port: number;
  registeredAt: Date | undefined;
  expiresAt: Date | undefined;
  /** Bumped by every (re-)registration; an old lease never removes a newer registration. */
  generation: number | undefined;
  leaseId: string;
  leaseDurationSeconds: number;
  renewable: boolean;
}

/** Options of `renewRegistration`: the lease to renew and an optional increment. */
export interface RenewRegistrationOptions {
  leaseId: string;
  /** Requested extension; Vault/the plugin cap it at the cluster's ttl/max_ttl. */
  incrementSeconds?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** A renewed registration lease: id, duration in seconds, whether it can be renewed again. */
export interface RenewedLease {
  leaseId: string;
  leaseDurationSeconds: number;
  renewable: boolean;
}

/** One live member of a cluster. */
export interface RegistryMember {
  node: string;
  host: string;
  port: number;
  otpRelease: string | undefined;
  serial: string | undefined;
  registeredAt: Date | undefined;
  expiresAt: Date | undefined;
  meta: Record<string, string>;
}

/** The live members of a cluster, and the entries left out because they failed validation (`rejected`). */
export interface MembersResult {
  cluster: string;
  members: RegistryMember[];
  /** Entries of the answer that failed validation (never passed on to a peers file), with why. */
  rejected: { entry: string; reason: string }[];
}

/** A cluster and one node in it (`readMember`, `deregisterNode`, `evictNode`). */
export interface NodeRefOptions extends RegistryTarget {
  node: string;
}

/** A cluster's registry configuration: allowed node globs, lease TTL and max TTL. */
export interface ClusterConfig {
  /** Node-name globs allowed to register, e.g. `["*@10.0.0.*"]`. @default ["*"] */
  allowedNodes: string[];
  /** Registration lease, e.g. "60s". */
  ttl: string | undefined;
  maxTtl: string | undefined;
}

/** Options of `writeClusterConfig`: the cluster and its configuration. */
export interface WriteClusterConfigOptions extends RegistryTarget {
  allowedNodes?: string[] | undefined;
  ttl?: string | undefined;
  maxTtl?: string | undefined;
}

const clusterPath = (t: RegistryTarget) => `${checkMount(t.mount)}/clusters/${checkCluster(t.cluster)}`;

interface Envelope {
  data?: Record<string, unknown> | null;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  warnings?: string[] | null;
}

function envelope(vault: VaultClient, path: string, text: string | undefined): Envelope {
  let b: unknown;
  try {
    b = JSON.parse(text ?? '');
  } catch (e) {
    throw new VaultResponseError(redactUrl(`${vault.connection.address}/v1/${path}`), 'malformed JSON answer', { cause: e });
  }
  if (!b || typeof b !== 'object') throw new VaultResponseError(redactUrl(`${vault.connection.address}/v1/${path}`), 'answer is not a JSON object');
  const env = b as Envelope;
  for (const w of Array.isArray(env.warnings) ? env.warnings : []) vault.logger.warn('vault warning', { path, warning: String(w) });
  return env;
}

const date = (v: unknown): Date | undefined => {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000);
  if (typeof v !== 'string' || !v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
};

function badAnswer(vault: VaultClient, path: string, why: string): VaultResponseError {
  return new VaultResponseError(redactUrl(`${vault.connection.address}/v1/${path}`), why);
}

/** Validates one member of an answer; throws a plain Error with the reason. */
function parseMember(raw: unknown): RegistryMember {
  if (!raw || typeof raw !== 'object') throw new Error('not an object');
  const m = raw as Record<string, unknown>;
  const node = checkRegistryNode(String(m.node ?? '')).full;
  const host = checkHost(String(m.host ?? node.slice(node.indexOf('@') + 1)));
  const port = checkPort(typeof m.port === 'string' ? Number(m.port) : m.port);
  const otp = typeof m.otp_release === 'string' && m.otp_release ? checkOtpRelease(m.otp_release) : undefined;
  const serial = typeof m.serial === 'string' && m.serial ? checkSerial(m.serial) : undefined;
  const meta: Record<string, string> = {};
  if (m.meta && typeof m.meta === 'object') for (const [k, v] of Object.entries(m.meta as Record<string, unknown>)) if (typeof v === 'string') meta[k] = v;
  return { node, host, port, otpRelease: otp, serial, registeredAt: date(m.registered_at), expiresAt: date(m.expires_at), meta };
}

/**
 * Registers `node → port` in a cluster (`POST <mount>/clusters/:cluster/nodes/:node`). Returns the
 * registration and its lease; renew it with `renewRegistration` before `leaseDurationSeconds` runs out.
 *
 * Registering again (a new port, a new certificate serial) replaces the entry and returns a new lease;
 * the old lease then expires without removing the new registration.
 *
 * @example
 * const reg = await registerNode(vault, { cluster: 'prod', node: 'app@10.0.0.5', port: 41234, otpRelease: '27' });
 * await renewRegistration(vault, { leaseId: reg.leaseId });
 * @throws ConfigError / NodeNameError (bad input, nothing sent), VaultPermissionDeniedError (another
 * node's name: the node policy covers only its own path), VaultHttpError 400 (refused by the plugin).
 */
export async function registerNode(vault: VaultClient, o: RegisterNodeOptions): Promise<Registration> {
  const node = checkRegistryNode(o.node).full;
  const body: Record<string, unknown> = { port: checkPort(o.port) };
  if (o.host !== undefined) body.host = checkHost(o.host);
  if (o.otpRelease !== undefined) body.otp_release = checkOtpRelease(o.otpRelease);
  if (o.serial !== undefined) body.serial = checkSerial(o.serial);
  if (o.meta !== undefined) body.meta = checkMeta(o.meta);
  const path = `${clusterPath(o)}/nodes/${node}`;
  // A retried registration is harmless: the plugin replaces the entry (new generation) and the
  // lease of the lost first answer expires without removing it.
  const r = await vault.request('POST', path, { body, raw: true, idempotent: true, signal: o.signal });
  const env = envelope(vault, path, r.text);
  const d = env.data ?? {};
  if (typeof env.lease_id !== 'string' || !env.lease_id) throw badAnswer(vault, path, 'registration answer has no lease_id (is the mount the vaultdist plugin?)');
  const port = Number(d.port ?? o.port);
  return {
    node: typeof d.node === 'string' ? d.node : node,
    host: typeof d.host === 'string' ? d.host : node.slice(node.indexOf('@') + 1),
    port: Number.isInteger(port) ? port : o.port,
    registeredAt: date(d.registered_at),
    expiresAt: date(d.expires_at),
    generation: typeof d.generation === 'number' ? d.generation : undefined,
    leaseId: env.lease_id,
    leaseDurationSeconds: typeof env.lease_duration === 'number' ? env.lease_duration : 0,
    renewable: env.renewable === true,
  };
}

/**
 * Renews a registration's lease (`PUT sys/leases/renew`). A 400 means the lease is gone (expired,
 * revoked, or the token behind it was revoked): register again.
 */
export async function renewRegistration(vault: VaultClient, o: RenewRegistrationOptions): Promise<RenewedLease> {
  const body: Record<string, unknown> = { lease_id: checkLeaseId(o.leaseId) };
  if (o.incrementSeconds !== undefined) {
    if (!Number.isInteger(o.incrementSeconds) || o.incrementSeconds < 1) throw new ConfigError([{ path: 'incrementSeconds', message: `must be a positive integer, got ${JSON.stringify(o.incrementSeconds)}` }]);
    body.increment = o.incrementSeconds;
  }
  const path = 'sys/leases/renew';
  const r = await vault.request('PUT', path, { body, raw: true, idempotent: true, signal: o.signal });
  const env = envelope(vault, path, r.text);
  if (typeof env.lease_id !== 'string' || typeof env.lease_duration !== 'number') throw badAnswer(vault, path, 'renewal answer has no lease_id/lease_duration');
  return { leaseId: env.lease_id, leaseDurationSeconds: env.lease_duration, renewable: env.renewable === true };
}

/**
 * Every live member of a cluster in one call (`GET <mount>/clusters/:cluster/members`). Entries that
 * fail the same validation as the inputs are left out and reported in `rejected`.
 */
export async function listMembers(vault: VaultClient, o: RegistryTarget): Promise<MembersResult> {
  const path = `${clusterPath(o)}/members`;
  const r = await vault.read<{ members?: unknown; cluster?: unknown }>(path, { signal: o.signal });
  const list = r.data?.members;
  if (list !== null && list !== undefined && !Array.isArray(list)) throw badAnswer(vault, path, 'members is not a list');
  const members: RegistryMember[] = [];
  const rejected: MembersResult['rejected'] = [];
  for (const raw of (list as unknown[] | null | undefined) ?? []) {
    try {
      members.push(parseMember(raw));
    } catch (e) {
      rejected.push({ entry: JSON.stringify(raw)?.slice(0, 200) ?? String(raw), reason: (e as Error).message });
    }
  }
  members.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return { cluster: typeof r.data?.cluster === 'string' ? r.data.cluster : o.cluster, members, rejected };
}

/**
 * One live member (`GET <mount>/clusters/:cluster/members/:node`, the read-only path a node policy
 * grants for any peer), or undefined when it is not registered.
 */
export async function readMember(vault: VaultClient, o: NodeRefOptions): Promise<RegistryMember | undefined> {
  const node = checkRegistryNode(o.node).full;
  const path = `${clusterPath(o)}/members/${node}`;
  const r = await vault.read<Record<string, unknown>>(path, { signal: o.signal, allowNotFound: true });
  if (r.status === 404 || !r.data) return undefined;
  try {
    return parseMember({ node, ...r.data });
  } catch (e) {
    throw badAnswer(vault, path, `malformed member: ${(e as Error).message}`);
  }
}

/**
 * Removes a registration (`DELETE <mount>/clusters/:cluster/nodes/:node`): a node deregistering
 * itself on a clean shutdown, or an operator evicting it. Removing an absent entry is not an error.
 * @returns whether Vault answered (a 404 counts as "already gone": false)
 */
export async function deregisterNode(vault: VaultClient, o: NodeRefOptions): Promise<boolean> {
  const node = checkRegistryNode(o.node).full;
  const path = `${clusterPath(o)}/nodes/${node}`;
  try {
    await vault.delete(path, { signal: o.signal, idempotent: true });
    return true;
  } catch (e) {
    if (isVaultHttpError(e) && e.status === 404) return false;
    throw e;
  }
}

/** Operator eviction: the same call as `deregisterNode`, named for what an operator does. */
export const evictNode = deregisterNode;

/** Writes a cluster's config (operator; `POST <mount>/clusters/:cluster`). */
export async function writeClusterConfig(vault: VaultClient, o: WriteClusterConfigOptions): Promise<void> {
  const path = clusterPath(o);
  const body: Record<string, unknown> = {};
  if (o.allowedNodes !== undefined) {
    if (!Array.isArray(o.allowedNodes) || o.allowedNodes.some((g) => typeof g !== 'string' || !/^[A-Za-z0-9_*.@?-]+$/.test(g))) {
      throw new ConfigError([{ path: 'allowedNodes', message: `must be node-name globs (letters, digits, "_", "-", ".", "@", "*", "?"), got ${JSON.stringify(o.allowedNodes)}` }]);
    }
    body.allowed_nodes = o.allowedNodes;
  }
  for (const [k, v] of [['ttl', o.ttl], ['max_ttl', o.maxTtl]] as const) {
    if (v === undefined) continue;
    if (!/^(\d+|(\d+(ms|s|m|h|d))+)$/.test(v)) throw new ConfigError([{ path: k === 'ttl' ? 'ttl' : 'maxTtl', message: `must be a duration like "60s" or "1h30m", got ${JSON.stringify(v)}` }]);
    body[k] = v;
  }
  await vault.write(path, body, { signal: o.signal, idempotent: true });
}

/** Reads a cluster's config, or undefined when the cluster is not configured. */
export async function readClusterConfig(vault: VaultClient, o: RegistryTarget): Promise<ClusterConfig | undefined> {
  const r = await vault.read<Record<string, unknown>>(clusterPath(o), { signal: o.signal, allowNotFound: true });
  if (r.status === 404 || !r.data) return undefined;
  const d = r.data;
  const dur = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? `${v}s` : undefined);
  return { allowedNodes: Array.isArray(d.allowed_nodes) ? d.allowed_nodes.map(String) : ['*'], ttl: dur(d.ttl), maxTtl: dur(d.max_ttl) };
}

