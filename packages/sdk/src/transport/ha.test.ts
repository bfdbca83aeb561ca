/**
 * The client's transport against real local HTTP servers (no msw: these faults live in sockets):
 * environment isolation, failover across addresses, redirects, timeouts against a frozen server,
 * keep-alive connections dropped on failure, the response size bound and path validation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createVaultClient, type VaultClientOptions } from '../client.js';
import { appRoleAuth } from '../auth/approle.js';
import { isConfigError, isVaultNetworkError, isVaultResponseError, isVaultHttpError } from '../errors.js';
import { silentLogger } from '../logger.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

interface TestServer {
  addr: string;
  seen: Seen[];
  sockets: Set<Socket>;
  handler: (req: Seen, res: ServerResponse) => void;
  close(): Promise<void>;
}

const servers: TestServer[] = [];

async function startServer(handler: TestServer['handler'], host = '127.0.0.1'): Promise<TestServer> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const t: TestServer = {
    addr: '',
    seen,
    sockets,
    handler,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), socket: req.socket };
      seen.push(s);
      t.handler(s, res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  t.addr = `http://${host}:${(server.address() as AddressInfo).port}`;
  servers.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};
const ok = (res: ServerResponse, data: unknown = { ok: true }) => json(res, 200, { data, warnings: null, auth: null, wrap_info: null, request_id: 'r' });
const sealed = (res: ServerResponse) => json(res, 503, { errors: ['Vault is sealed'] });

const client = (address: string | string[], extra: Partial<VaultClientOptions> = {}) =>
  createVaultClient({ address, env: {}, logger: silentLogger, retry: { retries: 0, baseDelayMs: 1 }, ...extra });

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('environment: the SDK owns every header (node-vault reads process.env on its own)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['VAULT_TOKEN', 'VAULT_NAMESPACE', 'VAULT_PREFIX', 'VAULT_ADDR', 'VAULT_SKIP_VERIFY']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('a login and an unauthenticated CA read carry no token, namespace or prefix from process.env', async () => {
    process.env.VAULT_TOKEN = 'hvs.OPERATORTOKENFROMTHEENVIRONMENT';
    process.env.VAULT_NAMESPACE = 'leaked-ns';
    process.env.VAULT_PREFIX = '/leaked-prefix';
    const s = await startServer((req, res) => {
      if (req.url.startsWith('/v1/auth/approle/login')) return json(res, 200, { auth: { client_token: 'hvs.NODETOKENNODETOKENNODETOKEN', accessor: 'a', policies: [], metadata: null, lease_duration: 60, renewable: true } });
      return ok(res, { certificate: 'x' });
    });
    // options.env is empty: nothing may come from process.env
    const vault = client(s.addr, { auth: appRoleAuth({ roleId: 'r', secretId: 's' }) });
    await vault.read('pki/cert/ca', { unauthenticated: true });
    await vault.read('pki/roles/x'); // logs in first, then reads with the node's token
    const login = s.seen.find((x) => x.url.includes('/login'))!;
    expect(s.seen.map((x) => x.url)).toEqual(['/v1/pki/cert/ca', '/v1/auth/approle/login', '/v1/pki/roles/x']);
    for (const x of s.seen) {
      expect(x.headers['x-vault-namespace']).toBeUndefined();
      expect(x.headers['x-vault-token'] ?? '').not.toContain('OPERATORTOKEN');
    }
    expect(s.seen[0]!.headers['x-vault-token']).toBeUndefined();
    expect(login.headers['x-vault-token']).toBeUndefined();
    expect(s.seen[2]!.headers['x-vault-token']).toBe('hvs.NODETOKENNODETOKENNODETOKEN');
  });

  it('the namespace the SDK resolved goes on every request, the token only on authenticated ones', async () => {
    const s = await startServer((_req, res) => ok(res));
    const vault = createVaultClient({ env: { BAO_ADDR: s.addr, BAO_TOKEN: 'hvs.OPERATORTOKENOPERATORTOKEN', VAULT_NAMESPACE: 'team-a' }, logger: silentLogger });
    await vault.read('sys/mounts');
    await vault.health();
    expect(s.seen[0]!.headers['x-vault-token']).toBe('hvs.OPERATORTOKENOPERATORTOKEN');
    expect(s.seen[0]!.headers['x-vault-namespace']).toBe('team-a');
    expect(s.seen[1]!.url).toMatch(/^\/v1\/sys\/health\?/);
    expect(s.seen[1]!.headers['x-vault-token']).toBeUndefined();
  });

  it('empty variables count as unset, addresses may be comma-separated, booleans parse strictly', () => {
    const c = createVaultClient({ env: { BAO_ADDR: '', VAULT_ADDR: 'http://a:1, http://b:2/', BAO_SKIP_VERIFY: 't' }, logger: silentLogger });
    expect(c.connection.addresses).toEqual(['http://a:1', 'http://b:2']);
    expect(c.connection.sources.address).toBe('VAULT_ADDR');
    expect(c.connection.skipVerify).toBe(true);
    const e = (() => {
      try {
        createVaultClient({ env: { VAULT_SKIP_VERIFY: 'sure' }, logger: silentLogger });
      } catch (err) {
        return err;
      }
    })();
    expect(isConfigError(e) && e.issues[0]!.path).toBe('VAULT_SKIP_VERIFY');
  });
});

describe('failover across several addresses', () => {
  it('a sealed server: the next address answers, and the sealed one loses its keep-alive connection', async () => {
    const a = await startServer((_req, res) => sealed(res));
    const b = await startServer((_req, res) => ok(res, { from: 'b' }));
    const vault = client([a.addr, b.addr]);
    const r = await vault.read<{ from: string }>('sys/mounts');
    expect(r.data.from).toBe('b');
    await new Promise((r) => setTimeout(r, 50));
    expect(a.sockets.size).toBe(0); // dropped, so a balancer would route the next connection elsewhere
    // the next request starts at b (the address that answered)
    await vault.read('sys/mounts');
    expect(a.seen).toHaveLength(1);
    expect(b.seen).toHaveLength(2);
  });

  it('a refused connection, then a standby without an active node, then the active server: a sign goes through once', async () => {
    const dead = await startServer((_req, res) => ok(res));
    const deadAddr = dead.addr;
    await dead.close();
    const standby = await startServer((_req, res) => json(res, 500, { errors: ['local node not active but active cluster node not found'] }));
    const active = await startServer((_req, res) => ok(res, { certificate: 'c' }));
    const vault = client([deadAddr, standby.addr, active.addr]);
    await vault.write('pki/sign/node', { csr: 'x' }, { idempotent: true });
    expect(standby.seen).toHaveLength(1);
    expect(active.seen).toHaveLength(1);
    expect(JSON.parse(active.seen[0]!.body)).toEqual({ csr: 'x' });
  });

  it('never re-sends a non-idempotent write after a 5xx that may have executed it, but does after 503', async () => {
    const a = await startServer((_req, res) => json(res, 502, { errors: ['upstream'] }));
    const b = await startServer((_req, res) => ok(res));
    const e = await failure(client([a.addr, b.addr]).write('pki/issue/node', { common_name: 'x' }));
    expect(isVaultHttpError(e) && e.status).toBe(502);
    expect(b.seen).toHaveLength(0);
    a.handler = (_req, res) => sealed(res);
    await client([a.addr, b.addr]).write('pki/issue/node', { common_name: 'x' });
    expect(b.seen).toHaveLength(1);
  });

  it('when every address fails, the error names each of them', async () => {
    const a = await startServer((_req, res) => sealed(res));
    const b = await startServer((_req, res) => json(res, 503, { errors: ['node is not active'] }));
    const e = await failure(client([a.addr, b.addr]).read('sys/mounts'));
    expect(isVaultHttpError(e)).toBe(true);
    expect(e.message).toContain(b.addr);
    expect(e.message).toContain(`also tried ${a.addr} (503)`);
  });

  it('a frozen server costs at most the per-request timeout', async () => {
    const frozen = await startServer(() => {
      /* never answers */
    });
    const b = await startServer((_req, res) => ok(res));
    const vault = client([frozen.addr, b.addr], { retry: { retries: 0, timeoutMs: 300 } });
    const t0 = performance.now();
    await vault.read('sys/mounts');
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1500);
    // and the next request goes straight to the server that answers
    const t1 = performance.now();
    await vault.read('sys/mounts');
    expect(performance.now() - t1).toBeLessThan(200);
    expect(frozen.seen).toHaveLength(1);
  });

  it('rides out an election: retries while the servers answer "unavailable", within the budget', async () => {
    let calls = 0;
    const a = await startServer((_req, res) => (++calls < 6 ? json(res, 500, { errors: ['local node not active but active cluster node not found'] }) : ok(res)));
    const vault = client(a.addr, { retry: { retries: 1, baseDelayMs: 1, unavailableDelayMs: 20, unavailableBudgetMs: 5000 } });
    await vault.read('sys/mounts');
    expect(calls).toBe(6);
    // …but a dead address is not waited for that long: connection refused is not "unavailable"
    const dead = await startServer((_req, res) => ok(res));
    const deadAddr = dead.addr;
    await dead.close();
    const t0 = performance.now();
    const e = await failure(client(deadAddr, { retry: { retries: 1, baseDelayMs: 1, unavailableBudgetMs: 5000 } }).read('sys/mounts'));
    expect(isVaultNetworkError(e)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('read-your-writes across standbys', () => {
  it('a sign right after the role was written, answered "unknown role" by a lagging standby, is asked again', async () => {
    let signs = 0;
    const s = await startServer((req, res) => {
      if (req.url.startsWith('/v1/pki/roles/')) return ok(res);
      if (++signs <= 2) return json(res, 400, { errors: ['unknown role: node-1'] });
      ok(res, { certificate: 'c' });
    });
    const admin = client(s.addr, { token: 'hvs.OPERATORTOKENOPERATORTOKEN' });
    await admin.write('pki/roles/node-1', { ttl: '1h' });
    // the node's client is extended from the operator's: one sequence, one window
    const node = admin.extend({ token: 'hvs.NODETOKENNODETOKENNODETOKEN' });
    const r = await node.write<{ certificate: string }>('pki/sign/node-1', { csr: 'x' }, { idempotent: true });
    expect(r.data.certificate).toBe('c');
    expect(signs).toBe(3);
  });

  it('without a recent write, or for a non-idempotent call, the 400 is final at once', async () => {
    let signs = 0;
    const s = await startServer((_req, res) => {
      signs++;
      json(res, 400, { errors: ['unknown role: node-1'] });
    });
    const e = await failure(client(s.addr).write('pki/sign/node-1', { csr: 'x' }, { idempotent: true }));
    expect(isVaultHttpError(e) && e.status).toBe(400);
    expect(signs).toBe(1);
  });
});

describe('redirects', () => {
  it('follows one 307 from a standby to the active server, re-sending the body and the token', async () => {
    const active = await startServer((_req, res) => ok(res, { certificate: 'c' }));
    const standby = await startServer((req, res) => {
      res.writeHead(307, { Location: `${active.addr}${req.url}` });
      res.end();
    });
    const vault = client(standby.addr, { token: 'hvs.OPERATORTOKENOPERATORTOKEN' });
    const r = await vault.write<{ certificate: string }>('pki/sign/node', { csr: 'x' });
    expect(r.data.certificate).toBe('c');
    expect(active.seen[0]!.method).toBe('POST');
    expect(JSON.parse(active.seen[0]!.body)).toEqual({ csr: 'x' });
    expect(active.seen[0]!.headers['x-vault-token']).toBe('hvs.OPERATORTOKENOPERATORTOKEN');
  });

  it('a standby pointing at a dead leader (an election): the error names both, and it counts as "unavailable"', async () => {
    const dead = await startServer((_req, res) => ok(res));
    const deadAddr = dead.addr;
    await dead.close();
    let redirects = 0;
    const standby = await startServer((req, res) => {
      if (++redirects <= 3) {
        res.writeHead(307, { Location: `${deadAddr}${req.url}` });
        return void res.end();
      }
      ok(res, { certificate: 'c' }); // the election is over: this server now answers itself
    });
    const e = await failure(client(standby.addr).write('pki/sign/node', { csr: 'x' }, { idempotent: true }));
    expect(isVaultNetworkError(e)).toBe(true);
    expect(e.message).toContain(`${deadAddr}/v1/pki/sign/node (redirected by ${standby.addr})`);
    // with retries on, the unavailable budget rides it out
    const r = await client(standby.addr, { retry: { retries: 1, baseDelayMs: 1, unavailableDelayMs: 10, unavailableBudgetMs: 5000 } }).write<{ certificate: string }>('pki/sign/node', { csr: 'x' }, { idempotent: true });
    expect(r.data.certificate).toBe('c');
  });

  it('follows at most one redirect', async () => {
    const loop = await startServer((req, res) => {
      res.writeHead(307, { Location: req.url });
      res.end();
    });
    const e = await failure(client(loop.addr).read('sys/mounts'));
    expect(isVaultHttpError(e) && e.status).toBe(307);
    expect(loop.seen).toHaveLength(2);
  });
});

describe('input and output bounds', () => {
  it('a Vault path with .. or odd segments is refused before anything is sent', async () => {
    const s = await startServer((_req, res) => ok(res));
    const vault = client(s.addr, { token: 'hvs.OPERATORTOKENOPERATORTOKEN' });
    for (const path of ['pki/sign/../../sys/seal', 'pki/sign/./x', 'pki//sign/x', 'pki/sign/%2e%2e', 'pki/sign/a b', 'pki/sign/x\\..', '', 'pki/sign/x?y=1#z']) {
      const e = await failure(vault.write(path, {}));
      expect(isConfigError(e)).toBe(true);
      expect(e.message).toContain(JSON.stringify(path));
    }
    expect(s.seen).toHaveLength(0);
    await vault.read('/pki/cert/3a:5f:00');
    await vault.list('auth/cert/certs/');
    await vault.read('vaultdist/clusters/c1/nodes/app@127.0.0.1');
    expect(s.seen.map((x) => x.url)).toEqual(['/v1/pki/cert/3a:5f:00', '/v1/auth/cert/certs?list=true', '/v1/vaultdist/clusters/c1/nodes/app@127.0.0.1']);
  });

  it('a 200 MB answer is cut off at maxResponseBytes while it streams in', async () => {
    let sent = 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const s = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"data":{"x":"');
      const pump = () => {
        while (sent < 200 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('"}}');
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const e = await failure(client(s.addr).read('pki/crl', { raw: true }));
    const grown = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heap0;
    expect(isVaultResponseError(e)).toBe(true);
    expect(e.message).toMatch(/larger than 16777216 bytes/);
    await new Promise((r) => setTimeout(r, 100));
    // the client stopped reading: the server could not push much more than the limit into the socket
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(grown).toBeLessThan(100 * 1024 * 1024);
  });

  it('health() with several addresses reports the active one, skipping a sealed server', async () => {
    const health = (b: Record<string, unknown>) => (_req: Seen, res: ServerResponse) => json(res, 200, { initialized: true, version: '2.7.2', ...b });
    const a = await startServer(health({ sealed: true, standby: true }));
    const b = await startServer(health({ sealed: false, standby: true }));
    const c = await startServer(health({ sealed: false, standby: false }));
    const h = await client([a.addr, b.addr, c.addr]).health();
    expect(h).toMatchObject({ address: c.addr, sealed: false, standby: false });
    c.handler = health({ sealed: true, standby: true });
    const h2 = await client([a.addr, b.addr, c.addr]).health();
    expect(h2).toMatchObject({ address: b.addr, standby: true, sealed: false });
  });
});
