/**
 * vaultdist demo (README command 1), run by scripts/demo/run:
 *
 * 1. Vault: $BAO_ADDR/$VAULT_ADDR when set, otherwise an embedded OpenBao dev server on loopback;
 * 2. `vaultdist init vault` (demo-named mounts, cert auth for renewals) and `vaultdist init node` for
 *    two Elixir nodes;
 * 3. start both with the generated `elixir/iex.sh`, connect them over mutual TLS;
 * 4. a node without a certificate is refused; nothing listens on port 4369;
 * 5. the renewal agent (`vaultdist agent --once --force`) rotates alice's certificate live: a new
 *    connection sees the new serial, while the existing bob↔alice link stays up (same connection);
 * 5b. discovery (#13, discovery.ts): the agent registers the nodes in the registry plugin and carol,
 *    on a dynamic port with no port configured, finds alice and bob through the registry alone;
 * 6. summary; everything is cleaned up (nodes, Vault mounts/auth/policy, dev server, files), also on
 *    Ctrl-C.
 */
import 'reflect-metadata';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVaultClient, probeDistCertificate, silentLogger, type VaultClient } from '../../packages/sdk/src/index.js';
import { removeMount } from '../../packages/sdk/src/internal.js';
import { startVaultDev, type VaultDev } from '../vault-dev/src/index.js';
import { showDiscovery, type DiscoveryResult } from './discovery.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'bin.js');
const t0 = Date.now();
const step = (msg: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
const detail = (msg: string) => process.stdout.write(`         ${msg}\n`);

const work = mkdtempSync(join(tmpdir(), 'vaultdist-demo-'));
const tag = Math.random().toString(16).slice(2, 8);
const names = { mount: `vaultdist-demo-${tag}`, rootMount: `vaultdist-demo-${tag}-root`, certMount: `vaultdist-demo-${tag}-cert`, policy: `vaultdist-demo-${tag}` };
const COOKIE = `demo-${tag}`;

let dev: VaultDev | undefined;
let admin: VaultClient | undefined;
let vaultInitDone = false;
const nodes: IexNode[] = [];
let cleaning: Promise<void> | undefined;
let discovery: DiscoveryResult | undefined;

// ---------------------------------------------------------------------------------------------------
// An Elixir node driven through its iex shell (stdin), as a user would type.
// ---------------------------------------------------------------------------------------------------
class IexNode {
  readonly name: string;
  readonly proc: ChildProcessWithoutNullStreams;
  #out = '';
  #seq = 0;
  constructor(name: string, cmd: string, args: string[]) {
    this.name = name;
    this.proc = spawn(cmd, args, { cwd: work, env: { ...process.env, TERM: 'dumb' } });
    this.proc.stdout.on('data', (d: Buffer) => (this.#out += d.toString()));
    this.proc.stderr.on('data', (d: Buffer) => (this.#out += d.toString()));
    nodes.push(this);
  }
  get log(): string {
    return this.#out;
  }
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
  async waitFor(re: RegExp, what: string, timeoutMs = 30000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.#out);
      if (m) return m;
      if (!this.alive) throw new Error(`${this.name} exited while waiting for ${what}:\n${this.#out.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms:\n${this.#out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** Types an Elixir expression into the shell; resolves with `inspect(result)`. */
  async eval(expr: string): Promise<string> {
    const id = `${this.name.replace(/@.*/, '')}-${++this.#seq}`;
    this.proc.stdin.write(`IO.puts("<<${id}>>" <> inspect((${expr}), limit: :infinity, printable_limit: :infinity) <> "<</${id}>>")\n`);
    return (await this.waitFor(new RegExp(`<<${id}>>([\\s\\S]*?)<</${id}>>`), `the answer to ${expr}`))[1]!;
  }
  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin.write('System.halt()\n');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

/** Runs the vaultdist CLI; returns stdout (throws with the output on a non-zero exit). */
function vaultdist(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`vaultdist ${args.slice(0, 2).join(' ')} exited ${code}:\n${err}${out}`))));
  });
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, host);
    const done = (v: boolean) => {
      s.destroy();
      res(v);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function freePortOn(hosts: string[]): Promise<number> {
  const { createServer } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (const host of hosts) {
      ok = await new Promise<boolean>((res) => {
        const s = createServer();
        s.once('error', () => res(false));
        s.listen(port, host, () => s.close(() => res(true)));
      });
      if (!ok) break;
    }
    if (ok) return port;
  }
  throw new Error('no free port');
}

async function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await discovery?.cleanup().catch(() => {});
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
    if (admin && vaultInitDone && !dev) {
      // An external Vault: remove what the demo created (a dev server is simply thrown away).
      await removeMount(admin, names.mount).catch(() => {});
      await removeMount(admin, names.rootMount).catch(() => {});
      await admin.delete(`sys/auth/${names.certMount}`).catch(() => {});
      await admin.delete(`sys/policies/acl/${names.policy}`).catch(() => {});
    }
    await dev?.stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}

process.on('SIGINT', () => {
  step('interrupted: cleaning up');
  void cleanup().then(() => process.exit(130));
});
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

const peerSerial = (peer: string) =>
  `(fn -> {_, ctrl} = List.keyfind(:erlang.system_info(:dist_ctrl), :"${peer}", 0); {:ok, s} = :tls_sender.dist_tls_socket(ctrl); {:ok, der} = :ssl.peercert(s); ` +
  `{:OTPCertificate, tbs, _, _} = :public_key.pkix_decode_cert(der, :otp); elem(tbs, 2) |> Integer.to_string(16) |> String.downcase() end).()`;
const colonHex = (s: string) => {
  const h = s.replace(/"/g, '');
  return (h.length % 2 ? `0${h}` : h).match(/../g)!.join(':');
};

async function main(): Promise<boolean> {
  // (1) Vault
  const external = process.env.BAO_ADDR ?? process.env.VAULT_ADDR;
  let env: Record<string, string>;
  if (external) {
    const token = process.env.BAO_TOKEN ?? process.env.VAULT_TOKEN;
    if (!token) throw new Error(`${process.env.BAO_ADDR ? 'BAO_ADDR' : 'VAULT_ADDR'} is set but no BAO_TOKEN/VAULT_TOKEN`);
    step(`using the Vault at ${external} (from ${process.env.BAO_ADDR ? 'BAO_ADDR' : 'VAULT_ADDR'})`);
    env = { VAULT_ADDR: external, VAULT_TOKEN: token, BAO_ADDR: external, BAO_TOKEN: token };
    const cacert = process.env.BAO_CACERT ?? process.env.VAULT_CACERT;
    if (cacert) Object.assign(env, { VAULT_CACERT: cacert, BAO_CACERT: cacert });
    admin = createVaultClient({ logger: silentLogger });
  } else {
    step('no VAULT_ADDR: starting an OpenBao dev server on loopback');
    dev = await startVaultDev({ registryPlugin: true });
    // Renewals log in with the node's own certificate (cert auth), which needs Vault over HTTPS.
    env = { VAULT_ADDR: dev.tlsAddr, VAULT_TOKEN: dev.token, VAULT_CACERT: dev.caCertPath, BAO_ADDR: dev.tlsAddr, BAO_TOKEN: dev.token, BAO_CACERT: dev.caCertPath };
    admin = createVaultClient({ address: dev.addr, token: dev.token, env: {}, logger: silentLogger });
    step(`OpenBao ${(await admin.health()).version} at ${dev.tlsAddr}`);
  }
  const https = env.VAULT_ADDR!.startsWith('https://');

  // (2) vaultdist init vault / init node
  const plan = await vaultdist(
    ['init', 'vault', '--mount', names.mount, '--root-mount', names.rootMount, '--policy', names.policy, '--allow-any-host', '--leaf-ttl', '1h', ...(https ? ['--auth', 'cert', '--cert-mount', names.certMount] : ['--auth', 'token'])],
    env,
  );
  vaultInitDone = true;
  step(`vaultdist init vault: ${(/(\d+) change\(s\) applied/.exec(plan)?.[1] ?? '?')} changes (root CA ${names.rootMount}/, issuing CA ${names.mount}/, role, policy${https ? ', cert auth for renewals' : ''})`);
  const port = await freePortOn(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  const dirs: Record<string, string> = {};
  const serial0: Record<string, string> = {};
  for (const [n, ip] of [['alice', '127.0.0.1'], ['bob', '127.0.0.2']] as const) {
    dirs[n] = join(work, n);
    const out = await vaultdist(
      ['init', 'node', '--name', `${n}@${ip}`, '--dir', dirs[n]!, '--mount', names.mount, '--dist-port', String(port), ...(https ? ['--cert-auth-mount', names.certMount] : [])],
      env,
    );
    serial0[n] = /certificate ([0-9a-f:]+), expires/.exec(out)?.[1] ?? '?';
    step(`vaultdist init node ${n}@${ip}: key made here, CSR signed by Vault, serial ${serial0[n]}`);
  }
  detail(`each directory has bundle.pem, ca.pem, ssl_dist.conf, vm.args, elixir/iex.sh, agent.yaml and the companion modules`);

  // (3) two Elixir nodes from the generated iex.sh
  const alice = new IexNode('alice@127.0.0.1', 'sh', [join(dirs.alice!, 'elixir', 'iex.sh'), '--cookie', COOKIE]);
  const bob = new IexNode('bob@127.0.0.2', 'sh', [join(dirs.bob!, 'elixir', 'iex.sh'), '--cookie', COOKIE]);
  await Promise.all([alice.waitFor(/iex\(alice@127\.0\.0\.1\)1>/, 'the iex prompt'), bob.waitFor(/iex\(bob@127\.0\.0\.2\)1>/, 'the iex prompt')]);
  step(`started alice and bob (iex, -proto_dist vaultdist_tls, -epmd_module vaultdist_epmd, port ${port})`);
  const connected = await bob.eval(`Node.connect(:"alice@127.0.0.1")`);
  const proto = await bob.eval(`(fn -> [{_, c}] = :erlang.system_info(:dist_ctrl); {:ok, s} = :tls_sender.dist_tls_socket(c); {:ok, [protocol: v]} = :ssl.connection_information(s, [:protocol]); v end).()`);
  const seenBefore = colonHex(await bob.eval(peerSerial('alice@127.0.0.1')));
  step(`bob> Node.connect(:"alice@127.0.0.1") = ${connected}; Node.list() = ${await bob.eval('Node.list()')}; link: ${proto}`);
  detail(`alice presented certificate ${seenBefore}`);
  const ctrlBefore = await bob.eval(`elem(List.keyfind(:erlang.system_info(:dist_ctrl), :"alice@127.0.0.1", 0), 1)`);

  // (4) a node without a certificate; no epmd
  const noDir = join(work, 'nocert');
  mkdirSync(noDir);
  const ca = join(dirs.alice!, 'ca.pem');
  writeFileSync(
    join(noDir, 'ssl_dist.conf'),
    `[{server, [{cacertfile, "${ca}"}, {verify, verify_peer}, {fail_if_no_peer_cert, true}, {versions, ['tlsv1.3']}]},\n {client, [{cacertfile, "${ca}"}, {verify, verify_peer}, {versions, ['tlsv1.3']}]}].\n`,
  );
  const mallory = new IexNode('mallory@127.0.0.3', 'iex', [
    '--name', 'mallory@127.0.0.3', '--cookie', COOKIE,
    '--erl', `-proto_dist inet_tls -ssl_dist_optfile ${join(noDir, 'ssl_dist.conf')} -start_epmd false -epmd_module vaultdist_epmd -erl_epmd_port ${port} -pa ${join(dirs.alice!, 'ebin')} -kernel inet_dist_use_interface {127,0,0,3}`,
  ]);
  await mallory.waitFor(/iex\(mallory@127\.0\.0\.3\)1>/, 'the iex prompt');
  const refused = await mallory.eval(`Node.connect(:"alice@127.0.0.1")`);
  await alice.waitFor(/Certificate required/, 'the refusal log line', 5000).catch(() => undefined);
  step(`mallory (trusts the CA, has no certificate)> Node.connect(:"alice@127.0.0.1") = ${refused}${/Certificate required/.test(alice.log) ? '; alice logged "Certificate required"' : ''}`);
  await mallory.stop();
  // (4b) bob's perfectly valid certificate under another name: refused before nodeup (the carrier)
  const imp = new IexNode('imp@127.0.0.3', 'iex', [
    '--name', 'imp@127.0.0.3', '--cookie', COOKIE,
    '--erl', `-proto_dist inet_tls -ssl_dist_optfile ${join(dirs.bob!, 'ssl_dist.conf')} -start_epmd false -epmd_module vaultdist_epmd -erl_epmd_port ${port} -pa ${join(dirs.alice!, 'ebin')} -kernel inet_dist_use_interface {127,0,0,3}`,
  ]);
  await imp.waitFor(/iex\(imp@127\.0\.0\.3\)1>/, 'the iex prompt');
  const impRefused = await imp.eval(`Node.connect(:"alice@127.0.0.1")`);
  const impLine = await alice.waitFor(/vaultdist_tls: refused [^\n]*claimed node imp@127\.0\.0\.3[^\n]*/, 'the refusal log line', 5000).catch(() => undefined);
  step(`imp (bob's files, another name)> Node.connect(:"alice@127.0.0.1") = ${impRefused}; alice: ${impLine?.[0] ?? 'no log line'}`);
  await imp.stop();
  const epmdOpen = await portOpen('127.0.0.1', 4369);
  let epmdNote = 'closed';
  if (epmdOpen) {
    // Not ours (every node here runs with -start_epmd false). Show that our nodes did not register with it.
    const reg = await new Promise<string>((res) => {
      const p = spawn('epmd', ['-names']);
      let o = '';
      p.stdout.on('data', (d: Buffer) => (o += d));
      p.on('error', () => res(''));
      p.on('exit', () => res(o));
    });
    const ours = ['alice', 'bob', 'mallory', 'imp'].filter((n) => new RegExp(`^name ${n} at`, 'm').test(reg));
    epmdNote = `open, but not started by this demo; ${ours.length ? `REGISTERED: ${ours.join(', ')}` : 'none of our nodes registered with it (vaultdist_epmd never contacts an epmd)'}`;
  }
  step(`port 4369 (epmd) on 127.0.0.1: ${epmdNote}`);

  // (5) live rotation by the agent
  let agentConfig = join(dirs.alice!, 'agent.yaml');
  if (!https) {
    // Cert auth needs HTTPS; with a plain-HTTP Vault the agent uses the token from the environment.
    const YAML = createRequire(join(ROOT, 'packages', 'agent', 'package.json'))('yaml') as { parse(s: string): Record<string, any>; stringify(v: unknown): string }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const cfg = YAML.parse(readFileSync(agentConfig, 'utf8'));
    cfg.vault.auth = { method: 'token' };
    agentConfig = join(dirs.alice!, 'agent-token.yaml');
    writeFileSync(agentConfig, YAML.stringify(cfg), { mode: 0o600 });
  }
  step(`vaultdist agent --config ${agentConfig.replace(work, '$WORK')} --once --force  (renew, swap the files, SIGHUP, verify)`);
  const agentOut = await vaultdist(['agent', '--config', agentConfig, '--once', '--force', '--no-health'], env);
  const lines = agentOut.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return { msg: l }; } });
  if (process.env.VAULTDIST_DEMO_DEBUG) for (const l of lines) detail(`agent: ${JSON.stringify(l)}`);
  for (const l of lines) {
    if (!/login succeeded|credential set written|reload triggered|serves the new/i.test(String(l.msg))) continue;
    detail(`agent: ${String(l.msg)}${l.method ? ` (${String(l.method)} auth: the node's own certificate)` : ''}${l.serial && !l.method ? ` (serial ${String(l.serial)})` : ''}`);
  }
  await alice.waitFor(/reloaded \(trigger :sighup\)/, 'the reload log line', 10000);
  detail(`alice: ${/vaultdist_reload: TLS distribution certificates reloaded[^\n]*/.exec(alice.log)?.[0] ?? ''}`);
  const bundle = readFileSync(join(dirs.bob!, 'bundle.pem'), 'utf8');
  const probe = await probeDistCertificate({ host: '127.0.0.1', port, cert: bundle, key: bundle, ca: readFileSync(join(dirs.bob!, 'ca.pem'), 'utf8'), servername: '127.0.0.1' });
  step(`a new connection to alice now sees certificate ${probe.serial} (${probe.ok ? 'verified' : `NOT verified: ${probe.error}`})`);
  const ctrlAfter = await bob.eval(`elem(List.keyfind(:erlang.system_info(:dist_ctrl), :"alice@127.0.0.1", 0), 1)`);
  const seenOnLink = colonHex(await bob.eval(peerSerial('alice@127.0.0.1')));
  const pingAfter = await bob.eval(`:rpc.call(:"alice@127.0.0.1", Node, :self, [])`);
  step(`the bob↔alice link stayed up: same connection ${ctrlAfter === ctrlBefore ? '(yes)' : '(NO: it was re-established)'}, still carrying ${seenOnLink}; rpc → ${pingAfter}`);

  // (5b) discovery through the registry plugin
  discovery = await showDiscovery({ root: ROOT, work, tag, admin: admin!, env, https, dirs, cookie: COOKIE, issuingMount: names.mount, certMount: names.certMount, step, detail, vaultdist, startIex: (name, args) => new IexNode(name, 'iex', args) });

  // (6) summary
  const ok =
    discovery.ok &&
    connected === 'true' && proto === ':"tlsv1.3"' && seenBefore === serial0.alice && refused === 'false' && !!probe.ok && !!probe.serial && probe.serial !== serial0.alice && ctrlAfter === ctrlBefore && seenOnLink === serial0.alice && pingAfter === ':"alice@127.0.0.1"';
  step(
    ok
      ? `summary: two Elixir nodes on Vault-issued certificates over mutual TLS, no epmd; a certificate-less node refused; the agent rotated alice's certificate live (${serial0.alice} → ${probe.serial}) without dropping the link; carol found alice and bob through the registry alone. OK`
      : 'summary: FAILED (see above)',
  );
  return ok;
}

main()
  .then(async (ok) => {
    await cleanup();
    step(`cleaned up (nodes stopped, ${dev ? 'OpenBao dev server stopped' : 'demo mounts, auth and policy removed'}, files removed)`);
    process.exit(ok ? 0 : 1);
  })
  .catch(async (e) => {
    process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
    await cleanup();
    process.exit(1);
  });
