/** Compatibility lane: beam-reload.test.ts with every node it starts on OTP 27 (the trixie root). */
import { runFileOnOtp27 } from '../helpers/otp27.js';

await runFileOnOtp27('beam-reload', () => import('./beam-reload.test.js'));
