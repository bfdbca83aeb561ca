import { hostAllowed, nodeIdentityNames, nodeIdentityPolicy, nodePkiRoleBody, nodeSlug } from './identity.js';

describe('nodeSlug', () => {
  it('is lowercase [a-z0-9-], readable, at most 63 characters, and distinct for distinct nodes', () => {
    expect(nodeSlug('app@127.0.0.1')).toMatch(/^app-127-0-0-1-[0-9a-f]{8}$/);
    expect(nodeSlug('My_Node@Host-1.example.com')).toMatch(/^my-node-host-1-example-com-[0-9a-f]{8}$/);
    const long = `${'n'.repeat(150)}@${'h'.repeat(50)}.example`;
    expect(nodeSlug(long).length).toBeLessThanOrEqual(63);
    expect(nodeSlug(long)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    // names that fold to the same readable part still differ
    const folded = ['app@h', 'App@h', 'a_pp@h', 'a-pp@h', 'app@H'].map(nodeSlug);
    expect(new Set(folded).size).toBe(folded.length);
    expect(nodeSlug('app@127.0.0.1')).toBe(nodeSlug('app@127.0.0.1'));
  });

  it('names every object after the slug; the policy prefix is configurable', () => {
    const n = nodeIdentityNames('app@10.0.0.5', { policyPrefix: 'p' });
    expect(n).toEqual({ node: 'app@10.0.0.5', slug: nodeSlug('app@10.0.0.5'), uri: 'erlang://app@10.0.0.5', role: `vaultdist-${n.slug}`, policy: `p-${n.slug}` });
  });
});

describe('per-node bodies', () => {
  it('PKI role: the host bare only, the exact URI SAN, IP SANs only for an IPv4 host', () => {
    expect(nodePkiRoleBody('app@10.0.0.5', { ttl: '1h' })).toMatchObject({
      allowed_domains: ['10.0.0.5'],
      allow_bare_domains: true,
      allow_subdomains: false,
      allow_glob_domains: false,
      allow_any_name: false,
      allow_localhost: false,
      allow_wildcard_certificates: false,
      allowed_uri_sans: ['erlang://app@10.0.0.5'],
      allowed_uri_sans_template: false,
      allow_ip_sans: true,
      allowed_ip_sans_cidr: ['10.0.0.5/32'],
      ttl: '1h',
    });
    const dns = nodePkiRoleBody('app@db1.example.com');
    expect(dns).toMatchObject({ allowed_domains: ['db1.example.com'], allow_ip_sans: false });
    expect(dns).not.toHaveProperty('allowed_ip_sans_cidr');
    expect(() => nodePkiRoleBody('app@::1')).toThrow(/IPv6/);
  });

  it('policy: its own sign path, its own registry entry, the members lists', () => {
    const role = nodeIdentityNames('app@10.0.0.5').role;
    const p = nodeIdentityPolicy('app@10.0.0.5', { pkiMount: 'pki_dist' });
    expect(p).toContain(`path "pki_dist/sign/${role}" {\n  capabilities = ["update"]\n}`);
    expect(p).not.toMatch(/pki_dist\/issue\//);
    expect(p).toContain('path "vaultdist/clusters/+/nodes/app@10.0.0.5" {\n  capabilities = ["create", "update", "delete"]\n}');
    expect(p).toContain('path "vaultdist/clusters/+/members" {\n  capabilities = ["read", "list"]\n}');
    expect(nodeIdentityPolicy('app@10.0.0.5', { pkiMount: 'pki_dist', registryMount: 'reg' })).toContain('path "reg/clusters/+/nodes/app@10.0.0.5"');
    // nothing that could close a quote in the HCL
    expect(() => nodeIdentityPolicy('app@10.0.0.5', { pkiMount: 'pki" {} path "sys/*' })).toThrow(/pkiMount/);
    expect(() => nodeIdentityPolicy('app@10.0.0.5', { pkiMount: 'pki', registryMount: 'a/../b"' })).toThrow(/registryMount/);
    expect(() => nodeIdentityNames('app@10.0.0.5', { policyPrefix: 'x/y' })).toThrow(/policyPrefix/);
  });
});

describe('hostAllowed (Vault matching of the template role)', () => {
  const t = { allowAnyName: false, allowedDomains: ['10.0.0.5', '*.dist.example.com'], allowGlobDomains: true, allowSubdomains: false };
  it.each([
    ['10.0.0.5', true],
    ['10.0.0.55', false],
    ['a.dist.example.com', true],
    ['a.b.dist.example.com', true],
    ['dist.example.com', false],
    ['A.DIST.example.com', true],
  ])('%s → %s', (host, ok) => expect(hostAllowed(host, t)).toBe(ok));
  it('no globs unless allowed; any name when allowed', () => {
    expect(hostAllowed('a.dist.example.com', { ...t, allowGlobDomains: false })).toBe(false);
    expect(hostAllowed('anything', { ...t, allowAnyName: true })).toBe(true);
  });
});
