import { debrisEnd } from './debris.mjs';

export default async function globalTeardown() {
  try {
    await globalThis.__VAULTDIST_DEV__?.stop();
    globalThis.__VAULTDIST_DEV__ = undefined;
  } finally {
    debrisEnd();
  }
}
