import { parse } from 'yaml';
import { configJsonSchema, describeConfig, redactConfigSecrets, renderAgentConfig, validateConfig, type AgentConfigInput } from './schema.js';

const minimal = (): AgentConfigInput => ({
  vault: { address: 'https://127.0.0.1:8200', auth: { method: 'token', tokenFile: '/etc/vaultdist/token' } },
  nodes: [
    {
      name: 'foo@127.0.0.1',
      dir: '/var/lib/vaultdist/foo',
      mount: 'pki_int',
      role: 'node',
      reload: { strategy: 'signal', pidFile: '/run/foo.pid', handlerInstalled: true },
      verify: { port: 4370 },
    },
  ],
});

describe('validateConfig', () => {
  it('fills every default and keeps the given values', () => {
    const r = validateConfig(minimal());
    expect(r.errors).toEqual([]);
    const c = r.config!;
    expect(c.schedule.backoff).toEqual({ initialMs: 1000, maxMs: 300000, jitterFraction: 0.5 });
    expect(c.health).toEqual({ enabled: true, host: '127.0.0.1', port: 9469 });
    expect(c.nodes[0]!.keyType).toBe('ec-p256');
    expect(c.nodes[0]!.auth).toBeNull();
    expect(c.nodes[0]!.verify).toEqual({ enabled: true, host: null, port: 4370, deadlineMs: 10000, retryIntervalMs: 200, probeTimeoutMs: 3000 });
    expect(c.nodes[0]!.reload).toEqual({ strategy: 'signal', pidFile: '/run/foo.pid', signal: 'SIGHUP', handlerInstalled: true });
    expect(c.vault.auth).toEqual({ method: 'token', token: null, tokenFile: '/etc/vaultdist/token' });
  });

  it.each([
    ['missing pidFile', (c: any) => delete c.nodes[0].reload.pidFile, 'nodes[0].reload.pidFile: is required'],
    ['signal without the handler', (c: any) => (c.nodes[0].reload.handlerInstalled = false), 'nodes[0].reload.handlerInstalled: must be true'],
    ['unknown strategy', (c: any) => (c.nodes[0].reload = { strategy: 'kill' }), 'nodes[0].reload.strategy: must be one of "signal", "rpc", "poll", "command", got "kill"'],
    ['typo in a key', (c: any) => (c.nodes[0].reload.pidfile = '/x'), 'nodes[0].reload.pidfile: unknown key (did you mean "pidFile"?)'],
    ['relative dir', (c: any) => (c.nodes[0].dir = 'foo'), 'nodes[0].dir: must be an absolute path'],
    ['bad port', (c: any) => (c.nodes[0].verify.port = 70000), 'nodes[0].verify.port: must be <= 65535'],
    ['no verify port', (c: any) => delete c.nodes[0].verify, 'nodes[0].verify.port: is required while verify.enabled is true'],
    ['no nodes', (c: any) => (c.nodes = []), 'nodes: needs at least 1 item(s)'],
    ['backoff min >= max', (c: any) => (c.schedule = { backoff: { initialMs: 5000, maxMs: 5000 } }), 'schedule.backoff.initialMs: must be less than schedule.backoff.maxMs'],
    ['no token', (c: any) => (c.vault.auth = { method: 'token' }), 'vault.auth.token: is required for method "token"'],
    ['approle without secret', (c: any) => (c.vault.auth = { method: 'approle', roleId: 'r' }), 'vault.auth.secretId: set exactly one of secretId and secretIdFile'],
    ['cert without files', (c: any) => (c.nodes[0].auth = { method: 'cert' }), 'nodes[0].auth.certFile: is required'],
    ['rpc without port', (c: any) => (c.nodes[0] = { ...c.nodes[0], reload: { strategy: 'rpc' }, verify: { enabled: false } }), 'nodes[0].reload.port: the rpc strategy needs'],
    ['command without argv', (c: any) => (c.nodes[0].reload = { strategy: 'command' }), 'nodes[0].reload.command: is required'],
    ['bad ttl', (c: any) => (c.nodes[0].ttl = '1 day'), 'nodes[0].ttl: must be a Vault duration'],
    ['bad node name', (c: any) => (c.nodes[0].name = 'foo'), 'nodes[0].name: must look like name@host: invalid Erlang node name "foo": missing "@host"'],
    // the SDK's rule (one owner): the agent's own regex accepted a name erl reads as a flag
    ['node name starting with -', (c: any) => (c.nodes[0].name = '-foo@10.0.0.5'), 'nodes[0].name: must look like name@host: invalid Erlang node name "-foo@10.0.0.5": name part "-foo" must not start with "-"'],
    ['duplicate dir', (c: any) => c.nodes.push({ ...c.nodes[0], name: 'bar@127.0.0.2' }), 'nodes[1].dir: duplicate of nodes[0].dir'],
    ['duplicate CRL dir', (c: any) => {
        c.nodes[0].crl = { enabled: true };
        c.nodes.push({ ...c.nodes[0], name: 'bar@127.0.0.2', dir: '/var/lib/vaultdist/bar', crl: { enabled: true, dir: '/var/lib/vaultdist/foo/crl' } });
      }, "nodes[1].crl.dir: duplicate of nodes[0]'s CRL directory"],
    ['bad CRL mount', (c: any) => (c.nodes[0].crl = { enabled: true, mounts: ['../sys'] }), 'nodes[0].crl.mounts[0]: not a Vault mount path'],
    ['wrong type', (c: any) => (c.schedule = { renewAtFraction: 'most' }), 'schedule.renewAtFraction: must be a number, got "most"'],
  ])('%s → an error naming the key', (_name, mutate, expected) => {
    const c = minimal();
    mutate(c);
    const r = validateConfig(c);
    expect(r.config).toBeUndefined();
    expect(r.errors.join('\n')).toContain(expected);
  });

  it('names every unknown key of a mapping, not only the first', () => {
    const c = minimal() as any;
    Object.assign(c.nodes[0].reload, { pidfile: '/x', handlerinstalled: true });
    expect(validateConfig(c).errors).toEqual(['nodes[0].reload.pidfile: unknown key (did you mean "pidFile"?)', 'nodes[0].reload.handlerinstalled: unknown key (did you mean "handlerInstalled"?)']);
  });

  it('warns about a non-loopback health listener', () => {
    const c = minimal();
    c.health = { host: '0.0.0.0' };
    expect(validateConfig(c).warnings.join('\n')).toContain('health.host: 0.0.0.0 is not a loopback address');
  });
});

describe('renderAgentConfig', () => {
  it('redactConfigSecrets replaces every secret: true value (token, secret_id, cookie) and nothing else', () => {
    const c = minimal() as any;
    c.vault.auth = { method: 'token', token: 's.vaulttokenvaulttokenvaulttok' };
    c.nodes[0].auth = { method: 'approle', roleId: 'role-1', secretId: 'secret-1' };
    c.nodes[0].reload = { strategy: 'rpc', cookie: 'cookie-1', port: 4370 };
    const resolved = validateConfig(c).config!;
    const r = redactConfigSecrets(resolved);
    const text = renderAgentConfig(r);
    for (const s of ['s.vaulttokenvaulttokenvaulttok', 'secret-1', 'cookie-1']) expect(text).not.toContain(s);
    expect(r.vault.auth).toEqual({ method: 'token', token: '[REDACTED]', tokenFile: null });
    expect(r.nodes[0]!.auth).toMatchObject({ roleId: 'role-1', secretId: '[REDACTED]', secretIdFile: null });
    expect(r.nodes[0]!.reload).toMatchObject({ cookie: '[REDACTED]', cookieFile: null, port: 4370 });
    // the input is not changed (renderAgentConfig still writes what it is given, e.g. agent.yaml)
    expect(resolved.vault.auth).toMatchObject({ token: 's.vaulttokenvaulttokenvaulttok' });
    expect(renderAgentConfig(resolved)).toContain('secret-1');
    // no secret: null stays null; the rest is identical
    expect(redactConfigSecrets(validateConfig(minimal()).config!)).toEqual(validateConfig(minimal()).config);
  });

  it('renders commented YAML that parses back to the same valid config', () => {
    const c = minimal();
    c.nodes.push({ name: 'bar@127.0.0.2', dir: '/var/lib/vaultdist/bar', mount: 'pki_int', role: 'node', reload: { strategy: 'rpc', cookieFile: '/var/lib/bar/.erlang.cookie', port: 4370 }, verify: { port: 4370 } });
    const text = renderAgentConfig(c);
    expect(text).toContain('# Erlang node name');
    expect(text).toContain('# Must be true: declares that the node runs');
    const back = validateConfig(parse(text));
    expect(back.errors).toEqual([]);
    expect(back.config).toEqual(validateConfig(c).config);
  });

  it('describes a union key by the variant the node selects (cert auth mount is not AppRole\'s)', () => {
    const c = minimal();
    c.vault!.auth = { method: 'cert', mount: 'cert', certFile: '/d/bundle.pem', keyFile: '/d/bundle.pem' };
    c.nodes[0]!.auth = { method: 'approle', mount: 'approle', roleIdFile: '/r', secretIdFile: '/s' };
    const lines = renderAgentConfig(c).split('\n');
    const commentAbove = (re: RegExp, nth = 0) => lines[lines.findIndex((l, i) => re.test(l) && lines.slice(0, i).filter((x) => re.test(x)).length === nth) - 1];
    expect(commentAbove(/^\s+mount: cert$/)).toMatch(/# Mount path of the TLS certificate auth method/);
    expect(commentAbove(/^\s+mount: approle$/)).toMatch(/# Mount path of the AppRole auth method/);
    expect(commentAbove(/^\s+method: cert$/)).toMatch(/# One of token, approle, cert/);
  });

  it('renders a fully resolved config too', () => {
    const resolved = validateConfig(minimal()).config!;
    expect(validateConfig(parse(renderAgentConfig(resolved))).config).toEqual(resolved);
  });
});

describe('documentation', () => {
  it('every key has a description and an example', () => {
    const docs = describeConfig();
    expect(docs.length).toBeGreaterThan(50);
    for (const d of docs) {
      expect(d.description.length).toBeGreaterThan(5);
      expect(d.example).not.toBeUndefined();
    }
    expect(docs.map((d) => d.path)).toContain('nodes[].reload.pidFile (strategy: signal)');
  });

  it('produces a JSON Schema with the node list', () => {
    const s = configJsonSchema() as any;
    expect(s.properties.nodes.items.properties.reload.oneOf).toHaveLength(4);
  });
});
