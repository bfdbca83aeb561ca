/**
 * CA rotation support: adding a root to `trust.extraCaFiles` makes the next start-up rewrite the set
 * (ca.pem = Vault's roots + the extra one) even though the certificate is not yet due; after that the
 * set on disk is used as it is.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, validateConfig } from '../../packages/agent/src/index.js';
import { makeCa } from '../../scripts/test-utils/src/index.js';
import { testVault } from '../helpers/vault.js';
import { useTestdir, useTestPki } from '../helpers/setup.js';

describe('agent trust bundle (CA rotation)', () => {
  const pki = useTestPki();
  const tmp = useTestdir();

  it('rewrites ca.pem with an added root, then leaves it alone', async () => {
    const dir = join(tmp.dir, 'node');
    const cfg = (extra: string[]) =>
      validateConfig({
        vault: { address: testVault().addr, auth: { method: 'token', token: testVault().token } },
        health: { enabled: false },
        nodes: [{ name: 'trust@127.0.0.1', dir, mount: pki.mount, role: pki.role, trust: { extraCaFiles: extra }, reload: { strategy: 'poll' }, verify: { enabled: false } }],
      }).config!;
    const first = await createAgent(cfg([])).runOnce();
    expect(first.nodes[0]!.result).toMatchObject({ ok: true, action: 'renewed' });
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(1);

    const newRoot = await makeCa('the next root');
    const newRootFile = join(tmp.dir, 'next-root.pem');
    writeFileSync(newRootFile, newRoot.pem);
    const second = await createAgent(cfg([newRootFile])).runOnce();
    expect(second.nodes[0]!.result).toMatchObject({ ok: true, action: 'renewed' });
    const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
    expect(ca).toContain(pki.rootPem.trim());
    expect(ca).toContain(newRoot.pem.trim());

    const third = await createAgent(cfg([newRootFile])).runOnce();
    expect(third.nodes[0]!.result).toMatchObject({ ok: true, action: 'none' });
  });
});
