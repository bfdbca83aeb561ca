import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigMarkdown, renderJsonSchemaFile } from './docs.js';

const pkg = join(fileURLToPath(import.meta.url), '..', '..', '..');

describe('generated config docs (regenerate: node packages/agent/scripts/gen-config.mjs)', () => {
  it.each([
    ['agent.schema.json', renderJsonSchemaFile],
    ['CONFIG.md', renderConfigMarkdown],
  ])('the committed %s is what the schema generates', (name, render) => {
    expect(readFileSync(join(pkg, name), 'utf8')).toBe(render());
  });

  it('CONFIG.md lists every key with its default (a sample)', () => {
    const md = renderConfigMarkdown();
    expect(md).toContain('| `schedule.renewAtFraction` | number | `0.55` |');
    expect(md).toContain('| `nodes[].reload.pidFile (strategy: signal)` | string |');
  });
});
