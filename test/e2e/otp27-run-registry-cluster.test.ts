/** Compatibility lane: registry-cluster.test.ts (vaultdist_cluster + vaultdist_epmd's peers/port files) with every node on OTP 27. */
import { runFileOnOtp27 } from '../helpers/otp27.js';

await runFileOnOtp27('registry-cluster', () => import('./registry-cluster.test.js'));
