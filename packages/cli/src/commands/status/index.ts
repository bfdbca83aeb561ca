/** `vaultdist status`: per node: name, serial, not-after, time left, issuer, renewal due, last agent result. */
import { isAbsolute, resolve } from 'node:path';
import { readLiveCredentials } from '../../credentials.js';
import { EXIT } from '../../errors.js';
import { requireSettings } from '../../node-dir.js';
import { formatDuration, table, type Output } from '../../output.js';

export interface StatusOptions {
  dir: string[];
  /** Agent health URL; default http://127.0.0.1:<healthPort>/healthz from the node settings. */
  healthUrl: string | undefined;
  json: boolean;
  now?: Date | undefined;
}

export interface NodeStatus {
  node: string;
  dir: string;
  serial: string | null;
  notBefore: string | null;
  notAfter: string | null;
  secondsLeft: number | null;
  issuer: string | null;
  /** notBefore + 2/3 of the lifetime: when the agent renews (house style §8, before jitter). */
  renewalDue: string | null;
  renewalOverdue: boolean;
  agent: { url: string; reachable: boolean; body: unknown; error?: string };
}

async function agentHealth(url: string): Promise<NodeStatus['agent']> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1500) });
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* text */
    }
    return { url, reachable: true, body };
  } catch (e) {
    return { url, reachable: false, body: null, error: (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message };
  }
}

export async function status(o: StatusOptions, out: Output): Promise<number> {
  const now = o.now ?? new Date();
  const dirs = o.dir.length ? o.dir : [out.io.cwd];
  const result: NodeStatus[] = [];
  for (const d of dirs) {
    const dir = isAbsolute(d) ? d : resolve(out.io.cwd, d);
    const s = await requireSettings(dir);
    const live = await readLiveCredentials(dir);
    const leaf = live?.leaf;
    const due = leaf ? new Date(leaf.notBefore.getTime() + ((leaf.notAfter.getTime() - leaf.notBefore.getTime()) * 2) / 3) : undefined;
    result.push({
      node: s.node,
      dir,
      serial: leaf?.serial ?? null,
      notBefore: leaf?.notBefore.toISOString() ?? null,
      notAfter: leaf?.notAfter.toISOString() ?? null,
      secondsLeft: leaf ? Math.round((leaf.notAfter.getTime() - now.getTime()) / 1000) : null,
      issuer: leaf?.issuer ?? null,
      renewalDue: due?.toISOString() ?? null,
      renewalOverdue: due ? now > due : false,
      agent: await agentHealth(o.healthUrl ?? `http://127.0.0.1:${s.healthPort}/healthz`),
    });
  }
  if (out.json) {
    out.emit({ nodes: result });
    return EXIT.OK;
  }
  for (const n of result) {
    out.line(out.paint('bold', n.node));
    const left = n.secondsLeft === null ? 'no certificate' : n.secondsLeft <= 0 ? out.paint('red', `EXPIRED ${formatDuration(-n.secondsLeft * 1000)} ago`) : formatDuration(n.secondsLeft * 1000);
    out.line(
      table([
        ['dir', n.dir],
        ['serial', n.serial ?? '-'],
        ['not after', n.notAfter ?? '-'],
        ['time left', left],
        ['issuer', n.issuer ?? '-'],
        ['renewal due', n.renewalDue ? `${n.renewalDue}${n.renewalOverdue ? out.paint('yellow', ' (overdue)') : ''}` : '-'],
        ['agent', n.agent.reachable ? `${n.agent.url}: ${typeof n.agent.body === 'string' ? n.agent.body : JSON.stringify(n.agent.body)}` : `not reachable at ${n.agent.url} (${n.agent.error ?? ''})`],
      ]),
    );
  }
  return EXIT.OK;
}
