import { validateNodeSettings } from './settings.js';

const file = () => ({
  version: 1,
  node: 'app@10.0.0.5',
  dir: '/etc/vaultdist/app',
  vaultAddr: 'https://a:8200,https://b:8200',
  mount: 'pki_dist',
  role: 'vaultdist-app-10-0-0-5-3f2a9c1e',
  keyType: 'ec-p256',
  ttl: '',
  distPort: 9100,
  listenInterface: '10.0.0.5',
  tlsVersions: ['tlsv1.3'],
  modules: ['vaultdist_reload'],
  certAuthMount: 'cert',
  certAuthRole: 'vaultdist-app-10-0-0-5-3f2a9c1e',
  healthPort: 9464,
});

describe('vaultdist.json through the agent config key schemas', () => {
  it('fills the defaults of files written before a key existed; keeps unknown keys out', () => {
    const r = validateNodeSettings({ ...file(), fromTheFuture: true });
    expect(r.errors).toEqual([]);
    expect(r.settings).toMatchObject({ agentAuth: 'cert', approleMount: 'approle', connectAll: true, vaultCaCert: null, crl: false, owner: null, baseRole: 'erlang-node', policyPrefix: 'vaultdist-node', registryMount: 'vaultdist' });
    expect(r.settings).not.toHaveProperty('fromTheFuture');
  });

  it('a legacy shared role becomes the template role (issue #12)', () => {
    expect(validateNodeSettings({ ...file(), role: 'erlang-node-old' }).settings!.baseRole).toBe('erlang-node-old');
  });

  it.each([
    ['not settings', { hello: 1 }, 'not a vaultdist node settings file (version 1)'],
    ['a port out of range', { ...file(), distPort: 70000 }, 'distPort: must be <= 65535, got 70000'],
    ['a key type the agent refuses', { ...file(), keyType: 'ed25519' }, 'keyType: must be one of "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", got "ed25519"'],
    ['a bad TTL', { ...file(), ttl: '1 day' }, 'ttl: must be "" (the role\'s TTL) or'],
    ['a relative CA file', { ...file(), vaultCaCert: 'ca.pem' }, 'vaultCaCert: must be an absolute path, got "ca.pem"'],
    ['a missing key', (({ mount: _m, ...rest }) => rest)(file()), 'mount: is required (e.g. "pki_int")'],
    ['a bad owner', { ...file(), owner: { uid: -1, gid: 0 } }, 'owner.uid: must be >= 0, got -1'],
  ])('%s → path: message', (_name, raw, expected) => {
    const r = validateNodeSettings(raw);
    expect(r.settings).toBeUndefined();
    expect(r.errors.join('\n')).toContain(expected);
  });
});
