import { lstatSync, readFileSync, readlinkSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { testdir } from '../../../../scripts/test-utils/src/index.js';
import { isWriteError } from '../errors.js';
import { nodeWriterFs, readCredentialFiles, writeCredentialSet, type CredentialSetContent } from './credential-set.js';

const set = (n: number): CredentialSetContent => ({
  privateKey: `-----BEGIN PRIVATE KEY-----\nKEY${n}\n-----END PRIVATE KEY-----`,
  certificate: `-----BEGIN CERTIFICATE-----\nLEAF${n}\n-----END CERTIFICATE-----`,
  chain: [`-----BEGIN CERTIFICATE-----\nINT${n}\n-----END CERTIFICATE-----`],
  caBundle: [`-----BEGIN CERTIFICATE-----\nROOT${n}\n-----END CERTIFICATE-----`],
});

describe('writeCredentialSet', () => {
  let t: ReturnType<typeof testdir>;
  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  it('writes key+leaf+chain into bundle.pem (0600) and the CA bundle into ca.pem, through symlinks', async () => {
    const r = await writeCredentialSet(t.dir, set(1));
    expect(r.changed).toBe(true);
    expect(readFileSync(join(t.dir, 'bundle.pem'), 'utf8')).toBe(
      '-----BEGIN PRIVATE KEY-----\nKEY1\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nLEAF1\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nINT1\n-----END CERTIFICATE-----\n',
    );
    expect(readFileSync(join(t.dir, 'ca.pem'), 'utf8')).toBe('-----BEGIN CERTIFICATE-----\nROOT1\n-----END CERTIFICATE-----\n');
    expect(statSync(join(t.dir, 'bundle.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(t.dir, 'ca.pem')).mode & 0o777).toBe(0o644);
    expect(statSync(join(t.dir, '.sets')).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(t.dir, 'bundle.pem')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(t.dir, 'bundle.pem'))).toBe('current/bundle.pem');
  });

  it('does not rewrite unchanged content', async () => {
    const first = await writeCredentialSet(t.dir, set(1));
    const again = await writeCredentialSet(t.dir, set(1));
    expect(again.changed).toBe(false);
    expect(again.setDir).toBe(first.setDir);
  });

  it('swaps to the new set and keeps one previous set', async () => {
    await writeCredentialSet(t.dir, set(1));
    await writeCredentialSet(t.dir, set(2));
    await writeCredentialSet(t.dir, set(3));
    expect(readFileSync(join(t.dir, 'bundle.pem'), 'utf8')).toContain('LEAF3');
    expect(readdirSync(join(t.dir, '.sets'))).toHaveLength(2);
  });

  it.each([2, 3, 4])('a crash at step %i leaves the old complete set or the new complete set', async (crashAt) => {
    await writeCredentialSet(t.dir, set(1));
    const err = await writeCredentialSet(t.dir, set(2), {
      onStep: (s) => {
        if (s === crashAt) throw new Error(`simulated crash at step ${s}`);
      },
    }).catch((e: unknown) => e);
    expect(isWriteError(err)).toBe(true);
    const live = (await readCredentialFiles(t.dir))!;
    const which = live.bundle.includes('LEAF2') ? 2 : 1;
    expect(live.bundle).toContain(`KEY${which}`);
    expect(live.ca).toContain(`ROOT${which}`);
    expect(which).toBe(crashAt === 4 ? 2 : 1);
    // The next write recovers and cleans the stale temp set.
    await writeCredentialSet(t.dir, set(3));
    expect((await readCredentialFiles(t.dir))!.bundle).toContain('LEAF3');
    expect(readdirSync(join(t.dir, '.sets')).some((e) => e.endsWith('.tmp'))).toBe(false);
  });

  it('reports a failing file system as a WriteError and leaves the old set live', async () => {
    await writeCredentialSet(t.dir, set(1));
    const err = await writeCredentialSet(t.dir, set(2), {
      fs: { ...nodeWriterFs, rename: async () => { throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }); } },
    }).catch((e: unknown) => e);
    expect(isWriteError(err)).toBe(true);
    expect((err as Error).message).toMatch(/previous set stays live.*EIO/);
    expect((await readCredentialFiles(t.dir))!.bundle).toContain('LEAF1');
  });
});
