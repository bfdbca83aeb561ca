#!/usr/bin/env node
// Writes packages/agent/agent.schema.json and packages/agent/CONFIG.md from the config schema
// (src/config/schema.ts, through the built dist/). Run after `node scripts/build.mjs`; the unit test
// packages/agent/src/config/docs.test.ts fails while either file is stale.
//   node packages/agent/scripts/gen-config.mjs           write both
//   node packages/agent/scripts/gen-config.mjs --check   exit 1 when either differs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderConfigMarkdown, renderJsonSchemaFile } = await import(join(root, 'dist', 'config', 'docs.js'));
const files = { 'agent.schema.json': renderJsonSchemaFile(), 'CONFIG.md': renderConfigMarkdown() };
const check = process.argv.includes('--check');
let stale = 0;
for (const [name, text] of Object.entries(files)) {
  const path = join(root, name);
  let old = '';
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    /* new file */
  }
  if (old === text) continue;
  stale++;
  if (check) console.error(`${path} is stale: run node packages/agent/scripts/gen-config.mjs`);
  else writeFileSync(path, text), console.log(`wrote ${path}`);
}
process.exitCode = check && stale ? 1 : 0;
