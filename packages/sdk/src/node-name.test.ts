import { isNodeNameError } from './errors.js';
import { nodeIdentityUri, parseNodeName, requireDistributableNode } from './node-name.js';

describe('parseNodeName', () => {
  it.each([
    ['foo@127.0.0.1', 'ipv4', 'long'],
    ['app@node1.example.com', 'dns', 'long'],
    ['app@localhost', 'dns', 'short'],
    ['my_app-2@::1', 'ipv6', 'long'],
    ['x@[fe80::1]', 'ipv6', 'long'],
    ['a-@localhost', 'dns', 'short'],
    ['_x@localhost', 'dns', 'short'],
  ])('accepts %s', (input, kind, mode) => {
    const n = parseNodeName(input);
    expect(n.hostKind).toBe(kind);
    expect(n.mode).toBe(mode);
  });
  it.each([
    ['', 'empty'],
    ['foo', 'missing "@host"'],
    ['@host', 'empty name part'],
    ['foo@', 'empty host part'],
    ['a@b@c', 'more than one "@"'],
    ['fo o@host', 'may only contain'],
    ["f'oo@host", 'may only contain'],
    ['foo@-bad.example', 'not a valid DNS label'],
    ['foo@host.', 'must not end with "."'],
    ['foo@999.1.1.1', 'looks like an IPv4 address'],
    ['foo@host"name', 'not a valid DNS label'],
    ['-s@127.0.0.1', 'must not start with "-"'],
    ['-@localhost', 'must not start with "-"'],
    ['010@[a0]', 'brackets are only for an IPv6 address'],
    ['a@[10.0.0.1]', 'brackets are only for an IPv6 address'],
  ])('rejects %j (%s)', (input, reason) => {
    let err: unknown;
    try {
      parseNodeName(input);
    } catch (e) {
      err = e;
    }
    expect(isNodeNameError(err)).toBe(true);
    expect((err as Error).message).toContain(reason);
  });
  it('renders the identity URI', () => {
    expect(nodeIdentityUri(parseNodeName('foo@127.0.0.1'))).toBe('erlang://foo@127.0.0.1');
  });
});

describe('requireDistributableNode (IPv6 refused up front, with a replacement that parses and is IPv4 or DNS)', () => {
  it.each([
    ['app@::1', 'app@127.0.0.1'],
    ['app@[::1]', 'app@127.0.0.1'],
    ['app@::ffff:10.0.0.5', 'app@10.0.0.5'],
    ['app@fe80::1', 'app@app.example.internal'],
  ])('%s → NodeNameError suggesting %s', (input, suggested) => {
    let err: unknown;
    try {
      requireDistributableNode(input);
    } catch (e) {
      err = e;
    }
    expect(isNodeNameError(err)).toBe(true);
    expect((err as Error).message).toMatch(/IPv6 hosts are not supported: distribution runs over IPv4/);
    expect((err as Error).message).toContain(suggested);
    expect(requireDistributableNode(suggested).hostKind).not.toBe('ipv6');
  });
  it('passes IPv4 and DNS names through', () => {
    expect(requireDistributableNode('a@127.0.0.1').full).toBe('a@127.0.0.1');
    expect(requireDistributableNode(parseNodeName('a@h.example')).host).toBe('h.example');
  });
});
