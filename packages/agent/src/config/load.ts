/**
 * Reads the config file (YAML or JSON) and resolves it with the environment and flags.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from '../lazy-yaml.js'; // yaml loaded on first use (issue #16)
import type { ConfigValidation } from './schema.js';
import { resolveConfig, type ConfigFlags, type Env } from './resolve.js';

export interface LoadConfigOptions {
  /** Config file; `VAULTDIST_AGENT_CONFIG` when absent. */
  path?: string | undefined;
  env: Env;
  flags?: ConfigFlags | undefined;
}

export interface LoadedConfig extends ConfigValidation {
  path: string | undefined;
}

/** Parses YAML (JSON is valid YAML); errors carry the line. */
export function parseConfigText(text: string, path: string): { value: unknown; errors: string[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return { value: undefined, errors: doc.errors.map((e) => `${path}:${e.linePos?.[0] ? `${e.linePos[0].line}:${e.linePos[0].col}` : ''} ${e.message.split('\n')[0]}`) };
  }
  try {
    // yaml refuses more than maxAliasCount alias expansions (a "billion laughs" alias bomb) by
    // throwing; that is a config error (exit 10), not an internal one (issue #15).
    return { value: doc.toJS({ maxAliasCount: 100 }), errors: [] };
  } catch (e) {
    return { value: undefined, errors: [`${path}: ${(e as Error).message} (YAML aliases expand to too much data)`] };
  }
}

export async function loadConfig(o: LoadConfigOptions): Promise<LoadedConfig> {
  const path = o.path ?? (o.env.VAULTDIST_AGENT_CONFIG || undefined);
  let file: unknown;
  if (path) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      return { path, config: undefined, errors: [`${path}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`], warnings: [] };
    }
    const parsed = parseConfigText(text, path);
    if (parsed.errors.length) return { path, config: undefined, errors: parsed.errors, warnings: [] };
    file = parsed.value;
  }
  return { path, ...resolveConfig({ file, env: o.env, flags: o.flags ?? {} }) };
}
