import { isIP } from 'node:net';
import { NodeNameError } from './errors.js';

/** What the host part of a node name is: a DNS name, an IPv4 or an IPv6 address. */
export type NodeHostKind = 'ipv4' | 'ipv6' | 'dns';

/** A parsed Erlang node name `name@host`. */
export interface NodeName {
  /** The full atom text, e.g. `foo@127.0.0.1`. */
  full: string;
  /** The part before `@`. */
  name: string;
  /** The part after `@`. */
  host: string;
  hostKind: NodeHostKind;
  /**
   * `long` when the host is an IP literal or contains a dot (needs `-name`), `short` otherwise (`-sname`).
   * OTP refuses a dot-less host under `-name` ("Hostname localhost is illegal").
   */
  mode: 'long' | 'short';
}

const NAME_PART = /^[A-Za-z0-9_-]+$/;
const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * Parses and validates an Erlang node name, rejecting what OTP would reject and what cannot be
 * carried safely in a certificate (SNI/DNS SAN) or rendered into flags.
 * @throws NodeNameError
 */
export function parseNodeName(input: string): NodeName {
  if (typeof input !== 'string' || input.length === 0) throw new NodeNameError(String(input), 'empty');
  if (input.length > 255) throw new NodeNameError(input, 'longer than 255 characters (the atom limit)');
  const at = input.indexOf('@');
  if (at < 0) throw new NodeNameError(input, 'missing "@host" (vaultdist needs the host to put in the certificate)');
  if (input.indexOf('@', at + 1) >= 0) throw new NodeNameError(input, 'more than one "@"');
  const name = input.slice(0, at);
  let host = input.slice(at + 1);
  if (!name) throw new NodeNameError(input, 'empty name part before "@"');
  if (!NAME_PART.test(name)) {
    throw new NodeNameError(input, `name part ${JSON.stringify(name)} may only contain letters, digits, "_" and "-"`);
  }
  // `-name -s@host`: erl would read the name as a flag ("Invalid -name given to erl").
  if (name.startsWith('-')) throw new NodeNameError(input, `name part ${JSON.stringify(name)} must not start with "-" (erl would read it as a flag)`);
  if (!host) throw new NodeNameError(input, 'empty host part after "@"');
  const bracketed = host.startsWith('[') && host.endsWith(']');
  if (bracketed) host = host.slice(1, -1);
  const ip = isIP(host);
  // `[...]` is the IPv6 literal form only: `a@[a0]` or `a@[10.0.0.1]` would keep the brackets in `full`
  // while the certificate names the bare host (found by comparing with the registry plugin's validation).
  if (bracketed && ip !== 6) throw new NodeNameError(input, `host ${JSON.stringify(`[${host}]`)}: brackets are only for an IPv6 address`);
  if (ip === 4) return { full: `${name}@${host}`, name, host, hostKind: 'ipv4', mode: 'long' };
  if (ip === 6) return { full: `${name}@${host}`, name, host, hostKind: 'ipv6', mode: 'long' };
  if (host.endsWith('.')) throw new NodeNameError(input, 'host must not end with "."');
  const labels = host.split('.');
  for (const l of labels) {
    if (!DNS_LABEL.test(l)) throw new NodeNameError(input, `host label ${JSON.stringify(l)} is not a valid DNS label`);
  }
  if (host.length > 253) throw new NodeNameError(input, 'host longer than 253 characters');
  if (/^[0-9.]+$/.test(host)) throw new NodeNameError(input, `host ${JSON.stringify(host)} looks like an IPv4 address but is not one`);
  return { full: input, name, host, hostKind: 'dns', mode: labels.length > 1 ? 'long' : 'short' };
}

/** The node's identity URI carried in the certificate's URI SAN, e.g. `erlang://foo@127.0.0.1`. */
export function nodeIdentityUri(node: NodeName): string {
  const host = node.hostKind === 'ipv6' ? `[${node.host}]` : node.host;
  return `erlang://${node.name}@${host}`;
}

/**
 * Refuses a node name that distribution cannot carry, with a replacement that works (issue #15).
 *
 * IPv6 hosts: vaultdist's distribution runs over IPv4 (`-proto_dist inet_tls` / the `vaultdist_tls`
 * carrier, `vaultdist_epmd` ports). A node named `app@::1` gets a certificate and starts, but no peer
 * can reach it (`net_adm:ping` answers `pang`), and switching to `inet6_tls` alone does not help (the
 * carrier, the epmd module and the listen address are IPv4). Decision: refuse up front, before
 * anything is issued, rather than ship a half-working IPv6 path. The hint names an IPv4 form of the
 * same host when there is one (`::1` → `127.0.0.1`, `::ffff:a.b.c.d` → `a.b.c.d`), else a DNS name.
 * @throws NodeNameError
 */
export function requireDistributableNode(input: string | NodeName): NodeName {
  const n = typeof input === 'string' ? parseNodeName(input) : input;
  if (n.hostKind !== 'ipv6') return n;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(n.host)?.[1];
  const v4 = n.host === '::1' ? '127.0.0.1' : mapped && isIP(mapped) === 4 ? mapped : undefined;
  const hint = v4
    ? `name it ${n.name}@${v4} (the same host over IPv4)`
    : `name it by a DNS name whose A record points at this host (e.g. ${n.name}@${n.name}.example.internal) or by its IPv4 address`;
  throw new NodeNameError(n.full, `IPv6 hosts are not supported: distribution runs over IPv4 (inet_tls / vaultdist_tls), so peers could not reach the node; ${hint}`);
}
