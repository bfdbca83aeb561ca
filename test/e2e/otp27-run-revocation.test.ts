/** Compatibility lane: security-revocation.test.ts with every node it starts on OTP 27 (the trixie root). */
import { runFileOnOtp27 } from '../helpers/otp27.js';

await runFileOnOtp27('security-revocation', () => import('./security-revocation.test.js'));
