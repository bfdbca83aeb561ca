/**
 * `vaultdist doctor`: is this node's distribution still secure?
 *
 * Local checks (from --dir, or --optfile/--vm-args/--bundle/--ca): key file permissions, key ↔ cert,
 * chain → ca.pem, expiry and margin, SANs vs node name, optfile lint, vm.args lint, and with CRL
 * checking in the optfile: a fresh CRL for the issuer in the hash directory (fail-closed otherwise).
 * Remote probes (addresses the user gives): --epmd HOST[:PORT] (NAMES_REQ: which names leak),
 * --probe HOST:PORT (plaintext dist handshake? TLS without a client cert? which cert is served, expiry?).
 *
 * Exit codes: 0 no errors (warnings allowed unless --strict), 20 at least one error, 2 usage, 10 config.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { loadConfig } from '@vaultdist/agent/config'; // the light entry (issue #16)
import { isAbsolute, resolve } from 'node:path';
import { inspectCertificate, inspectChain, parseNodeName, probeDistCertificate, type CertificateInfo } from '@vaultdist/sdk'; // node:crypto, no @peculiar/x509 load (issue #16)
import { caSubjectHash, keyMatchesCertificate, parseCrl } from '@vaultdist/sdk/internal';
import { readLiveCredentials } from '../../credentials.js';
import { parseDuration } from '../../duration.js';
import { EXIT, ExitError } from '../../errors.js';
import { paths, readSettings } from '../../node-dir.js';
import { formatDuration, type Output } from '../../output.js';
import { finding, ok, type Finding } from './findings.js';
import { createReporter, type Reporter } from './report.js';
import { flagValues, lintOptfile, lintVmArgs, optfilePaths, vmArgsWords } from './lint.js';
import { epmdNames, parseAddress, plaintextHandshake, sansCoverHost, tlsAnonProbe } from './probes.js';
import { registryFindings } from './registry.js';

export interface DoctorOptions {
  dir: string | undefined;
  optfile: string | undefined;
  vmArgs: string | undefined;
  /** Error when a certificate expires within this; default a third of its lifetime. */
  margin: string | undefined;
  epmd: string[];
  probe: string[];
  /** Expected node name of --probe targets (SNI / hostname check); defaults to the probe host. */
  strict: boolean;
  json: boolean;
  now?: Date | undefined;
}


async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ExitError(EXIT.CONFIG, `${path}: ${(e as Error).message}`);
  }
}

/** --margin, or by default a third of the certificate's lifetime (the agent renews at about 2/3). */
function marginFor(leaf: { notBefore?: Date | undefined; notAfter: Date }, marginMs: number | undefined): number {
  if (marginMs !== undefined) return marginMs;
  return leaf.notBefore ? (leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 3 : 0;
}

function expiryFinding(check: string, target: string, leaf: { serial: string; notBefore?: Date | undefined; notAfter: Date }, now: Date, marginOpt: number | undefined, what: string): Finding {
  const marginMs = marginFor(leaf, marginOpt);
  const left = leaf.notAfter.getTime() - now.getTime();
  if (left <= 0) return finding(check, 'error', target, `${what} ${leaf.serial} expired ${formatDuration(-left)} ago (${leaf.notAfter.toISOString()})`, 'renew now: vaultdist issue --dir DIR (and check the agent)');
  if (left < marginMs) {
    return finding(check, 'error', target, `${what} ${leaf.serial} expires in ${formatDuration(left)} (${leaf.notAfter.toISOString()}), inside the ${formatDuration(marginMs)} margin`, 'renewal is overdue: check `vaultdist status` / the agent log, or run vaultdist issue --dir DIR');
  }
  return ok(check, target, `${what} ${leaf.serial} valid for ${formatDuration(left)} (until ${leaf.notAfter.toISOString()})`);
}

/** `{crl_check, peer|true}` + the `ssl_crl_hash_dir` directory of an optfile, when CRL checking is on. */
function optfileCrl(text: string): { check: string; dir: string } | undefined {
  const check = /\{\s*crl_check\s*,\s*(peer|true|best_effort)\s*\}/.exec(text)?.[1];
  const dir = /\{\s*crl_cache\s*,\s*\{\s*ssl_crl_hash_dir\s*,\s*\{\s*internal\s*,\s*\[\s*\{\s*dir\s*,\s*"((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
  return check && dir ? { check, dir: dir.replace(/\\(.)/g, '$1') } : undefined;
}

/**
 * CRL freshness (fail-closed): with crl_check peer/true a node refuses EVERY peer when the hash
 * directory has no CRL for the issuer, or only one past its nextUpdate. Also: is this node's own
 * certificate on it?
 */
async function crlFinding(crl: { check: string; dir: string }, leaf: CertificateInfo, cas: string[], now: Date): Promise<Finding> {
  const issuer = cas.find((pem) => {
    try {
      return inspectCertificate(pem).subject === leaf.issuer; // the leaf is read by inspectCertificate too
    } catch {
      return false;
    }
  });
  if (!issuer) return finding('crl', 'warning', crl.dir, `cannot find the issuing CA of ${leaf.serial} in the bundle or ca.pem to name its CRL file`, 'vaultdist issue --dir DIR');
  const file = `${crl.dir}/${caSubjectHash(issuer)}.r0`;
  const text = await readText(file);
  const failOpen = crl.check === 'best_effort';
  if (text === undefined) {
    return finding('crl', failOpen ? 'warning' : 'error', file, failOpen ? 'no CRL for the issuer: revoked peers are accepted (best_effort)' : 'no CRL for the issuer: with crl_check this node refuses EVERY peer', 'run the agent (it keeps DIR/crl fresh): vaultdist agent --config DIR/agent.yaml --once');
  }
  let info;
  try {
    info = parseCrl(text);
  } catch (e) {
    return finding('crl', 'error', file, `not a CRL: ${(e as Error).message}`, 'vaultdist agent --config DIR/agent.yaml --once');
  }
  if (info.revoked.some((r) => r.serial === leaf.serial)) return finding('crl.revoked', 'error', file, `this node's own certificate ${leaf.serial} is revoked: every peer with CRL checking refuses it`, 'vaultdist issue --dir DIR (a new certificate), then restart the node or let the agent reload it');
  if (!info.nextUpdate) return ok('crl', file, `CRL of ${info.issuer} without nextUpdate (${info.revoked.length} revoked)`);
  const left = info.nextUpdate.getTime() - now.getTime();
  const window = Math.max(1, info.nextUpdate.getTime() - info.thisUpdate.getTime());
  if (left <= 0) return finding('crl', failOpen ? 'warning' : 'error', file, `CRL past its nextUpdate (${info.nextUpdate.toISOString()}): ${failOpen ? 'revoked peers are accepted' : 'this node refuses EVERY peer'}`, 'check the agent (its log and vaultdist_agent_crl_refresh_failures_total); force: vaultdist agent --config DIR/agent.yaml --once');
  if (left / window < 0.25) return finding('crl', 'warning', file, `CRL nearing its nextUpdate: ${formatDuration(left)} left (${info.nextUpdate.toISOString()})`, 'check that the agent refreshes it (vaultdist_agent_crl_last_refresh_timestamp_seconds)');
  return ok('crl', file, `CRL fresh for ${formatDuration(left)} (${info.revoked.length} revoked)`);
}

async function localChecks(o: DoctorOptions, out: Output, now: Date, marginMs: number | undefined, f: Reporter): Promise<void> {
  const dir = o.dir ? (isAbsolute(o.dir) ? o.dir : resolve(out.io.cwd, o.dir)) : undefined;
  const settings = dir ? await readSettings(dir) : undefined;
  const vmArgs = o.vmArgs ?? (dir ? paths(dir).vmArgs : undefined);
  let optfile = o.optfile ?? (dir ? paths(dir).optfile : undefined);
  let vmArgsText: string | undefined;
  if (vmArgs) {
    vmArgsText = await readText(vmArgs);
    // With only --vm-args, lint the optfile it names.
    const named = vmArgsText === undefined ? undefined : flagValues(vmArgsWords(vmArgsText), '-ssl_dist_optfile')[0]?.[0];
    if (!optfile && named) optfile = isAbsolute(named) ? named : resolve(out.io.cwd, named);
  }

  let keyFiles: string[] = [];
  let crl: { check: string; dir: string } | undefined;
  if (optfile) {
    out.progress(`linting ${optfile}`);
    const text = await readText(optfile);
    if (text === undefined) f.push(finding('optfile.missing', 'error', optfile, 'file not found', 'run vaultdist init node (or vaultdist render ssl_dist.conf)'));
    else {
      crl = optfileCrl(text);
      f.push(...lintOptfile(text, optfile));
      keyFiles = [...new Set(optfilePaths(text).keyfile)];
    }
  }
  // The running node's real arguments (DIR/run/beam.pid → /proc/PID/cmdline): erlexec expands
  // -args_file, so they hold vm.args plus whatever the start script, ERL_FLAGS or a release added
  // (issue #14: doctor said "connect_all is on" to nodes started with -connect_all false).
  const running = dir ? await runningNodeArgs(paths(dir).pidfile) : undefined;
  if (vmArgs) {
    out.progress(`linting ${vmArgs}`);
    const text = vmArgsText;
    if (text === undefined) f.push(finding('vmargs.missing', 'error', vmArgs, 'file not found', 'run vaultdist init node (or vaultdist render vm.args)'));
    else f.push(...lintVmArgs(text, vmArgs).filter((x) => !(running && x.check === 'vmargs.connect_all')));
  }
  if (running) {
    const target = `pid ${running.pid}`;
    f.push(
      flagValues(running.words, '-connect_all')[0]?.[0] === 'false'
        ? ok('node.connect_all', target, 'the running node has connect_all off (-connect_all false)')
        : finding('node.connect_all', 'info', target, 'the running node has connect_all on: it connects to every node its peers know (full mesh)', 'vaultdist init node --connect-all false (kept on re-runs), then restart the node'),
    );
  }
  if (dir) {
    const p = paths(dir);
    if (!keyFiles.length) keyFiles = [p.bundle];
    for (const k of keyFiles) {
      try {
        const st = await stat(k);
        const mode = st.mode & 0o777;
        if (mode & 0o077) {
          f.push(finding('key.permissions', 'error', k, `private key file mode ${mode.toString(8).padStart(4, '0')}: readable by ${mode & 0o007 ? 'everyone' : 'its group'}`, `chmod 600 ${k}`));
        } else if (typeof process.getuid === 'function' && st.uid !== process.getuid() && process.getuid() !== 0) {
          f.push(finding('key.owner', 'info', k, `owned by uid ${st.uid}, not by the user running doctor`, 'make sure the node user owns it'));
        } else f.push(ok('key.permissions', k, `mode ${mode.toString(8).padStart(4, '0')}`));
      } catch (e) {
        f.push(finding('key.missing', 'error', k, `cannot stat: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'run vaultdist issue --dir DIR'));
      }
    }
    // The agent config, checked by the agent's own validator (one schema, house style §12).
    if (existsSync(p.agentConfig)) {
      const loaded = await loadConfig({ path: p.agentConfig, env: out.io.env });
      // Token auth reads BAO_TOKEN/VAULT_TOKEN where the agent runs, which need not be doctor's environment.
      const envToken = (e: string) => /^vault\.auth\.token: is required/.test(e);
      for (const e of loaded.errors) {
        if (envToken(e)) f.push(finding('agent.config.token', 'info', p.agentConfig, 'token auth: the agent needs BAO_TOKEN or VAULT_TOKEN in its environment (not set here)', 'set it in the agent\'s service environment, or use --agent-auth cert|approle'));
        else f.push(finding('agent.config', 'error', p.agentConfig, e, `fix the key, or regenerate: vaultdist render agent.yaml --dir ${dir}`));
      }
      for (const w of loaded.warnings) f.push(finding('agent.config', 'warning', p.agentConfig, w, 'see vaultdist-agent --describe-config'));
      if (!loaded.errors.filter((e) => !envToken(e)).length && !loaded.warnings.length) f.push(ok('agent.config', p.agentConfig, 'valid agent configuration'));
    }
    out.progress(`checking the credential set in ${dir}`);
    let live;
    try {
      live = await readLiveCredentials(dir, inspectCertificate);
    } catch (e) {
      f.push(finding('cert.parse', 'error', p.bundle, (e as Error).message, 'run vaultdist issue --dir DIR'));
    }
    if (live === undefined && !f.some((x) => x.check === 'cert.parse')) {
      f.push(finding('cert.missing', 'error', p.bundle, 'no credential set (bundle.pem + ca.pem)', `vaultdist init node --name NAME@HOST --dir ${dir}`));
    }
    if (live) {
      let match = false;
      try {
        match = keyMatchesCertificate(live.keyPem, live.leaf);
      } catch {
        match = false;
      }
      f.push(match ? ok('cert.key_match', p.bundle, `key matches certificate ${live.leaf.serial}`) : finding('cert.key_match', 'error', p.bundle, `the private key does not match certificate ${live.leaf.serial}: every handshake fails`, 'vaultdist issue --dir DIR'));
      try {
        await inspectChain(live.leaf.pem, live.chainPems, live.trustPems, now);
        f.push(ok('cert.chain', p.ca, `certificate ${live.leaf.serial} chains to ca.pem`));
      } catch (e) {
        f.push(finding('cert.chain', 'error', p.ca, (e as Error).message, 'vaultdist issue --dir DIR (rewrites bundle.pem and ca.pem from Vault)'));
      }
      if (now < live.leaf.notBefore) f.push(finding('cert.not_yet_valid', 'error', p.bundle, `not valid before ${live.leaf.notBefore.toISOString()}`, 'check the clock (NTP) on this host and on Vault'));
      f.push(expiryFinding('cert.expiry', p.bundle, live.leaf, now, marginMs, 'certificate'));
      if (crl) f.push(await crlFinding(crl, live.leaf, [...live.chainPems, ...live.trustPems], now));
      if (!live.leaf.serverAuth || !live.leaf.clientAuth) {
        f.push(finding('cert.eku', 'error', p.bundle, 'certificate lacks serverAuth or clientAuth: every node is both TLS server and client', 'set server_flag and client_flag on the Vault role, then vaultdist issue --dir DIR'));
      }
      if (settings) {
        const n = parseNodeName(settings.node);
        const missing = [!live.leaf.dns.map((d) => d.toLowerCase()).includes(n.host.toLowerCase()) ? `DNS:${n.host}` : '', n.hostKind !== 'dns' && !live.leaf.ips.includes(n.host) ? `IP:${n.host}` : ''].filter(Boolean);
        f.push(missing.length ? finding('cert.san', 'error', p.bundle, `certificate does not cover ${n.full}: missing ${missing.join(', ')} (peers check {dns_id, Host})`, 'vaultdist issue --dir DIR') : ok('cert.san', p.bundle, `covers ${n.full}`));
      }
    }
    if (settings) f.push(...(await registryFindings(dir, settings.node, now, out.io.env, vmArgs && vmArgsText !== undefined ? { path: vmArgs, text: vmArgsText } : undefined)));
  }
}

async function remoteChecks(o: DoctorOptions, out: Output, now: Date, marginMs: number | undefined, f: Reporter): Promise<void> {
  for (const e of o.epmd) {
    const a = parseAddress('--epmd', e, 4369);
    const target = `${a.host}:${a.port}`;
    out.progress(`asking epmd at ${target} for its names`);
    const r = await epmdNames(a.host, a.port);
    if (r.state === 'closed') f.push(ok('epmd', target, `no epmd answering (${r.error})`));
    else if (r.state === 'garbled') f.push(finding('epmd', 'warning', target, `something answers on the epmd port but not as epmd (${r.error})`, 'check what listens there'));
    else if (r.names.length) {
      f.push(finding('epmd.names', 'error', target, `epmd answers and leaks ${r.names.length} node name(s): ${r.names.map((n) => `${n.name} (dist port ${n.port})`).join(', ')}`, `start nodes with -start_epmd false -erl_epmd_port PORT (or -epmd_module vaultdist_epmd) and stop epmd; or firewall port ${a.port}`));
    } else f.push(finding('epmd', 'warning', target, 'epmd answers (no names registered right now)', `stop epmd if no node needs it, or firewall port ${a.port}`));
  }
  let clientCreds: { cert: string; key: string; ca: string } | undefined;
  if (o.dir && o.probe.length) {
    const dir = isAbsolute(o.dir) ? o.dir : resolve(out.io.cwd, o.dir);
    const live = await readLiveCredentials(dir, inspectCertificate).catch(() => undefined);
    if (live) clientCreds = { cert: [live.leaf.pem, ...live.chainPems].join(''), key: live.keyPem, ca: live.trustPems.join('') };
  }
  for (const pr of o.probe) {
    const a = parseAddress('--probe', pr);
    const target = `${a.host}:${a.port}`;
    out.progress(`probing the distribution port ${target}`);
    const plain = await plaintextHandshake(a.host, a.port);
    if (plain.state === 'closed') {
      // the user asked for this port to be a node's distribution port: nothing there is a failure (issue #14)
      f.push(finding('dist.reachable', 'error', target, `nothing accepts connections (${plain.error})`, 'check the address and -erl_epmd_port / the node is running'));
      continue;
    }
    if (plain.state === 'plaintext') {
      f.push(finding('dist.plaintext', 'error', target, `accepts an unencrypted Erlang distribution handshake (answered "${plain.status}"): inet_tcp distribution, cookie-only security`, 'start the node with -proto_dist vaultdist_tls -ssl_dist_optfile FILE -pa DIR/ebin (vaultdist init node writes them)'));
      continue;
    }
    f.push(ok('dist.plaintext', target, plain.state === 'tls' ? 'refuses a plaintext handshake (answers with TLS)' : `no plaintext handshake (${plain.detail})`));
    const anon = await tlsAnonProbe(a.host, a.port);
    if (anon.accepted === true) {
      f.push(finding('dist.client_cert', 'error', target, 'accepts a TLS connection without a client certificate (and answers the distribution handshake)', 'add {fail_if_no_peer_cert, true} and {verify, verify_peer} to the server options of the optfile'));
    } else if (anon.accepted === false) {
      f.push(ok('dist.client_cert', target, 'refuses TLS without a client certificate'));
    } else if (anon.handshake) {
      f.push(finding('dist.client_cert', 'warning', target, `TLS without a client certificate: the server neither refused nor answered (${anon.error ?? ''})`, 'check {fail_if_no_peer_cert, true} in the server options'));
    } else {
      f.push(finding('dist.tls', 'warning', target, `no TLS handshake: ${anon.error ?? 'unknown error'}`, 'check that the port is a TLS distribution port'));
      continue;
    }
    let served: Pick<CertificateInfo, 'serial' | 'notAfter'> & { notBefore?: Date | undefined } | undefined = anon.serial && anon.notAfter ? { serial: anon.serial, notAfter: anon.notAfter, notBefore: anon.notBefore } : undefined;
    if (clientCreds) {
      const full = await probeDistCertificate({ host: a.host, port: a.port, cert: clientCreds.cert, key: clientCreds.key, ca: clientCreds.ca, servername: a.host, timeoutMs: 3000 });
      if (full.ok) f.push(ok('dist.mtls', target, `mutual TLS handshake with this node's certificate succeeds (${full.protocol ?? 'TLS'})`));
      else f.push(finding('dist.mtls', 'error', target, `mutual TLS handshake with this node's certificate fails: ${full.error ?? 'unknown'}`, 'compare ca.pem on both nodes; check the served certificate covers the host name'));
      if (full.serial && full.notAfter && full.serial !== served?.serial) served = { serial: full.serial, notAfter: full.notAfter };
    }
    if (served) f.push(expiryFinding('dist.served_cert', target, served, now, marginMs, 'served certificate'));
    // the served certificate must name the host peers dial (issue #14: "served cert ok" for one that did not)
    if (anon.sans.length || anon.serial) {
      f.push(
        sansCoverHost(anon.sans, a.host)
          ? ok('dist.served_san', target, `served certificate covers ${a.host}`)
          : finding('dist.served_san', 'error', target, `served certificate ${anon.serial ?? ''} does not cover ${a.host} (it names ${anon.sans.join(', ') || 'no subjectAltName'}): peers dialling ${a.host} refuse it`, 'issue the node a certificate for the host peers use (vaultdist issue --dir DIR on that host), or probe the name it was issued for'),
      );
    }
  }
}

/** The OS pid in the node's pid file and its argv, when that process is a BEAM; undefined otherwise. */
async function runningNodeArgs(pidfile: string): Promise<{ pid: number; words: string[] } | undefined> {
  const pid = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const words = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
  return words[0] && /beam/.test(words[0]) ? { pid, words } : undefined;
}

export async function doctor(o: DoctorOptions, out: Output): Promise<number> {
  const marginMs = o.margin === undefined ? undefined : parseDuration('--margin', o.margin) * 1000;
  if (!o.dir && !o.optfile && !o.vmArgs && !o.epmd.length && !o.probe.length) {
    throw new ExitError(EXIT.USAGE, 'nothing to check: pass --dir DIR (local checks) and/or --probe HOST:PORT / --epmd HOST (remote probes)');
  }
  for (const e of o.epmd) parseAddress('--epmd', e, 4369);
  for (const p of o.probe) parseAddress('--probe', p);
  const now = o.now ?? new Date();
  const reporter = createReporter(out, { strict: o.strict, failCode: EXIT.DOCTOR_FAILED });
  // An exception (exit code from toExitError) ends the run without a summary: an incomplete run is not clean.
  await localChecks(o, out, now, marginMs, reporter);
  await remoteChecks(o, out, now, marginMs, reporter);
  return reporter.close().exitCode;
}
