/**
 * Everything the CLI prints goes through here (changesets `output.ts`): results on stdout, progress and
 * errors on stderr, colour only when the stream is a TTY and NO_COLOR is unset, and `--json` modes that
 * print nothing but JSON on stdout.
 */

export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean | undefined };
  stderr: { write(s: string): unknown; isTTY?: boolean | undefined };
  stdinIsTTY: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdinIsTTY: Boolean(process.stdin.isTTY), env: process.env, cwd: process.cwd() };
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export interface Output {
  readonly io: CliIo;
  readonly json: boolean;
  /** A result line on stdout (suppressed in --json mode). */
  line(text?: string): void;
  /** A progress line on stderr ("→ step"), suppressed in --json and --quiet modes. */
  progress(text: string): void;
  /** A warning on stderr, always shown. */
  warn(text: string): void;
  /** One JSON document on stdout (--json mode). */
  emit(value: unknown): void;
  paint(colour: Colour, text: string): string;
}

export function createOutput(io: CliIo, o: { json?: boolean; quiet?: boolean } = {}): Output {
  const colourOk = (s: { isTTY?: boolean | undefined }) => Boolean(s.isTTY) && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
  const outColour = colourOk(io.stdout);
  const errColour = colourOk(io.stderr);
  const paintIf = (on: boolean, c: Colour, t: string) => (on ? `\x1b[${CODES[c]}m${t}\x1b[0m` : t);
  return {
    io,
    json: Boolean(o.json),
    line(text = '') {
      if (!o.json) io.stdout.write(`${text}\n`);
    },
    progress(text) {
      if (!o.json && !o.quiet) io.stderr.write(`${paintIf(errColour, 'dim', '→')} ${text}\n`);
    },
    warn(text) {
      io.stderr.write(`${paintIf(errColour, 'yellow', 'warning:')} ${text}\n`);
    },
    emit(value) {
      io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    paint: (c, t) => paintIf(outColour, c, t),
  };
}

/** "2d 3h", "45m", "12s"; negative durations are prefixed with "-". */
export function formatDuration(ms: number): string {
  const neg = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = d ? [`${d}d`, h ? `${h}h` : ''] : h ? [`${h}h`, m ? `${m}m` : ''] : m ? [`${m}m`] : [`${s}s`];
  return (neg ? '-' : '') + parts.filter(Boolean).join(' ');
}

/** Aligned two-column "key: value" block. */
export function table(rows: [string, string][]): string {
  const w = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${`${k}:`.padEnd(w + 2)}${v}`).join('\n');
}
