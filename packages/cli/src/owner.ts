/**
 * `--owner USER[:GROUP]` of `init node`: who owns the node's credential set and the files the node
 * reads (issue #7: "key files 0600 and owned by the configured user").
 *
 * Names or numeric ids; without GROUP the user's primary group. Names are resolved through NSS
 * (`getent passwd|group`, so LDAP/sssd users work), falling back to /etc/passwd and /etc/group when
 * getent is missing. An unknown user or group is a usage error naming the flag.
 *
 * What is chowned (`chownNodeFiles`): the credential set (DIR/.sets and its sets, the `current`,
 * `bundle.pem` and `ca.pem` links), ssl_dist.conf, vm.args, DIR/ebin, the CRL directory (its link and
 * DIR/.crl.sets) and DIR/approle (the agent's AppRole files, for an agent running as that user).
 * NOT the directory itself, agent.yaml or vaultdist.json: a node user who could rewrite the agent's
 * config (or rename entries in DIR) could make a root agent run a reload command of its choosing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, ExitError } from './errors.js';
import { paths } from './node-dir.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** One passwd/group database line by name or id: `name:x:id:…` (passwd: field 3 is the primary gid). */
export interface AccountDb {
  passwd(key: string): string | undefined;
  group(key: string): string | undefined;
}

const getent = (db: 'passwd' | 'group', key: string): string | undefined => {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fileLookup(db === 'passwd' ? '/etc/passwd' : '/etc/group', key);
    return undefined; // getent exits 2 for an unknown key
  }
};

function fileLookup(file: string, key: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return lookupLine(text, key);
}

/** The line of a passwd/group text whose name (or, for a number, id) is `key`. Pure. */
export function lookupLine(text: string, key: string): string | undefined {
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  return lines.find((l) => l.split(':')[0] === key) ?? (/^\d+$/.test(key) ? lines.find((l) => l.split(':')[2] === key) : undefined);
}

export const systemAccounts: AccountDb = { passwd: (k) => getent('passwd', k), group: (k) => getent('group', k) };

const usage = (spec: string, message: string) => new ExitError(EXIT.USAGE, `--owner ${JSON.stringify(spec)}: ${message}`, { hint: 'give USER[:GROUP] as names or numeric ids, e.g. --owner beam or --owner 999:999' });

/** Resolves `USER[:GROUP]` to ids. Throws a usage error naming `--owner`. */
export function resolveOwner(spec: string, db: AccountDb = systemAccounts): Owner {
  const m = /^([^:\s]+)(?::([^:\s]+))?$/.exec(spec);
  if (!m) throw usage(spec, 'expected USER or USER:GROUP');
  const [, user, group] = m as unknown as [string, string, string | undefined];
  const pw = db.passwd(user);
  let uid: number;
  let primaryGid: number | undefined;
  if (pw) {
    uid = Number(pw.split(':')[2]);
    primaryGid = Number(pw.split(':')[3]);
  } else if (/^\d+$/.test(user)) {
    uid = Number(user);
  } else {
    throw usage(spec, `no such user ${JSON.stringify(user)}`);
  }
  let gid: number;
  if (group === undefined) {
    if (primaryGid === undefined || !Number.isInteger(primaryGid)) throw usage(spec, `uid ${user} has no passwd entry, so its group is unknown; give it (--owner ${user}:GID)`);
    gid = primaryGid;
  } else {
    const gr = db.group(group);
    if (gr) gid = Number(gr.split(':')[2]);
    else if (/^\d+$/.test(group)) gid = Number(group);
    else throw usage(spec, `no such group ${JSON.stringify(group)}`);
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid < 0 || gid < 0) throw usage(spec, 'the account database holds no numeric id for it');
  return { uid, gid };
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/** lchown `p` and, for a directory, everything under it (symlinks themselves, never followed). */
async function chownTree(p: string, o: Owner, done: string[]): Promise<void> {
  const st = await lstat(p);
  await lchown(p, o.uid, o.gid);
  done.push(p);
  if (st.isDirectory()) for (const e of await readdir(p)) await chownTree(join(p, e), o, done);
}

/** Chowns the node's credential set and the files the node reads (see the module comment). Returns what it changed. */
export async function chownNodeFiles(dir: string, o: Owner): Promise<string[]> {
  const p = paths(dir);
  const done: string[] = [];
  const crlSets = join(dir, '.crl.sets');
  for (const f of [join(dir, '.sets'), join(dir, 'current'), p.bundle, p.ca, p.optfile, p.vmArgs, p.ebin, p.crlDir, crlSets, join(dir, 'approle')]) {
    if (!(await exists(f))) continue;
    try {
      await chownTree(f, o, done);
    } catch (e) {
      throw new ExitError(EXIT.WRITE, `--owner: cannot chown ${f} to ${o.uid}:${o.gid}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e, hint: 'chown to another user needs root' });
    }
  }
  return done;
}

/** Fails early (before anything is issued) when this process may not chown files in `dir` to `o`. */
export async function checkCanChown(dir: string, o: Owner): Promise<void> {
  const { open, rm } = await import('node:fs/promises');
  const probe = join(dir, `.owner-check-${process.pid}`);
  try {
    await (await open(probe, 'w', 0o600)).close();
    await lchown(probe, o.uid, o.gid);
  } catch (e) {
    throw new ExitError(EXIT.WRITE, `--owner ${o.uid}:${o.gid}: cannot chown files in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e, hint: 'run init node as root to hand the files to another user' });
  } finally {
    await rm(probe, { force: true });
  }
}
