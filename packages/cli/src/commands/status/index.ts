/** `vaultdist status`: per node: name, serial, not-after, time left, issuer, renewal due, CRL, last agent result. */
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { parseCrl } from '@vaultdist/sdk/internal';
import { inspectCertificate } from '@vaultdist/sdk';
import { readLiveCredentials } from '../../credentials.js';
import { EXIT } from '../../errors.js';
import { paths, requireSettings } from '../../node-dir.js';
import { formatDuration, table, type Output } from '../../output.js';
import { membershipLine, readMembership, type Membership } from './registry.js';

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
  /** notBefore + 2/3 of the lifetime: the latest point at which the agent renews with its default schedule (0.55 ± 0.12 of the lifetime). */
  renewalDue: string | null;
  renewalOverdue: boolean;
  /** With CRL checking (init node --crl): the CRLs in DIR/crl; `present: false` means the node refuses every peer. */
  crl: { dir: string; present: boolean; files: string[]; nextUpdate: string | null; secondsLeft: number | null; revoked: number } | null;
  agent: { url: string; reachable: boolean; body: unknown; error?: string };
  /** Registry membership (#13) from the node's peers file. */
  registry: Membership;
  /** This node's entry in the agent's /healthz answer, when the agent runs. */
  lastAgentResult: AgentNodeResult | null;
}

/** The parts of @vaultdist/agent's per-node status that `status` shows. */
export interface AgentNodeResult {
  phase: string | null;
  ready: boolean | null;
  live: boolean | null;
  reasons: string[];
  servedSerial: string | null;
  lastSuccessAt: string | null;
  lastFailure: { kind: string; message: string; at: string } | null;
  nextAttemptAt: string | null;
  renewals: number | null;
}

/** Picks this node out of the agent's /healthz body ({live, ready, nodes: NodeHealth[], status: NodeStatus[]}). */
export function agentNodeResult(body: unknown, node: string): AgentNodeResult | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as { nodes?: unknown; status?: unknown };
  const pick = (list: unknown) => (Array.isArray(list) ? (list.find((x) => x && typeof x === 'object' && (x as { node?: unknown }).node === node) as Record<string, unknown> | undefined) : undefined);
  const h = pick(b.nodes);
  const st = pick(b.status);
  if (!h && !st) return null;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const lf = st?.lastFailure as { kind?: unknown; message?: unknown; at?: unknown } | undefined;
  return {
    phase: str(st?.phase),
    ready: typeof h?.ready === 'boolean' ? h.ready : null,
    live: typeof h?.live === 'boolean' ? h.live : null,
    reasons: Array.isArray(h?.reasons) ? h.reasons.map(String) : [],
    servedSerial: str(st?.servedSerial),
    lastSuccessAt: str(st?.lastSuccessAt),
    lastFailure: lf ? { kind: String(lf.kind ?? ''), message: String(lf.message ?? ''), at: String(lf.at ?? '') } : null,
    nextAttemptAt: str(st?.nextAttemptAt),
    renewals: typeof st?.renewals === 'number' ? st.renewals : null,
  };
}

async function crlStatus(dir: string, now: Date): Promise<NonNullable<NodeStatus['crl']>> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{8}\.r\d+$/.test(n)).sort();
  let next: Date | undefined;
  let revoked = 0;
  let present = false;
  for (const f of files) {
    try {
      const c = parseCrl(await readFile(join(dir, f), 'utf8'));
      present = true;
      revoked += c.revoked.length;
      if (c.nextUpdate && (!next || c.nextUpdate < next)) next = c.nextUpdate;
    } catch {
      /* unreadable: not counted */
    }
  }
  return { dir, present, files, nextUpdate: next?.toISOString() ?? null, secondsLeft: next ? Math.round((next.getTime() - now.getTime()) / 1000) : null, revoked };
}

/**
 * GET `url` (any status), its body as text. node:http rather than fetch: fetch loads undici, ~30 ms of
 * `status`'s start-up (issue #16). Errors keep fetch's shape (`cause.code`, or the message).
 */
async function httpGetText(url: string, timeoutMs: number): Promise<string> {
  const u = new URL(url);
  const { get } = u.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const signal = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => reject(signal.aborted ? (signal.reason as Error) : Object.assign(new Error('fetch failed'), { cause: e }));
    get(u, { signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', fail);
    }).on('error', fail);
  });
}

async function agentHealth(url: string): Promise<NodeStatus['agent']> {
  try {
    const text = await httpGetText(url, 1500);
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

function agentLine(n: NodeStatus): string {
  if (!n.agent.reachable) return `not reachable at ${n.agent.url} (${n.agent.error ?? ''})`;
  const r = n.lastAgentResult;
  if (!r) return `${n.agent.url} answers, but does not manage ${n.node}`;
  const parts = [`phase ${r.phase ?? '?'}`, r.ready === false ? `NOT ready (${r.reasons.join('; ')})` : 'ready'];
  if (r.servedSerial) parts.push(`serving ${r.servedSerial}`);
  if (r.lastSuccessAt) parts.push(`last success ${r.lastSuccessAt}`);
  if (r.lastFailure) parts.push(`last failure ${r.lastFailure.at}: ${r.lastFailure.kind} ${r.lastFailure.message}`);
  if (r.nextAttemptAt) parts.push(`next attempt ${r.nextAttemptAt}`);
  return parts.join(', ');
}

export async function status(o: StatusOptions, out: Output): Promise<number> {
  const now = o.now ?? new Date();
  const dirs = o.dir.length ? o.dir : [out.io.cwd];
  const result: NodeStatus[] = [];
  for (const d of dirs) {
    const dir = isAbsolute(d) ? d : resolve(out.io.cwd, d);
    const s = await requireSettings(dir);
    const live = await readLiveCredentials(dir, inspectCertificate); // node:crypto: no @peculiar/x509 load (issue #16)
    const leaf = live?.leaf;
    const agent = await agentHealth(o.healthUrl ?? `http://127.0.0.1:${s.healthPort}/healthz`);
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
      crl: s.crl ? await crlStatus(paths(dir).crlDir, now) : null,
      agent,
      registry: await readMembership(dir, s.node, now, out.io.env, agent.reachable ? agent.body : undefined),
      lastAgentResult: agent.reachable ? agentNodeResult(agent.body, s.node) : null,
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
        ...(n.crl
          ? ([
              [
                'crl',
                !n.crl.present
                  ? out.paint('red', `no CRL in ${n.crl.dir}: the node refuses every peer`)
                  : n.crl.secondsLeft !== null && n.crl.secondsLeft <= 0
                    ? out.paint('red', `STALE since ${n.crl.nextUpdate}: the node refuses every peer`)
                    : `${n.crl.revoked} revoked, next update ${n.crl.nextUpdate ?? '-'}${n.crl.secondsLeft !== null ? ` (in ${formatDuration(n.crl.secondsLeft * 1000)})` : ''}`,
              ],
            ] as [string, string][])
          : []),
        ...((line) => (line ? ([['registry', n.registry.state === 'stale' || n.registry.self === 'absent' || n.registry.overdue.length ? out.paint('yellow', line) : line]] as [string, string][]) : []))(membershipLine(n.registry)),
        ['agent', agentLine(n)],
      ]),
    );
  }
  return EXIT.OK;
}
