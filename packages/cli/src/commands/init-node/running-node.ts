/**
 * What `init node` does for a node that is already running (issue #14 part 6):
 * - after it replaced the credential set, the running node is reloaded and verified with the agent's
 *   own reload and verify (the same steps as after a renewal), so it serves the new certificate now
 *   instead of after its next restart;
 * - a re-run never silently drops the user's edit to vm.args (see `keepEditedFile`).
 */
import { readFile } from 'node:fs/promises';
import { mathRandom, nodeFs, nodeProcess, reloadNode, systemClock, validateConfig, verifyServedSerial, type AgentPorts, type Logger } from '@vaultdist/agent';
import { agentConfigInput, paths, type NodeSettings } from '../../node-dir.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export type RunningNodeReload =
  | { state: 'not-running' }
  | { state: 'reloaded'; pid: number; serial: string; verified: boolean }
  /** Running, but it cannot be reloaded from here (no reload handler) or the reload/verify failed. */
  | { state: 'failed'; pid: number; reason: string };

/**
 * 1. the node's pid from DIR/run/beam.pid (written by vaultdist_reload), running and a BEAM;
 * 2. its reload as the generated agent config describes it (SIGHUP to vaultdist_reload's handler;
 *    the agent's checks that the pid is this node's BEAM apply);
 * 3. verify: the node's distribution port serves `serial` (with the verify deadline of the agent).
 */
export async function reloadRunningNode(s: NodeSettings, serial: string): Promise<RunningNodeReload> {
  // (1)
  const pid = Number((await readFile(paths(s.dir).pidfile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'not-running' };
  const argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')[0] ?? '';
  if (!/beam/.test(argv0)) return { state: 'not-running' };
  // (2) the node entry of the agent config this run generated (its auth does not matter here)
  const input = agentConfigInput(s);
  const node = validateConfig({ ...input, vault: { ...input.vault, auth: { method: 'token', token: 'unused' } } }).config?.nodes[0];
  if (!node) return { state: 'failed', pid, reason: 'the generated agent config is invalid' };
  if (node.reload.strategy !== 'signal') return { state: 'failed', pid, reason: 'the node runs without the vaultdist_reload module (installed with the companion modules)' };
  const ports: AgentPorts = { clock: systemClock, random: mathRandom, fs: nodeFs, logger: silent, process: nodeProcess };
  const signal = AbortSignal.timeout(Math.max(30_000, node.verify.deadlineMs * 2));
  try {
    await reloadNode(ports, node, serial, signal);
  } catch (e) {
    return { state: 'failed', pid, reason: (e as Error).message };
  }
  // (3)
  if (!node.verify.enabled) return { state: 'reloaded', pid, serial, verified: false };
  const v = await verifyServedSerial(ports, node, serial, signal);
  if (!v.ok) return { state: 'failed', pid, reason: `reloaded, but it still serves ${v.last?.serial ?? 'nothing'}${v.last?.error ? ` (${v.last.error})` : ''}` };
  return { state: 'reloaded', pid, serial, verified: true };
}

/**
 * A re-run must not overwrite a generated file the user edited: when the file on disk is neither what
 * the previous run generated (`previous`) nor what this run generates (`next`), it is kept and `next`
 * goes to `<path>.new`. Returns true when the file was kept.
 */
export async function userEdited(path: string, previous: string | undefined, next: string): Promise<boolean> {
  const cur = await readFile(path, 'utf8').catch(() => undefined);
  return cur !== undefined && previous !== undefined && cur !== previous && cur !== next;
}
