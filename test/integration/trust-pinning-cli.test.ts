/**
 * Trust pinning across renewals through the CLI (#12 part 4), on the real OpenBao: `vaultdist issue`
 * into a directory whose ca.pem trusts CA A refuses an answer from a mount with another root (exit
 * 13, `trust-anchor`, bundle.pem and ca.pem byte-identical), adopts it only through the CA-rotation
 * step (`--trust-ca`, old + new), and checks `--trust-ca` files before anything is issued.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

describe('vaultdist issue: trust pinned across renewals', () => {
  const a = useTestPki({ commonName: 'pinning CA A' });
  const b = useTestPki({ commonName: 'pinning CA B' });
  const tmp = useTestdir('vaultdist-pin-');
  const env = () => ({ VAULT_ADDR: testVault().addr, VAULT_TOKEN: testVault().token });

  it('refuses an issuing CA that ca.pem does not hold, adopts it through --trust-ca only', async () => {
    const dir = join(tmp.dir, 'node');
    const files = () => ['bundle.pem', 'ca.pem'].map((f) => readFileSync(join(dir, f), 'utf8'));
    const first = await vaultdist(['issue', '--name', 'pin@127.0.0.1', '--dir', dir, '--mount', a.mount, '--role', a.role], { env: env() });
    expect([first.code, first.stderr]).toEqual([0, expect.anything()]);
    const before = files();
    expect(before[1]).toContain(a.rootPem.trim());

    // whoever answers now chains to another root (here: another mount of the same server)
    const other = await vaultdist(['issue', '--name', 'pin@127.0.0.1', '--dir', dir, '--mount', b.mount, '--role', b.role], { env: env() });
    expect(other.code).toBe(13);
    expect(other.stderr).toMatch(/issuing CA "CN=pinning CA B" .* is not in, and not issued by, the trust set in use \("CN=pinning CA A"\); refusing to adopt it/);
    expect(files()).toEqual(before);

    // a --trust-ca file that is not there: usage error naming it, nothing issued
    const missing = await vaultdist(['issue', '--name', 'pin@127.0.0.1', '--dir', dir, '--mount', b.mount, '--role', b.role, '--trust-ca', join(tmp.dir, 'nope.pem')], { env: env() });
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining(`--trust-ca ${join(tmp.dir, 'nope.pem')}: ENOENT`)]);
    expect(files()).toEqual(before);

    // the CA-rotation step: old + new announced → adopted, both kept (overlap)
    writeFileSync(join(tmp.dir, 'a.pem'), a.rootPem);
    writeFileSync(join(tmp.dir, 'b.pem'), b.rootPem);
    const rotated = await vaultdist(['issue', '--name', 'pin@127.0.0.1', '--dir', dir, '--mount', b.mount, '--role', b.role, '--trust-ca', join(tmp.dir, 'a.pem'), '--trust-ca', join(tmp.dir, 'b.pem')], { env: env() });
    expect([rotated.code, rotated.stderr]).toEqual([0, expect.anything()]);
    const ca = files()[1]!;
    expect([ca.includes(a.rootPem.trim()), ca.includes(b.rootPem.trim())]).toEqual([true, true]);
  }, 120_000);
});
