import { debrisEnd } from './debris.mjs';

export default function unitGlobalTeardown() {
  debrisEnd();
}
