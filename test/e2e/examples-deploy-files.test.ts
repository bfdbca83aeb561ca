/**
 * examples/systemd and examples/kubernetes are files users copy; neither can run here, so this test
 * parses them and checks what would break a deployment: systemd-analyze on the units, the agent's own
 * validator on the agent configs, and cross-checks between the files (node name, directory, pidfile,
 * port, user, service account). The Vault side of the Kubernetes example runs against the real OpenBao.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../../packages/agent/src/index.js';
import { adminClient, suffix, testdir, testVault } from '../helpers/vault.js';
import { makeCa } from '../../scripts/test-utils/src/index.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const EX = join(ROOT, 'examples');
// The agent's YAML parser (the same library the agent reads its config with).
const YAML = createRequire(join(ROOT, 'packages', 'agent', 'package.json'))('yaml') as {
  parse(text: string): unknown;
  parseAllDocuments(text: string): { toJS(): unknown; errors: unknown[] }[];
};

type Unit = Record<string, Record<string, string[]>>;

/** systemd unit files: sections of `Key=Value` lines (a key may repeat). */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      unit[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 1) throw new Error(`not a unit line: ${line}`);
    ((unit[section]![line.slice(0, eq)] ??= []) as string[]).push(line.slice(eq + 1));
  }
  return unit;
}

const one = (u: Unit, section: string, key: string): string => {
  const v = u[section]?.[key];
  if (!v || v.length !== 1) throw new Error(`[${section}] ${key}: expected exactly one value, got ${JSON.stringify(v)}`);
  return v[0]!;
};
const envOf = (u: Unit): Record<string, string> => Object.fromEntries((u.Service?.Environment ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

/** Agent config errors (every auth method the examples use, `kubernetes` included, is the agent's). */
function agentConfigErrors(raw: unknown): string[] {
  return validateConfig(raw).errors;
}

describe('examples/systemd', () => {
  const app = parseUnit(readFileSync(join(EX, 'systemd', 'app.service'), 'utf8'));
  const agentUnit = parseUnit(readFileSync(join(EX, 'systemd', 'vaultdist-agent.service'), 'utf8'));
  const agentYaml = YAML.parse(readFileSync(join(EX, 'systemd', 'agent.yaml'), 'utf8'));

  it('systemd-analyze finds nothing but the binaries that are not installed here', () => {
    const r = spawnSync('systemd-analyze', ['verify', 'app.service', 'vaultdist-agent.service'], { cwd: join(EX, 'systemd'), encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim());
    const other = lines.filter((l) => !/Command \/(opt\/app\/bin\/app|usr\/bin\/vaultdist-agent) is not executable: No such file or directory/.test(l));
    expect(other).toEqual([]);
    // The checker is live: a misspelt key in a copy of the unit is reported.
    const t = testdir();
    try {
      writeFileSync(join(t.dir, 'bad.service'), readFileSync(join(EX, 'systemd', 'app.service'), 'utf8').replace('ExecReload=', 'ExecReolad='));
      const bad = spawnSync('systemd-analyze', ['verify', 'bad.service'], { cwd: t.dir, encoding: 'utf8' });
      expect(`${bad.stdout}${bad.stderr}`).toMatch(/Unknown key (name )?'ExecReolad'/);
    } finally {
      t.cleanup();
    }
  });

  it('agent.yaml passes the agent validator and matches the units', () => {
    const r = validateConfig(agentYaml);
    expect(r.errors).toEqual([]);
    const cfg = r.config!;
    const env = envOf(app);
    expect(cfg.nodes).toHaveLength(1);
    const node = cfg.nodes[0]!;
    expect(node.name).toBe(env.RELEASE_NODE);
    expect(node.dir).toBe(env.VAULTDIST_DIR);
    // rel/env.sh.eex writes the pidfile to $VAULTDIST_DIR/run/beam.pid (and installs the handler first).
    const envSh = readFileSync(join(EX, 'elixir-release', 'rel', 'env.sh.eex'), 'utf8');
    expect(envSh).toContain('-vaultdist_sighup true -vaultdist_pidfile $VAULTDIST_DIR/run/beam.pid');
    expect(node.reload).toEqual({ strategy: 'signal', pidFile: `${env.VAULTDIST_DIR}/run/beam.pid`, signal: 'SIGHUP', handlerInstalled: true });
    expect(node.verify.port).toBe(Number(env.VAULTDIST_DIST_PORT));
    expect(node.verify.host).toBe(env.VAULTDIST_LISTEN_IP);
    expect(node.name.split('@')[1]).toBe(env.VAULTDIST_LISTEN_IP);
    // The agent runs as the node's user (it writes the node's files and signals its pid) and may write the dir.
    expect(one(agentUnit, 'Service', 'User')).toBe(one(app, 'Service', 'User'));
    expect(one(agentUnit, 'Service', 'ReadWritePaths').split(/\s+/)).toContain(env.VAULTDIST_DIR);
    expect(one(app, 'Service', 'ReadWritePaths').split(/\s+/)).toContain(env.VAULTDIST_DIR);
    expect(one(agentUnit, 'Service', 'ExecStart')).toBe('/usr/bin/vaultdist-agent --config /etc/vaultdist/agent.yaml');
    // `systemctl reload app` = SIGHUP to beam (handled by vaultdist_reload); the node refuses to start without credentials.
    expect(one(app, 'Service', 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one(app, 'Unit', 'AssertFileNotEmpty')).toBe(`${env.VAULTDIST_DIR}/bundle.pem`);
    expect(one(app, 'Unit', 'After').split(/\s+/)).toContain('vaultdist-agent.service');
    // Secrets are files, not unit lines (units are world-readable).
    expect(JSON.stringify(app)).not.toMatch(/RELEASE_COOKIE=/);
    expect(cfg.vault.auth).toMatchObject({ method: 'approle', roleIdFile: '/etc/vaultdist/role-id', secretIdFile: '/etc/vaultdist/secret-id', roleId: null, secretId: null });
  });
});

describe('examples/kubernetes', () => {
  const docs = YAML.parseAllDocuments(readFileSync(join(EX, 'kubernetes', 'app.yaml'), 'utf8'));
  type K = { kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const objs = docs.map((d) => d.toJS() as K);
  const byKind = (kind: string) => {
    const o = objs.filter((x) => x.kind === kind);
    if (o.length !== 1) throw new Error(`expected one ${kind}, got ${o.length}`);
    return o[0]!;
  };
  const sts = byKind('StatefulSet');
  const pod = sts.spec.template.spec;
  const app = pod.containers.find((c: { name: string }) => c.name === 'app');
  const agent = pod.initContainers.find((c: { name: string }) => c.name === 'vaultdist-agent');
  const render = pod.initContainers.find((c: { name: string }) => c.name === 'render-agent-config');
  const env = (c: { env: { name: string; value?: string }[] }) => Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

  /** The agent config as the render init container writes it for pod `app-0` (its own sed command, run here). */
  function renderedAgentConfig(podName: string, namespace: string): unknown {
    const t = testdir();
    try {
      const tmpl = join(t.dir, 'agent.yaml.tmpl');
      writeFileSync(tmpl, byKind('ConfigMap').data!['agent.yaml.tmpl']!);
      const script = String(render.command[2]).replaceAll('/etc/vaultdist/template/', `${t.dir}/`).replaceAll('/etc/vaultdist/agent/', `${t.dir}/`);
      execFileSync(render.command[0], [render.command[1], script], { env: { ...process.env, POD_NAME: podName, POD_NAMESPACE: namespace } });
      return YAML.parse(readFileSync(join(t.dir, 'agent.yaml'), 'utf8'));
    } finally {
      t.cleanup();
    }
  }

  it('parses; the pod shares the credential volume between the agent sidecar and the node; no epmd port', () => {
    expect(docs.every((d) => d.errors.length === 0)).toBe(true);
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Service', 'ServiceAccount', 'StatefulSet']);
    const svc = byKind('Service');
    expect(sts.spec.serviceName).toBe(svc.metadata.name);
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.selector).toEqual(sts.spec.template.metadata.labels);
    expect(pod.serviceAccountName).toBe(byKind('ServiceAccount').metadata.name);
    // Native sidecar gated on the agent's readiness (first credential set written).
    expect(agent.restartPolicy).toBe('Always');
    expect(agent.startupProbe.httpGet).toEqual({ path: '/readyz', port: 'agent-health' });
    expect(agent.ports).toContainEqual({ name: 'agent-health', containerPort: 9469 });
    expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual(['render-agent-config', 'vaultdist-agent']);
    // One memory-backed volume, mounted at the same path: the agent writes, the node only reads.
    const shared = pod.volumes.find((v: { name: string }) => v.name === 'vaultdist');
    expect(shared.emptyDir.medium).toBe('Memory');
    const mount = (c: { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }) => c.volumeMounts.find((m) => m.name === 'vaultdist');
    expect(mount(agent)?.mountPath).toBe(mount(app)?.mountPath);
    expect(mount(app)?.readOnly).toBe(true);
    expect(mount(agent)?.readOnly).toBeUndefined();
    // The distribution port is the only one the node exposes; nothing mentions epmd's 4369.
    expect(app.ports).toEqual([{ name: 'dist', containerPort: Number(env(app).VAULTDIST_DIST_PORT) }]);
    expect(svc.spec.ports).toEqual([{ name: 'dist', port: Number(env(app).VAULTDIST_DIST_PORT), targetPort: 'dist' }]);
    expect(readFileSync(join(EX, 'kubernetes', 'app.yaml'), 'utf8')).not.toMatch(/4369/);
  });

  it('the per-pod agent config matches the node container (name, dir, poller, port) and passes the agent validator', () => {
    const raw = renderedAgentConfig('app-0', sts.metadata.namespace!) as { vault: { auth: Record<string, string> } };
    expect(agentConfigErrors(raw)).toEqual([]);
    const withToken = { ...raw, vault: { ...raw.vault, auth: { method: 'token', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' } } };
    const r = validateConfig(withToken);
    expect(r.errors).toEqual([]);
    const node = r.config!.nodes[0]!;
    const e = env(app);
    // RELEASE_NODE with Kubernetes' $(VAR) expansion for pod app-0.
    const expanded = e.RELEASE_NODE!.replace('$(POD_NAME)', 'app-0').replace('$(POD_NAMESPACE)', sts.metadata.namespace!);
    expect(node.name).toBe(expanded);
    expect(node.name).toBe(`app@app-0.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local`);
    expect(node.dir).toBe(e.VAULTDIST_DIR);
    expect(node.verify.port).toBe(Number(e.VAULTDIST_DIST_PORT));
    expect(node.reload).toEqual({ strategy: 'poll', intervalMs: 1000 });
    // The node's poller watches exactly the agent's output files at the agent's interval.
    expect(e.ELIXIR_ERL_OPTIONS).toBe(`-vaultdist_poll ${node.dir}/bundle.pem,${node.dir}/ca.pem -vaultdist_poll_ms ${node.reload.strategy === 'poll' ? node.reload.intervalMs : 0}`);
    // Kubernetes auth with the pod's projected service-account token.
    expect(raw.vault.auth).toEqual({ method: 'kubernetes', mount: 'kubernetes', role: 'app', jwtFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
    // kubelet probes reach the health server: it must not bind loopback only.
    expect(r.config!.health).toMatchObject({ host: '0.0.0.0', port: 9469 });
  });

  it('vault-kubernetes-auth.sh configures a real OpenBao: the role binds the manifest\'s service account to the node policy', async () => {
    const v = testVault();
    const t = testdir();
    const authMount = `k8s-${suffix()}`;
    const vault = adminClient();
    try {
      // Outside a cluster OpenBao needs the API server's CA explicitly (any CA will do for configuration).
      const ca = await makeCa('fake kubernetes API CA');
      const caFile = join(t.dir, 'k8s-ca.pem');
      writeFileSync(caFile, ca.pem);
      execFileSync('sh', [join(EX, 'kubernetes', 'vault-kubernetes-auth.sh')], {
        env: {
          ...process.env,
          VAULT: join(ROOT, '.venv', 'bin', 'bao'),
          BAO_ADDR: v.addr,
          BAO_TOKEN: v.token,
          K8S_AUTH_MOUNT: authMount,
          K8S_CONFIG_ARGS: `kubernetes_ca_cert=@${caFile} disable_local_ca_jwt=true`,
        },
        stdio: 'pipe',
      });
      const role = (await vault.read<Record<string, unknown>>(`auth/${authMount}/role/app`)).data!;
      expect(role.bound_service_account_names).toEqual([pod.serviceAccountName]);
      expect(role.bound_service_account_namespaces).toEqual([sts.metadata.namespace]);
      // The policy `vaultdist init vault` creates by default (SDK nodePolicy: sign on the node role only).
      expect(role.token_policies).toEqual(['vaultdist-node']);
      const raw = renderedAgentConfig('app-1', sts.metadata.namespace!) as { vault: { auth: { role: string; mount: string } } };
      expect(raw.vault.auth.role).toBe('app');
      // Idempotent: a second run changes nothing and does not fail.
      execFileSync('sh', [join(EX, 'kubernetes', 'vault-kubernetes-auth.sh')], {
        env: { ...process.env, VAULT: join(ROOT, '.venv', 'bin', 'bao'), BAO_ADDR: v.addr, BAO_TOKEN: v.token, K8S_AUTH_MOUNT: authMount, K8S_CONFIG_ARGS: `kubernetes_ca_cert=@${caFile} disable_local_ca_jwt=true` },
        stdio: 'pipe',
      });
    } finally {
      await vault.delete(`sys/auth/${authMount}`).catch(() => {});
      t.cleanup();
    }
  }, 60_000);
});
