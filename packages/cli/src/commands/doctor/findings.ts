/** Doctor results: one per check, with a severity and a one-line fix. */
export type Severity = 'ok' | 'info' | 'warning' | 'error';

export interface Finding {
  /** Stable check id, e.g. `optfile.verify_none`. */
  check: string;
  severity: Severity;
  /** File, address or node the finding is about. */
  target: string;
  message: string;
  /** One-line fix; empty for `ok`. */
  fix: string;
}

export const ok = (check: string, target: string, message: string): Finding => ({ check, severity: 'ok', target, message, fix: '' });
export const finding = (check: string, severity: Severity, target: string, message: string, fix: string): Finding => ({ check, severity, target, message, fix });
