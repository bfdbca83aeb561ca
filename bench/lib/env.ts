/** Machine facts printed at the top of every benchmark, so figures can be read in context. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export function otpRelease(erl = 'erl'): string {
  try {
    return execFileSync(erl, ['-noshell', '-eval', 'io:format("~s/erts-~s", [erlang:system_info(otp_release), erlang:system_info(version)]), halt().'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineLine(): string {
  const c = cpus();
  return `machine: ${c.length} CPU (${c[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}, ${new Date().toISOString()}`;
}
