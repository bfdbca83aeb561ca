/**
 * `/healthz` (liveness + readiness, JSON), `/livez`, `/readyz` and `/metrics` (Prometheus text),
 * bound to loopback by default (house style §13).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Health } from '../core/state.js';
import type { AgentMetrics } from './metrics.js';

export interface HealthServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(o: { host: string; port: number; health: () => Health; metrics: AgentMetrics; status: () => unknown; registry?: (() => unknown[]) | undefined }): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (url === '/metrics') {
      o.metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': o.metrics.registry.contentType });
          res.end(text);
        })
        .catch((e: Error) => json(500, { error: e.message }));
      return;
    }
    const h = o.health();
    // registry (#13): per node, registered or why not, lease end, members and staleness of its peers file
    const registry = o.registry?.() ?? [];
    if (url === '/healthz') return json(h.live && h.ready ? 200 : 503, { ...h, status: o.status(), ...(registry.length ? { registry } : {}) });
    if (url === '/livez') return json(h.live ? 200 : 503, { live: h.live, nodes: h.nodes.map((n) => ({ node: n.node, live: n.live })) });
    if (url === '/readyz') return json(h.ready ? 200 : 503, { ready: h.ready, nodes: h.nodes });
    json(404, { error: 'not found', paths: ['/healthz', '/livez', '/readyz', '/metrics'] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
