import { lookupLine, resolveOwner, type AccountDb } from './owner.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\n# comment\nbeam:x:999:998::/var/lib/beam:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nbeamgrp:x:998:\nssl-cert:x:110:beam\n';
const db: AccountDb = { passwd: (k) => lookupLine(PASSWD, k), group: (k) => lookupLine(GROUP, k) };

describe('--owner USER[:GROUP]', () => {
  it.each([
    ['beam', { uid: 999, gid: 998 }],
    ['beam:ssl-cert', { uid: 999, gid: 110 }],
    ['999', { uid: 999, gid: 998 }],
    ['999:110', { uid: 999, gid: 110 }],
    ['4242:4343', { uid: 4242, gid: 4343 }],
    ['beam:4343', { uid: 999, gid: 4343 }],
    ['root', { uid: 0, gid: 0 }],
  ])('%s', (spec, want) => {
    expect(resolveOwner(spec, db)).toEqual(want);
  });

  it.each([
    ['nobody-here', /--owner "nobody-here": no such user "nobody-here"/],
    ['beam:nogroup-here', /--owner "beam:nogroup-here": no such group "nogroup-here"/],
    ['4242', /--owner "4242": uid 4242 has no passwd entry.*--owner 4242:GID/],
    ['beam:', /--owner "beam:": expected USER or USER:GROUP/],
    ['a:b:c', /expected USER or USER:GROUP/],
    ['', /expected USER or USER:GROUP/],
  ])('%s is a usage error naming the flag', (spec, msg) => {
    let e: unknown;
    try {
      resolveOwner(spec, db);
    } catch (x) {
      e = x;
    }
    expect(e).toMatchObject({ code: 2 });
    expect((e as Error).message).toMatch(msg);
  });

  it('resolves through the system database (getent) too', () => {
    expect(resolveOwner('root')).toEqual({ uid: 0, gid: 0 });
    expect(resolveOwner('0:0')).toEqual({ uid: 0, gid: 0 });
    expect(() => resolveOwner('vd-no-such-user-x9')).toThrow(/no such user/);
  });
});
