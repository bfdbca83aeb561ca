import { lintOptfile, lintVmArgs, optfilePaths, vmArgsWords } from './lint.js';

const GOOD = `%% generated
[{server,
  [{certfile, "/d/bundle.pem"}, {keyfile, "/d/bundle.pem"}, {cacertfile, "/d/ca.pem"},
   {verify, verify_peer}, {versions, ['tlsv1.3']}, {fail_if_no_peer_cert, true}]},
 {client,
  [{certfile, "/d/bundle.pem"}, {keyfile, "/d/bundle.pem"}, {cacertfile, "/d/ca.pem"},
   {verify, verify_peer}, {versions, ['tlsv1.3']}]}].
`;

const checks = (f: { check: string; severity: string }[]) => f.filter((x) => x.severity === 'error' || x.severity === 'warning').map((x) => `${x.severity}:${x.check}`);

describe('lintOptfile', () => {
  it('passes a mutual-TLS optfile', () => {
    const f = lintOptfile(GOOD, 'x.conf');
    expect(checks(f)).toEqual([]);
    expect(f).toEqual([{ check: 'optfile', severity: 'ok', target: 'x.conf', message: expect.any(String), fix: '' }]);
  });

  it.each([
    ['verify_none on the server', GOOD.replace('{verify, verify_peer}, {versions', '{verify, verify_none}, {versions'), ['error:optfile.verify_none', 'error:optfile.server.verify_peer']],
    ['no verify on the client', GOOD.replace(/(\{client,[\s\S]*)\{verify, verify_peer\}, /, '$1'), ['error:optfile.client.verify_peer']],
    ['no fail_if_no_peer_cert', GOOD.replace(', {fail_if_no_peer_cert, true}', ''), ['error:optfile.server.fail_if_no_peer_cert']],
    ['no versions', GOOD.replace(/, \{versions, \['tlsv1.3'\]\}/g, ''), ['warning:optfile.server.versions', 'warning:optfile.client.versions']],
    [
      'secure_renegotiate with TLS 1.3 only',
      GOOD.replace("{versions, ['tlsv1.3']}, {fail", "{versions, ['tlsv1.3']}, {secure_renegotiate, true}, {fail"),
      ['error:optfile.server.secure_renegotiate'],
    ],
    ['relative paths', GOOD.replace('"/d/ca.pem"', '"ca.pem"'), ['warning:optfile.server.relative_path']],
  ])('%s', (_name, text, expected) => {
    expect(checks(lintOptfile(text, 'x.conf'))).toEqual(expected);
  });

  it('accepts secure_renegotiate when TLS 1.2 is allowed, and ignores commented-out options', () => {
    const t = GOOD.replace(/\['tlsv1.3'\]/g, "['tlsv1.3','tlsv1.2']").replace('{fail_if_no_peer_cert, true}', "{fail_if_no_peer_cert, true}, {secure_renegotiate, true}");
    expect(checks(lintOptfile(t, 'x'))).toEqual([]);
    expect(checks(lintOptfile(GOOD.replace('%% generated', '%% {verify, verify_none} was here'), 'x'))).toEqual([]);
  });

  it('reads the key file paths (escaped strings included)', () => {
    expect(optfilePaths(GOOD.replace('{keyfile, "/d/bundle.pem"}, {cacertfile', '{keyfile, "/d/k\\"ey.pem"}, {cacertfile')).keyfile).toEqual(['/d/k"ey.pem', '/d/bundle.pem']);
  });

  it('reports a file without sections', () => {
    expect(checks(lintOptfile('[].', 'x'))).toEqual(['error:optfile.sections']);
  });
});

describe('lintVmArgs', () => {
  const GOOD_ARGS = '-name foo@127.0.0.1\n-proto_dist vaultdist_tls\n-ssl_dist_optfile /d/ssl_dist.conf\n-start_epmd false\n-epmd_module vaultdist_epmd\n-erl_epmd_port 9100 # fixed\n-connect_all false\n';
  it('passes the generated flags', () => {
    expect(checks(lintVmArgs(GOOD_ARGS, 'vm.args'))).toEqual([]);
  });
  it.each([
    ['plaintext distribution', GOOD_ARGS.replace('-proto_dist vaultdist_tls\n', ''), ['error:vmargs.proto_dist']],
    ['OTP inet_tls (names not bound)', GOOD_ARGS.replace('-proto_dist vaultdist_tls\n', '-proto_dist inet_tls\n'), ['warning:vmargs.proto_dist']],
    ['no optfile', GOOD_ARGS.replace('-ssl_dist_optfile /d/ssl_dist.conf\n', ''), ['error:vmargs.optfile']],
    ['epmd started', GOOD_ARGS.replace('-start_epmd false\n', ''), ['warning:vmargs.start_epmd']],
    ['cookie in the file', `${GOOD_ARGS}-setcookie secret\n`, ['warning:vmargs.setcookie']],
    ['-no_epmd without a module', GOOD_ARGS.replace('-epmd_module vaultdist_epmd\n', '-no_epmd\n'), ['error:vmargs.no_epmd']],
    ['no port and no module', GOOD_ARGS.replace('-epmd_module vaultdist_epmd\n', '').replace('-erl_epmd_port 9100 # fixed\n', ''), ['warning:vmargs.epmd']],
  ])('%s', (_name, text, expected) => {
    expect(checks(lintVmArgs(text, 'vm.args'))).toEqual(expected);
  });
  it('notes connect_all and a missing epmd module as info only', () => {
    const f = lintVmArgs(GOOD_ARGS.replace('-connect_all false\n', '').replace('-epmd_module vaultdist_epmd\n', ''), 'v');
    expect(f.filter((x) => x.severity === 'info').map((x) => x.check)).toEqual(['vmargs.epmd_module', 'vmargs.connect_all']);
  });
  it('splits words like erlexec (comments dropped)', () => {
    expect(vmArgsWords('-a b # c d\n-e')).toEqual(['-a', 'b', '-e']);
  });
});
