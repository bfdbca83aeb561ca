/**
 * A stand-in for `vaultdist init vault` / `vaultdist init node` used by the examples until the CLI
 * ships those commands (then the examples call `node packages/cli/bin.js init …` instead: every demo
 * script takes the command from $VAULTDIST). It writes the same node-directory layout the CLI writes:
 *
 *   DIR/bundle.pem  key + leaf + chain (0600, atomic symlink swap), DIR/ca.pem trust anchors
 *   DIR/ssl_dist.conf  the -ssl_dist_optfile
 *   DIR/ebin        the companion modules (vaultdist_reload, vaultdist_epmd, vaultdist_name_check)
 *   DIR/vm.args     for `erl -args_file DIR/vm.args`
 *
 * Usage (Vault from VAULT_ADDR/VAULT_TOKEN or BAO_ADDR/BAO_TOKEN):
 *   vaultdist-stand-in.ts init vault [--mount pki_dist] [--role erlang-node]
 *   vaultdist-stand-in.ts init node --name NAME@HOST --dir DIR [--dist-port 9100] [--mount …] [--role …]
 *        [--no-epmd-module] [--ttl 1h]
 *   vaultdist-stand-in.ts issue --dir DIR    re-issue for the node in DIR (a rotation, files swapped atomically)
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createVaultClient,
  ensureMount,
  ensureRole,
  ensureRootCa,
  issueNodeCredentials,
  nodeRoleBody,
  parseNodeName,
  renderOptfile,
  renderVmArgs,
  silentLogger,
} from '../../packages/sdk/src/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COMPANION = join(ROOT, 'packages', 'cli', 'erlang');

function usage(msg: string): never {
  process.stderr.write(`vaultdist-stand-in: ${msg}\n`);
  process.exit(2);
}

function parseFlags(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) usage(`unexpected argument ${JSON.stringify(a)}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
    else {
      out[a.slice(2)] = next;
      i++;
    }
  }
  return out;
}

const str = (f: Record<string, string | true>, k: string, def?: string): string => {
  const v = f[k];
  if (v === undefined) {
    if (def === undefined) usage(`--${k} is required`);
    return def;
  }
  if (v === true) usage(`--${k} needs a value`);
  return v;
};

interface StandInSettings {
  node: string;
  mount: string;
  role: string;
  distPort: number;
  epmdModule: boolean;
  ttl: string | undefined;
}

async function main(): Promise<void> {
  const [cmd, sub, ...rest] = process.argv.slice(2);
  const vault = createVaultClient({ logger: silentLogger });
  if (cmd === 'init' && sub === 'vault') {
    const f = parseFlags(rest);
    const mount = str(f, 'mount', 'pki_dist');
    const role = str(f, 'role', 'erlang-node');
    await ensureMount(vault, mount, { maxLeaseTtl: '87600h' });
    const ca = await ensureRootCa(vault, mount, { commonName: `vaultdist example root (${mount})`, ttl: '8760h' });
    await ensureRole(vault, mount, role, nodeRoleBody({ allowAnyName: true, ttl: '24h', maxTtl: '72h' }));
    process.stdout.write(`vault ready: PKI mount ${mount}/ (${ca.changed ? 'new' : 'existing'} root CA), role ${role}\n`);
    return;
  }
  if (cmd === 'init' && sub === 'node') {
    const f = parseFlags(rest);
    const node = parseNodeName(str(f, 'name'));
    const dirArg = str(f, 'dir');
    const dir = isAbsolute(dirArg) ? dirArg : resolve(process.cwd(), dirArg);
    const s: StandInSettings = {
      node: node.full,
      mount: str(f, 'mount', 'pki_dist'),
      role: str(f, 'role', 'erlang-node'),
      distPort: Number(str(f, 'dist-port', '9100')),
      epmdModule: f['no-epmd-module'] !== true,
      ttl: f.ttl === undefined ? undefined : str(f, 'ttl'),
    };
    if (!Number.isInteger(s.distPort) || s.distPort < 1 || s.distPort > 65535) usage(`--dist-port ${f['dist-port']} is not a TCP port`);
    mkdirSync(dir, { recursive: true });
    const r = await issueNodeCredentials(vault, { mount: s.mount, role: s.role, node, dir, ttl: s.ttl });
    const ebin = join(dir, 'ebin');
    mkdirSync(ebin, { recursive: true });
    const sources = readdirSync(COMPANION).filter((x) => x.endsWith('.erl')).map((x) => join(COMPANION, x));
    execFileSync('erlc', ['-o', ebin, ...sources], { stdio: 'inherit' });
    writeFileSync(join(dir, 'ssl_dist.conf'), renderOptfile({ bundleFile: r.written.bundlePath, caFile: r.written.caPath, comment: [`node ${node.full}`] }));
    const vmArgs =
      renderVmArgs({
        node,
        optfile: join(dir, 'ssl_dist.conf'),
        distPort: s.distPort,
        listenInterface: node.hostKind === 'ipv4' ? node.host : undefined,
        epmdModule: s.epmdModule ? 'vaultdist_epmd' : undefined,
        codePaths: [ebin],
      }) + `## certificate reload: SIGHUP handler + pidfile\n-vaultdist_sighup true\n-vaultdist_pidfile ${join(dir, 'beam.pid')}\n-s vaultdist_reload start\n`;
    writeFileSync(join(dir, 'vm.args'), vmArgs);
    writeFileSync(join(dir, 'stand-in.json'), `${JSON.stringify(s, null, 2)}\n`);
    process.stdout.write(`node ${node.full} ready in ${dir}: certificate ${r.leaf.serial}, expires ${r.leaf.notAfter.toISOString()}\n`);
    return;
  }
  if (cmd === 'issue') {
    const f = parseFlags([sub ?? '', ...rest].filter(Boolean));
    const dir = resolve(str(f, 'dir'));
    const file = join(dir, 'stand-in.json');
    if (!existsSync(file)) usage(`${dir} was not initialised (no stand-in.json); run init node first`);
    const s = JSON.parse(readFileSync(file, 'utf8')) as StandInSettings;
    const r = await issueNodeCredentials(vault, { mount: s.mount, role: s.role, node: s.node, dir, ttl: s.ttl });
    process.stdout.write(`node ${s.node}: new certificate ${r.leaf.serial} written to ${dir}\n`);
    return;
  }
  usage('expected `init vault`, `init node` or `issue`');
}

main().catch((e: unknown) => {
  process.stderr.write(`vaultdist-stand-in: ${(e as Error).message}\n`);
  process.exit(1);
});
