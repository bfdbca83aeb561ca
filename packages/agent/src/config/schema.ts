/**
 * The agent's configuration as ONE valibot schema (house style §12): every key carries its
 * description (`v.description`) and example (`v.metadata`), defaults are the schema's own
 * (`v.nullish(schema, default)`), and the resolved types are inferred from it (`v.InferOutput`), so
 * there is no hand-written type to drift from the validator. Validation returns `path: message`
 * strings (`nodes[0].reload.pidFile: is required (e.g. "/run/vaultdist/foo.pid")`); cross-field checks
 * are small rule functions. The docs (`describeConfig`, CONFIG.md), the editor JSON Schema
 * (`configJsonSchema`, agent.schema.json; both written by `scripts/gen-config.mjs`), secret redaction
 * and the commented YAML of `renderAgentConfig()` are all derived from the same schema objects.
 *
 * Note: valibot (not zod 4) because it is modular and small: the agent loads it at start, and the
 * idle-footprint budget (#16 part 6) counts every module; see the package README for the measurement.
 *
 * Pure: no I/O, no time, no randomness (the loader in `load.ts` reads files and the environment).
 */
import * as v from 'valibot';
import { Document, isMap, isSeq, YAMLMap, type Node as YamlNode } from '../lazy-yaml.js'; // yaml loaded on first use (issue #16)
import { DURATION_FORMS, DURATION_PATTERN, parseDurationSeconds } from '@vaultdist/sdk/duration';
import { DEFAULT_KEY_TYPE, NODE_KEY_TYPES } from '@vaultdist/sdk/key-types';
import { parseNodeName } from '@vaultdist/sdk/node-name';
import { ttlFloorProblem } from '../core/schedule.js';

// ---------------------------------------------------------------------------------------------------
// Messages (every one is later prefixed with the key's path)
// ---------------------------------------------------------------------------------------------------

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const show = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x) : Array.isArray(x) ? 'a list' : x === null ? 'null' : typeof x === 'object' ? 'an object' : String(x));
const missing = (x: unknown) => x === undefined || x === null;
const requiredMsg = (example: unknown) => `is required (e.g. ${JSON.stringify(example)})`;
const oneOf = (options: readonly string[]) => options.map((e) => JSON.stringify(e)).join(', ');

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

function unknownKeyMessage(key: string, known: string[]): string {
  const near = known.filter((k) => levenshtein(k.toLowerCase(), key.toLowerCase()) <= 2);
  return `unknown key${near.length ? ` (did you mean ${near.map((n) => JSON.stringify(n)).join(' or ')}?)` : ''}`;
}

// ---------------------------------------------------------------------------------------------------
// Builders: each returns a plain valibot schema with its description and example attached
// ---------------------------------------------------------------------------------------------------

type KeyMeta = {
  example: unknown;
  /** Redacted by `redactConfigSecrets` (`--print-config`). */
  secret?: boolean;
};
const doc = <T>(description: string, example: unknown, secret?: boolean) => [v.description<T, string>(description), v.metadata<T, KeyMeta>(secret ? { example, secret } : { example })] as const;

interface StrOptions {
  pattern?: [RegExp, string];
  absolutePath?: boolean;
  secret?: boolean;
}
/**
 * A required non-empty string; `pattern` adds a regex with its message, `absolutePath` a leading `/`,
 * `secret` marks it for `redactConfigSecrets`. Wrap in `v.nullish(schema, default)` for an optional key.
 * @example str('Vault PKI role.', 'vaultdist-node')
 */
export function str(description: string, example: unknown, o: StrOptions = {}): v.GenericSchema<string> {
  const actions: v.PipeItem<string, string, v.BaseIssue<unknown>>[] = [v.minLength(1, 'must not be empty')];
  if (o.pattern) actions.push(v.regex(o.pattern[0], (i) => `${o.pattern![1]}, got ${JSON.stringify(i.input)}`));
  if (o.absolutePath) actions.push(v.startsWith('/', (i) => `must be an absolute path, got ${JSON.stringify(i.input)}`));
  const base = v.string((i) => (missing(i.input) ? requiredMsg(example) : `must be a string, got ${show(i.input)}`));
  return v.pipe(base, ...(actions as []), ...doc<string>(description, example, o.secret)) as unknown as v.GenericSchema<string>;
}
/** A required absolute path (`must be an absolute path, got "rel"`). */
export const absPath = (description: string, example: string) => str(description, example, { absolutePath: true });

/** One of `options` (`must be one of "a", "b", got "c"`). */
export function pick<const O extends readonly string[]>(options: O, description: string, example: unknown): v.GenericSchema<O[number]> {
  const base = v.picklist(options, (i) => (missing(i.input) ? requiredMsg(example) : typeof i.input !== 'string' ? `must be a string, got ${show(i.input)}` : `must be one of ${oneOf(options)}, got ${JSON.stringify(i.input)}`));
  return v.pipe(base, ...doc<O[number]>(description, example)) as unknown as v.GenericSchema<O[number]>;
}

interface NumOptions {
  integer?: boolean;
  min?: number;
  /** `min` is exclusive (`> min`). */
  exclusiveMin?: boolean;
  max?: number;
}
function num(description: string, example: unknown, o: NumOptions = {}): v.GenericSchema<number> {
  const actions: v.PipeItem<number, number, v.BaseIssue<unknown>>[] = [v.finite((i) => `must be a number, got ${String(i.input)}`)];
  if (o.integer) actions.push(v.integer((i) => `must be an integer, got ${i.input}`));
  if (o.min !== undefined) actions.push(o.exclusiveMin ? v.gtValue(o.min, (i) => `must be > ${o.min}, got ${i.input}`) : v.minValue(o.min, (i) => `must be >= ${o.min}, got ${i.input}`));
  if (o.max !== undefined) actions.push(v.maxValue(o.max, (i) => `must be <= ${o.max}, got ${i.input}`));
  const base = v.number((i) => (missing(i.input) ? requiredMsg(example) : `must be a number, got ${show(i.input)}`));
  return v.pipe(base, ...(actions as []), ...doc<number>(description, example)) as unknown as v.GenericSchema<number>;
}
const int = (description: string, example: unknown, o: Omit<NumOptions, 'integer'> = {}) => num(description, example, { ...o, integer: true });
const ms = (description: string, def: number, example: number, min = 1) => v.nullish(int(description, example, { min }), def);
const port = (description: string, example: unknown, min = 1) => int(description, example, { min, max: 65535 });

/** true or false (YAML's yes/no are refused: `must be true or false, got "yes"`). */
export const bool = (description: string, example: unknown) => v.pipe(v.boolean((i) => (missing(i.input) ? 'is required' : `must be true or false, got ${show(i.input)}`)), ...doc<boolean>(description, example));

interface ListOptions<O extends readonly string[] | undefined> {
  enum?: O;
  minItems?: number;
  absolutePath?: boolean;
}
/** A list of non-empty strings (or of `enum` values). */
export function strList<const O extends readonly string[] | undefined = undefined>(description: string, example: unknown, o: ListOptions<O> = {}): v.GenericSchema<(O extends readonly string[] ? O[number] : string)[]> {
  const bad = (x: unknown) => `must be a non-empty string, got ${show(x)}`;
  const item = o.enum
    ? v.picklist(o.enum, (i) => (typeof i.input === 'string' && i.input ? `must be one of ${oneOf(o.enum!)}, got ${JSON.stringify(i.input)}` : bad(i.input)))
    : o.absolutePath
      ? v.pipe(v.string((i) => bad(i.input)), v.minLength(1, (i) => bad(i.input)), v.startsWith('/', (i) => `must be an absolute path, got ${JSON.stringify(i.input)}`))
      : v.pipe(v.string((i) => bad(i.input)), v.minLength(1, (i) => bad(i.input)));
  const base = v.array(item, (i) => (missing(i.input) ? requiredMsg(example) : `must be a list of strings, got ${show(i.input)}`));
  const actions = o.minItems ? [v.minLength(o.minItems, `needs at least ${o.minItems} item(s)`)] : [];
  return v.pipe(base, ...(actions as []), ...(doc(description, example) as unknown as [])) as unknown as v.GenericSchema<(O extends readonly string[] ? O[number] : string)[]>;
}

/** The message of a key the object requires but the input lacks. */
function missingKeyMessage(s: v.GenericSchema): string {
  const f = toField(s);
  if (f.kind === 'union') return `is required (${f.tag}: ${Object.keys(f.variants).join(' | ')})`;
  if (f.kind === 'array') return `is required (a list${f.minItems ? ` with at least ${f.minItems} item(s)` : ''})`;
  if (f.kind === 'boolean') return 'is required';
  return requiredMsg(f.example);
}

type UnknownKeysIssue = v.BaseIssue<unknown> & { otherUnknownKeys?: [key: string, message: string][] };

/** A mapping with exactly these keys: an unknown key is an error (with a did-you-mean). */
function strictEntries<E extends v.ObjectEntries>(entries: E) {
  return v.strictObject(entries, (i) => {
    if (i.expected === 'never') {
      // valibot reports the first unknown key of a mapping; the others ride along on the issue, so one
      // run names every typo (validateConfig expands them)
      const known = Object.keys(entries);
      const input = i.path?.[0]?.input;
      if (isObj(input)) (i as UnknownKeysIssue).otherUnknownKeys = Object.keys(input).filter((k) => !(k in entries) && k !== i.input).map((k) => [k, unknownKeyMessage(k, known)]);
      return unknownKeyMessage(String(i.input), known);
    }
    if (typeof i.expected === 'string' && i.expected.startsWith('"')) return missingKeyMessage(entries[JSON.parse(i.expected) as string] as v.GenericSchema);
    return `must be a mapping (object), got ${show(i.input)}`;
  });
}
/**
 * A mapping of these keys whose other keys are dropped, with the config's messages: for files another
 * vaultdist version may have written (`vaultdist.json`), where a key this version does not know is no error.
 */
export function lenientEntries<E extends v.ObjectEntries>(entries: E) {
  return v.object(entries, (i) => {
    if (typeof i.expected === 'string' && i.expected.startsWith('"')) return missingKeyMessage(entries[JSON.parse(i.expected) as string] as v.GenericSchema);
    return `must be a mapping (object), got ${show(i.input)}`;
  });
}

function obj<E extends v.ObjectEntries>(description: string, example: unknown, entries: E) {
  const base = strictEntries(entries);
  return v.pipe(base, ...doc<v.InferOutput<typeof base>>(description, example));
}

/** A mapping whose `tag` key selects the variant. */
function union<K extends string, O extends v.VariantOptions<K>>(tag: K, options: O, description: string, example: unknown) {
  const tags = options.map((o) => {
    const t = (o as unknown as { entries: Record<string, { literal?: string; wrapped?: { literal: string } }> }).entries[tag]!;
    return t.literal ?? t.wrapped!.literal;
  });
  const base = v.variant(tag, options, (i) => (i.path ? `must be one of ${oneOf(tags)}, got ${show(i.input)}` : missing(i.input) ? `is required (${tag}: ${tags.join(' | ')})` : `must be a mapping (object), got ${show(i.input)}`));
  return v.pipe(base, ...doc<v.InferOutput<typeof base>>(description, example));
}

// ---------------------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------------------

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A Vault mount path: segments of letters, digits, `_`, `.` and `-`, none of them `.` or `..`. */
const MOUNT_PATH = /^(?!\.\.?(\/|$))[A-Za-z0-9_.-]+(\/(?!\.\.?(\/|$))[A-Za-z0-9_.-]+)*$/;

/** The auth methods; `defaultToken`: a mapping without `method` is a token auth (`vault.auth`). */
function authVariants<D extends boolean>(defaultToken: D) {
  const tokenTag = (defaultToken ? v.optional(v.literal('token'), 'token') : v.literal('token')) as D extends true ? v.OptionalSchema<v.LiteralSchema<'token', undefined>, 'token'> : v.LiteralSchema<'token', undefined>;
  return [
    strictEntries({
      method: tokenTag,
      token: v.nullish(str('The Vault token. Prefer `tokenFile` or BAO_TOKEN/VAULT_TOKEN: a config file is easily world-readable.', 's.XXXXXXXX', { secret: true }), null),
      tokenFile: v.nullish(absPath('File holding the token; re-read whenever the agent needs to log in again (e.g. after a 403).', '/etc/vaultdist/token'), null),
    }),
    strictEntries({
      method: v.literal('approle'),
      mount: v.nullish(str('Mount path of the AppRole auth method.', 'approle'), 'approle'),
      roleId: v.nullish(str('AppRole role_id.', 'db02de05-fa39-4855-059b-67221c5c2f63'), null),
      roleIdFile: v.nullish(absPath('File holding the role_id.', '/etc/vaultdist/role-id'), null),
      secretId: v.nullish(str('AppRole secret_id. Prefer `secretIdFile`.', '6a174c20-f6de-a53c-74d2-6018fcceff64', { secret: true }), null),
      secretIdFile: v.nullish(absPath('File holding the secret_id (re-read on every login).', '/etc/vaultdist/secret-id'), null),
    }),
    strictEntries({
      method: v.literal('cert'),
      mount: v.nullish(str('Mount path of the TLS certificate auth method.', 'cert'), 'cert'),
      name: v.nullish(str('The cert auth role to log in against; null lets Vault pick the matching role.', 'vaultdist-agent'), null),
      certFile: absPath('Client certificate (PEM). May be a node\'s own `bundle.pem`: after every rotation of that node the agent logs in again with the new certificate.', '/var/lib/vaultdist/foo/bundle.pem'),
      keyFile: absPath('Client key (PEM); the same `bundle.pem` works.', '/var/lib/vaultdist/foo/bundle.pem'),
    }),
    strictEntries({
      method: v.literal('kubernetes'),
      mount: v.nullish(str('Mount path of the Kubernetes auth method.', 'kubernetes'), 'kubernetes'),
      role: str('The Kubernetes auth role (`auth/<mount>/role/<role>`) bound to the pod\'s service account.', 'app'),
      jwtFile: v.nullish(
        absPath('The pod\'s service-account token (JWT), re-read at every login: Kubernetes rotates projected tokens on disk.', '/var/run/secrets/kubernetes.io/serviceaccount/token'),
        '/var/run/secrets/kubernetes.io/serviceaccount/token',
      ),
    }),
  ] as const;
}
const AUTH_EXAMPLE = { method: 'approle', roleIdFile: '/etc/vaultdist/role-id', secretIdFile: '/etc/vaultdist/secret-id' };

const ReloadSchema = union(
  'strategy',
  [
    strictEntries({
      strategy: v.literal('signal'),
      pidFile: absPath('File holding the node\'s OS pid (written by `vaultdist_reload:write_pidfile/1` or `-vaultdist_pidfile`).', '/run/vaultdist/foo.pid'),
      signal: v.nullish(pick(['SIGHUP', 'SIGUSR1', 'SIGUSR2'], 'Signal to send. OTP 25 handles only SIGHUP through `os:set_signal/2`.', 'SIGHUP'), 'SIGHUP'),
      handlerInstalled: v.nullish(
        bool('Must be true: declares that the node runs vaultdist\'s SIGHUP handler (`-vaultdist_sighup true`). Without the handler SIGHUP KILLS an OTP 25 node, so the agent refuses to signal otherwise.', true),
        false,
      ),
    }),
    strictEntries({
      strategy: v.literal('rpc'),
      erl: v.nullish(str('The `erl` executable used for the short-lived hidden reload node.', '/usr/lib/erlang/bin/erl'), 'erl'),
      cookie: v.nullish(str('Distribution cookie of the target node. Prefer `cookieFile`.', 'secretcookie', { secret: true }), null),
      cookieFile: v.nullish(absPath('File holding the distribution cookie. When both are null, erl uses ~/.erlang.cookie of the agent user.', '/var/lib/app/.erlang.cookie'), null),
      port: v.nullish(port('The target\'s distribution port (`-erl_epmd_port`); null uses `verify.port`.', 4370), null),
      epmdModule: v.nullish(str('Custom epmd module the hidden node must use (its code path in `codePaths`).', 'vaultdist_epmd'), null),
      codePaths: v.nullish(strList('Extra `-pa` directories for the hidden node.', ['/opt/vaultdist/ebin'], { absolutePath: true }), () => []),
      tlsVersions: v.nullish(strList('TLS versions of the hidden node\'s optfile (must overlap the target\'s).', ['tlsv1.3', 'tlsv1.2'], { enum: ['tlsv1.3', 'tlsv1.2'], minItems: 1 }), () => ['tlsv1.3' as const]),
      optfile: v.nullish(
        absPath(
          'Optfile for the hidden node; null renders `<dir>/reload-client.conf` from the node\'s own credential set. Note: the target\'s vaultdist_tls carrier admits its own certificate only from a hidden node named rpc-TAG-<node> (as the agent names it); another certificate here must name the node that uses it.',
          '/etc/vaultdist/foo-client.conf',
        ),
        null,
      ),
      extraArgs: v.nullish(strList('Extra erl arguments for the hidden node (e.g. `-vaultdist_epmd_ports bar=4371` for vaultdist_epmd).', ['-vaultdist_epmd_ports', 'bar=4371']), () => []),
      timeoutMs: ms('How long the hidden node may take (boot, connect, reload) before it is killed.', 20000, 20000),
    }),
    strictEntries({
      strategy: v.literal('poll'),
      intervalMs: ms('The node\'s own poll interval (`-vaultdist_poll_ms`); the agent allows this much extra time when verifying.', 1000, 1000),
    }),
    strictEntries({
      strategy: v.literal('command'),
      command: strList('argv of the reload command (no shell). Env VAULTDIST_NODE, VAULTDIST_DIR and VAULTDIST_SERIAL are set.', ['/opt/app/bin/app', 'rpc', 'vaultdist_reload:reload()'], { minItems: 1 }),
      timeoutMs: ms('Kill the command (SIGTERM, then SIGKILL) after this long.', 30000, 30000),
    }),
  ],
  'How the node is made to use a new set: `signal` (SIGHUP to a node running vaultdist\'s handler), `rpc` (hidden TLS node calls vaultdist_reload:reload()), `poll` (the node watches its files; the agent only verifies), `command` (your command).',
  { strategy: 'rpc', cookieFile: '/var/lib/app/.erlang.cookie' },
);

/**
 * Key schemas the CLI validates `vaultdist.json` and its options with (`config/settings.ts`): one
 * definition, one message for the same value wherever it is written.
 */
export const CONFIG_KEYS = {
  nodeName: str('Erlang node name `name@host`; the certificate carries DNS:<host> and the URI erlang://name@host.', 'foo@127.0.0.1'),
  dir: absPath('Output directory: `bundle.pem` (key + leaf + chain, 0600) and `ca.pem` via an atomic `current` symlink swap.', '/var/lib/vaultdist/foo'),
  pkiMount: str('Vault PKI mount path.', 'pki_int'),
  ttl: str('Requested certificate TTL; null uses the role\'s default.', '24h', { pattern: [DURATION_PATTERN, `must be ${DURATION_FORMS}`] }),
  keyType: pick(NODE_KEY_TYPES, 'Key generated on this host for the CSR (the key never leaves the host).', 'ec-p256'),
  port: port('A TCP port.', 4370),
  healthPort: port('Port (0 picks a free one, logged at start).', 9469, 0),
  vaultAddress: str('Vault/OpenBao address. Env: BAO_ADDR / VAULT_ADDR.', 'https://vault.example:8200', { pattern: [/^https?:\/\/[^\s]+$/, 'must be an http(s):// URL'] }),
  caCert: absPath('PEM CA bundle to verify Vault\'s TLS certificate. Env: BAO_CACERT / VAULT_CACERT.', '/etc/vaultdist/vault-ca.pem'),
  mountPath: str('Mount path of a Vault plugin or auth method.', 'vaultdist', { pattern: [MOUNT_PATH, 'must be a Vault mount path'] }),
  tlsVersions: strList('TLS versions (must overlap the peers\').', ['tlsv1.3', 'tlsv1.2'], { enum: ['tlsv1.3', 'tlsv1.2'], minItems: 1 }),
  owner: obj('chown the written files to this uid/gid (an agent running as root writing for the node user); null keeps the agent\'s.', { uid: 999, gid: 999 }, {
    uid: int('Owner uid.', 999, { min: 0 }),
    gid: int('Owner gid.', 999, { min: 0 }),
  }),
};

/** The first problem of `value` against one key schema (`must be <= 65535, got 70000`), or undefined. */
export function checkConfigValue(schema: v.GenericSchema, value: unknown): string | undefined {
  const r = v.safeParse(schema, value, { abortPipeEarly: true });
  return r.success ? undefined : r.issues[0].message;
}

const NodeSchema = obj('One BEAM node on this host.', {}, {
  name: CONFIG_KEYS.nodeName,
  dir: CONFIG_KEYS.dir,
  mount: CONFIG_KEYS.pkiMount,
  role: str('Vault PKI role.', 'vaultdist-node'),
  ttl: v.nullish(CONFIG_KEYS.ttl, null),
  keyType: v.nullish(CONFIG_KEYS.keyType, DEFAULT_KEY_TYPE),
  mode: v.nullish(pick(['sign', 'issue'], '`sign`: local key + CSR (pki/sign); `issue`: Vault generates the key (pki/issue).', 'sign'), 'sign'),
  keepPrevious: v.nullish(int('Previous credential sets kept under `<dir>/.sets` for diagnosis.', 1, { min: 0, max: 10 }), 1),
  owner: v.nullish(CONFIG_KEYS.owner, null),
  trust: v.nullish(
    obj('Trust anchors written to `ca.pem`.', { extraCaFiles: [] }, {
      extraCaFiles: v.nullish(
        strList(
          'PEM files whose CA certificates are kept in `ca.pem` next to Vault\'s issuing CA and its root, and accepted as the issuing CA of a renewal. The CA-rotation step (the only way a new issuing CA is adopted: trust pinning): list the old and the new issuing CA here on every node, switch Vault, then remove the old one; the agent reloads the node whenever the bundle changes.',
          ['/etc/vaultdist/old-root.pem'],
          { absolutePath: true },
        ),
        () => [],
      ),
    }),
    () => ({}),
  ),
  auth: v.nullish(union('method', authVariants(false), 'Per-node Vault auth; null uses `vault.auth`.', AUTH_EXAMPLE), null),
  reload: ReloadSchema,
  verify: v.nullish(
    obj('Post-swap verification.', { port: 4370 }, {
      enabled: v.nullish(bool('Handshake with the node\'s distribution port after every swap and require the new serial.', true), true),
      host: v.nullish(str('Address to connect to; null uses the host part of the node name.', '127.0.0.1'), null),
      port: v.nullish(port('The node\'s distribution port. Required when verification is enabled (or for `rpc` without `reload.port`).', 4370), null),
      deadlineMs: ms('Keep probing until the new serial is served or this much time has passed (poll: added to the poll interval).', 10000, 10000),
      retryIntervalMs: ms('Pause between probes.', 200, 200),
      probeTimeoutMs: ms('Timeout of one TLS handshake.', 3000, 3000),
    }),
    () => ({}),
  ),
  crl: v.nullish(
    obj('CRL checking for distribution: the agent fetches the PKI mount\'s CRL and writes the hash directory OTP reads.', { enabled: true }, {
      enabled: v.nullish(
        bool('Keep the node\'s CRL directory fresh (the optfile has `{crl_check, peer}` + `ssl_crl_hash_dir`, as `vaultdist init node --crl` writes). Fail-closed: with a missing or stale CRL the node refuses EVERY peer, so keep the agent running.', true),
        false,
      ),
      dir: v.nullish(absPath('The hash directory the optfile\'s `crl_cache` points at; null uses `<dir>/crl`. Replaced atomically (a symlink swap); a failed refresh never removes the old CRLs.', '/var/lib/vaultdist/foo/crl'), null),
      mounts: v.nullish(strList('PKI mounts whose CRLs are written (e.g. both mounts during a CA rotation); empty uses the node\'s `mount`. Each CRL must be signed by a CA in `ca.pem` or the bundle\'s chain.', ['pki_dist']), () => []),
      refreshIntervalSeconds: v.nullish(int('Refresh at least this often, so a revocation reaches the node within this time (OTP reads the directory on every handshake; no reload needed).', 300, { min: 1 }), 300),
      refreshAtFraction: v.nullish(num('Refresh no later than thisUpdate + (nextUpdate − thisUpdate) × this fraction, well before the CRL goes stale.', 0.5, { min: 0.05, max: 0.9 }), 0.5),
      warnRemainingFraction: v.nullish(num('Warn (log level, health reason) when less than this fraction of the CRL\'s validity is left; below a tenth, or when stale, the node is not ready.', 0.25, { min: 0, exclusiveMin: true, max: 1 }), 0.25),
    }),
    () => ({}),
  ),
  registry: v.nullish(
    obj(
      'Registration in the vaultdist registry plugin (only with the top-level `registry.enabled`). The node is registered once it serves its certificate on the port (a TLS handshake), its lease renewed, and it is deregistered when the agent stops cleanly.',
      { portFile: '/var/lib/vaultdist/foo/dist.port' },
      {
        enabled: v.nullish(bool('Register this node when the top-level `registry.enabled` is true (false: only this node stays out).', true), true),
        port: v.nullish(port('The distribution port to register when the node has no port file; null falls back to `verify.port`.', 4370), null),
        portFile: v.nullish(absPath('The file vaultdist_epmd writes the real listen port to (`-vaultdist_epmd_port_file`; needed for a dynamic port); null uses `<dir>/dist.port`. It wins over `port` when present.', '/var/lib/vaultdist/foo/dist.port'), null),
        peersFile: v.nullish(absPath('The last-known members file for `-vaultdist_epmd_peers_file` / vaultdist_cluster; null uses `<dir>/peers`. Replaced atomically; kept (marked stale) through a Vault outage.', '/var/lib/vaultdist/foo/peers'), null),
        host: v.nullish(
          str('The address peers dial (a DNS name or IPv4 address); null lets the registry use the node name\'s host.', '10.0.0.5', {
            pattern: [/^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/, 'must be a DNS name or an IPv4 address'],
          }),
          null,
        ),
      },
    ),
    () => ({}),
  ),
});

const NODES_EXAMPLE = [{ name: 'foo@127.0.0.1', dir: '/var/lib/vaultdist/foo', mount: 'pki_int', role: 'vaultdist-node', reload: { strategy: 'signal', pidFile: '/run/vaultdist/foo.pid', handlerInstalled: true }, verify: { port: 4370 } }];

/** The whole agent configuration: the one source of validation, defaults, types, docs and JSON Schema. */
export const CONFIG_SCHEMA = strictEntries({
  vault: v.nullish(
    obj('Connection to Vault/OpenBao.', { address: 'https://vault.example:8200', auth: { method: 'token', tokenFile: '/etc/vaultdist/token' } }, {
      address: v.nullish(CONFIG_KEYS.vaultAddress, 'https://127.0.0.1:8200'),
      caCert: v.nullish(CONFIG_KEYS.caCert, null),
      namespace: v.nullish(str('Vault namespace. Env: BAO_NAMESPACE / VAULT_NAMESPACE.', 'team-a'), null),
      tlsServerName: v.nullish(str('Expected server name of Vault\'s certificate. Env: BAO_TLS_SERVER_NAME.', 'vault.example'), null),
      skipVerify: v.nullish(bool('Disable TLS verification of Vault (never in production). Env: BAO_SKIP_VERIFY, parsed strictly.', false), false),
      requestTimeoutMs: ms('Timeout of one Vault request attempt: a frozen server (SIGSTOP, a hung balancer) costs at most this before the next address is tried (issue #14).', 10000, 10000),
      auth: v.nullish(union('method', authVariants(true), 'How the agent logs in to Vault (default for every node).', AUTH_EXAMPLE), () => ({ method: 'token' as const })),
    }),
    () => ({}),
  ),
  schedule: v.nullish(
    obj('When to renew and how to retry.', { renewAtFraction: 0.55, jitterFraction: 0.12 }, {
      renewAtFraction: v.nullish(
        num(
          'Renew at notBefore + lifetime × this fraction (before jitter). The default with its ±0.12 jitter renews between 43 % and 67 % of the lifetime (at the latest at ~2/3, like Vault Agent and step), so at least 1/3 of the lifetime is left to ride out a Vault outage (bench/fleet.ts: 0 of 10 000 certificates expire in a TTL/3 outage; 309 did with 2/3 ± 0.1).',
          0.55,
          { min: 0.1, max: 0.95 },
        ),
        0.55,
      ),
      jitterFraction: v.nullish(num('Random spread of the renewal point, ± this fraction of the lifetime (nodes with equal certificates do not renew in lockstep).', 0.1, { min: 0, max: 0.5 }), 0.12),
      minRemainingSeconds: v.nullish(int('Renewal never lands later than notAfter − this margin (the must-renew deadline); backoff never sleeps past it.', 300, { min: 0 }), 60),
      warnRemainingFraction: v.nullish(num('Escalate to `warn` (log level, metric, health) when less than this fraction of the lifetime is left and renewal has not succeeded.', 0.25, { min: 0, exclusiveMin: true, max: 1 }), 0.25),
      criticalRemainingFraction: v.nullish(num('Escalate to `critical` (error logs, health not ready) below this fraction.', 0.1, { min: 0, exclusiveMin: true, max: 1 }), 0.1),
      onRenewError: v.nullish(pick(['retry', 'exit'], '`retry` with backoff, or `exit` the agent on the first failure (only meaningful with a supervisor).', 'retry'), 'retry'),
      backoff: v.nullish(
        obj('Capped exponential backoff after a failed renewal, reset on success.', { initialMs: 1000, maxMs: 300000 }, {
          initialMs: ms('First retry delay; doubles on every consecutive failure.', 1000, 1000),
          maxMs: ms('Cap of the retry delay.', 300000, 300000),
          jitterFraction: v.nullish(
            num('Each delay is cut by a random 0..this fraction (1 = full jitter), the first retry included (within [initialMs × (1 − min(this, 0.5)), initialMs]). At ≤ 0.5 consecutive delays never shrink before the cap.', 0.5, { min: 0, max: 1 }),
            0.5,
          ),
        }),
        () => ({}),
      ),
      startupSpreadMs: v.nullish(
        int('With several nodes, each node waits a random 0..this many ms before its first Vault call at start-up (and after a config reload), so a host restart does not hit Vault in one burst. 0 turns it off; a single node never waits.', 3000, { min: 0 }),
        3000,
      ),
      vaultProbeIntervalMs: v.nullish(
        int('While loops back off because Vault did not answer (or was sealed/unavailable), probe `sys/health` this often (one probe for the whole agent) and retry within a second of Vault answering again instead of waiting out the backoff. 0 turns it off.', 2000, { min: 0 }),
        2000,
      ),
    }),
    () => ({}),
  ),
  health: v.nullish(
    obj('Health and Prometheus metrics HTTP server.', { host: '127.0.0.1', port: 9469 }, {
      enabled: v.nullish(bool('Serve `/healthz`, `/livez`, `/readyz` and `/metrics`.', true), true),
      host: v.nullish(str('Bind address (loopback by default). Env: VAULTDIST_HEALTH_LISTEN=host:port.', '127.0.0.1'), '127.0.0.1'),
      port: v.nullish(CONFIG_KEYS.healthPort, 9469),
    }),
    () => ({}),
  ),
  registry: v.nullish(
    obj('The vaultdist registry plugin: nodes register `name@host → port`, the agent writes the live members to each node\'s peers file.', { enabled: true, cluster: 'prod' }, {
      enabled: v.nullish(bool('Register the nodes in the vaultdist registry plugin and keep each node\'s peers file (epmd-less discovery, issue #13).', true), false),
      mount: v.nullish(str('Mount path of the registry plugin.', 'vaultdist', { pattern: [MOUNT_PATH, 'must be a Vault mount path'] }), 'vaultdist'),
      cluster: v.nullish(str('The cluster the nodes register in (configured by the operator: `<mount>/clusters/<cluster>`).', 'prod', { pattern: [/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 characters of letters, digits, "_", "." or "-"'] }), 'default'),
      refreshIntervalSeconds: v.nullish(
        int('Read the members this often and rewrite the peers files when they changed: a node that left (deregistered, evicted, its token revoked) is gone from the peers files within this time.', 10, { min: 1 }),
        10,
      ),
      renewAtFraction: v.nullish(num('Renew a registration\'s lease after this fraction of its duration (a failed renewal is retried until the lease ends, then the node registers again).', 0.5, { min: 0.1, max: 0.9 }), 0.5),
    }),
    () => ({}),
  ),
  log: v.nullish(obj('JSON logs on stdout.', { level: 'info' }, { level: v.nullish(pick(LOG_LEVELS, 'pino log level. Env: VAULTDIST_LOG_LEVEL.', 'info'), 'info') }), () => ({})),
  shutdownTimeoutMs: ms('After SIGTERM/SIGINT, exit 1 if tasks have not stopped within this time.', 10000, 10000),
  worker: v.nullish(
    obj('Where the daemon does its Vault, X.509 and file work. The agent process itself keeps only the schedule, state, health, metrics and logs; the work runs in a child process forked when something is due, which exits once idle (an idle agent then holds none of the Vault and X.509 modules: about 20 MiB less resident memory).', { mode: 'auto', idleExitMs: 2000 }, {
      mode: v.nullish(
        pick(
          ['auto', 'process', 'inline'] as const,
          '`process`: a work process forked on demand (~0.4 s of CPU per fork); `inline`: everything in the agent process (about 25 MiB more, no forks); `auto`: `process`, unless a loop calls Vault more often than once a minute (the registry\'s member refresh, a `crl.refreshIntervalSeconds` under 60), where a fork per call would cost more CPU than keeping the modules loaded costs memory: then `inline`. Read at start (a SIGHUP reload keeps the mode; `idleExitMs` is applied).',
          'auto',
        ),
        'auto',
      ),
      idleExitMs: ms('A work process without a job exits after this long.', 2000, 2000, 0),
    }),
    () => ({}),
  ),
  nodes: v.pipe(
    v.array(NodeSchema, (i) => (missing(i.input) ? 'is required (a list with at least 1 item(s))' : `must be a list, got ${show(i.input)}`)),
    v.minLength(1, 'needs at least 1 item(s)'),
    ...doc<v.InferOutput<typeof NodeSchema>[]>('The BEAM nodes on this host.', NODES_EXAMPLE),
  ),
});

// ---------------------------------------------------------------------------------------------------
// Types, inferred from the schema (resolved: every field present)
// ---------------------------------------------------------------------------------------------------

export type AgentConfig = v.InferOutput<typeof CONFIG_SCHEMA>;
/** Input shape (a config file, or what `vaultdist init node` builds): optional keys may be absent or null. */
export type AgentConfigInput = v.InferInput<typeof CONFIG_SCHEMA>;
export type NodeConfig = AgentConfig['nodes'][number];
export type NodeConfigInput = AgentConfigInput['nodes'][number];
export type AuthConfig = AgentConfig['vault']['auth'];
/** Static token, from the config, a file (re-read on every login) or BAO_TOKEN/VAULT_TOKEN. */
export type TokenAuthConfig = Extract<AuthConfig, { method: 'token' }>;
/** AppRole login (`auth/<mount>/login`), renewed and re-logged-in by the agent. */
export type AppRoleAuthConfig = Extract<AuthConfig, { method: 'approle' }>;
/** TLS certificate login (`auth/<mount>/login`); after each rotation the agent logs in again with the new certificate. */
export type CertAuthConfig = Extract<AuthConfig, { method: 'cert' }>;
/** Kubernetes login (`auth/<mount>/login` with `role` + the pod's service-account JWT, re-read at every login). */
export type KubernetesAuthConfig = Extract<AuthConfig, { method: 'kubernetes' }>;
export type AuthMethod = AuthConfig['method'];
export type ReloadConfig = NodeConfig['reload'];
export type ReloadStrategy = ReloadConfig['strategy'];
export type SignalReloadConfig = Extract<ReloadConfig, { strategy: 'signal' }>;
export type RpcReloadConfig = Extract<ReloadConfig, { strategy: 'rpc' }>;
export type PollReloadConfig = Extract<ReloadConfig, { strategy: 'poll' }>;
export type CommandReloadConfig = Extract<ReloadConfig, { strategy: 'command' }>;
export type ReloadSignal = SignalReloadConfig['signal'];
export type TlsVersionName = RpcReloadConfig['tlsVersions'][number];
export type VerifyConfig = NodeConfig['verify'];
export type CrlConfig = NodeConfig['crl'];
/** Per node: registering it in the registry plugin (#13) and keeping its peers file. */
export type NodeRegistryConfig = NodeConfig['registry'];
/** The registry plugin (#13): where nodes register and how often the members are read. */
export type RegistryConfig = AgentConfig['registry'];
export type LogLevel = (typeof LOG_LEVELS)[number];
/** The SDK's node key types (`@vaultdist/sdk/key-types`, the one owner of the list). */
export type KeyTypeName = (typeof NODE_KEY_TYPES)[number];

/** Deep-partial shape (for callers that build configs piecewise). */
export type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> | null } : T;

// ---------------------------------------------------------------------------------------------------
// A plain view of the schema for the docs, the JSON Schema, redaction and rendering
// ---------------------------------------------------------------------------------------------------

interface Doc {
  description: string;
  example: unknown;
}
/** One key as the docs see it, read off the valibot schema by `toField` (never written by hand). */
export type Field =
  | (Doc & { kind: 'string'; default?: string | null; enum?: readonly string[]; pattern?: { re: RegExp; message: string }; absolutePath?: boolean; secret?: boolean })
  | (Doc & { kind: 'number'; default?: number | null; integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean })
  | (Doc & { kind: 'boolean'; default?: boolean })
  | (Doc & { kind: 'stringArray'; default?: string[]; enum?: readonly string[]; minItems?: number; absolutePath?: boolean })
  | (Doc & { kind: 'object'; fields: Record<string, Field>; nullable?: boolean })
  | (Doc & { kind: 'array'; items: Field; minItems?: number })
  | (Doc & { kind: 'union'; tag: string; variants: Record<string, Record<string, Field>>; nullable?: boolean; defaultTag?: string });

type AnySchema = { type: string; pipe?: AnySchema[]; [k: string]: unknown };

function toField(schema: v.GenericSchema): Field {
  let s = schema as unknown as AnySchema;
  let def: unknown;
  let hasDefault = false;
  if (s.type === 'nullish' || s.type === 'optional') {
    hasDefault = s.default !== undefined;
    def = typeof s.default === 'function' ? (s.default as () => unknown)() : s.default;
    s = s.wrapped as AnySchema;
  }
  const pipe = s.pipe ?? [s];
  const action = (type: string) => pipe.find((p) => p.type === type) as (AnySchema & { requirement?: unknown }) | undefined;
  const meta = (action('metadata')?.metadata ?? {}) as Partial<KeyMeta>;
  const d: Doc = { description: String(action('description')?.description ?? ''), example: meta.example };
  const withDefault = hasDefault ? { default: def } : {};
  switch (s.type) {
    case 'string': {
      const re = action('regex');
      return { kind: 'string', ...d, ...(withDefault as { default?: string | null }), ...(re ? { pattern: { re: re.requirement as RegExp, message: '' } } : {}), ...(action('starts_with') ? { absolutePath: true } : {}), ...(meta.secret ? { secret: true } : {}) };
    }
    case 'picklist':
      return { kind: 'string', ...d, ...(withDefault as { default?: string }), enum: s.options as string[] };
    case 'number': {
      const gt = action('gt_value');
      const min = gt ?? action('min_value');
      const max = action('max_value');
      return {
        kind: 'number',
        ...d,
        ...(withDefault as { default?: number | null }),
        ...(action('integer') ? { integer: true } : {}),
        ...(min ? { min: min.requirement as number } : {}),
        ...(gt ? { exclusiveMin: true } : {}),
        ...(max ? { max: max.requirement as number } : {}),
      };
    }
    case 'boolean':
      return { kind: 'boolean', ...d, ...(withDefault as { default?: boolean }) };
    case 'array': {
      const item = s.item as AnySchema;
      const minLen = action('min_length');
      const minItems = minLen ? { minItems: minLen.requirement as number } : {};
      if (item.type === 'string' || item.type === 'picklist') {
        return { kind: 'stringArray', ...d, ...(withDefault as { default?: string[] }), ...minItems, ...(item.type === 'picklist' ? { enum: item.options as string[] } : {}), ...((item.pipe ?? []).some((p) => p.type === 'starts_with') ? { absolutePath: true } : {}) };
      }
      return { kind: 'array', ...d, items: toField(item as unknown as v.GenericSchema), ...minItems };
    }
    case 'strict_object':
      return { kind: 'object', ...d, fields: fieldsOf(s), ...(hasDefault && def === null ? { nullable: true } : {}) };
    case 'variant': {
      const tag = s.key as string;
      const variants: Record<string, Record<string, Field>> = {};
      let defaultTag: string | undefined;
      for (const o of s.options as AnySchema[]) {
        const t = (o.entries as Record<string, AnySchema>)[tag]!;
        const name = (t.literal ?? (t.wrapped as AnySchema).literal) as string;
        if (t.type === 'optional') defaultTag = name;
        variants[name] = fieldsOf(o, tag);
      }
      return { kind: 'union', ...d, tag, variants, ...(hasDefault && def === null ? { nullable: true } : {}), ...(defaultTag ? { defaultTag } : {}) };
    }
    default:
      throw new Error(`config schema: no docs for a ${s.type} schema`);
  }
}
const fieldsOf = (s: AnySchema, except?: string): Record<string, Field> =>
  Object.fromEntries(
    Object.entries(s.entries as Record<string, v.GenericSchema>)
      .filter(([k]) => k !== except)
      .map(([k, e]) => [k, toField(e)]),
  );

let fieldsCache: Record<string, Field> | undefined;
/** The root's keys as `Field`s (built once, on first use: validation alone never needs them). */
const FIELDS = (): Record<string, Field> => (fieldsCache ??= fieldsOf(CONFIG_SCHEMA as unknown as AnySchema));

// ---------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------

export interface ConfigValidation {
  /** Present when there are no errors. */
  config: AgentConfig | undefined;
  /** `path: message` strings. */
  errors: string[];
  warnings: string[];
}

const keyPath = (base: string, key: string) => (base ? `${base}.${key}` : key);

/** `nodes[0].reload.pidFile` from a valibot issue path. */
function issuePath(i: v.BaseIssue<unknown>): string {
  let out = '';
  for (const p of i.path ?? []) out = typeof p.key === 'number' ? `${out}[${p.key}]` : keyPath(out, String(p.key));
  return out || '(root)';
}

/** Cross-field rules (changesets `rules.ts` style): each returns problems as `path: message`. */
type Rule = (c: AgentConfig, warnings: string[], o: ValidateOptions) => string[];

export interface ValidateOptions {
  /**
   * `vault.auth.token` was filled in from BAO_TOKEN/VAULT_TOKEN (by `resolveConfig`), not written in
   * the file: no "token in the config file" warning then.
   */
  tokenFromEnv?: boolean | undefined;
}

/** The SDK's node-name rule (one owner, issue #16): the reason it refuses `name`, else undefined. */
function nodeNameProblem(name: string): string | undefined {
  try {
    parseNodeName(name);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function authRule(a: AuthConfig | null, path: string): string[] {
  if (!a) return [];
  if (a.method === 'token') {
    if (a.token && a.tokenFile) return [`${path}.tokenFile: set either token or tokenFile, not both`];
    if (!a.token && !a.tokenFile) return [`${path}.token: is required for method "token" (set token, tokenFile, or BAO_TOKEN/VAULT_TOKEN)`];
  }
  if (a.method === 'approle') {
    const out: string[] = [];
    if (!a.roleId === !a.roleIdFile) out.push(`${path}.roleId: set exactly one of roleId and roleIdFile`);
    if (!a.secretId === !a.secretIdFile) out.push(`${path}.secretId: set exactly one of secretId and secretIdFile`);
    return out;
  }
  return [];
}

const RULES: Rule[] = [
  (c) => authRule(c.vault.auth, 'vault.auth'),
  (c) => c.nodes.flatMap((n, i) => authRule(n.auth, `nodes[${i}].auth`)),
  (c) => (c.schedule.backoff.initialMs >= c.schedule.backoff.maxMs ? [`schedule.backoff.initialMs: must be less than schedule.backoff.maxMs (${c.schedule.backoff.initialMs} >= ${c.schedule.backoff.maxMs})`] : []),
  (c) => (c.schedule.criticalRemainingFraction >= c.schedule.warnRemainingFraction ? [`schedule.criticalRemainingFraction: must be less than schedule.warnRemainingFraction`] : []),
  (c) => (c.schedule.renewAtFraction + c.schedule.jitterFraction >= 1 ? [`schedule.jitterFraction: renewAtFraction + jitterFraction must stay below 1`] : []),
  // TTL floor from the schedule (#15): the earliest renewal must come at least minRemainingSeconds after
  // issuance. Backdate 0 here (the agent cannot know the role's not_before_duration): a lower bound.
  (c) =>
    c.nodes.flatMap((n, i) => {
      if (!n.ttl || !DURATION_PATTERN.test(n.ttl)) return [];
      const p = ttlFloorProblem(`nodes[${i}].ttl: ${n.ttl}`, parseDurationSeconds(n.ttl), c.schedule, { backdateSeconds: 0, minIntervalSeconds: c.schedule.minRemainingSeconds });
      return p ? [`${p} (or lower schedule.minRemainingSeconds)`] : [];
    }),
  (c) =>
    c.nodes.flatMap((n, i) => {
      const p = `nodes[${i}]`;
      const out: string[] = [];
      const nameProblem = nodeNameProblem(n.name);
      if (nameProblem) out.push(`${p}.name: must look like name@host: ${nameProblem}`);
      // IPv6 refused up front (#15; the SDK's requireDistributableNode says the same with a suggested name)
      else if (n.name.slice(n.name.indexOf('@') + 1).includes(':')) out.push(`${p}.name: IPv6 hosts are not supported: distribution runs over IPv4, so peers could not reach ${n.name}; name the node by its IPv4 address (::1 → 127.0.0.1) or a DNS name`);
      if (n.reload.strategy === 'signal' && !n.reload.handlerInstalled) {
        out.push(`${p}.reload.handlerInstalled: must be true for strategy "signal": SIGHUP kills an OTP 25 node that does not run vaultdist's handler (-vaultdist_sighup true); use "rpc" otherwise`);
      }
      if (n.reload.strategy === 'rpc') {
        if (n.reload.port === null && n.verify.port === null) out.push(`${p}.reload.port: the rpc strategy needs the node's distribution port (set reload.port or verify.port)`);
        if (n.reload.cookie && n.reload.cookieFile) out.push(`${p}.reload.cookieFile: set either cookie or cookieFile, not both`);
      }
      n.crl.mounts.forEach((m, j) => {
        if (!MOUNT_PATH.test(m)) out.push(`${p}.crl.mounts[${j}]: not a Vault mount path, got ${JSON.stringify(m)}`);
      });
      // a node with a port file (vaultdist_epmd -vaultdist_epmd_port_file, set or implied by the registry) is verified on the port it reports
      const portFile = n.registry.portFile !== null || (c.registry.enabled && n.registry.enabled);
      if (n.verify.enabled && n.verify.port === null && !portFile && !(n.reload.strategy === 'rpc' && n.reload.port !== null)) {
        out.push(`${p}.verify.port: is required while verify.enabled is true (the node's distribution port; or registry.portFile for a dynamic port), or set verify.enabled: false`);
      }
      return out;
    }),
  (c) => {
    const out: string[] = [];
    const names = new Map<string, number>();
    const dirs = new Map<string, number>();
    const crlDirs = new Map<string, number>();
    c.nodes.forEach((n, i) => {
      const dir = n.dir.replace(/\/+$/, '');
      if (names.has(n.name)) out.push(`nodes[${i}].name: duplicate of nodes[${names.get(n.name)}].name (${n.name})`);
      else names.set(n.name, i);
      if (dirs.has(dir)) out.push(`nodes[${i}].dir: duplicate of nodes[${dirs.get(dir)}].dir (each node needs its own directory)`);
      else dirs.set(dir, i);
      if (n.crl.enabled) {
        const cd = (n.crl.dir ?? `${dir}/crl`).replace(/\/+$/, '');
        if (crlDirs.has(cd)) out.push(`nodes[${i}].crl.dir: duplicate of nodes[${crlDirs.get(cd)}]'s CRL directory ${cd} (two refresh loops would race on it)`);
        else crlDirs.set(cd, i);
      }
    });
    return out;
  },
  (c, warnings, o) => {
    if (c.health.enabled && !/^(127\.|::1$|localhost$)/.test(c.health.host)) warnings.push(`health.host: ${c.health.host} is not a loopback address; /metrics and /healthz will be reachable from the network`);
    if (c.vault.skipVerify) warnings.push('vault.skipVerify: TLS verification of Vault is disabled');
    if (c.vault.auth.method === 'token' && c.vault.auth.token && !o.tokenFromEnv) warnings.push('vault.auth.token: a token in the config file; prefer tokenFile or BAO_TOKEN');
    return [];
  },
];

/**
 * Validates a parsed config object (file layer already merged with env and flags) and fills defaults.
 * Every error names its key: `nodes[0].reload.pidFile: is required (e.g. "/run/vaultdist/foo.pid")`.
 */
export function validateConfig(input: unknown, o: ValidateOptions = {}): ConfigValidation {
  const warnings: string[] = [];
  if (!isObj(input)) return { config: undefined, errors: [`(root): the config must be a mapping (object), got ${show(input)}`], warnings };
  // abortPipeEarly: one message per key (the first check it fails), as before the schema library
  const r = v.safeParse(CONFIG_SCHEMA, input, { abortPipeEarly: true });
  if (!r.success) {
    const errors = r.issues.flatMap((i) => {
      const line = `${issuePath(i)}: ${i.message}`;
      const others = (i as UnknownKeysIssue).otherUnknownKeys ?? [];
      const parent = issuePath({ ...i, path: i.path?.slice(0, -1) } as v.BaseIssue<unknown>).replace(/^\(root\)$/, '');
      return [line, ...others.map(([k, m]) => `${keyPath(parent, k)}: ${m}`)];
    });
    return { config: undefined, errors, warnings };
  }
  const errors: string[] = [];
  for (const rule of RULES) errors.push(...rule(r.output, warnings, o));
  return errors.length ? { config: undefined, errors, warnings } : { config: r.output, errors, warnings };
}

// ---------------------------------------------------------------------------------------------------
// Documentation, JSON Schema and rendering
// ---------------------------------------------------------------------------------------------------

export interface ConfigKeyDoc {
  /** e.g. `nodes[].reload.pidFile (strategy: signal)` */
  path: string;
  type: string;
  description: string;
  default: unknown;
  example: unknown;
}

function typeName(f: Field): string {
  switch (f.kind) {
    case 'string':
      return f.enum ? f.enum.map((e) => JSON.stringify(e)).join(' | ') : 'string';
    case 'stringArray':
      return f.enum ? `(${f.enum.map((e) => JSON.stringify(e)).join(' | ')})[]` : 'string[]';
    case 'array':
      return 'list';
    case 'union':
      return `mapping by ${f.tag}`;
    case 'object':
      return f.nullable ? 'mapping | null' : 'mapping';
    default:
      return f.kind;
  }
}

const defaultOf = (f: Field): unknown => ('default' in f ? f.default : f.kind === 'object' && f.nullable ? null : f.kind === 'union' ? (f.nullable ? null : f.defaultTag ? { [f.tag]: f.defaultTag } : undefined) : undefined);

/** Every key with its type, description, default and example (for README and `--help-config`). */
export function describeConfig(): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = [];
  const walk = (fields: Record<string, Field>, base: string, note = '') => {
    for (const [k, f] of Object.entries(fields)) {
      const path = keyPath(base, k);
      out.push({ path: path + note, type: typeName(f), description: f.description, default: defaultOf(f), example: f.example });
      if (f.kind === 'object') walk(f.fields, path);
      if (f.kind === 'array' && f.items.kind === 'object') walk(f.items.fields, `${path}[]`);
      if (f.kind === 'union') for (const [tag, vf] of Object.entries(f.variants)) walk(vf, path, ` (${f.tag}: ${tag})`);
    }
  };
  walk(FIELDS(), '');
  return out;
}

/** A JSON Schema (draft 2020-12) for editors, generated from the same descriptors. */
export function configJsonSchema(): Record<string, unknown> {
  const conv = (f: Field): Record<string, unknown> => {
    const base: Record<string, unknown> = { description: f.description, examples: [f.example] };
    const d = defaultOf(f);
    if (d !== undefined) base.default = d;
    switch (f.kind) {
      case 'string':
        return { ...base, type: 'default' in f && f.default === null ? ['string', 'null'] : 'string', ...(f.enum ? { enum: [...f.enum] } : {}), ...(f.pattern ? { pattern: f.pattern.re.source } : {}) };
      case 'number':
        return { ...base, type: f.integer ? (f.default === null ? ['integer', 'null'] : 'integer') : 'number', ...(f.min !== undefined ? (f.exclusiveMin ? { exclusiveMinimum: f.min } : { minimum: f.min }) : {}), ...(f.max !== undefined ? { maximum: f.max } : {}) };
      case 'boolean':
        return { ...base, type: 'boolean' };
      case 'stringArray':
        return { ...base, type: 'array', items: f.enum ? { enum: [...f.enum] } : { type: 'string' }, ...(f.minItems ? { minItems: f.minItems } : {}) };
      case 'array':
        return { ...base, type: 'array', items: conv(f.items), ...(f.minItems ? { minItems: f.minItems } : {}) };
      case 'object':
        return { ...base, type: f.nullable ? ['object', 'null'] : 'object', additionalProperties: false, properties: Object.fromEntries(Object.entries(f.fields).map(([k, v]) => [k, conv(v)])) };
      case 'union':
        return {
          ...base,
          ...(f.nullable ? { type: ['object', 'null'] } : { type: 'object' }),
          oneOf: Object.entries(f.variants).map(([tag, vf]) => ({
            type: 'object',
            additionalProperties: false,
            required: [f.tag],
            properties: { [f.tag]: { const: tag }, ...Object.fromEntries(Object.entries(vf).map(([k, v]) => [k, conv(v)])) },
          })),
        };
    }
  };
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'vaultdist agent configuration', ...conv({ kind: 'object', fields: FIELDS(), description: 'vaultdist agent configuration', example: {} }) };
}

export const REDACTED = '[REDACTED]';

/**
 * A copy of `config` with every field the schema marks `secret: true` (`vault.auth.token`,
 * `nodes[].auth.secretId`, `nodes[].reload.cookie`, …) that holds a value replaced by `[REDACTED]`,
 * wherever the value came from (the file, or BAO_TOKEN/VAULT_TOKEN filled in by the resolver). For
 * printing (`--print-config`); `renderAgentConfig` itself renders what it is given.
 */
export function redactConfigSecrets<T extends AgentConfig | AgentConfigInput>(config: T): T {
  const walk = (f: Field, v: unknown): unknown => {
    if (v === null || v === undefined) return v;
    switch (f.kind) {
      case 'string':
        return f.secret ? REDACTED : v;
      case 'object':
        return isObj(v) ? walkFields(f.fields, v) : v;
      case 'array':
        return Array.isArray(v) ? v.map((x) => walk(f.items, x)) : v;
      case 'union': {
        if (!isObj(v)) return v;
        const variant = f.variants[String(v[f.tag] ?? f.defaultTag ?? '')];
        return variant ? walkFields(variant, v) : v;
      }
      default:
        return v;
    }
  };
  const walkFields = (fields: Record<string, Field>, v: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fields[k] ? walk(fields[k], x) : x]));
  return walkFields(FIELDS(), config as unknown as Record<string, unknown>) as unknown as T;
}

/**
 * Renders a config as YAML with a comment above every key (its description). The output passes
 * `validateConfig` when the input does; secrets given inline are rendered as they are (the caller
 * decides; `vaultdist init node` writes file references instead).
 */
export function renderAgentConfig(config: AgentConfig | AgentConfigInput, o: { header?: string[] } = {}): string {
  const doc = new Document(config);
  // Walks the YAML tree and the schema together, so a union's keys are described by the variant the
  // node actually selects (`auth.mount` of a cert auth is the cert mount, not AppRole's).
  const annotate = (node: YamlNode | null | undefined, f: Field | undefined) => {
    if (!f) return;
    if (isMap(node)) {
      let fields: Record<string, Field> | undefined;
      if (f.kind === 'object') fields = f.fields;
      else if (f.kind === 'union') {
        const tagValue = String((node as YAMLMap).get(f.tag) ?? f.defaultTag ?? '');
        const variant = f.variants[tagValue];
        fields = variant ? { [f.tag]: { kind: 'string', description: `One of ${Object.keys(f.variants).join(', ')}.`, example: tagValue }, ...variant } : undefined;
      }
      if (!fields) return;
      for (const pair of (node as YAMLMap).items) {
        const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
        const kf = fields[key];
        if (kf && pair.key && typeof pair.key === 'object') (pair.key as { commentBefore?: string }).commentBefore = ` ${kf.description.replace(/\n/g, ' ')}`;
        annotate(pair.value as YamlNode, kf);
      }
    } else if (isSeq(node) && f.kind === 'array') {
      node.items.forEach((item) => annotate(item as YamlNode, f.items));
    }
  };
  annotate(doc.contents as YamlNode, { kind: 'object', fields: FIELDS(), description: '', example: {} });
  doc.commentBefore = [' vaultdist agent configuration (validate with: vaultdist-agent --check --config FILE)', ...(o.header ?? []).map((h) => ` ${h}`)].join('\n');
  return doc.toString({ lineWidth: 0 });
}
