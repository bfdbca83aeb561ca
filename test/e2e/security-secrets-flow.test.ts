/**
 * Secrets hygiene over the whole operator flow (issue #7), with the BUILT CLI and agent as child
 * processes against a PRIVATE OpenBao that has a raw file audit device, so every token and secret_id
 * Vault handed out during the flow is known and can be searched for:
 *
 *   init vault (AppRole + cert + token auth; prints role_id and a response-WRAPPED secret_id) →
 *   init node (AppRole, unwraps the secret_id) + init node (token) → the agent `--once --force` at
 *   trace level with AppRole, cert auth and token auth nodes (one chowned to a throw-away user) →
 *   `--print-config` with a literal token → failure paths (wrong secret_id, used wrapping token,
 *   Vault unreachable) → a daemon at debug level with its /healthz, /livez, /readyz and /metrics
 *   scraped, bound to 127.0.0.1 only (127.0.0.2 refused, `ss`), moved by VAULTDIST_HEALTH_LISTEN, a
 *   warning for a non-loopback host → an rpc reload with a cookie that fails → `status --json`,
 *   `doctor --json` → Vault down.
 *
 * Key files: bundle.pem (through its symlink) 0600 for every node, DIR/approle/{role-id,secret-id}
 * 0600, and a node with `owner` in the agent config owned by a throw-away user (useradd/userdel; root
 * only). `init node --owner` is covered by test/e2e/cli-init-node-owner.test.ts.
 *
 * Everything printed (stdout + stderr of every command) and every file the flow wrote except the
 * credential files themselves must contain none of: the root token, any client/wrapping token from the
 * audit log (except the wrapping token in `init vault`'s own output: printing it once is its purpose),
 * any secret_id (the real one, the wrong one), the distribution cookie, any `PRIVATE KEY` block or a
 * fragment of a key body. Defects found here were pinned with `it.failing` at the end of the file;
 * all four are fixed and are plain tests now.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import { startVaultDev, freePort, type VaultDev } from '../../scripts/vault-dev/src/index.js';
import { CLI_BIN, cleanEnv, runCommand, vaultdist, type CliResult } from '../../packages/cli/test/helpers.js';
import { testdir } from '../helpers/vault.js';
import { nodeIdentityNames } from '../../packages/sdk/src/index.js';

const AGENT_BIN = join(CLI_BIN, '..', '..', 'agent', 'bin.js');

interface Captured {
  label: string;
  text: string;
  /** Secrets this output may legitimately contain (printed on purpose). */
  allowed?: string[];
}

function agent(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCommand(process.execPath, [AGENT_BIN, ...args], { env: cleanEnv(env) });
}

/** Every file under dir (following no symlinks), relative paths. */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out;
}

/** Base64 fragments of every PEM private-key body in text (a key printed without its armour). */
function keyFragments(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/-----BEGIN [A-Z ]*PRIVATE KEY-----\n([\s\S]*?)-----END/g)) {
    const body = m[1]!.replace(/\s+/g, '');
    // Skip the DER header shared by every key of a type; take distinctive chunks.
    for (let i = 40; i + 24 <= body.length; i += 48) out.push(body.slice(i, i + 24));
  }
  return out;
}

const headerText = (h: Headers) => {
  let t = '';
  h.forEach((value, key) => (t += `${key}: ${value}\n`));
  return t;
};

const connectRefused = (host: string, port: number) =>
  new Promise<string>((res) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      res('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
  });

describe('secrets hygiene over the whole CLI + agent flow', () => {
  let v: VaultDev;
  const tmp = testdir('vaultdist-secrets-');
  const auditPath = () => join(v.dir, 'audit.log');
  const captured: Captured[] = [];
  const keep = (label: string, r: CliResult, allowed?: string[]) => {
    captured.push({ label: `${label} (stdout)`, text: r.stdout, ...(allowed ? { allowed } : {}) });
    captured.push({ label: `${label} (stderr)`, text: r.stderr });
    return r;
  };
  let user: { name: string; uid: number; gid: number } | null = null;
  let wrongSecretExit: number | null = null;
  let printConfigHits: string[] | null = null;
  let wrongSecretLevels: unknown[] | null = null;
  let envTokenWarned: boolean | null = null;

  beforeAll(async () => {
    v = await startVaultDev();
    // OpenBao 2.x refuses audit devices over the API ("use declarative, config-based audit device
    // management"): add one to the dev server's config and restart it (dev storage starts empty anyway).
    await v.pause();
    appendFileSync(join(v.dir, 'extra.hcl'), `\naudit "file" "vdaudit" {\n  options {\n    file_path = "${join(v.dir, 'audit.log')}"\n    log_raw = "true"\n  }\n}\n`);
    await v.restart();
    const audits = (await (await fetch(`${v.addr}/v1/sys/audit`, { headers: { 'X-Vault-Token': v.token } })).json()) as Record<string, unknown>;
    expect(Object.keys(audits)).toContain('vdaudit/');
    if (process.getuid?.() === 0 && existsSync('/usr/sbin/useradd')) {
      const name = `vdsec${randomUUID().slice(0, 8)}`;
      execFileSync('/usr/sbin/useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      user = { name, uid, gid };
    }
  });
  afterAll(async () => {
    await v?.stop();
    if (user) execFileSync('/usr/sbin/userdel', [user.name]);
    tmp.cleanup();
  });

  it('prints, logs and writes no token, secret_id or private key; key files 0600 and owned; health on loopback only', async () => {
    const root = { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token };
    const https = ['--vault-addr', v.tlsAddr, '--vault-cacert', v.caCertPath];

    // --- init vault: per node (issue #12) a role_id + a wrapped secret_id, printed once on purpose ---
    const perNode = ['--node', 'a@127.0.0.1', '--node', 'c@127.0.0.1', '--node', 'd@127.0.0.1', '--node', 'e@127.0.0.1'];
    const iv = await vaultdist(['init', 'vault', '--json', '--allow-any-host', '--auth', 'approle,cert,token', ...perNode], { env: root, allowPrintedToken: 'init vault prints the response-wrapped secret_id once (its purpose)' });
    expect(iv.code).toBe(0);
    const perNodeCreds = (JSON.parse(iv.stdout) as { nodes: { node: string; roleId: string; wrappedSecretId: { token: string } }[] }).nodes;
    const creds = perNodeCreds.find((x) => x.node === 'a@127.0.0.1')!;
    const wrapping = creds.wrappedSecretId.token;
    keep('init vault --json', iv, perNodeCreds.map((x) => x.wrappedSecretId.token));
    keep('init vault (again, human)', await vaultdist(['init', 'vault', '--allow-any-host', '--auth', 'approle,cert,token', ...perNode], { env: root }));

    // --- init node: A with AppRole (unwraps), B with a token -------------------------------------------
    const [A, B, C] = ['a', 'b', 'c'].map((n) => join(tmp.dir, n)) as [string, string, string];
    const healthPort = await freePort();
    const a = keep('init node A (approle)', await vaultdist(['init', 'node', '--name', 'a@127.0.0.1', '--dir', A, ...https, '--role-id', creds.roleId, '--wrapped-secret-id', wrapping, '--agent-auth', 'approle', '--health-port', String(healthPort)]));
    expect(a.code).toBe(0);
    const b = keep('init node B (token)', await vaultdist(['init', 'node', '--name', 'b@127.0.0.1', '--dir', B, ...https, '--agent-auth', 'cert', '--json'], { env: { VAULT_TOKEN: v.token } }));
    expect(b.code).toBe(0);
    const secretId = readFileSync(join(A, 'approle', 'secret-id'), 'utf8').trim();
    expect(secretId).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(join(A, 'approle', 'role-id'), 'utf8').trim()).toBe(creds.roleId);

    // failure paths of init node: wrong secret_id, the already-unwrapped wrapping token
    const wrongSecret = randomUUID();
    const bad1 = keep('init node (wrong secret_id)', await vaultdist(['init', 'node', '--name', 'x@127.0.0.1', '--dir', join(tmp.dir, 'x'), ...https, '--role-id', creds.roleId, '--agent-auth', 'approle'], { env: { VAULTDIST_SECRET_ID: wrongSecret } }));
    expect(bad1.code).toBe(12);
    const bad2 = keep('init node (used wrapping token)', await vaultdist(['init', 'node', '--name', 'x@127.0.0.1', '--dir', join(tmp.dir, 'x'), ...https, '--role-id', creds.roleId, '--wrapped-secret-id', wrapping]));
    expect(bad2.code).toBe(12);

    // --- the agent: AppRole (A), cert auth (B), token (C, chowned), trace-level logs ----------------
    const childToken = (
      (await (await fetch(`${v.addr}/v1/auth/token/create`, { method: 'POST', headers: { 'X-Vault-Token': v.token }, body: JSON.stringify({ policies: ['c@127.0.0.1', 'd@127.0.0.1', 'e@127.0.0.1'].map((x) => nodeIdentityNames(x).policy), ttl: '1h' }) })).json()) as {
        auth: { client_token: string };
      }
    ).auth.client_token;
    const cfgDir = join(tmp.dir, 'etc');
    mkdirSync(cfgDir);
    const node = (name: string, dir: string, extra: object = {}): Record<string, unknown> => ({
      name,
      dir,
      mount: 'pki_dist',
      role: nodeIdentityNames(name).role, // the node's own role (issue #12)
      ttl: '1h',
      reload: { strategy: 'command', command: ['true'] },
      verify: { enabled: false },
      ...extra,
    });
    const config = (auth: object, health: object = { enabled: false }) => ({
      vault: { address: v.tlsAddr, caCert: v.caCertPath, auth },
      health,
      nodes: [
        node('a@127.0.0.1', A, { auth: { method: 'approle', roleIdFile: join(A, 'approle', 'role-id'), secretIdFile: join(A, 'approle', 'secret-id') } }),
        node('b@127.0.0.1', B, { auth: { method: 'cert', mount: 'cert', certFile: join(B, 'bundle.pem'), keyFile: join(B, 'bundle.pem') } }),
        node('c@127.0.0.1', C, user ? { owner: { uid: user.uid, gid: user.gid } } : {}),
      ],
    });
    const cfg = join(cfgDir, 'agent.json');
    writeFileSync(cfg, JSON.stringify(config({ method: 'token' }, { port: healthPort })));
    const once = keep('agent --once --force (trace)', await agent(['--once', '--force', '--no-health', '--log-level', 'trace', '-c', cfg], { BAO_TOKEN: childToken }));
    expect(once.stderr + once.stdout).not.toMatch(/"level":"(error|fatal)"/);
    expect(once.code).toBe(0);
    expect(once.stdout).toMatch(/"level":"(trace|debug)"/); // trace/debug lines were written (and are scanned)
    envTokenWarned = /a token in the config file/.test(once.stdout);
    const viaCli = keep('vaultdist agent --once --force (trace)', await vaultdist(['agent', '--once', '--force', '--no-health', '--log-level', 'trace', '-c', cfg], { env: { BAO_TOKEN: childToken } }));
    expect(viaCli.code).toBe(0);

    // A literal token and secret_id in the config file: --print-config and --check must not echo them.
    const literal = join(cfgDir, 'literal.json');
    const lit = config({ method: 'token', token: childToken });
    lit.nodes[0]!.auth = { method: 'approle', roleId: creds.roleId, secretId };
    writeFileSync(literal, JSON.stringify(lit));
    const printed = keep('agent --print-config (literal secrets)', await agent(['--print-config', '-c', literal]));
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/method: approle/);
    expect(printed.stdout).toMatch(/secretId: "?\[REDACTED\]/);
    const printedEnv = keep('agent --print-config (BAO_TOKEN in env)', await agent(['--print-config', '-c', cfg], { BAO_TOKEN: childToken }));
    expect(printedEnv.code).toBe(0);
    const litCheck = keep('agent --check (literal secrets)', await agent(['--check', '-c', literal]));
    expect(litCheck.stdout).toMatch(/a token in the config file/); // literally in the file: warned
    keep('agent --once (literal secrets)', await agent(['--once', '--force', '--no-health', '--log-level', 'debug', '-c', literal]));

    // A distribution cookie (rpc reload) must not leak either: the reload fails (no node listens),
    // the agent logs the failure at trace level, and the 0600 args file holding the cookie is gone.
    const cookie = `vdcookie${randomUUID().replace(/-/g, '')}`;
    const E = join(tmp.dir, 'e');
    const cookieCfg = join(cfgDir, 'cookie.json');
    const cc = config({ method: 'token', token: childToken });
    cc.nodes = [node('e@127.0.0.1', E, { reload: { strategy: 'rpc', cookie, port: await freePort(), timeoutMs: 20000 } })];
    writeFileSync(cookieCfg, JSON.stringify(cc));
    const rpc = keep('agent --once (rpc reload with a cookie, fails)', await agent(['--once', '--force', '--no-health', '--log-level', 'trace', '-c', cookieCfg]));
    expect(rpc.code).toBe(15);
    expect(rpc.stdout).toMatch(/rpc reload of e@127\.0\.0\.1 failed/);
    keep('agent --print-config (literal cookie)', await agent(['--print-config', '-c', cookieCfg]));

    // Failure paths: a wrong secret_id (auth error), an unreachable Vault (network error).
    const wrongDir = join(tmp.dir, 'wrong');
    mkdirSync(wrongDir, { mode: 0o700 });
    writeFileSync(join(wrongDir, 'secret-id'), wrongSecret, { mode: 0o600 });
    const wrong = join(cfgDir, 'wrong.json');
    const wc = config({ method: 'approle', roleIdFile: join(A, 'approle', 'role-id'), secretIdFile: join(wrongDir, 'secret-id') });
    wc.nodes = [node('a@127.0.0.1', A)];
    writeFileSync(wrong, JSON.stringify(wc));
    const w = keep('agent --once (wrong secret_id)', await agent(['--once', '--force', '--no-health', '--log-level', 'trace', '-c', wrong]));
    wrongSecretExit = w.code;
    wrongSecretLevels = w.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { level: unknown; msg: string }).level);
    expect(w.code).not.toBe(0);
    expect(w.stdout).toMatch(/invalid role or secret ID/);
    const down = keep('agent --once (Vault unreachable)', await agent(['--once', '--force', '--no-health', '--log-level', 'trace', '-c', cfg, '--vault-addr', `https://127.0.0.1:${await freePort()}`], { BAO_TOKEN: childToken }));
    expect(down.code).toBe(11);

    // --- the daemon at debug level: health/metrics on loopback only, no secret served ---------------
    // The daemon gets one more node with nothing on disk, so it logs in and issues while we watch.
    const D = join(tmp.dir, 'd');
    const dc = config({ method: 'token' }, { port: healthPort });
    dc.nodes.push(node('d@127.0.0.1', D));
    const daemonCfg = join(cfgDir, 'daemon.json');
    writeFileSync(daemonCfg, JSON.stringify(dc));
    const daemon = spawn(process.execPath, [AGENT_BIN, '--log-level', 'debug', '-c', daemonCfg], { env: cleanEnv({ BAO_TOKEN: childToken }), stdio: ['ignore', 'pipe', 'pipe'] });
    let dOut = '';
    let dErr = '';
    daemon.stdout!.on('data', (d) => (dOut += d));
    daemon.stderr!.on('data', (d) => (dErr += d));
    const exited = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
    try {
      let up = '';
      for (let i = 0; i < 100 && up !== 'connected'; i++) {
        up = await connectRefused('127.0.0.1', healthPort);
        if (up !== 'connected') await new Promise((r) => setTimeout(r, 100));
      }
      expect(up).toBe('connected');
      for (let i = 0; i < 100 && !/"node":"d@127\.0\.0\.1".*"msg":"reload triggered"/.test(dOut); i++) await new Promise((r) => setTimeout(r, 100));
      expect(dOut).toMatch(/"node":"d@127\.0\.0\.1".*"msg":"reload triggered"/);
      for (const p of ['/healthz', '/livez', '/readyz', '/metrics', '/status', '/']) {
        const res = await fetch(`http://127.0.0.1:${healthPort}${p}`);
        captured.push({ label: `daemon GET ${p} (${res.status})`, text: headerText(res.headers) + '\n' + (await res.text()) });
      }
      expect(captured.find((c) => c.label.startsWith('daemon GET /metrics'))!.text).toMatch(/vaultdist_agent_cert_not_after_seconds/);
      // Bound to 127.0.0.1 only: another loopback address is refused, and ss shows the one socket.
      expect(await connectRefused('127.0.0.2', healthPort)).toBe('ECONNREFUSED');
      const ss = execFileSync('ss', ['-Hltn', `sport = :${healthPort}`], { encoding: 'utf8' });
      expect(ss.trim().split(/\s+/)[3]).toBe(`127.0.0.1:${healthPort}`);
      // status (reads the agent's /healthz) and doctor, with the daemon running.
      const st = keep('status --json', await vaultdist(['status', '--json', '--dir', A, '--dir', B]));
      expect(st.code).toBe(0);
      expect((JSON.parse(st.stdout) as { nodes: { agent: { reachable: boolean } }[] }).nodes[0]!.agent.reachable).toBe(true);
      keep('status (human)', await vaultdist(['status', '--dir', A]));
      const doc = keep('doctor --json', await vaultdist(['doctor', '--json', '--dir', A]));
      expect(doc.stdout).toMatch(/"type":"summary"/);
      keep('doctor (human)', await vaultdist(['doctor', '--dir', B]));
      daemon.kill('SIGHUP'); // config re-read: more log lines
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      daemon.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    captured.push({ label: 'daemon (stdout)', text: dOut }, { label: 'daemon (stderr)', text: dErr });
    expect(dOut).toMatch(/"level":"debug"/);

    // "Unless told otherwise": VAULTDIST_HEALTH_LISTEN moves it (here to another loopback address,
    // 127.0.0.1 then refuses); a non-loopback host is accepted with a loud warning (checked with
    // --check, which binds nothing: tests stay on loopback).
    const other = await freePort('127.0.0.3');
    const moved = spawn(process.execPath, [AGENT_BIN, '--log-level', 'warn', '-c', cfg], { env: cleanEnv({ BAO_TOKEN: childToken, VAULTDIST_HEALTH_LISTEN: `127.0.0.3:${other}` }), stdio: ['ignore', 'pipe', 'pipe'] });
    let mOut = '';
    moved.stdout!.on('data', (d) => (mOut += d));
    moved.stderr!.on('data', (d) => (mOut += d));
    const movedExit = new Promise<number | null>((r) => moved.once('exit', (c) => r(c)));
    try {
      let up = '';
      for (let i = 0; i < 100 && up !== 'connected'; i++) {
        up = await connectRefused('127.0.0.3', other);
        if (up !== 'connected') await new Promise((r) => setTimeout(r, 100));
      }
      expect(up).toBe('connected');
      expect(await connectRefused('127.0.0.1', other)).toBe('ECONNREFUSED');
    } finally {
      moved.kill('SIGTERM');
    }
    expect(await movedExit).toBe(0);
    captured.push({ label: 'daemon on 127.0.0.3 (stdout+stderr)', text: mOut });
    const exposed = join(cfgDir, 'exposed.json');
    writeFileSync(exposed, JSON.stringify(config({ method: 'token' }, { host: '0.0.0.0', port: healthPort })));
    const warned = keep('agent --check (health on 0.0.0.0)', await agent(['--check', '-c', exposed], { BAO_TOKEN: childToken }));
    expect(warned.code).toBe(0);
    expect(warned.stdout).toMatch(/health\.host: 0\.0\.0\.0 is not a loopback address/);

    // Vault down: status/doctor/agent still say nothing secret.
    await v.pause();
    keep('agent --once (Vault down)', await agent(['--once', '--force', '--no-health', '--log-level', 'trace', '-c', cfg], { BAO_TOKEN: childToken }));
    keep('init node (Vault down)', await vaultdist(['init', 'node', '--name', 'a@127.0.0.1', '--dir', A, ...https, '--force-issue', '--role-id', creds.roleId, '--agent-auth', 'approle'], { env: { VAULTDIST_SECRET_ID: secretId } }));

    // --- modes and owners --------------------------------------------------------------------------
    for (const d of [A, B, C, D, E]) {
      expect([d, statSync(join(d, 'bundle.pem')).mode & 0o777]).toEqual([d, 0o600]);
      expect(lstatSync(join(d, 'bundle.pem')).isSymbolicLink()).toBe(true);
    }
    for (const f of ['role-id', 'secret-id']) expect([f, statSync(join(A, 'approle', f)).mode & 0o777]).toEqual([f, 0o600]);
    if (user) {
      for (const p of ['bundle.pem', 'ca.pem']) expect([p, statSync(join(C, p)).uid, statSync(join(C, p)).gid]).toEqual([p, user.uid, user.gid]);
      for (const l of ['bundle.pem', 'ca.pem', 'current']) expect([l, lstatSync(join(C, l)).uid]).toEqual([l, user.uid]);
    }

    // --- the forbidden strings ----------------------------------------------------------------------
    const audit = readFileSync(auditPath(), 'utf8');
    const tokens = new Set<string>([v.token, childToken]);
    for (const m of audit.matchAll(/"(?:client_token|token|id)":"((?:s|hvs|hvb|b|r)\.[A-Za-z0-9_.-]{16,})"/g)) tokens.add(m[1]!);
    const secretIds = new Set<string>([secretId, wrongSecret]);
    for (const m of audit.matchAll(/"secret_id":"([^"]+)"/g)) secretIds.add(m[1]!);
    // The audit device saw the flow: the AppRole, cert and token logins and the unwrap.
    expect(audit).toContain('auth/approle/login');
    expect(audit).toContain('auth/cert/login');
    expect(audit).toContain('sys/wrapping/unwrap');
    expect(tokens.has(wrapping)).toBe(true);
    expect(secretIds.has(secretId)).toBe(true);
    expect(tokens.size).toBeGreaterThanOrEqual(5); // root, child, wrapping, AppRole logins, cert logins

    // Files the flow wrote, except the credential files themselves.
    const keyTexts: string[] = [];
    for (const d of [A, B, C, D, E, cfgDir, join(tmp.dir, 'x')]) {
      if (!existsSync(d)) continue;
      for (const f of walk(d)) {
        const p = join(d, f);
        const text = readFileSync(p, 'latin1');
        if (/(^|\/)bundle\.pem$/.test(f) || /^approle\/(secret-id|role-id)$/.test(f) || p === literal || p === cookieCfg || p === join(wrongDir, 'secret-id')) {
          keyTexts.push(text);
          continue;
        }
        captured.push({ label: `file ${relative(tmp.dir, p)}`, text });
      }
    }
    const fragments = keyTexts.flatMap(keyFragments);
    expect(fragments.length).toBeGreaterThan(20);

    const forbidden: { what: string; value: string }[] = [
      ...[...tokens].map((t) => ({ what: t === v.token ? 'root token' : 'Vault token', value: t })),
      ...[...secretIds].map((s) => ({ what: 'secret_id', value: s })),
      ...fragments.map((f) => ({ what: 'private key fragment', value: f })),
      { what: 'distribution cookie', value: cookie },
      { what: 'PRIVATE KEY block', value: 'PRIVATE KEY' },
    ];
    const hits: string[] = [];
    for (const c of captured)
      for (const f of forbidden)
        if (!c.allowed?.includes(f.value) && c.text.includes(f.value)) hits.push(`${c.label}: ${f.what} ${f.value.slice(0, 6)}…`);
    expect(captured.length).toBeGreaterThan(40);
    // `--print-config` is also checked on its own below (it used to print them).
    printConfigHits = hits.filter((h) => h.startsWith('agent --print-config'));
    expect(hits.filter((h) => !h.startsWith('agent --print-config'))).toEqual([]);
    // Sanity: the scan does find a secret where one is (the one allowed print).
    expect(captured.find((c) => c.label === 'init vault --json (stdout)')!.text).toContain(wrapping);
  }, 120_000);

  // Was a known defect: a token from BAO_TOKEN (the recommended way) triggered "a token in the config
  // file" (the rule saw the resolved config); resolveConfig now tells the validator where it came from.
  it('no "token in the config file" warning when the token came from BAO_TOKEN', () => {
    expect(envTokenWarned).toBe(false);
  });

  // Was a known defect: the "renewal failed" line carried the escalation level as a second `level` key
  // (JSON parsers read "ok" instead of "warn"); it is `expiryLevel` now (`crlLevel` for CRL failures).
  it('every agent log line parses to a pino level', () => {
    expect(wrongSecretLevels!.length).toBeGreaterThan(0);
    for (const l of wrongSecretLevels!) expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(l);
  });

  // Was a known defect: --print-config printed vault.auth.token (also one from BAO_TOKEN),
  // nodes[].auth.secretId and nodes[].reload.cookie in clear; main.ts now redacts every `secret: true` field.
  it('agent --print-config prints no token, secret_id or cookie', () => {
    expect(printConfigHits).toEqual([]);
  });

  // Was a known defect: OpenBao answers a wrong AppRole secret_id with HTTP 400, which classified as an
  // issue error (13); errors of the login step are now auth errors (shell/vault.ts loginErrorsAsAuth).
  it('the agent exits 12 (auth failed) for a wrong AppRole secret_id', () => {
    expect(wrongSecretExit).toBe(12);
  });
});
