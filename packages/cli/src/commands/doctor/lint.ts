/**
 * Pure lints for `ssl_dist.conf` and `vm.args` text (facts doc §2, §3). Text-level on purpose: the
 * optfile is an Erlang expression that may hold funs, and doctor must work on hosts without `erl`.
 */
import { finding, ok, type Finding } from './findings.js';

function stripErlangComments(text: string): string {
  // `%` starts a comment outside strings; strings are kept intact.
  let out = '';
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inStr) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inStr = false;
    } else if (ch === '"') {
      inStr = true;
      out += ch;
    } else if (ch === '%') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += ch;
  }
  return out;
}

/** The option text of `{server, …}` and `{client, …}` (each up to the other or the end). */
export function optfileSections(text: string): { server: string | undefined; client: string | undefined } {
  const t = stripErlangComments(text);
  const s = t.search(/\{\s*server\s*,/);
  const c = t.search(/\{\s*client\s*,/);
  const cut = (from: number, to: number) => (from < 0 ? undefined : t.slice(from, to > from ? to : t.length));
  return { server: cut(s, c), client: cut(c, s) };
}

export function optfilePaths(text: string): { certfile: string[]; keyfile: string[]; cacertfile: string[] } {
  const t = stripErlangComments(text);
  const grab = (k: string) => [...t.matchAll(new RegExp(`\\{\\s*${k}\\s*,\\s*"((?:[^"\\\\]|\\\\.)*)"\\s*\\}`, 'g'))].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
  return { certfile: grab('certfile'), keyfile: grab('keyfile'), cacertfile: grab('cacertfile') };
}

export function lintOptfile(text: string, target: string): Finding[] {
  const f: Finding[] = [];
  const t = stripErlangComments(text);
  const { server, client } = optfileSections(text);
  if (!server || !client) {
    f.push(finding('optfile.sections', 'error', target, `no ${!server ? '{server, …}' : '{client, …}'} section`, 'regenerate it: vaultdist render ssl_dist.conf --dir DIR > FILE'));
    return f;
  }
  if (/\bverify_none\b/.test(t)) {
    f.push(finding('optfile.verify_none', 'error', target, 'verify_none: peers are not authenticated; any node that can reach the port may join', 'set {verify, verify_peer} in both the server and the client options'));
  }
  for (const [side, sec] of [['server', server], ['client', client]] as const) {
    if (!/\{\s*verify\s*,\s*verify_peer\s*\}/.test(sec)) {
      f.push(finding(`optfile.${side}.verify_peer`, 'error', target, `${side} options lack {verify, verify_peer}: a node with a certificate from an unrelated CA connects`, `add {verify, verify_peer} to the ${side} options`));
    }
    for (const k of ['certfile', 'cacertfile']) {
      if (!new RegExp(`\\{\\s*${k}\\s*,`).test(sec)) f.push(finding(`optfile.${side}.${k}`, 'error', target, `${side} options lack ${k}`, `add {${k}, "/abs/path"} to the ${side} options`));
    }
    const versions = /\{\s*versions\s*,\s*\[([^\]]*)\]\s*\}/.exec(sec);
    if (!versions) {
      f.push(finding(`optfile.${side}.versions`, 'warning', target, `${side} options have no versions: OTP forces TLS 1.2 for distribution`, `add {versions, ['tlsv1.3']} to the ${side} options`));
    } else {
      const list = versions[1]!.replace(/['\s]/g, '').split(',').filter(Boolean);
      if (list.length && list.every((v) => v === 'tlsv1.3') && /\{\s*secure_renegotiate\s*,\s*true\s*\}/.test(sec)) {
        f.push(finding(`optfile.${side}.secure_renegotiate`, 'error', target, `${side}: secure_renegotiate with TLS-1.3-only versions makes every connection fail, and nothing is logged`, `remove {secure_renegotiate, true} from the ${side} options (or allow 'tlsv1.2')`));
      }
      if (list.some((v) => ['tlsv1', 'tlsv1.1'].includes(v))) {
        f.push(finding(`optfile.${side}.old_tls`, 'warning', target, `${side} allows ${list.join(', ')}`, `use {versions, ['tlsv1.3']} or ['tlsv1.3','tlsv1.2']`));
      }
    }
    for (const m of sec.matchAll(/\{\s*(certfile|keyfile|cacertfile)\s*,\s*"([^"]*)"/g)) {
      if (!m[2]!.startsWith('/')) f.push(finding(`optfile.${side}.relative_path`, 'warning', target, `${m[1]} ${JSON.stringify(m[2])} is relative (resolved against the node's working directory)`, 'use absolute paths'));
    }
  }
  if (!/\{\s*fail_if_no_peer_cert\s*,\s*true\s*\}/.test(server)) {
    f.push(finding('optfile.server.fail_if_no_peer_cert', 'error', target, 'server options lack {fail_if_no_peer_cert, true}: clients without a certificate are accepted', 'add {fail_if_no_peer_cert, true} to the server options'));
  }
  if (!f.some((x) => x.severity === 'error' || x.severity === 'warning')) f.push(ok('optfile', target, 'mutual TLS with verify_peer on both sides, explicit versions'));
  return f;
}

/** Words of an args file: `#` comments dropped, whitespace-split (as erlexec reads -args_file). */
export function vmArgsWords(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join(' ')
    .split(/\s+/)
    .filter(Boolean);
}

export function flagValues(words: string[], flag: string): string[][] {
  const out: string[][] = [];
  words.forEach((w, i) => {
    if (w === flag) {
      const vals: string[] = [];
      for (let j = i + 1; j < words.length && !/^[-+]/.test(words[j]!); j++) vals.push(words[j]!);
      out.push(vals);
    }
  });
  return out;
}

export function lintVmArgs(text: string, target: string): Finding[] {
  const f: Finding[] = [];
  const w = vmArgsWords(text);
  const one = (flag: string) => flagValues(w, flag)[0];
  const proto = one('-proto_dist');
  if (!proto || (proto[0] !== 'vaultdist_tls' && proto[0] !== 'inet_tls')) {
    f.push(finding('vmargs.proto_dist', 'error', target, proto ? `-proto_dist ${proto.join(' ')}: distribution is not TLS` : 'no -proto_dist: distribution runs in plaintext (inet_tcp)', 'add -proto_dist vaultdist_tls, -ssl_dist_optfile /abs/ssl_dist.conf and -pa DIR/ebin (vaultdist init node writes them)'));
  } else if (!one('-ssl_dist_optfile')) {
    f.push(finding('vmargs.optfile', 'error', target, `-proto_dist ${proto[0]} without -ssl_dist_optfile: the node has no certificate`, 'add -ssl_dist_optfile /abs/ssl_dist.conf'));
  } else if (proto[0] === 'inet_tls') {
    // #12: OTP's inet_tls binds certificates to hosts only; any node of the CA can connect under any name
    f.push(finding('vmargs.proto_dist', 'warning', target, '-proto_dist inet_tls: peers are not bound to the node name in their certificate (any certificate of the CA connects under any name)', 'use -proto_dist vaultdist_tls with -pa DIR/ebin (the companion carrier)'));
  }
  const startEpmd = one('-start_epmd');
  if (!startEpmd || startEpmd[0] !== 'false') {
    f.push(finding('vmargs.start_epmd', 'warning', target, 'erl will start an epmd daemon (port 4369), which tells anyone the node names and ports', 'add -start_epmd false (and -erl_epmd_port PORT)'));
  }
  const epmdModule = one('-epmd_module');
  const epmdPort = one('-erl_epmd_port');
  if (!epmdModule && !epmdPort) {
    f.push(finding('vmargs.epmd', 'warning', target, 'no -erl_epmd_port and no -epmd_module: the node needs an epmd to find peers', 'add -erl_epmd_port PORT (one port for every node) or -epmd_module vaultdist_epmd'));
  } else if (!epmdModule) {
    f.push(finding('vmargs.epmd_module', 'info', target, 'no -epmd_module: the node still registers with an epmd if one happens to run on the host', 'use -epmd_module vaultdist_epmd to never contact epmd'));
  }
  if (w.includes('-no_epmd') && !epmdModule) {
    f.push(finding('vmargs.no_epmd', 'error', target, '-no_epmd without -epmd_module: the node fails to start distribution', 'use -start_epmd false instead, or add -epmd_module'));
  }
  if (w.includes('-setcookie')) {
    f.push(finding('vmargs.setcookie', 'warning', target, '-setcookie in vm.args: the cookie is visible in ps and to whoever reads this file', 'use ~/.erlang.cookie (0400) or RELEASE_COOKIE'));
  }
  const connectAll = one('-connect_all');
  if (!connectAll || connectAll[0] !== 'false') {
    f.push(finding('vmargs.connect_all', 'info', target, 'connect_all is on: a node connects to every node its peers know (full mesh)', 'add -connect_all false if the topology is not a full mesh'));
  }
  if (!f.some((x) => x.severity === 'error' || x.severity === 'warning')) f.push(ok('vmargs', target, 'TLS distribution without epmd'));
  return f;
}
