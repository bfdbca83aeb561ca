// Jest global setup of the unit project: no OpenBao (unit tests need no server), only the debris
// snapshot (test/helpers/debris.mjs). The integration/e2e setup (global-setup.mjs) starts OpenBao.
import { debrisBegin } from './debris.mjs';

export default function unitGlobalSetup() {
  debrisBegin();
}
