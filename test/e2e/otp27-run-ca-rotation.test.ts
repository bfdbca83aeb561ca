/** Compatibility lane: security-ca-rotation.test.ts with every node it starts on OTP 27 (the trixie root). */
import { runFileOnOtp27 } from '../helpers/otp27.js';

await runFileOnOtp27('security-ca-rotation', () => import('./security-ca-rotation.test.js'));
