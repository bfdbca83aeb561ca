/**
 * Streams doctor findings as they are produced (house style §11: NDJSON through a reporter): one JSON
 * line per finding with --json, or a human block per finding; `close()` writes the summary line.
 * The reporter is also `AsyncDisposable` where the runtime has `Symbol.asyncDispose` (Node ≥ 20.4), so
 * `await using r = createReporter(…)` closes it.
 */
import type { Output } from '../../output.js';
import type { Finding, Severity } from './findings.js';

export const SEVERITY_ORDER: Severity[] = ['ok', 'info', 'warning', 'error'];

export interface Summary {
  clean: boolean;
  counts: Record<Severity, number>;
  exitCode: number;
}

export interface Reporter {
  /** Every finding so far, in order. */
  readonly findings: readonly Finding[];
  push(...findings: Finding[]): void;
  some(pred: (f: Finding) => boolean): boolean;
  /** Writes the summary (once) and returns it. */
  close(): Summary;
}

export function createReporter(out: Output, o: { strict: boolean; failCode: number }): Reporter {
  const findings: Finding[] = [];
  let summary: Summary | undefined;
  const mark: Record<Severity, string> = { ok: out.paint('green', 'ok   '), info: out.paint('blue', 'info '), warning: out.paint('yellow', 'warn '), error: out.paint('red', 'ERROR') };
  const write = (x: Finding) => {
    if (out.json) {
      out.io.stdout.write(`${JSON.stringify({ type: 'finding', ...x })}\n`);
      return;
    }
    out.line(`${mark[x.severity]} ${x.check}  ${x.target}`);
    out.line(`      ${x.message}`);
    if (x.fix && x.severity !== 'ok') out.line(`      fix: ${x.fix}`);
  };
  const reporter: Reporter = {
    findings,
    push(...xs) {
      for (const x of xs) {
        findings.push(x);
        write(x);
      }
    },
    some: (pred) => findings.some(pred),
    close() {
      if (summary) return summary;
      const counts = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, findings.filter((x) => x.severity === s).length])) as Record<Severity, number>;
      const failed = counts.error > 0 || (o.strict && counts.warning > 0);
      summary = { clean: !failed, counts, exitCode: failed ? o.failCode : 0 };
      if (out.json) out.io.stdout.write(`${JSON.stringify({ type: 'summary', ...summary })}\n`);
      else {
        out.line('');
        out.line(
          failed
            ? out.paint('red', `doctor: ${counts.error} error(s), ${counts.warning} warning(s)`)
            : out.paint('green', `doctor: clean (${counts.warning} warning(s), ${counts.info} note(s))`),
        );
      }
      return summary;
    },
  };
  const asyncDispose = (Symbol as unknown as { asyncDispose?: symbol }).asyncDispose;
  if (asyncDispose) Object.defineProperty(reporter, asyncDispose, { value: async () => void reporter.close() });
  return reporter;
}
