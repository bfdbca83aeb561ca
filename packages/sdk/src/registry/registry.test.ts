import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { testdir, vaultErrors } from '../../../../scripts/test-utils/src/index.js';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createVaultClient } from '../client.js';
import { isConfigError, isNodeNameError, isVaultPermissionDeniedError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { deregisterNode, listMembers, readMember, registerNode, renewRegistration, writeClusterConfig } from './client.js';
import { parseDistPortFile, parsePeersFile, renderPeersFile, writePeersFile } from './peers-file.js';

const ADDR = 'http://vault.test:8200';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const vault = () => createVaultClient({ address: ADDR, token: 'hvs.TESTTOKENTESTTOKENTESTTOKEN', env: {}, logger: silentLogger, retry: { retries: 0 } });

describe('registry client (msw)', () => {
  it('registers with a lease, renews it through sys/leases/renew, reads members, deregisters', async () => {
    const seen: { method: string; path: string; body: unknown }[] = [];
    server.use(
      http.post(`${ADDR}/v1/vaultdist/clusters/prod/nodes/:node`, async ({ request, params }) => {
        seen.push({ method: 'POST', path: String(params.node), body: await request.json() });
        return HttpResponse.json({
          lease_id: 'vaultdist/clusters/prod/nodes/a@127.0.0.1/abc',
          lease_duration: 60,
          renewable: true,
          data: { node: 'a@127.0.0.1', host: '127.0.0.1', port: 41000, registered_at: '2026-11-29T14:00:00Z', expires_at: '2026-11-29T14:01:00Z', generation: 3 },
          warnings: null,
        });
      }),
      http.put(`${ADDR}/v1/sys/leases/renew`, async ({ request }) => {
        seen.push({ method: 'PUT', path: 'renew', body: await request.json() });
        return HttpResponse.json({ lease_id: 'vaultdist/clusters/prod/nodes/a@127.0.0.1/abc', lease_duration: 60, renewable: true, data: null });
      }),
      http.get(`${ADDR}/v1/vaultdist/clusters/prod/members`, () =>
        HttpResponse.json({
          data: {
            cluster: 'prod',
            members: [
              { node: 'b@127.0.0.1', host: '127.0.0.1', port: 41001, otp_release: '27', serial: '0A:1B', expires_at: '2026-11-29T14:01:00Z' },
              { node: 'a@127.0.0.1', host: '127.0.0.1', port: 41000, otp_release: '25' },
              { node: 'bad name@x', host: 'x', port: 1 },
              { node: 'c@127.0.0.1', host: '127.0.0.1', port: 70000 },
            ],
          },
        }),
      ),
      http.get(`${ADDR}/v1/vaultdist/clusters/prod/members/:node`, ({ params }) => (params.node === 'a@127.0.0.1' ? HttpResponse.json({ data: { host: '127.0.0.1', port: 41000 } }) : HttpResponse.json(vaultErrors(), { status: 404 }))),
      http.delete(`${ADDR}/v1/vaultdist/clusters/prod/nodes/:node`, ({ params }) => {
        seen.push({ method: 'DELETE', path: String(params.node), body: null });
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const v = vault();
    const reg = await registerNode(v, { cluster: 'prod', node: 'a@127.0.0.1', port: 41000, otpRelease: '25', serial: '0A:1B' });
    expect(reg).toMatchObject({ node: 'a@127.0.0.1', port: 41000, generation: 3, leaseDurationSeconds: 60, renewable: true, leaseId: 'vaultdist/clusters/prod/nodes/a@127.0.0.1/abc' });
    expect(reg.expiresAt?.toISOString()).toBe('2026-11-29T14:01:00.000Z');
    expect(seen[0]!.body).toEqual({ port: 41000, otp_release: '25', serial: '0a:1b' });
    const renewed = await renewRegistration(v, { leaseId: reg.leaseId, incrementSeconds: 60 });
    expect(renewed.leaseDurationSeconds).toBe(60);
    expect(seen[1]!.body).toEqual({ lease_id: reg.leaseId, increment: 60 });
    const m = await listMembers(v, { cluster: 'prod' });
    expect(m.members.map((x) => [x.node, x.port, x.otpRelease])).toEqual([
      ['a@127.0.0.1', 41000, '25'],
      ['b@127.0.0.1', 41001, '27'],
    ]);
    expect(m.rejected).toHaveLength(2);
    expect((await readMember(v, { cluster: 'prod', node: 'a@127.0.0.1' }))?.port).toBe(41000);
    expect(await readMember(v, { cluster: 'prod', node: 'z@127.0.0.1' })).toBeUndefined();
    expect(await deregisterNode(v, { cluster: 'prod', node: 'a@127.0.0.1' })).toBe(true);
    expect(seen.at(-1)).toEqual({ method: 'DELETE', path: 'a@127.0.0.1', body: null });
  });

  it.each([
    ['port 0', { port: 0 }, 'port'],
    ['port 65536', { port: 65536 }, 'port'],
    ['fractional port', { port: 1.5 }, 'port'],
    ['cluster with a slash', { cluster: 'a/b' }, 'cluster'],
    ['mount with ..', { mount: 'x/../sys' }, 'mount'],
    ['otp release with a space', { otpRelease: '2 7' }, 'otpRelease'],
    ['serial that is not hex', { serial: 'zz' }, 'serial'],
    ['host with a space', { host: 'a b' }, 'host'],
    ['meta with a control character', { meta: { k: 'a\nb' } }, 'meta.k'],
  ])('refuses %s before any request (ConfigError naming the input)', async (_what, bad, path) => {
    // no handler: a request would fail with onUnhandledRequest: 'error'
    const e = await registerNode(vault(), { cluster: 'prod', node: 'a@127.0.0.1', port: 41000, ...bad }).catch((x: unknown) => x);
    expect(isConfigError(e)).toBe(true);
    expect((e as { issues: { path: string }[] }).issues[0]!.path).toBe(path);
  });

  it.each(['nohost', 'a@b@c', 'a b@127.0.0.1', 'a@::1'])('refuses node name %j with a NodeNameError', async (node) => {
    const e = await registerNode(vault(), { cluster: 'prod', node, port: 41000 }).catch((x: unknown) => x);
    expect(isNodeNameError(e)).toBe(true);
  });

  it.each([
    [{ ttl: '1 h' }, 'ttl'],
    [{ maxTtl: '1.5h' }, 'maxTtl'],
    [{ allowedNodes: ['a b'] }, 'allowedNodes'],
  ])('writeClusterConfig refuses %j before any request', async (bad, path) => {
    const e = await writeClusterConfig(vault(), { cluster: 'prod', ...bad }).catch((x: unknown) => x);
    expect(isConfigError(e)).toBe(true);
    expect((e as { issues: { path: string }[] }).issues[0]!.path).toBe(path);
  });

  it('passes a 403 (another node\'s name) on as VaultPermissionDeniedError', async () => {
    server.use(http.post(`${ADDR}/v1/vaultdist/clusters/prod/nodes/:node`, () => HttpResponse.json(vaultErrors('1 error occurred:\n\t* permission denied\n\n'), { status: 403 })));
    const e = await registerNode(vault(), { cluster: 'prod', node: 'b@127.0.0.1', port: 41000 }).catch((x: unknown) => x);
    expect(isVaultPermissionDeniedError(e)).toBe(true);
  });
});

describe('peers file', () => {
  it('renders deterministically, parses back, and writes atomically only on change', async () => {
    const t = testdir();
    try {
      const f = {
        cluster: 'prod',
        state: 'stale' as const,
        staleSince: new Date('2026-11-29T14:00:00Z'),
        peers: [
          { node: 'b@127.0.0.1', host: '127.0.0.1', port: 41001, state: 'stale' as const, expiresAt: new Date('2026-11-29T13:59:00Z'), otpRelease: '27', serial: '0a:1b' },
          { node: 'a@127.0.0.1', host: '127.0.0.1', port: 41000, state: 'live' as const, expiresAt: undefined, otpRelease: undefined, serial: undefined },
        ],
      };
      const text = renderPeersFile(f);
      expect(text).toContain('\nnode a@127.0.0.1 127.0.0.1 41000 live -\nnode b@127.0.0.1 127.0.0.1 41001 stale 2026-11-29T13:59:00.000Z otp=27 serial=0a:1b\n');
      const back = parsePeersFile(text);
      expect(back.skipped).toEqual([]);
      expect(back.state).toBe('stale');
      expect(back.staleSince?.toISOString()).toBe('2026-11-29T14:00:00.000Z');
      expect(back.peers.map((p) => p.node)).toEqual(['a@127.0.0.1', 'b@127.0.0.1']);
      const path = join(t.dir, 'peers');
      expect(await writePeersFile(path, text)).toEqual({ changed: true });
      expect(await writePeersFile(path, text)).toEqual({ changed: false });
      expect(readFileSync(path, 'utf8')).toBe(text);
      expect(statSync(path).mode & 0o777).toBe(0o644);
      expect(parsePeersFile('node evil;rm@x 1 2 live -\nnode a@127.0.0.1 127.0.0.1 99999 live -\n').peers).toEqual([]);
    } finally {
      t.cleanup();
    }
  });

  it('refuses to render an entry the Erlang side could misread', () => {
    expect(() => renderPeersFile({ cluster: 'c', state: 'fresh', staleSince: undefined, peers: [{ node: 'a@127.0.0.1', host: '127.0.0.1\nnode x@y', port: 1, state: 'live', expiresAt: undefined, otpRelease: undefined, serial: undefined }] })).toThrow(/host/);
  });

  it('parses dist.port', () => {
    expect(parseDistPortFile('port 41000\notp_release 25\nos_pid 123\nname a\n')).toEqual({ port: 41000, otpRelease: '25', osPid: 123, name: 'a' });
    expect(parseDistPortFile('port 0\n')).toBeUndefined();
  });
});
