import { parseNodeName } from '../node-name.js';
import { isRenderError } from '../errors.js';
import { distFlags, renderVmArgs } from './vm-args.js';

describe('distFlags / renderVmArgs', () => {
  it('renders the epmd-less TLS flags', () => {
    expect(distFlags({ optfile: '/etc/vd/ssl_dist.conf', distPort: 9101, listenInterface: '127.0.0.2' })).toEqual([
      '-proto_dist', 'inet_tls', '-ssl_dist_optfile', '/etc/vd/ssl_dist.conf', '-start_epmd', 'false',
      '-erl_epmd_port', '9101', '-kernel', 'inet_dist_use_interface', '{127,0,0,2}',
    ]);
  });
  it('renders a vm.args fragment with the node name, epmd module and connect_all', () => {
    const text = renderVmArgs({ node: parseNodeName('foo@127.0.0.1'), optfile: '/d/ssl_dist.conf', distPort: 14369, epmdModule: 'vaultdist_epmd', connectAllFalse: true, codePaths: ['/d/ebin'] });
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      '-name foo@127.0.0.1',
      '-proto_dist inet_tls',
      '-ssl_dist_optfile /d/ssl_dist.conf',
      '-start_epmd false',
      '-epmd_module vaultdist_epmd',
      '-erl_epmd_port 14369',
      '-pa /d/ebin',
      '-connect_all false',
    ]);
    expect(renderVmArgs({ node: parseNodeName('foo@localhost'), optfile: '/o', distPort: 1 })).toContain('-sname foo@localhost');
  });
  it.each([
    [{ optfile: '/a b/x.conf', distPort: 1 }, 'optfile'],
    [{ optfile: '/a#b', distPort: 1 }, 'optfile'],
    [{ optfile: 'rel.conf', distPort: 1 }, 'optfile'],
    [{ optfile: '/o', distPort: 70000 }, 'distPort'],
    [{ optfile: '/o', distPort: 1, listenInterface: '1.2.3' }, 'listenInterface'],
    [{ optfile: '/o', distPort: 1, epmdModule: '-eval' }, 'epmdModule'],
    [{ optfile: '/o', distPort: 1, codePaths: ['/'] }, 'codePaths'],
    [{ optfile: '/o', distPort: 1, codePaths: ['///'] }, 'codePaths'],
  ])('rejects %j', (o, field) => {
    let err: unknown;
    try {
      distFlags(o);
    } catch (e) {
      err = e;
    }
    expect(isRenderError(err)).toBe(true);
    expect((err as { field: string }).field).toBe(field);
  });
  it('rejects a cookie or node word that erl would read as a flag', () => {
    expect(() => renderVmArgs({ optfile: '/o', distPort: 1, cookie: '-eval' })).toThrow(/cookie.*starts with "-"/);
  });
});
