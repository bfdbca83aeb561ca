/**
 * Per-file setup shared by the integration and e2e tests (instead of a copy of the same
 * beforeAll/afterAll blocks in every file). Call at describe level:
 *
 *   const pki = useTestPki();            // a fresh PKI mount: pki.mount, pki.vault, pki.rootPem, ...
 *   const tmp = useTestdir('vaultdist-x-'); // tmp.dir
 *
 * Both are created in a beforeAll declared where the helper is called (so a later beforeAll of the
 * file can use them, and a skipped describe creates nothing). In afterAll, every BEAM node the file
 * started is stopped first (nodes write their logs into the temp dir), then the mount and the dir
 * are removed. Both are per file, never shared between files.
 */
import { nodeIdentityNames } from '../../packages/sdk/src/index.js';
import { stopAllNodes } from './erlang.js';
import { adminClient, createTestPki, testdir, type TestPki } from './vault.js';

export type TestPkiOptions = Parameters<typeof createTestPki>[0];

/** A fresh PKI mount with a root CA and a node role for this file (createTestPki), removed after it. */
export function useTestPki(o: TestPkiOptions = {}): TestPki {
  let pki: TestPki | undefined;
  beforeAll(async () => {
    pki = await createTestPki(o);
  });
  afterAll(async () => {
    await stopAllNodes();
    await pki?.cleanup();
  });
  // Reads go to the mount created by the beforeAll; `pki.mount` etc. work as with a plain variable.
  const current = (prop: string | symbol): TestPki => {
    if (!pki) throw new Error(`useTestPki(): pki.${String(prop)} read before the file's beforeAll created the mount`);
    return pki;
  };
  return new Proxy({} as TestPki, {
    get: (_target, prop) => (prop === 'then' && !pki ? undefined : Reflect.get(current(prop), prop)),
    has: (_target, prop) => Reflect.has(current(prop), prop),
    ownKeys: () => Reflect.ownKeys(current('ownKeys')),
    getOwnPropertyDescriptor: (_target, prop) => {
      const d = Reflect.getOwnPropertyDescriptor(current(prop), prop);
      return d && { ...d, configurable: true };
    },
  });
}

/**
 * A temp dir for this file (testdir), made in a beforeAll (so a skipped describe makes none) and
 * removed in afterAll once the file's BEAM nodes are stopped.
 */
export function useTestdir(prefix?: string): { readonly dir: string } {
  let tmp: ReturnType<typeof testdir> | undefined;
  beforeAll(() => {
    tmp = testdir(prefix);
  });
  afterAll(async () => {
    await stopAllNodes();
    tmp?.cleanup();
  });
  return {
    get dir(): string {
      if (!tmp) throw new Error("useTestdir(): tmp.dir read before the file's beforeAll made the dir");
      return tmp.dir;
    },
  };
}

/** The Vault objects a file's `vaultdist init vault` / `init node` runs create (random names per file). */
export interface InitVaultObjectNames {
  mount: string;
  rootMount: string;
  /** The shared policy and the per-node policies' prefix (`--policy`). */
  policy: string;
  approle?: string;
  cert?: string;
}

/**
 * Removes in afterAll what the file's `init vault` / `init node` runs created: the PKI mounts, the
 * auth mounts, the policy and each node's own policy (`nodes`); idempotent deletes, after the file's
 * BEAM nodes are stopped.
 */
export function useInitVaultCleanup(names: InitVaultObjectNames, nodes: string[] = []): void {
  afterAll(async () => {
    await stopAllNodes();
    const admin = adminClient();
    for (const m of [names.mount, names.rootMount]) await admin.delete(`sys/mounts/${m}`, { idempotent: true });
    for (const a of [names.approle, names.cert]) if (a) await admin.delete(`sys/auth/${a}`, { idempotent: true });
    for (const p of [names.policy, ...nodes.map((n) => nodeIdentityNames(n, { policyPrefix: names.policy }).policy)]) await admin.delete(`sys/policies/acl/${p}`, { idempotent: true });
  });
}
