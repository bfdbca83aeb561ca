/**
 * `vaultdist.json`, the settings `vaultdist init node` keeps in a node directory, as a schema built from
 * the agent config's own key schemas (`CONFIG_KEYS`): a port, TTL, key type or owner is checked with
 * the same rule and message in the agent config, in this file and in the CLI's options (issue #16).
 * Defaults here are those of files written before the key existed.
 *
 * Pure: the CLI reads the file (`readSettings` in packages/cli/src/node-dir.ts).
 */
import * as v from 'valibot';
import { DURATION_FORMS, DURATION_PATTERN } from '@vaultdist/sdk/duration';
import { bool, CONFIG_KEYS as K, lenientEntries, pick, str, strList } from './schema.js';

const text = (description: string, example: string) => str(description, example);

/** The schema of `DIR/vaultdist.json` (version 1). */
export const NODE_SETTINGS_SCHEMA = lenientEntries({
  version: v.literal(1, 'not a vaultdist node settings file (version 1)'),
  node: K.nodeName,
  /** Replaced by the directory the file was read from. */
  dir: v.optional(K.dir),
  vaultAddr: v.pipe(v.string(), v.regex(/^https?:\/\/[^\s]+$/, (i) => `must be one or more http(s):// URLs separated by commas, got ${JSON.stringify(i.input)}`)),
  vaultCaCert: v.nullish(K.caCert, null),
  mount: K.pkiMount,
  role: text('The node\'s own PKI role, vaultdist-<slug>.', 'vaultdist-app-10-0-0-5-3f2a9c1e'),
  baseRole: v.nullish(text('The template role `init vault` made.', 'erlang-node'), 'erlang-node'),
  policyPrefix: v.nullish(text('Prefix of the node\'s ACL policy name.', 'vaultdist-node'), 'vaultdist-node'),
  registryMount: v.nullish(K.mountPath, 'vaultdist'),
  keyType: K.keyType,
  /** '' = the role's default TTL. */
  ttl: v.pipe(v.string(), v.check((t) => t === '' || DURATION_PATTERN.test(t), (i) => `must be "" (the role's TTL) or ${DURATION_FORMS}, got ${JSON.stringify(i.input)}`)),
  distPort: K.port,
  listenInterface: v.optional(text('Address the distribution listener binds to.', '10.0.0.5')),
  tlsVersions: K.tlsVersions,
  modules: v.nullish(strList('Companion modules compiled into DIR/ebin.', ['vaultdist_reload']), () => []),
  certAuthMount: text('Cert auth mount the agent renews with.', 'cert'),
  certAuthRole: text('The node\'s own cert-auth role.', 'vaultdist-app-10-0-0-5-3f2a9c1e'),
  healthPort: K.healthPort,
  agentAuth: v.nullish(pick(['cert', 'approle', 'token'], 'How the agent logs in for renewals.', 'cert'), 'cert'),
  approleMount: v.nullish(text('AppRole auth mount.', 'approle'), 'approle'),
  connectAll: v.nullish(bool('false: the node starts with -connect_all false.', true), true),
  crl: v.nullish(bool('CRL checking for distribution.', false), false),
  owner: v.nullish(K.owner, null),
});

export type NodeSettingsFile = v.InferOutput<typeof NODE_SETTINGS_SCHEMA>;

/**
 * Validates a parsed `vaultdist.json` and fills the defaults. Settings from before per-node identities
 * (issue #12) had the shared role in `role`: it becomes `baseRole`. Errors are `path: message`.
 */
export function validateNodeSettings(raw: unknown): { settings: NodeSettingsFile | undefined; errors: string[] } {
  const input = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : raw;
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const o = input as Record<string, unknown>;
    if (o.version !== 1) return { settings: undefined, errors: ['not a vaultdist node settings file (version 1)'] };
    if (typeof o.role === 'string' && !o.role.startsWith('vaultdist-') && o.baseRole === undefined) o.baseRole = o.role;
  }
  const r = v.safeParse(NODE_SETTINGS_SCHEMA, input, { abortPipeEarly: true });
  if (r.success) return { settings: r.output, errors: [] };
  return { settings: undefined, errors: r.issues.map((i) => `${(i.path ?? []).map((p) => (typeof p.key === 'number' ? `[${p.key}]` : String(p.key))).join('.').replace(/\.\[/g, '[') || '(root)'}: ${i.message}`) };
}
