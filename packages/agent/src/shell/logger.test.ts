import { Writable } from 'node:stream';
import { createLogger } from './logger.js';

it('redacts tokens, secret ids, private keys and cookies wherever they sit', () => {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level: 'info', destination: dest });
  log.child({ component: 'test' }).info(
    { token: 's.root', vault: { auth: { token: 's.nested', secretId: 'sid' } }, issued: { privateKey: '-----BEGIN PRIVATE KEY-----' }, reload: { cookie: 'monster' }, node: 'foo@127.0.0.1' },
    'something',
  );
  const out = lines.join('');
  for (const secret of ['s.root', 's.nested', 'sid', 'BEGIN PRIVATE KEY', 'monster']) expect(out).not.toContain(secret);
  const rec = JSON.parse(out);
  expect(rec).toMatchObject({ level: 'info', component: 'test', msg: 'something', node: 'foo@127.0.0.1', token: '[REDACTED]' });
});

it('a meta field named like one of pino\'s own keys never makes a second "level"/"time"/"msg" key', () => {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level: 'info', destination: dest });
  log.child({ component: 'test' }).warn({ level: 'ok', time: 1, msg: 'x', pid: 2, hostname: 'h', node: 'foo@127.0.0.1' }, 'renewal failed');
  const line = lines.join('').trim();
  for (const k of ['level', 'time', 'msg', 'pid']) expect(line.split(`"${k}":`).length).toBe(2);
  expect(JSON.parse(line)).toMatchObject({ level: 'warn', msg: 'renewal failed', meta_level: 'ok', meta_msg: 'x', node: 'foo@127.0.0.1' });
});
