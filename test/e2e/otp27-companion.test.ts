/**
 * The precompiled companion application on OTP 27 (issue #16): installCompanion, with the OTP 27 lane's
 * erl first on PATH, detects release 27 and installs the OTP 25 ebin plus the carrier built for 27;
 * an OTP 27 node then boots with `-proto_dist vaultdist_tls` and loads every module from DIR/ebin
 * (OTP 25 beams on 27). The OTP 25 set on the same node is refused by the carrier (the release check
 * is kept: it uses OTP internals chosen at compile time).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { installCompanion, targetOtpRelease } from '../../packages/cli/src/companion.js';
import { packageRoot } from '../../packages/cli/src/package-root.js';
import { useTestdir } from '../helpers/setup.js';
import { describeOtp27 } from '../helpers/otp27.js';
import { sharedFreePort } from '../helpers/erlang.js';

describeOtp27('OTP 27: the precompiled companion application', (lane) => {
  const tmp = useTestdir('vaultdist-otp27-companion-');

  const boot = async (ebin: string) => {
    const port = await sharedFreePort(['127.0.0.1']);
    const eval_ = 'ok = application:load(vaultdist), {ok, Ms} = application:get_key(vaultdist, modules), [{module, M} = code:ensure_loaded(M) || M <- Ms], io:format("up ~s on OTP ~s with ~w~n", [node(), erlang:system_info(otp_release), Ms]), halt().';
    const r = spawnSync(lane().erl, ['-noshell', '-name', 'f3c@127.0.0.1', '-proto_dist', 'vaultdist_tls', '-start_epmd', 'false', '-epmd_module', 'vaultdist_epmd', '-erl_epmd_port', String(port), '-pa', ebin, '-eval', eval_], {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: tmp.dir,
    });
    return `${r.stdout}${r.stderr}`;
  };

  it('installs the OTP 27 carrier for the erl on PATH and boots with every module; the OTP 25 carrier is refused there', async () => {
    const env = { PATH: `${dirname(lane().erl)}:${process.env.PATH ?? ''}` };
    expect(await targetOtpRelease(env)).toBe('27');
    const dir27 = join(tmp.dir, 'n27');
    mkdirSync(dir27);
    const r = await installCompanion(dir27, { erlc: '/nonexistent/erlc', otpRelease: await targetOtpRelease(env) });
    expect(r).toMatchObject({ source: 'precompiled', otpRelease: '27', warning: undefined });
    expect(readFileSync(join(dir27, 'ebin', 'vaultdist_tls_dist.beam'))).toEqual(readFileSync(join(packageRoot(), 'erlang', 'priv', 'otp-27', 'vaultdist_tls_dist.beam')));
    expect(await boot(join(dir27, 'ebin'))).toMatch(/up f3c@127\.0\.0\.1 on OTP 27 with \[vaultdist_cluster,vaultdist_epmd,vaultdist_reload,vaultdist_tls_dist\]/);

    const dir25 = join(tmp.dir, 'n25');
    mkdirSync(dir25);
    expect((await installCompanion(dir25, { erlc: '/nonexistent/erlc', otpRelease: '25' })).source).toBe('precompiled');
    const refused = await boot(join(dir25, 'ebin'));
    expect(refused).not.toMatch(/^up /m);
    expect(refused).toMatch(/compiled_for_otp,"25",running,"27"/);
  }, 120_000);
});
