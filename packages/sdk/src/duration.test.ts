import { DURATION_PATTERN, DurationSyntaxError, isDuration, parseDurationMs, parseDurationSeconds } from './duration.js';

describe('parseDurationSeconds: what Vault accepts (go-secure-stdlib ParseDurationSecond)', () => {
  it.each([
    ['3600', 3600],
    ['90s', 90],
    ['30m', 1800],
    ['1h30m', 5400],
    ['1.5h', 5400],
    ['2h45m30s', 9930],
    ['7d', 604800],
    ['1500ms', 1],
    ['0', 0],
    [86400, 86400],
  ])('%p → %p s', (v, want) => {
    expect(parseDurationSeconds(v)).toBe(want);
    if (typeof v === 'string') expect(DURATION_PATTERN.test(v)).toBe(true);
  });

  it.each(['', '1h30', '1d12h', '-5s', 'h', '1.5d', '10 s', '1w', '5x', '.', '1.5'])('%p is refused, naming the value', (v) => {
    expect(() => parseDurationMs(v)).toThrow(DurationSyntaxError);
    expect(() => parseDurationMs(v)).toThrow(JSON.stringify(v));
    expect(isDuration(v)).toBe(false);
    expect(DURATION_PATTERN.test(v)).toBe(false);
  });

  it('keeps fractions in milliseconds', () => {
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('.5s')).toBe(500);
  });
});
