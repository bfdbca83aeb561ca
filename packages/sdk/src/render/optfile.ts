import { RenderError } from '../errors.js';
import type { KeyType } from '../x509/keys.js';
import { erlangAtom, erlangString, requireAbsolute } from './erlang.js';

export type TlsVersion = 'tlsv1.3' | 'tlsv1.2';
export type Carrier = 'vaultdist_tls' | 'inet_tls';

/**
 * The cipher suites rendered when TLS 1.2 is allowed: the TLS 1.3 suites plus ECDHE key exchange with
 * AEAD ciphers only for TLS 1.2 (no CBC, no SHA-1 MACs, no static RSA, no DHE). OpenSSL names, which
 * OTP's `ciphers` option accepts as one colon-separated string.
 */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;

export interface OptfileOptions {
  /** PEM with key + leaf + chain, used as both `certfile` and `keyfile` (one rename swaps both). */
  bundleFile: string;
  /** Separate key file; defaults to `bundleFile`. */
  keyFile?: string | undefined;
  /** Trust anchors (CA bundle): the issuing CA certificate(s), not the root (see `carrier`). */
  caFile: string;
  /**
   * The distribution carrier the node runs (`-proto_dist`). With `vaultdist_tls` (the default) both
   * sides get `{partial_chain, …vaultdist_tls_dist:partial_chain(caFile, Chain)}`: a certificate in
   * `caFile` is a trust anchor even when it is an intermediate, so a node trusts exactly the issuing
   * CA(s) in ca.pem and not every child of their root. `inet_tls` renders no partial_chain (OTP then
   * needs a self-signed root in `caFile`): only for nodes that cannot load the carrier module.
   * @default 'vaultdist_tls'
   */
  carrier?: Carrier | undefined;
  /** @default ['tlsv1.3'] */
  versions?: TlsVersion[] | undefined;
  /**
   * CRL checking for distribution: `peer` checks the peer's leaf, `best_effort` tolerates a missing CRL.
   * The CRLs are read from `crlDir` (hash directory, kept fresh by the agent).
   */
  crl?: { check: 'peer' | 'best_effort' | true; crlDir: string } | undefined;
  /** Accept IP SANs in the client-side hostname check (for CAs that refuse IP literals as DNS SANs). */
  ipSanHostnameMatch?: boolean | undefined;
  /** Header comment lines. */
  comment?: string[] | undefined;
  /**
   * The node key type, when known. Ed25519 requires TLS 1.3: on OTP 25 a TLS-1.2-only Ed25519 pair
   * fails with "Handshake Failure - malformed_handshake_data" (test/e2e/sdk-ed25519.test.ts).
   */
  keyType?: KeyType | undefined;
}

/**
 * Renders `ssl_dist.conf` for `-ssl_dist_optfile`. OTP evaluates this file as one Erlang expression
 * (facts doc §2.1). Always mutual TLS: both sides `verify_peer`, the server `fail_if_no_peer_cert`.
 * Explicit `versions` (OTP forces `['tlsv1.2']` without it), and `secure_renegotiate` only when TLS 1.2
 * is allowed (with TLS-1.3-only it makes every connection fail silently).
 */
export function renderOptfile(o: OptfileOptions): string {
  const bundle = requireAbsolute('bundleFile', o.bundleFile);
  const key = requireAbsolute('keyFile', o.keyFile ?? o.bundleFile);
  const ca = requireAbsolute('caFile', o.caFile);
  const versions = o.versions ?? ['tlsv1.3'];
  if (!versions.length) throw new RenderError('versions', 'at least one TLS version is required');
  for (const v of versions) if (v !== 'tlsv1.3' && v !== 'tlsv1.2') throw new RenderError('versions', `unsupported TLS version ${JSON.stringify(v)}`);
  if (o.keyType === 'ed25519' && !versions.includes('tlsv1.3')) {
    throw new RenderError('versions', 'Ed25519 node keys need TLS 1.3 (OTP 25 rejects Ed25519 in TLS 1.2 distribution handshakes)');
  }
  const common: string[] = [
    `{certfile, ${erlangString(bundle, 'bundleFile')}}`,
    `{keyfile, ${erlangString(key, 'keyFile')}}`,
    `{cacertfile, ${erlangString(ca, 'caFile')}}`,
    `{verify, verify_peer}`,
    `{depth, 4}`,
    `{versions, [${versions.map((v) => erlangAtom(v, 'versions')).join(', ')}]}`,
  ];
  // TLS 1.2 allowed: only ECDHE + AEAD suites (OTP's 1.2 defaults include CBC-SHA1 suites).
  if (versions.includes('tlsv1.2')) common.push('{secure_renegotiate, true}', `{ciphers, ${erlangString(TLS_CIPHERS.join(':'), 'ciphers')}}`);
  const carrier = o.carrier ?? 'vaultdist_tls';
  if (carrier !== 'vaultdist_tls' && carrier !== 'inet_tls') throw new RenderError('carrier', `unsupported carrier ${JSON.stringify(carrier)} (vaultdist_tls or inet_tls)`);
  // Trust stops at the issuing CA(s) in ca.pem: a chain certificate found in ca.pem is the anchor.
  if (carrier === 'vaultdist_tls') common.push(`{partial_chain, fun(Chain) -> vaultdist_tls_dist:partial_chain(${erlangString(ca, 'caFile')}, Chain) end}`);
  if (o.crl) {
    const dir = requireAbsolute('crl.crlDir', o.crl.crlDir);
    common.push(`{crl_check, ${o.crl.check === true ? 'true' : o.crl.check}}`);
    common.push(`{crl_cache, {ssl_crl_hash_dir, {internal, [{dir, ${erlangString(dir, 'crl.crlDir')}}]}}}`);
  }
  // TLS 1.3 certificate_authorities would name the issuing intermediate(s); an OTP client whose chain
  // does not end in a self-signed root then sends NO certificate ("Certificate required"), so with
  // intermediate anchors the server does not send the hint (the client's chain is checked anyway).
  const server = [...common, '{fail_if_no_peer_cert, true}', ...(carrier === 'vaultdist_tls' ? ['{certificate_authorities, false}'] : [])];
  const client = [...common];
  if (o.ipSanHostnameMatch) {
    client.push(
      `{customize_hostname_check, [{match_fun, fun({dns_id, H}, {iPAddress, IP}) -> inet:parse_address(H) =:= {ok, list_to_tuple(IP)}; (_, _) -> default end}]}`,
    );
  }
  const header = [
    '%% ssl_dist.conf generated by vaultdist: mutual TLS for Erlang distribution.',
    ...(carrier === 'vaultdist_tls' ? ['%% For -proto_dist vaultdist_tls (the partial_chain fun calls vaultdist_tls_dist).'] : []),
    '%% Read once at node start (-ssl_dist_optfile); certificate files are reloaded by vaultdist.',
    ...(o.comment ?? []).map((c) => `%% ${c.replace(/[\r\n]/g, ' ')}`),
  ];
  const list = (items: string[]) => items.map((i, n) => `${n === 0 ? '[' : ' '}${i}`).join(',\n   ') + ']';
  return `${header.join('\n')}\n[{server,\n  ${list(server)}},\n {client,\n  ${list(client)}}].\n`;
}
