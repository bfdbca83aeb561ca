import { parseNodeName } from '../node-name.js';
import { isRenderError } from '../errors.js';
import { distFlags, renderVmArgs } from './vm-args.js';

describe('distFlags / renderVmArgs', () => {
  it('renders the epmd-less TLS flags', () => {
    expect(distFlags({ optfile: '/etc/vd/ssl_dist.conf', distPort: 9101, listenInterface: '127.0.0.2' })).toEqual([
      '-proto_dist', 'vaultdist_tls', '-ssl_dist_optfile', '/etc/vd/ssl_dist.conf', '-start_epmd', 'false',
      '-erl_epmd_port', '9101', '-kernel', 'inet_dist_use_interface', '{127,0,0,2}',
    ]);
  });
  it('renders a vm.args fragment with the node name, epmd module and connect_all', () => {
    const text = renderVmArgs({ node: parseNodeName('foo@127.0.0.1'), optfile: '/d/ssl_dist.conf', distPort: 14369, epmdModule: 'vaultdist_epmd', connectAllFalse: true, codePaths: ['/d/ebin'] });
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      '-name foo@127.0.0.1',
      '-proto_dist vaultdist_tls',
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
    expect(() => renderVmArgs({ optfile: '/o', distPort: 1, epmdModule: '+MTx' })).toThrow(/epmdModule.*starts with "\+"/);
  });

  describe('per-node ports for the companion epmd module', () => {
    const base = { optfile: '/o', distPort: 9100, epmdModule: 'vaultdist_epmd' };
    it('renders -vaultdist_epmd_ports and -vaultdist_epmd_port_base right after -epmd_module', () => {
      expect(distFlags({ ...base, epmdPorts: { foo: 9101, 'bar@10.0.0.6': 9102, 'v6@[::1]': 9103 }, epmdPortBase: 9200 })).toEqual([
        '-proto_dist', 'vaultdist_tls', '-ssl_dist_optfile', '/o', '-start_epmd', 'false',
        '-epmd_module', 'vaultdist_epmd',
        '-vaultdist_epmd_ports', 'foo=9101,bar@10.0.0.6=9102,v6@::1=9103',
        '-vaultdist_epmd_port_base', '9200',
        '-erl_epmd_port', '9100',
      ]);
      const text = renderVmArgs({ ...base, node: parseNodeName('foo@127.0.0.1'), epmdPorts: { foo: 9101, bar: 9102 } });
      expect(text).toContain('\n-vaultdist_epmd_ports foo=9101,bar=9102\n');
      expect(text).not.toContain('port_base');
    });
    it('renders neither flag when neither option is given', () => {
      expect(distFlags(base).join(' ')).not.toContain('vaultdist_epmd_');
    });
    it.each([
      [{ epmdPorts: { '-s': 9101 } }, 'epmdPorts', /key "-s".*must not start with "-"/],
      [{ epmdPorts: { 'a b': 9101 } }, 'epmdPorts', /key "a b".*may only contain/],
      [{ epmdPorts: { '': 9101 } }, 'epmdPorts', /key ""/],
      [{ epmdPorts: { 'foo@': 9101 } }, 'epmdPorts', /empty host part/],
      [{ epmdPorts: { 'foo@bad_host': 9101 } }, 'epmdPorts', /not a valid DNS label/],
      [{ epmdPorts: { 'foo=1,bar': 9101 } }, 'epmdPorts', /may only contain/],
      [{ epmdPorts: { 'x@::1': 1, 'x@[::1]': 2 } }, 'epmdPorts', /name the same node/],
      [{ epmdPorts: {} }, 'epmdPorts', /empty map/],
      [{ epmdPorts: { foo: 0 } }, 'epmdPorts["foo"]', /0 is not a TCP port/],
      [{ epmdPorts: { foo: 65536 } }, 'epmdPorts["foo"]', /not a TCP port/],
      [{ epmdPorts: { foo: 91.5 } }, 'epmdPorts["foo"]', /not a TCP port/],
      [{ epmdPorts: { foo: '9101' as unknown as number } }, 'epmdPorts["foo"]', /"9101" is not a TCP port/],
      [{ epmdPortBase: 0 }, 'epmdPortBase', /not a TCP port/],
      [{ epmdPortBase: 70000 }, 'epmdPortBase', /not a TCP port/],
      [{ epmdPortBase: Number.NaN }, 'epmdPortBase', /not a TCP port/],
      [{ epmdModule: undefined, epmdPorts: { foo: 9101 } }, 'epmdPorts', /needs epmdModule/],
      [{ epmdModule: undefined, epmdPortBase: 9100 }, 'epmdPortBase', /needs epmdModule/],
    ])('rejects %j', (extra, field, message) => {
      let err: unknown;
      try {
        distFlags({ ...base, ...extra });
      } catch (e) {
        err = e;
      }
      expect(isRenderError(err) && err.field).toBe(field);
      expect((err as Error).message).toMatch(message);
    });
  });
});
