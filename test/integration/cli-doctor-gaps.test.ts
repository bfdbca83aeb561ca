/**
 * `vaultdist doctor` gaps from issue #14 (the CLI as a child process):
 * - `--probe` alone: a served certificate that does not name the probed host is an error (was "served
 *   cert ok"); a port where nothing listens is an error, exit 20 (was exit 0);
 * - an epmd found on another port: the fix names that port (was "firewall port 4369");
 * - connect_all: the RUNNING node's real setting (a real BEAM started with -connect_all false, found
 *   through DIR/run/beam.pid) wins over a vm.args that does not say it (was "connect_all is on").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { makeCa, makeLeaf } from '../../scripts/test-utils/src/index.js';
import { vaultdist } from '../../packages/cli/test/helpers.js';
import { freePort } from '../../scripts/vault-dev/src/index.js';
import { testdir } from '../helpers/vault.js';

type Finding = { type?: string; check: string; severity: string; target: string; message: string; fix?: string };
const findings = (stdout: string): Finding[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Finding).filter((f) => f.type !== 'summary');
const listen = (s: Server | tls.Server) => new Promise<number>((res) => s.listen(0, '127.0.0.1', () => res((s.address() as { port: number }).port)));

describe('vaultdist doctor: probe and runtime gaps', () => {
  const tmp = testdir();
  const servers: (Server | tls.Server)[] = [];
  let beam: ChildProcess | undefined;
  afterAll(() => {
    for (const s of servers) s.close();
    beam?.kill('SIGKILL');
    tmp.cleanup();
  });

  it('--probe: a served certificate for another host is an error; nothing listening is an error (exit 20)', async () => {
    const ca = await makeCa('doctor gaps root');
    const leaf = await makeLeaf({ ca, dns: ['other.example'], ips: ['10.9.9.9'], uris: ['erlang://app@other.example'] });
    // a TLS distribution-like port that wants a client certificate (refuses anonymous clients)
    const server = tls.createServer({ key: leaf.keyPem, cert: leaf.certPem, ca: ca.pem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (s) => s.end());
    server.on('tlsClientError', () => {});
    servers.push(server);
    const port = await listen(server);
    const r = await vaultdist(['doctor', '--probe', `127.0.0.1:${port}`, '--json']);
    const f = findings(r.stdout);
    expect(f.find((x) => x.check === 'dist.client_cert')).toMatchObject({ severity: 'ok' });
    const san = f.find((x) => x.check === 'dist.served_san')!;
    expect(san).toMatchObject({ severity: 'error' });
    expect(san.message).toContain('does not cover 127.0.0.1');
    expect(san.message).toContain('DNS:other.example');
    expect(r.code).toBe(20);

    const closed = await freePort();
    const c = await vaultdist(['doctor', '--probe', `127.0.0.1:${closed}`, '--json']);
    expect(findings(c.stdout).find((x) => x.check === 'dist.reachable')).toMatchObject({ severity: 'error' });
    expect(c.code).toBe(20);
  }, 60_000);

  it('--epmd on another port: the fix names that port', async () => {
    // a minimal epmd: answers NAMES_REQ with its port and one name, then closes
    const epmd = createTcpServer((s) =>
      s.once('data', () => {
        const head = Buffer.alloc(4);
        head.writeUInt32BE((epmd.address() as { port: number }).port);
        s.end(Buffer.concat([head, Buffer.from('name app at port 4370\n', 'latin1')]));
      }),
    );
    servers.push(epmd);
    const port = await listen(epmd);
    const r = await vaultdist(['doctor', '--epmd', `127.0.0.1:${port}`, '--json']);
    const leak = findings(r.stdout).find((x) => x.check === 'epmd.names')!;
    expect(leak.message).toContain('app (dist port 4370)');
    expect(leak.fix).toContain(`firewall port ${port}`);
    expect(leak.fix).not.toContain('4369');
  }, 60_000);

  it('connect_all: the running node (a real BEAM with -connect_all false) wins over vm.args', async () => {
    const dir = join(tmp.dir, 'node');
    mkdirSync(join(dir, 'run'), { recursive: true });
    // a vm.args that does not mention connect_all (the user started the node with it elsewhere)
    writeFileSync(join(dir, 'vm.args'), '-proto_dist vaultdist_tls\n-start_epmd false\n-erl_epmd_port 4370\n');
    beam = spawn('erl', ['-noshell', '-connect_all', 'false', '-eval', 'timer:sleep(60000)'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'run', 'beam.pid'), `${beam.pid}\n`);
    await new Promise((res) => setTimeout(res, 500)); // erlexec has exec'd beam.smp by now
    const r = await vaultdist(['doctor', '--dir', dir, '--json']);
    const f = findings(r.stdout);
    expect(f.find((x) => x.check === 'node.connect_all')).toMatchObject({ severity: 'ok', target: `pid ${beam.pid}` });
    expect(f.find((x) => x.check === 'vmargs.connect_all')).toBeUndefined();
  }, 60_000);
});
