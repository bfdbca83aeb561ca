import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testdir } from '../../../../scripts/test-utils/src/index.js';
import { isWriteError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { nodeWriterFs } from './credential-set.js';

describe('writeFileAtomic', () => {
  let t: ReturnType<typeof testdir>;
  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  it('writes with the exact mode, then skips identical bytes and mode; a mode change rewrites', async () => {
    const p = join(t.dir, 'f');
    expect(await writeFileAtomic(p, 'a\n', 0o600)).toBe(true);
    expect(readFileSync(p, 'utf8')).toBe('a\n');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(await writeFileAtomic(p, 'a\n', 0o600)).toBe(false);
    expect(await writeFileAtomic(p, Buffer.from('a\n'), 0o600)).toBe(false);
    chmodSync(p, 0o644);
    expect(await writeFileAtomic(p, 'a\n', 0o600)).toBe(true);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(t.dir)).toEqual(['f']);
  });

  it('refuses a symlinked parent by default (naming it), follows it when asked', async () => {
    mkdirSync(join(t.dir, 'real'));
    symlinkSync(join(t.dir, 'real'), join(t.dir, 'link'));
    const err = await writeFileAtomic(join(t.dir, 'link', 'f'), 'x', 0o644).catch((e: unknown) => e);
    expect(isWriteError(err)).toBe(true);
    expect((err as Error).message).toMatch(/link: is a symlink \(to .*real\); vaultdist never follows/);
    expect(existsSync(join(t.dir, 'real', 'f'))).toBe(false);
    expect(await writeFileAtomic(join(t.dir, 'link', 'f'), 'x', 0o644, { symlinkedParent: 'follow' })).toBe(true);
    expect(readFileSync(join(t.dir, 'real', 'f'), 'utf8')).toBe('x');
  });

  it('a failed rename leaves the old file and no temp file, as a WriteError naming the path', async () => {
    const p = join(t.dir, 'f');
    writeFileSync(p, 'old');
    const fs = { ...nodeWriterFs, rename: async () => Promise.reject(Object.assign(new Error('EIO: boom'), { code: 'EIO' })) };
    const err = await writeFileAtomic(p, 'new', 0o644, { fs }).catch((e: unknown) => e);
    expect(isWriteError(err)).toBe(true);
    expect((err as Error).message).toContain(`${p}: EIO: boom`);
    expect(readFileSync(p, 'utf8')).toBe('old');
    expect(readdirSync(t.dir)).toEqual(['f']);
  });
});
