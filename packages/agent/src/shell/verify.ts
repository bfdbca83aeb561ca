/**
 * Post-swap verification: handshake with the node's distribution port as a TLS client (with the
 * node's own new credentials) until it serves the expected serial or the deadline passes.
 */
import { join } from 'node:path';
import { CREDENTIAL_FILES, parseNodeName, probeDistCertificate, type ProbeResult } from '@vaultdist/sdk';
import { certificateBlocks, joinPem, privateKeyBlock, DIST_PORT_FILE, normalizeSerial, parseDistPortFile } from '@vaultdist/sdk/internal';
import type { NodeConfig } from '../config/schema.js';
import type { AgentPorts } from '../ports.js';

export interface VerifyResult {
  ok: boolean;
  attempts: number;
  elapsedMs: number;
  last: ProbeResult | undefined;
}

const portFileOf = (node: NodeConfig) => node.registry.portFile ?? join(node.dir, DIST_PORT_FILE);

async function portFromFile(ports: AgentPorts, node: NodeConfig): Promise<number | null> {
  const text = await ports.fs.readFile(portFileOf(node)).catch(() => undefined);
  return (text !== undefined && parseDistPortFile(text)?.port) || null;
}

/** Reads the served certificate once (no expectation). */
export async function probeNode(ports: AgentPorts, node: NodeConfig, signal?: AbortSignal): Promise<ProbeResult> {
  const target = parseNodeName(node.name);
  // a dynamic port (#13): the one vaultdist_epmd reported in the node's port file
  const port = node.verify.port ?? (node.reload.strategy === 'rpc' ? node.reload.port : null) ?? (await portFromFile(ports, node));
  if (port === null) throw new Error(`no distribution port for ${node.name} (no verify.port, and no port in ${portFileOf(node)})`);
  let bundle = '';
  let ca = '';
  try {
    bundle = await ports.fs.readFile(join(node.dir, CREDENTIAL_FILES.bundle));
    ca = await ports.fs.readFile(join(node.dir, CREDENTIAL_FILES.ca));
  } catch {
    /* no set yet: probe without client credentials (the node will refuse, reported as an error) */
  }
  return probeDistCertificate({
    host: node.verify.host ?? target.host,
    port,
    cert: joinPem(certificateBlocks(bundle)) || undefined,
    key: privateKeyBlock(bundle),
    ca: ca || undefined,
    servername: target.host,
    timeoutMs: node.verify.probeTimeoutMs,
    signal,
  });
}

export async function verifyServedSerial(ports: AgentPorts, node: NodeConfig, expectedSerial: string, signal: AbortSignal): Promise<VerifyResult> {
  const want = normalizeSerial(expectedSerial);
  const extra = node.reload.strategy === 'poll' ? node.reload.intervalMs : 0;
  const start = ports.clock.monotonicMs();
  const deadline = start + node.verify.deadlineMs + extra;
  let attempts = 0;
  let last: ProbeResult | undefined;
  for (;;) {
    attempts++;
    last = await probeNode(ports, node, signal);
    if (last.ok && last.serial === want) return { ok: true, attempts, elapsedMs: ports.clock.monotonicMs() - start, last };
    if (signal.aborted || ports.clock.monotonicMs() + node.verify.retryIntervalMs > deadline) {
      return { ok: false, attempts, elapsedMs: ports.clock.monotonicMs() - start, last };
    }
    await ports.clock.sleep(node.verify.retryIntervalMs, signal);
  }
}
