/**
 * The command table (house style §11): every command, its options and runnable examples. Actions
 * lazy-import `commands/<name>/index.ts`, which export one async function taking a typed options object
 * and returning the exit code.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, EXIT_TABLE } from './errors.js';
import { createOutput, type CliIo } from './output.js';
import { packageVersion } from './package-root.js';

import { DEFAULT_KEY_TYPE, NODE_KEY_TYPES as KEY_TYPES } from '@vaultdist/sdk/key-types'; // the light entry (no x509)

// a number here; its range is the agent config's port schema (checkOptionValues in the action)
const int = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} needs a port number (1-65535), got ${JSON.stringify(v)}`);
  return Number(v);
};
const bool = (flag: string) => (v: string) => {
  if (v !== 'true' && v !== 'false') throw new InvalidArgumentError(`${flag} is true or false, got ${JSON.stringify(v)}`);
  return v === 'true';
};
const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)];
const repeat = (v: string, prev: string[] = []) => [...prev, v];

function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

function vaultOptions(cmd: Command): Command {
  return cmd
    .option('--vault-addr <url>', 'Vault/OpenBao address, or several separated by commas (HA) (env BAO_ADDR / VAULT_ADDR)')
    .option('--token <token>', 'Vault token (env BAO_TOKEN / VAULT_TOKEN; prefer the env: flags show in ps)')
    .option('--vault-cacert <file>', 'CA bundle to trust for an HTTPS Vault (env BAO_CACERT / VAULT_CACERT)')
    .option('--namespace <ns>', 'Vault namespace (env BAO_NAMESPACE / VAULT_NAMESPACE)');
}

function appRoleOptions(cmd: Command): Command {
  return cmd
    .option('--role-id <id>', 'AppRole role_id (env VAULTDIST_ROLE_ID); logs in instead of using a token')
    .option('--secret-id <id>', 'AppRole secret_id (env VAULTDIST_SECRET_ID)')
    .option('--wrapped-secret-id <token>', 'response-wrapping token holding the secret_id (printed by `init vault`)')
    .option('--approle-mount <path>', 'AppRole auth mount (default approle)');
}

/** The values of `vaultOptions`, as the commands take them. */
function vaultArgs(opts: Record<string, unknown>) {
  return {
    vaultAddr: opts.vaultAddr as string | undefined,
    token: opts.token as string | undefined,
    vaultCacert: opts.vaultCacert as string | undefined,
    namespace: opts.namespace as string | undefined,
  };
}

/** The values of `appRoleOptions`, as the commands take them. */
function appRoleArgs(opts: Record<string, unknown>) {
  return {
    roleId: opts.roleId as string | undefined,
    secretId: opts.secretId as string | undefined,
    wrappedSecretId: opts.wrappedSecretId as string | undefined,
    approleMount: opts.approleMount as string | undefined,
  };
}

/** Builds the program. `setCode` receives each action's exit code. */
export function buildProgram(io: CliIo, setCode: (code: number) => void): Command {
  const program = new Command('vaultdist');
  program
    .description('Mutual-TLS Erlang/Elixir distribution with Vault/OpenBao certificates: bootstrap, status and doctor.')
    .version(packageVersion(), '-V, --version')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\nExit codes:\n${EXIT_TABLE.map(([c, m]) => `  ${String(c).padStart(2)}  ${m}`).join('\n')}\n\nExamples:\n  $ vaultdist init vault --allow-any-host --dry-run\n  $ vaultdist init node --name app@10.0.0.5 --dir /etc/vaultdist/app\n  $ vaultdist doctor --dir /etc/vaultdist/app --probe 10.0.0.5:9100 --epmd 10.0.0.5\n`);
  program.exitOverride();

  const init = program.command('init').description('bootstrap the Vault side or a node');
  init.exitOverride();

  const initVault = vaultOptions(init.command('vault').description('set up PKI mounts, role, policy and auth methods (idempotent; prints a plan)'))
    .option('--mount <path>', 'issuing (intermediate) PKI mount', 'pki_dist')
    .option('--root-mount <path>', 'root PKI mount', 'pki_dist_root')
    .option('--root-cn <name>', 'root CA common name', 'vaultdist root CA')
    .option('--int-cn <name>', 'intermediate CA common name', 'vaultdist distribution CA')
    .option('--existing-root', 'use the CA already in --root-mount (fail if there is none)', false)
    .option('--import-root <pem-bundle>', 'import this CA certificate + key as the root')
    .option('--root-ttl <dur>', 'root CA lifetime = root mount max TTL', '87600h')
    .option('--int-ttl <dur>', 'intermediate lifetime = issuing mount max TTL (must exceed --leaf-max-ttl)', '43800h')
    .option('--role <name>', 'template PKI role for the per-node roles (hosts, key type, TTLs); signs no node identity', 'erlang-node')
    .option('--allowed-hosts <hosts>', 'hosts node certificates may name (comma list; globs like *.dist.example.com)', list, [])
    .option('--allow-any-host', 'allow any host name (quick starts and tests)', false)
    .addOption(new Option('--key-type <type>', 'key type for CAs and nodes').choices([...KEY_TYPES]).default(DEFAULT_KEY_TYPE))
    .option('--leaf-ttl <dur>', 'default node certificate TTL', '24h')
    .option('--leaf-max-ttl <dur>', 'maximum node certificate TTL', '72h')
    .option('--policy <prefix>', 'prefix of the per-node ACL policies (<prefix>-<slug>); a shared policy of exactly this name (older vaultdist) is deleted', 'vaultdist-node')
    .option('--node <name@host>', 'create this node\'s own Vault identity and print its role_id + wrapped secret_id (repeatable)', repeat, [])
    .option('--registry-mount <path>', 'mount of the vaultdist registry plugin the node policies grant', 'vaultdist')
    .option('--registry', 'register, enable and configure the registry plugin when this token may; else print the server configuration to add', false)
    .option('--registry-cluster <name>', 'with --registry: the cluster to configure (allowed node names from --allowed-hosts)', 'default')
    .option('--registry-sha256 <hex>', 'with --registry: sha256 of the plugin binary in the server\'s plugin_directory')
    .option('--registry-binary <file>', 'with --registry: a copy of that binary, hashed instead of --registry-sha256')
    .option('--registry-version <semver>', 'with --registry: the plugin version (compiled into the binary)', 'v0.1.0')
    .option('--registry-command <file>', 'with --registry: file name of the binary in plugin_directory', 'vaultdist')
    .option('--registry-ttl <dur>', 'with --registry: registration lease TTL', '60s')
    .option('--registry-max-ttl <dur>', 'with --registry: longest a registration lives without registering again', '10m')
    .option('--auth <methods>', 'auth methods for nodes: approle, cert, token (comma list)', list)
    .option('--approle-mount <path>', 'AppRole auth mount', 'approle')
    .option('--cert-mount <path>', 'cert auth mount (renewal with the node certificate)', 'cert')
    .option('--secret-id-ttl <dur>', 'AppRole secret_id lifetime', '24h')
    .option('--wrap-ttl <dur>', 'response-wrapping TTL of the printed secret_id', '1h')
    .option('--new-secret-id', 'print a fresh wrapped secret_id even when nothing else changes', false)
    .option('--create-token', 'with --auth token and --node: create and print a periodic token with that node\'s policy', false)
    .option('--urls <vault-url>', 'configure AIA/CRL URLs on both mounts with this public Vault URL')
    .option('--crl-expiry <dur>', 'CRL lifetime on the issuing mount')
    .option('--dry-run', 'print the plan, change nothing', false)
    .option('--json', 'print the plan/result as JSON', false)
    .action(async (opts: Record<string, unknown>) => {
      const { initVault } = await import('./commands/init-vault/index.js');
      const { checkOptionValues } = await import('./node-dir.js');
      checkOptionValues([
        ['--mount', 'mountPath', opts.mount],
        ['--root-mount', 'mountPath', opts.rootMount],
        ['--registry-mount', 'mountPath', opts.registryMount],
        ['--approle-mount', 'mountPath', opts.approleMount],
        ['--cert-mount', 'mountPath', opts.certMount],
      ]);
      const auth = ((opts.auth as string[] | undefined) ?? ['approle', 'cert']) as ('approle' | 'cert' | 'token')[];
      for (const a of auth) if (!['approle', 'cert', 'token'].includes(a)) throw new InvalidArgumentError(`--auth: unknown method ${JSON.stringify(a)} (approle, cert, token)`);
      const out = createOutput(io, { json: Boolean(opts.json) });
      setCode(
        await initVault(
          {
            ...vaultArgs(opts),
            mount: opts.mount as string,
            rootMount: opts.rootMount as string,
            rootCommonName: opts.rootCn as string,
            intCommonName: opts.intCn as string,
            existingRoot: Boolean(opts.existingRoot),
            importRoot: opts.importRoot as string | undefined,
            rootTtl: opts.rootTtl as string,
            intTtl: opts.intTtl as string,
            role: opts.role as string,
            allowedHosts: opts.allowedHosts as string[],
            allowAnyHost: Boolean(opts.allowAnyHost),
            keyType: opts.keyType as (typeof KEY_TYPES)[number],
            leafTtl: opts.leafTtl as string,
            leafMaxTtl: opts.leafMaxTtl as string,
            policy: opts.policy as string,
            nodes: opts.node as string[],
            registryMount: opts.registryMount as string,
            registry: opts.registry
              ? {
                  cluster: opts.registryCluster as string,
                  sha256: opts.registrySha256 as string | undefined,
                  binary: opts.registryBinary as string | undefined,
                  version: opts.registryVersion as string,
                  command: opts.registryCommand as string,
                  ttl: opts.registryTtl as string,
                  maxTtl: opts.registryMaxTtl as string,
                }
              : undefined,
            auth,
            approleMount: opts.approleMount as string,
            certMount: opts.certMount as string,
            secretIdTtl: opts.secretIdTtl as string,
            wrapTtl: opts.wrapTtl as string,
            newSecretId: Boolean(opts.newSecretId),
            createToken: Boolean(opts.createToken),
            urls: opts.urls as string | undefined,
            crlExpiry: opts.crlExpiry as string | undefined,
            dryRun: Boolean(opts.dryRun),
            json: Boolean(opts.json),
          },
          out,
        ),
      );
    });
  examples(initVault, [
    'VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root vaultdist init vault --allow-any-host --dry-run',
    'vaultdist init vault --allowed-hosts 10.0.0.5,10.0.0.6,*.dist.example.com --auth approle,cert',
    'vaultdist init vault --allowed-hosts 10.0.0.5 --node app@10.0.0.5 --node worker@10.0.0.5',
    'vaultdist init vault --allowed-hosts 10.0.0.5 --registry --registry-binary ./vaultdist --registry-cluster prod',
    'vaultdist init vault --allow-any-host --auth token --node app@127.0.0.1 --create-token --json',
  ]);
  initVault.exitOverride();

  const initNode = appRoleOptions(vaultOptions(init.command('node').description('key, CSR, first certificate, optfile, vm.args, Elixir snippets and agent config for one node')))
    .requiredOption('--name <name@host>', 'Erlang node name (the host goes into the certificate)')
    .requiredOption('--dir <dir>', 'node directory to write')
    .option('--mount <path>', 'issuing PKI mount (default pki_dist)')
    .option('--role <name>', 'template role `init vault` made (default erlang-node); the node signs through its own role vaultdist-<slug>')
    .option('--policy <prefix>', 'prefix of the node\'s policy name, as `init vault --policy` (default vaultdist-node)')
    .option('--registry-mount <path>', 'registry plugin mount the node\'s policy grants (default vaultdist)')
    .addOption(new Option('--key-type <type>', 'node key type (default ec-p256)').choices([...KEY_TYPES]))
    .option('--ttl <dur>', 'certificate TTL (default: the role\'s)')
    .option('--dist-port <port>', 'distribution port, the same on every node (default 9100)', int('--dist-port'))
    .option('--listen-interface <ipv4>', 'bind the distribution listener to this address (default: the host for IP-named nodes)')
    .addOption(new Option('--tls <versions>', 'TLS versions (default tlsv1.3)').choices(['tlsv1.3', 'tlsv1.2', 'tlsv1.3,tlsv1.2']))
    .option('--no-companion', 'do not install the companion Erlang modules (vaultdist_reload …)')
    .option('--cert-auth-mount <path>', 'cert auth mount the agent renews with (default cert)')
    .option('--health-port <port>', 'agent health port on 127.0.0.1 (default 9464)', int('--health-port'))
    .addOption(new Option('--agent-auth <method>', 'how the agent logs in for renewals, as the node (default: cert over HTTPS, else the node\'s AppRole role, else token)').choices(['cert', 'approle', 'token']))
    .option('--crl', 'check peers against the CRL: optfile with {crl_check, peer} on DIR/crl, the first CRL written now, the agent keeps it fresh')
    .option('--no-crl', 'turn CRL checking off again (it is kept across re-runs otherwise)')
    .option('--connect-all <bool>', 'false: the node starts with -connect_all false (no full mesh); kept on re-runs, true turns it back on', bool('--connect-all'))
    .option('--agent-config <file>', 'the host\'s agent config this node is added to (one agent for every node of the host; default DIR/../agent.yaml)')
    .option('--force-issue', 'issue a new certificate even if the current one is fresh', false)
    .option('--owner <user[:group]>', 'owner of the key files and of what the node reads (names or numeric ids; needs root); kept in agent.yaml for renewals')
    .option('--json', 'print the result as JSON', false)
    .action(async (opts: Record<string, unknown>) => {
      const { initNode: run } = await import('./commands/init-node/index.js');
      const { checkOptionValues } = await import('./node-dir.js');
      // the values the node's settings and agent config keep, checked by the same schemas (issue #16)
      checkOptionValues([
        ['--mount', 'pkiMount', opts.mount],
        ['--registry-mount', 'mountPath', opts.registryMount],
        ['--approle-mount', 'mountPath', opts.approleMount],
        ['--cert-auth-mount', 'mountPath', opts.certAuthMount],
        ['--ttl', 'ttl', opts.ttl],
        ['--dist-port', 'port', opts.distPort],
        ['--health-port', 'healthPort', opts.healthPort],
      ]);
      const out = createOutput(io, { json: Boolean(opts.json) });
      setCode(
        await run(
          {
            ...vaultArgs(opts),
            ...appRoleArgs(opts),
            name: opts.name as string,
            dir: opts.dir as string,
            mount: opts.mount as string | undefined,
            role: opts.role as string | undefined,
            policy: opts.policy as string | undefined,
            registryMount: opts.registryMount as string | undefined,
            keyType: opts.keyType as (typeof KEY_TYPES)[number] | undefined,
            ttl: opts.ttl as string | undefined,
            distPort: opts.distPort as number | undefined,
            listenInterface: opts.listenInterface as string | undefined,
            tls: opts.tls ? ((opts.tls as string).split(',') as ('tlsv1.3' | 'tlsv1.2')[]) : undefined,
            companion: opts.companion !== false,
            certAuthMount: opts.certAuthMount as string | undefined,
            healthPort: opts.healthPort as number | undefined,
            agentAuth: opts.agentAuth as 'cert' | 'approle' | 'token' | undefined,
            crl: opts.crl as boolean | undefined,
            connectAll: opts.connectAll as boolean | undefined,
            agentConfig: opts.agentConfig as string | undefined,
            forceIssue: Boolean(opts.forceIssue),
            owner: opts.owner as string | undefined,
            json: Boolean(opts.json),
          },
          out,
        ),
      );
    });
  examples(initNode, [
    'VAULT_TOKEN=<operator token> vaultdist init node --name app@10.0.0.5 --dir /etc/vaultdist/app   # creates the node\'s identity, signs as the node',
    'vaultdist init node --name app@10.0.0.5 --dir ./app --role-id 1c6… --wrapped-secret-id hvs.CAES…   # from `init vault --node app@10.0.0.5`',
    'vaultdist init node --name app@10.0.0.5 --dir /etc/vaultdist/app --crl     # revocation: peers checked against DIR/crl',
    'sudo vaultdist init node --name app@10.0.0.5 --dir /var/lib/vaultdist/app --owner beam   # key files owned by the node user',
    'erl -args_file /etc/vaultdist/app/vm.args     # then start the node from what was written',
  ]);
  initNode.exitOverride();

  const issueCmd = appRoleOptions(vaultOptions(program.command('issue').description('issue a certificate now and swap the credential set (for scripts)')))
    .requiredOption('--dir <dir>', 'node directory')
    .option('--name <name@host>', 'node name (default: from DIR/vaultdist.json)')
    .option('--mount <path>', 'issuing PKI mount')
    .option('--role <name>', 'PKI role')
    .option('--ttl <dur>', 'certificate TTL')
    .addOption(new Option('--key-type <type>', 'node key type').choices([...KEY_TYPES]))
    .option('--trust-ca <file...>', 'CA rotation step: PEM file(s) of CA certificates to trust next to Vault\'s issuing CA (kept in ca.pem; a new issuing CA is adopted only when ca.pem or these hold it)')
    .option('--json', 'print the result as JSON', false)
    .action(async (opts: Record<string, unknown>) => {
      const { issue } = await import('./commands/issue/index.js');
      const { checkOptionValues } = await import('./node-dir.js');
      checkOptionValues([
        ['--mount', 'pkiMount', opts.mount],
        ['--ttl', 'ttl', opts.ttl],
      ]);
      const out = createOutput(io, { json: Boolean(opts.json) });
      setCode(
        await issue(
          {
            ...vaultArgs(opts),
            ...appRoleArgs(opts),
            dir: opts.dir as string,
            name: opts.name as string | undefined,
            mount: opts.mount as string | undefined,
            role: opts.role as string | undefined,
            ttl: opts.ttl as string | undefined,
            keyType: opts.keyType as (typeof KEY_TYPES)[number] | undefined,
            trustCa: opts.trustCa as string[] | undefined,
            json: Boolean(opts.json),
          },
          out,
        ),
      );
    });
  examples(issueCmd, ['vaultdist issue --dir /etc/vaultdist/app --json', 'vaultdist issue --dir /etc/vaultdist/app --trust-ca /etc/vaultdist/ca1.pem --trust-ca /etc/vaultdist/ca2.pem   # CA rotation', 'vaultdist issue --dir ./app --name app@10.0.0.5 --mount pki_dist --role erlang-node --ttl 1h']);
  issueCmd.exitOverride();

  const revokeCmd = vaultOptions(program.command('revoke').description('revoke a node certificate in the PKI and in cert auth; peers refuse it once their CRL refreshes'))
    .option('--dir <dir>', 'node directory: revoke the certificate in DIR/bundle.pem (by PEM: works for no_store roles)')
    .option('--serial <serial>', 'revoke by serial (any spelling: 3a:5f:… or 3A5F…)')
    .option('--mount <path>', 'issuing PKI mount (default: from DIR/vaultdist.json, else pki_dist)')
    .option('--cert-mount <path>', 'cert auth mount to push the CRL to (repeatable; default: every cert auth mount trusting this PKI, from sys/auth)', repeat)
    .option('--no-cert-auth', 'do not push the CRL to cert auth (only when no cert auth trusts this PKI)')
    .option('--json', 'print the result as JSON', false)
    .action(async (opts: Record<string, unknown>) => {
      const { revoke } = await import('./commands/revoke/index.js');
      const out = createOutput(io, { json: Boolean(opts.json) });
      setCode(
        await revoke(
          {
            ...vaultArgs(opts),
            dir: opts.dir as string | undefined,
            serial: opts.serial as string | undefined,
            mount: opts.mount as string | undefined,
            certMounts: opts.certMount as string[] | undefined,
            certAuth: opts.certAuth !== false,
            json: Boolean(opts.json),
          },
          out,
        ),
      );
    });
  examples(revokeCmd, [
    'VAULT_TOKEN=… vaultdist revoke --dir /etc/vaultdist/app',
    'vaultdist revoke --serial 3a:5f:00:12 --mount pki_dist --cert-mount cert --json',
    'vaultdist agent --config /etc/vaultdist/peer/agent.yaml --once   # then, on each peer host: refresh its CRL now',
  ]);
  revokeCmd.addHelpText('after', `\nExit codes: 0 revoked everywhere, 21 revoked but the CRL or a cert auth CRL was not updated, 2 usage, 10 config (unknown serial, no bundle), 11 Vault unreachable, 12 no token/permission, 13 not a revocable certificate.\n`);
  revokeCmd.exitOverride();

  const agentCmd = program
    .command('agent')
    .description('run the renewal agent (@vaultdist/agent); arguments after the command go to the agent')
    .allowUnknownOption(true)
    .helpOption(false)
    .argument('[args...]', 'agent arguments, e.g. --config DIR/agent.yaml')
    .action(async (args: string[]) => {
      const { agent } = await import('./commands/agent/index.js');
      setCode(await agent({ argv: args }, createOutput(io)));
    });
  examples(agentCmd, ['vaultdist agent --config /etc/vaultdist/app/agent.yaml', 'vaultdist agent --config ./app/agent.yaml --once']);

  const renderCmd = program
    .command('render')
    .description('print a generated file to stdout (ssl_dist.conf, vm.args, env.sh.eex, vm.args.eex, remote.vm.args.eex, iex.sh, agent.yaml, vaultdist.json, policy.hcl)')
    .argument('[file]', 'file name; omit to list')
    .option('--dir <dir>', 'node directory written by `init node`')
    .option('--mount <path>', 'for policy.hcl: issuing PKI mount', 'pki_dist')
    .option('--role <name@host>', 'for policy.hcl: the node (NAME@HOST) whose own policy to print', 'erlang-node')
    .option('--list', 'list the files', false)
    .action(async (file: string | undefined, opts: Record<string, unknown>) => {
      const { render } = await import('./commands/render/index.js');
      setCode(await render({ file, dir: opts.dir as string | undefined, mount: opts.mount as string, role: opts.role as string, list: Boolean(opts.list) }, createOutput(io)));
    });
  examples(renderCmd, ['vaultdist render vm.args --dir /etc/vaultdist/app', 'vaultdist render --list --dir ./app', 'vaultdist render policy.hcl --mount pki_dist --role app@10.0.0.5']);
  renderCmd.exitOverride();

  const statusCmd = program
    .command('status')
    .description('per node: serial, not-after, time left, issuer, renewal due, last agent result')
    .option('--dir <dir>', 'node directory (repeatable; default: the current directory)', repeat, [])
    .option('--health-url <url>', 'agent health endpoint (default http://127.0.0.1:<healthPort>/healthz)')
    .option('--json', 'print JSON', false)
    .action(async (opts: Record<string, unknown>) => {
      const { status } = await import('./commands/status/index.js');
      setCode(await status({ dir: opts.dir as string[], healthUrl: opts.healthUrl as string | undefined, json: Boolean(opts.json) }, createOutput(io, { json: Boolean(opts.json) })));
    });
  examples(statusCmd, ['vaultdist status --dir /etc/vaultdist/app', 'vaultdist status --dir ./a --dir ./b --json']);
  statusCmd.exitOverride();

  const doctorCmd = program
    .command('doctor')
    .description('check a node: key permissions, key/cert, chain, expiry, optfile and vm.args lint; probe epmd and dist ports')
    .option('--dir <dir>', 'node directory (local checks)')
    .option('--optfile <file>', 'ssl_dist.conf to lint (default DIR/ssl_dist.conf)')
    .option('--vm-args <file>', 'vm.args to lint (default DIR/vm.args)')
    .option('--margin <dur>', 'error when a certificate expires within this time (default: a third of its lifetime)')
    .option('--epmd <host[:port]>', 'ask this epmd which names it leaks (repeatable)', repeat, [])
    .option('--probe <host:port>', 'probe this distribution port (repeatable)', repeat, [])
    .option('--strict', 'exit 20 on warnings too', false)
    .option('--json', 'NDJSON: one finding per line, then a summary line', false)
    .action(async (opts: Record<string, unknown>) => {
      const { doctor } = await import('./commands/doctor/index.js');
      const out = createOutput(io, { json: Boolean(opts.json) });
      setCode(
        await doctor(
          {
            dir: opts.dir as string | undefined,
            optfile: opts.optfile as string | undefined,
            vmArgs: opts.vmArgs as string | undefined,
            margin: opts.margin as string | undefined,
            epmd: opts.epmd as string[],
            probe: opts.probe as string[],
            strict: Boolean(opts.strict),
            json: Boolean(opts.json),
          },
          out,
        ),
      );
    });
  examples(doctorCmd, [
    'vaultdist doctor --dir /etc/vaultdist/app',
    'vaultdist doctor --dir ./app --probe 127.0.0.1:9100 --epmd 127.0.0.1 --json',
    'vaultdist doctor --optfile ./ssl_dist.conf --vm-args ./vm.args --margin 12h',
  ]);
  doctorCmd.addHelpText('after', `\nExit codes: 0 clean (warnings allowed unless --strict), 20 findings with severity error, 2 usage, 10 config.\n`);
  doctorCmd.exitOverride();

  return program;
}

export { CommanderError, EXIT };
