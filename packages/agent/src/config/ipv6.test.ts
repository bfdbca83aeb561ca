import { validateConfig } from './schema.js';

describe('agent config: an IPv6 node name is refused up front (#15)', () => {
  it('names the field and a replacement', () => {
    const errors = validateConfig({
      vault: { auth: { method: 'token', token: 't' } },
      nodes: [{ name: 'a@::1', dir: '/var/lib/vaultdist/a', mount: 'pki', role: 'node', reload: { strategy: 'poll' }, verify: { enabled: false } }],
    }).errors;
    expect(errors).toEqual([expect.stringMatching(/^nodes\[0\]\.name: IPv6 hosts are not supported: .*\(::1 → 127\.0\.0\.1\)/)]);
  });
});
