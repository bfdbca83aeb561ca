/** Compatibility lane: security-attack-matrix.test.ts with every node it starts on OTP 27 (the trixie root). */
import { runFileOnOtp27 } from '../helpers/otp27.js';

await runFileOnOtp27('security-attack-matrix', () => import('./security-attack-matrix.test.js'));
