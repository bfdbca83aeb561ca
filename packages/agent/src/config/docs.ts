/**
 * The config reference (CONFIG.md) rendered from the schema's own descriptions, defaults and examples,
 * so the docs cannot drift from the validator. `scripts/gen-config.mjs` writes it next to
 * `agent.schema.json`; `docs.test.ts` fails when either is stale.
 */
import { configJsonSchema, describeConfig } from './schema.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (x: unknown) => (x === undefined ? '' : `\`${cell(JSON.stringify(x))}\``);

/** CONFIG.md: one table per top-level key, every key with type, default, description and example. */
export function renderConfigMarkdown(): string {
  const docs = describeConfig();
  const sections = new Map<string, typeof docs>();
  for (const d of docs) {
    const top = d.path.split(/[.[ ]/)[0]!;
    sections.set(top, [...(sections.get(top) ?? []), d]);
  }
  const out = [
    '# vaultdist agent configuration',
    '',
    '<!-- generated from packages/agent/src/config/schema.ts by `node packages/agent/scripts/gen-config.mjs`; do not edit -->',
    '',
    'Every key of the agent config (YAML or JSON) with its type, default and an example. Check a file with',
    '`vaultdist-agent --check --config FILE`; editors validate it with [agent.schema.json](agent.schema.json)',
    '(`# yaml-language-server: $schema=…/agent.schema.json`). Precedence: defaults < file < environment < flags.',
    '',
  ];
  for (const [top, rows] of sections) {
    out.push(`## ${top}`, '', rows[0]!.description, '', '| Key | Type | Default | Description | Example |', '| --- | --- | --- | --- | --- |');
    for (const d of rows.slice(1)) out.push(`| \`${cell(d.path)}\` | ${cell(d.type)} | ${code(d.default)} | ${cell(d.description)} | ${code(d.example)} |`);
    if (rows.length === 1) out.push(`| \`${cell(top)}\` | ${cell(rows[0]!.type)} | ${code(rows[0]!.default)} | ${cell(rows[0]!.description)} | ${code(rows[0]!.example)} |`);
    out.push('');
  }
  return out.join('\n');
}

/** agent.schema.json as committed (2-space JSON, trailing newline). */
export function renderJsonSchemaFile(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
