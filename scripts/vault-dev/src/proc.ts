import { readdirSync, readFileSync } from 'node:fs';

/** The live child processes of `pid` (Linux: /proc/<pid>/task/*\/children; [] elsewhere or when it is gone). */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}
