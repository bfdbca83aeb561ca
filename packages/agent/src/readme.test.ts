/**
 * The README's config example shows the defaults for `schedule` and `health` (issue #14: its jitter,
 * margin and health port disagreed with the schema), and is a valid config.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describeConfig, validateConfig } from './config/schema.js';

const README = readFileSync(join(fileURLToPath(import.meta.url), '..', '..', 'README.md'), 'utf8');

it('the config example in the README: schedule and health equal the schema defaults, and it validates', () => {
  const block = /## Config[\s\S]*?```yaml\n([\s\S]*?)```/.exec(README)![1]!;
  const example = parse(block) as Record<string, Record<string, unknown>>;
  const defaults = new Map(describeConfig().map((d) => [d.path, d.default]));
  const flat = (o: Record<string, unknown>, base: string): [string, unknown][] =>
    Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? flat(v as Record<string, unknown>, `${base}.${k}`) : [[`${base}.${k}`, v] as [string, unknown]]));
  const shown = [...flat(example.schedule!, 'schedule'), ...flat(example.health!, 'health')];
  expect(shown.length).toBeGreaterThanOrEqual(10);
  for (const [path, value] of shown) expect({ path, value }).toEqual({ path, value: defaults.get(path) });
  expect(validateConfig(example).errors).toEqual([]);
});
