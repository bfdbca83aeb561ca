export default async function globalTeardown() {
  await globalThis.__VAULTDIST_DEV__?.stop();
}
