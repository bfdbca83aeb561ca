/**
 * The parts of `yaml` the agent's config code uses, loaded on first use (issue #16, footprint): `vaultdist
 * status` and `doctor` import the config module (`@vaultdist/agent/config`) for its types and
 * validation, and loading yaml's 72 files was ~40 ms of their start-up although they parse YAML only
 * when an agent config exists. Each name is both the value and its type, as with the package itself.
 */
import { createRequire } from 'node:module';
import type * as Y from 'yaml';
import { lazyExport } from '@vaultdist/sdk/internal';

const from = createRequire(import.meta.url);
const lazy = <T extends object>(name: string) => lazyExport<T>('yaml', name, [], from);

export type Document = Y.Document;
export const Document = lazy<typeof Y.Document>('Document');
export type YAMLMap = Y.YAMLMap;
export const YAMLMap = lazy<typeof Y.YAMLMap>('YAMLMap');
export const isMap = lazy<typeof Y.isMap>('isMap');
export const isSeq = lazy<typeof Y.isSeq>('isSeq');
export const parseDocument = lazy<typeof Y.parseDocument>('parseDocument');
export type { Node } from 'yaml';
