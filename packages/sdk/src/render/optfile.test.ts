import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testdir } from '../../../../scripts/test-utils/src/index.js';
import { isRenderError } from '../errors.js';
import { erlangString } from './erlang.js';
import { renderOptfile } from './optfile.js';

/** Evaluates a file exactly as OTP 25's ssl_dist_sup does (erl_scan + erl_parse + erl_eval). */
function evalLikeSslDistSup(file: string): string {
  const expr = `{ok,B}=file:read_file("${file}"), {ok,T,_}=erl_scan:string(unicode:characters_to_list(B)), {ok,E}=erl_parse:parse_exprs(T), {value,V,_}=erl_eval:exprs(E,erl_eval:new_bindings()), io:format("~0tp", [V]), halt().`;
  return execFileSync('erl', ['-noshell', '+pc', 'unicode', '-eval', expr], { encoding: 'utf8' });
}

describe('renderOptfile (checked by a real OTP 25)', () => {
  const t = testdir();
  afterAll(() => t.cleanup());

  it('renders mutual TLS with explicit versions and no secure_renegotiate for TLS 1.3 only', () => {
    const f = join(t.dir, 'a.conf');
    writeFileSync(f, renderOptfile({ bundleFile: '/etc/vd/bundle.pem', caFile: '/etc/vd/ca.pem' }));
    const term = evalLikeSslDistSup(f);
    expect(term).toBe(
      `[{server,[{certfile,"/etc/vd/bundle.pem"},{keyfile,"/etc/vd/bundle.pem"},{cacertfile,"/etc/vd/ca.pem"},{verify,verify_peer},{depth,4},{versions,['tlsv1.3']},{fail_if_no_peer_cert,true}]},` +
        `{client,[{certfile,"/etc/vd/bundle.pem"},{keyfile,"/etc/vd/bundle.pem"},{cacertfile,"/etc/vd/ca.pem"},{verify,verify_peer},{depth,4},{versions,['tlsv1.3']}]}]`,
    );
  });

  it('with TLS 1.2 allowed, only ECDHE + AEAD suites (no CBC, no SHA-1 MAC, no static RSA)', () => {
    const f = join(t.dir, 'ciphers.conf');
    writeFileSync(f, renderOptfile({ bundleFile: '/b.pem', caFile: '/c.pem', versions: ['tlsv1.3', 'tlsv1.2'] }));
    const expr = `{ok,B}=file:read_file("${f}"), {ok,T,_}=erl_scan:string(unicode:characters_to_list(B)), {ok,E}=erl_parse:parse_exprs(T), {value,[{server,S}|_],_}=erl_eval:exprs(E,[]), {ciphers,C}=lists:keyfind(ciphers,1,S), io:format("~0p", [[ssl:suite_to_str(X) || X <- ssl:filter_cipher_suites([ssl_cipher_format:suite_openssl_str_to_map(N) || N <- string:split(C, ":", all)], [])]]), halt().`;
    const suites = execFileSync('erl', ['-noshell', '-eval', expr], { encoding: 'utf8' });
    const list = JSON.parse(suites) as string[];
    expect(list.length).toBe(9);
    for (const s of list) expect(s).toMatch(/^TLS_(AES_\d+_GCM|CHACHA20_POLY1305)_SHA\d+$|^TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_\d+_GCM_SHA\d+|CHACHA20_POLY1305_SHA256)$/);
  });

  it('adds secure_renegotiate only when TLS 1.2 is allowed, and CRL options on request', () => {
    const f = join(t.dir, 'b.conf');
    writeFileSync(f, renderOptfile({ bundleFile: '/b.pem', caFile: '/c.pem', versions: ['tlsv1.3', 'tlsv1.2'], crl: { check: 'peer', crlDir: '/crl' } }));
    const term = evalLikeSslDistSup(f);
    expect(term).toContain(`{versions,['tlsv1.3','tlsv1.2']},{secure_renegotiate,true},{ciphers,"TLS_AES_256_GCM_SHA384:`);
    expect(term).toContain(`POLY1305"},{crl_check,peer},{crl_cache,{ssl_crl_hash_dir,{internal,[{dir,"/crl"}]}}}`);
  });

  it('keeps hostile paths inside their Erlang string (quotes, backslashes, newlines, %, unicode)', () => {
    const nasty = '/tmp/a"b\\c\nd%e}].f\'g ü€😀';
    const f = join(t.dir, 'c.conf');
    writeFileSync(f, renderOptfile({ bundleFile: nasty, caFile: '/ca.pem' }));
    const out = execFileSync(
      'erl',
      ['-noshell', '-eval', `{ok,B}=file:read_file("${f}"), {ok,T,_}=erl_scan:string(unicode:characters_to_list(B)), {ok,E}=erl_parse:parse_exprs(T), {value,[{server,S}|_],_}=erl_eval:exprs(E,[]), {certfile,P}=lists:keyfind(certfile,1,S), io:setopts([{encoding, unicode}]), io:put_chars(P), halt().`],
      { encoding: 'utf8' },
    );
    expect(out).toBe(nasty);
    expect(erlangString('a"b')).toBe('"a\\"b"');
  });

  it('refuses Ed25519 keys without TLS 1.3 (OTP 25 fails the TLS 1.2 handshake)', () => {
    let err: unknown;
    try {
      renderOptfile({ bundleFile: '/b.pem', caFile: '/c.pem', versions: ['tlsv1.2'], keyType: 'ed25519' });
    } catch (e) {
      err = e;
    }
    expect(isRenderError(err) && err.field).toBe('versions');
    expect(renderOptfile({ bundleFile: '/b.pem', caFile: '/c.pem', versions: ['tlsv1.3', 'tlsv1.2'], keyType: 'ed25519' })).toContain("'tlsv1.3'");
  });

  it('rejects relative paths with a typed error naming the field', () => {
    expect(() => renderOptfile({ bundleFile: 'bundle.pem', caFile: '/ca.pem' })).toThrow(/bundleFile/);
    try {
      renderOptfile({ bundleFile: '/b.pem', caFile: 'ca.pem' });
    } catch (e) {
      expect(isRenderError(e)).toBe(true);
    }
  });

  it('rejects a lone UTF-16 surrogate (OTP cannot scan it, no file is named with it) naming the field', () => {
    for (const [o, field] of [
      [{ bundleFile: '/a\uD800b', caFile: '/ca.pem' }, 'bundleFile'],
      [{ bundleFile: '/a', keyFile: '/k\uDFFF', caFile: '/ca.pem' }, 'keyFile'],
      [{ bundleFile: '/a', caFile: '/ca.pem\uDBFF' }, 'caFile'],
      [{ bundleFile: '/a', caFile: '/ca.pem', crl: { check: 'peer', crlDir: '/\uDC00crl' } }, 'crl.crlDir'],
    ] as const) {
      let err: unknown;
      try {
        renderOptfile(o);
      } catch (e) {
        err = e;
      }
      expect(isRenderError(err) && err.field).toBe(field);
      expect((err as Error).message).toMatch(/lone UTF-16 surrogate U\+D[89A-F][0-9A-F]{2}/);
    }
    expect(() => erlangString('\uD800', 'x')).toThrow(/cannot render x/);
    expect(erlangString('\u{1F600}')).toBe('"\\x{1F600}"');
  });
});
