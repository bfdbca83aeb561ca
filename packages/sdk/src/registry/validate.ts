/**
 * Input checks of the registry client: everything is refused with a typed error naming the input
 * BEFORE any request is sent (a bad port or node name never reaches Vault).
 */
import { ConfigError, NodeNameError } from '../errors.js';
import { parseNodeName, type NodeName } from '../node-name.js';
import { normalizeSerial } from '../x509/parse.js';

/** The plugin's default mount (the same value as identity.ts's DEFAULT_REGISTRY_MOUNT, the one exported). */
export const DEFAULT_REGISTRY_MOUNT = 'vaultdist';

const MOUNT = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
/** Cluster names are one path segment; kept to what reads well in a URL and a metric label. */
const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const OTP_RELEASE = /^[A-Za-z0-9._-]{1,32}$/;
const META_KEY = /^[A-Za-z0-9_.-]{1,64}$/;

const fail = (path: string, message: string): never => {
  throw new ConfigError([{ path, message }]);
};

/** The plugin mount path (default `vaultdist`), without surrounding slashes. @throws ConfigError (`mount`) */
export function checkMount(mount: string | undefined): string {
  const m = (mount ?? DEFAULT_REGISTRY_MOUNT).replace(/^\/+|\/+$/g, '');
  if (!MOUNT.test(m) || m.split('/').some((s) => s === '.' || s === '..')) fail('mount', `not a Vault mount path, got ${JSON.stringify(mount)}`);
  return m;
}

/** A cluster name: one path segment. @throws ConfigError (`cluster`) */
export function checkCluster(cluster: string): string {
  if (typeof cluster !== 'string' || !CLUSTER.test(cluster)) {
    fail('cluster', `must be 1-63 characters of letters, digits, "_", "." or "-" starting with a letter or digit, got ${JSON.stringify(cluster)}`);
  }
  return cluster;
}

/**
 * A registry node name: what `parseNodeName` accepts, minus IPv6 hosts (the plugin refuses them; OTP's
 * `-name foo@::1` is not usable with inet_tls anyway).
 * @throws NodeNameError
 */
export function checkRegistryNode(node: string): NodeName {
  const n = parseNodeName(node);
  if (n.hostKind === 'ipv6') throw new NodeNameError(node, 'IPv6 hosts are not supported by the registry; use a DNS name that resolves to the address');
  return n;
}

/** A TCP port, an integer 1–65535. @throws ConfigError naming `path` */
export function checkPort(port: unknown, path = 'port'): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) fail(path, `must be a TCP port (an integer 1-65535), got ${JSON.stringify(port)}`);
  return port as number;
}

/** A DNS name or IPv4 address (the node-name host rules, no IPv6). @throws ConfigError naming `path` */
export function checkHost(host: string, path = 'host'): string {
  // the same host rules as a node name's host part
  try {
    return checkRegistryNode(`x@${host}`).host;
  } catch (e) {
    return fail(path, `not a DNS name or IPv4 address: ${(e as Error).message.replace(/^.*?: /, '')}`);
  }
}

/** `erlang:system_info(otp_release)`-like text, e.g. "27". @throws ConfigError naming `path` */
export function checkOtpRelease(v: string, path = 'otpRelease'): string {
  if (!OTP_RELEASE.test(v)) fail(path, `must be 1-32 characters of letters, digits, ".", "_" or "-" (e.g. "27"), got ${JSON.stringify(v)}`);
  return v;
}

/** A certificate serial in any spelling; returns it normalized (`0a:1b`). @throws ConfigError naming `path` */
export function checkSerial(v: string, path = 'serial'): string {
  let s: string;
  try {
    s = normalizeSerial(v);
  } catch {
    return fail(path, `not a certificate serial, got ${JSON.stringify(v)}`);
  }
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2})*$/.test(s)) fail(path, `not a certificate serial, got ${JSON.stringify(v)}`);
  return s;
}

/** Free-form string metadata: at most 16 keys (the plugin's cap), no control characters. @throws ConfigError naming the key */
export function checkMeta(meta: Record<string, string>, path = 'meta'): Record<string, string> {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) fail(path, 'must be an object of string values');
  const entries = Object.entries(meta);
  if (entries.length > 16) fail(path, `at most 16 keys, got ${entries.length}`);
  for (const [k, v] of entries) {
    if (!META_KEY.test(k)) fail(`${path}.${k}`, 'key must be 1-64 characters of letters, digits, ".", "_" or "-"');
    if (typeof v !== 'string' || v.length > 512 || /[\u0000-\u001f]/.test(v)) fail(`${path}.${k}`, 'must be a string of at most 512 characters without control characters');
  }
  return meta;
}

/** A lease id as Vault prints it (`<mount>/clusters/c/nodes/n/<id>`); no whitespace or control characters. */
export function checkLeaseId(v: string): string {
  if (typeof v !== 'string' || !v || v.length > 2048 || /[\s\u0000-\u001f]/.test(v)) fail('leaseId', `not a Vault lease id, got ${JSON.stringify(v)}`);
  return v;
}
