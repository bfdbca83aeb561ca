/** Compatibility lane: beam-epmd.test.ts with every node it starts on OTP 27 (the trixie root). */
import { runFileOnOtp27 } from '../helpers/otp27.js';

await runFileOnOtp27('beam-epmd', () => import('./beam-epmd.test.js'));
