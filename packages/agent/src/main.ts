/**
 * Process shell of the agent (house style §9, §11): argv, config loading, logger, signals, exit codes.
 * `main(argv)` returns the exit code; only `bin.js` (or the CLI wrapping this) calls `process.exit`.
 *
 * Signals: SIGTERM/SIGINT stop gracefully (exit 0); a second signal, or `shutdownTimeoutMs` passing,
 * exits 1 through `exit`. SIGHUP re-reads the config: a valid one whose start-up checks pass is swapped
 * in; an invalid one, or one that fails them (an unreadable CA file, issue #14), is logged and counted
 * (`vaultdist_agent_config_reloads_total{result="rejected"|"failed"}`) and the old config keeps running
 * (consul-template would exit instead; we keep running on purpose).
 *
 * Parent death: started through `npx vaultdist agent` (npm exec), a SIGTERM to npx killed npx and left
 * the agent running under PID 1 (issue #14). When npm started it (`npm_command=exec`), or with
 * `--exit-with-parent`, the agent stops gracefully once its parent process is gone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import type { AgentConfig } from './config/schema.js';
import type { LoadedConfig } from './config/load.js';
import type { ConfigFlags, Env } from './config/resolve.js';
import { createAgentCore, type Agent, type CreateAgentOptions } from './agent-core.js';
import { WorkerProcess } from './shell/worker-process.js';
import { AgentError, EXIT_CODES, classifyError, exitCodeFor } from './errors.js';
import { silentLogger, systemClock, type Logger } from './ports.js';
import { createLogger } from './shell/logger.js';
import { createMetrics } from './shell/metrics.js';

export const USAGE = `Usage: vaultdist-agent [options]

Keeps this host's BEAM nodes on fresh Vault-issued distribution certificates.

Options:
  -c, --config FILE        config file (YAML or JSON); env VAULTDIST_AGENT_CONFIG
      --once               run one iteration for every node and exit (renews only what is due,
                           refreshes every CRL directory)
      --force              with --once: renew every node now
      --check              validate the config with the same checks as a start (files readable,
                           output directories writable, Vault clients built) and exit (0 valid, 10 invalid)
      --log-level LEVEL    trace|debug|info|warn|error|fatal|silent; env VAULTDIST_LOG_LEVEL
      --health-listen H:P  health/metrics listener; env VAULTDIST_HEALTH_LISTEN
      --no-health          do not serve /healthz and /metrics
      --vault-addr URL     Vault address; env BAO_ADDR / VAULT_ADDR
      --print-config       print the resolved config as YAML (secrets redacted) and exit
      --print-schema       print the config's JSON Schema and exit
      --describe-config    print every config key (path, type, default, description)
      --exit-with-parent   stop when the parent process exits (on by default under npx / npm exec)
  -h, --help               this help
  -V, --version            version

Exit codes: 0 ok, 1 internal, 2 usage, 10 config invalid, 11 Vault unreachable, 12 auth failed,
13 issue/sign failed or answer rejected, 14 output write failed, 15 reload/verify failed.
`;

export interface ParsedArgs {
  config: string | undefined;
  once: boolean;
  force: boolean;
  check: boolean;
  printConfig: boolean;
  printSchema: boolean;
  describeConfig: boolean;
  exitWithParent: boolean;
  help: boolean;
  version: boolean;
  flags: ConfigFlags;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Pure argv parser (table-tested). */
export function parseArgs(argv: string[]): ParsedArgs {
  const a: ParsedArgs = { config: undefined, once: false, force: false, check: false, printConfig: false, printSchema: false, describeConfig: false, exitWithParent: false, help: false, version: false, flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const name = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string => {
      if (eq > 0) return raw.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith('-')) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '-c':
      case '--config':
        a.config = value();
        break;
      case '--once':
        a.once = true;
        break;
      case '--force':
        a.force = true;
        break;
      case '--check':
        a.check = true;
        break;
      case '--log-level':
        a.flags.logLevel = value();
        break;
      case '--health-listen':
        a.flags.healthListen = value();
        break;
      case '--no-health':
        a.flags.noHealth = true;
        break;
      case '--vault-addr':
        a.flags.vaultAddr = value();
        break;
      case '--print-config':
        a.printConfig = true;
        break;
      case '--print-schema':
        a.printSchema = true;
        break;
      case '--describe-config':
        a.describeConfig = true;
        break;
      case '--exit-with-parent':
        a.exitWithParent = true;
        break;
      case '-h':
      case '--help':
        a.help = true;
        break;
      case '-V':
      case '--version':
        a.version = true;
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(raw)}`);
    }
  }
  if (a.force && !a.once) throw new UsageError('--force only works with --once');
  return a;
}

export interface MainOptions {
  env?: Env | undefined;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Log destination (default: stdout). */
  logDestination?: DestinationStream | undefined;
  /** Forced exit (shutdown deadline, second signal). @default process.exit */
  exit?: (code: number) => void;
  /** Process to install signal handlers on. @default process */
  signals?: Pick<NodeJS.Process, 'on' | 'off'> | undefined;
  /** The parent's pid now (parent-death watch). @default () => process.ppid */
  parentPid?: (() => number) | undefined;
  /** How often the parent-death watch looks. @default 1000 */
  parentPollMs?: number | undefined;
  agent?: CreateAgentOptions | undefined;
  /** false: the daemon runs its work in this process, whatever `worker.mode` says (tests). @default true */
  workProcess?: boolean | undefined;
}

/**
 * `worker.mode` resolved: `auto` runs the work in a work process unless a loop calls Vault more often
 * than once a minute (the registry's member refresh, a CRL refresh interval under 60 s): a fork costs
 * ~0.4 s of CPU (bench/footprint.ts, the note of issue #16), so there one process is the cheaper one.
 */
export function workerMode(c: AgentConfig): 'process' | 'inline' {
  if (c.worker.mode !== 'auto') return c.worker.mode;
  const frequent = (c.registry.enabled && c.nodes.some((n) => n.registry.enabled)) || c.nodes.some((n) => n.crl.enabled && n.crl.refreshIntervalSeconds < 60);
  return frequent ? 'inline' : 'process';
}

/**
 * The work process's entry (dist/worker.js next to this module), or undefined when it cannot run:
 * disabled by the caller, or running from TypeScript sources (tests), where a fork could not load it.
 */
function workProcessEntry(o: MainOptions): string | undefined {
  if (o.workProcess === false) return undefined;
  const entry = fileURLToPath(new URL('./worker.js', import.meta.url));
  return existsSync(entry) ? entry : undefined;
}

/** The package's version, read from its package.json (dist/main.js and src/main.ts both sit one level below it). */
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The parent's pid now. Note: Node's `process.ppid` is read once at start-up and never changes, so
 * Linux's /proc/self/stat is read instead (elsewhere: whether the first parent still exists).
 */
const startParent = process.ppid; // the parent at process start, even when it died before main() ran
function currentParentPid(): number {
  try {
    return Number(/\) \S+ (\d+)/.exec(readFileSync('/proc/self/stat', 'utf8'))![1]);
  } catch {
    try {
      process.kill(startParent, 0);
      return startParent;
    } catch {
      return 1;
    }
  }
}

export async function main(argv: string[], o: MainOptions = {}): Promise<number> {
  const env = o.env ?? process.env;
  const out = o.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = o.stderr ?? ((t: string) => void process.stderr.write(t));
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    err(`vaultdist-agent: ${(e as Error).message}\n\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  if (args.help) return out(USAGE), EXIT_CODES.ok;
  if (args.version) return out(`${VERSION}\n`), EXIT_CODES.ok;
  if (args.printSchema) return out(`${JSON.stringify((await import('./config/schema.js')).configJsonSchema(), null, 2)}\n`), EXIT_CODES.ok;
  if (args.describeConfig) {
    for (const d of (await import('./config/schema.js')).describeConfig()) out(`${d.path}  (${d.type}; default ${JSON.stringify(d.default)})\n    ${d.description}\n    e.g. ${JSON.stringify(d.example)}\n`);
    return EXIT_CODES.ok;
  }

  // The daemon keeps the config parser (yaml, valibot) and every Vault/X.509 module out of its own
  // process: a work process loads the config and does the work (shell/worker-process.ts, issue #16).
  const daemon = !args.once && !args.check && !args.printConfig;
  const workEntry = daemon ? workProcessEntry(o) : undefined;
  const configLoader = workEntry ? new WorkerProcess({ entry: workEntry, config: undefined, logger: silentLogger, clock: systemClock, idleExitMs: 0, logins: new Map() }) : undefined;
  const load = async (): Promise<LoadedConfig> =>
    configLoader
      ? configLoader.run<LoadedConfig>({ op: 'config.load', path: args.config, env: { ...env }, flags: args.flags })
      : (await import('./config/load.js')).loadConfig({ path: args.config, env, flags: args.flags });
  let loaded: LoadedConfig;
  try {
    loaded = await load();
  } catch (e) {
    // only the work process itself can fail here (it could not start, or died): the config was not read
    err(`vaultdist-agent: ${(e as Error).message}\n`);
    return EXIT_CODES.internal;
  }
  const level = (loaded.config?.log.level ?? args.flags.logLevel ?? env.VAULTDIST_LOG_LEVEL ?? 'info') as AgentConfig['log']['level'];
  const pinoLogger = createLogger({ level: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level) ? level : 'info', destination: o.logDestination });
  const logger = pinoLogger as unknown as Logger;
  const log = pinoLogger.child({ component: 'main' });
  const finish = (code: number) => {
    pinoLogger.flush();
    return code;
  };
  for (const w of loaded.warnings) log.warn({ warning: w }, 'config warning');
  if (!loaded.config) {
    log.error({ path: loaded.path, errors: loaded.errors }, 'config invalid');
    err(`vaultdist-agent: invalid configuration${loaded.path ? ` (${loaded.path})` : ''}:\n${loaded.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return finish(EXIT_CODES.config);
  }
  if (args.check) {
    // the same checks as a real start (issue #14), creating nothing
    let problems: Error[];
    try {
      const { createAgent } = await import('./agent.js');
      problems = await createAgent(loaded.config, { ...o.agent, ports: { logger, ...o.agent?.ports } }).preflight(loaded.config, 'check');
    } catch (e) {
      problems = [e as Error]; // a Vault client that cannot be built (an unreadable vault.caCert)
    }
    if (problems.length) {
      log.error({ path: loaded.path, errors: problems.map((p) => p.message) }, 'config invalid');
      err(`vaultdist-agent: invalid configuration${loaded.path ? ` (${loaded.path})` : ''}:\n${problems.map((p) => `  ${p.message}`).join('\n')}\n`);
      return finish(EXIT_CODES.config);
    }
    out(`config ok: ${loaded.config.nodes.length} node(s)\n`);
    return finish(EXIT_CODES.ok);
  }
  if (args.printConfig) {
    // secrets (`secret: true` in the schema: tokens, secret_ids, cookies) never reach the terminal,
    // including a token that came from BAO_TOKEN/VAULT_TOKEN
    const { renderAgentConfig, redactConfigSecrets } = await import('./config/schema.js');
    out(renderAgentConfig(redactConfigSecrets(loaded.config), { header: ['resolved by vaultdist-agent --print-config; secret values are shown as [REDACTED]'] }));
    return finish(EXIT_CODES.ok);
  }

  let agent: Agent;
  try {
    const options: CreateAgentOptions = { ...o.agent, ports: { logger, ...o.agent?.ports }, metrics: o.agent?.metrics ?? createMetrics({ defaultMetrics: !args.once }) };
    // the supervisor never loads the in-process agent (agent.js and the Vault client behind it)
    agent =
      workEntry && workerMode(loaded.config) === 'process'
        ? createAgentCore(loaded.config, { ...options, workProcess: { entry: workEntry } })
        : (await import('./agent.js')).createAgent(loaded.config, options);
  } catch (e) {
    // a Vault client that cannot be built (an unreadable vault.caCert): a config error naming the key
    const kind = classifyError(e);
    log.error({ path: loaded.path, err: (e as Error).message, kind }, 'config invalid');
    err(`vaultdist-agent: invalid configuration${loaded.path ? ` (${loaded.path})` : ''}:\n  ${(e as Error).message}\n`);
    return finish(exitCodeFor(kind));
  }

  if (args.once) {
    try {
      const r = await agent.runOnce({ force: args.force });
      for (const n of r.nodes) {
        if (n.result.ok) log.info({ node: n.node, action: n.result.action, serial: n.result.serial }, 'once: done');
        else log.error({ node: n.node, kind: n.result.kind, err: n.result.message }, 'once: failed');
        if (n.crl?.ok) log.info({ node: n.node, changed: n.crl.changed, files: n.crl.files, revoked: n.crl.revoked, nextUpdate: n.crl.nextUpdate?.toISOString() }, 'once: CRL refreshed');
        else if (n.crl) log.error({ node: n.node, kind: n.crl.kind, err: n.crl.message }, 'once: CRL refresh failed');
      }
      return finish(r.exitCode);
    } catch (e) {
      log.error({ err: (e as Error).message, kind: classifyError(e) }, 'once: failed');
      return finish(exitCodeFor(classifyError(e)));
    }
  }

  // daemon
  const sig = o.signals ?? process;
  const exit = o.exit ?? ((c: number) => process.exit(c));
  const controller = new AbortController();
  let stopping = false;
  let deadline: NodeJS.Timeout | undefined;
  const onStop = (name: string) => {
    if (stopping) {
      log.error({ signal: name }, 'second signal; exiting now');
      pinoLogger.flush();
      exit(EXIT_CODES.internal);
      return;
    }
    stopping = true;
    log.info({ signal: name, shutdownTimeoutMs: agent.config().shutdownTimeoutMs }, 'stopping');
    deadline = setTimeout(() => {
      log.error({ shutdownTimeoutMs: agent.config().shutdownTimeoutMs }, 'shutdown deadline passed; exiting');
      pinoLogger.flush();
      exit(EXIT_CODES.internal);
    }, agent.config().shutdownTimeoutMs);
    deadline.unref();
    controller.abort(new Error(`stopped by ${name}`));
  };
  const onTerm = () => onStop('SIGTERM');
  const onInt = () => onStop('SIGINT');
  let reloading: Promise<void> = Promise.resolve();
  const onHup = () => {
    reloading = reloading
      .then(async () => {
        const next = await load();
        if (!next.config) {
          agent.metrics.configReloads.inc({ result: 'rejected' });
          log.error({ path: next.path, errors: next.errors }, 'reloaded config invalid; keeping the old one');
          return;
        }
        for (const w of next.warnings) log.warn({ warning: w }, 'config warning');
        try {
          await agent.updateConfig(next.config);
        } catch (e) {
          // nothing was swapped: the old config keeps running
          agent.metrics.configReloads.inc({ result: 'failed' });
          log.error({ path: next.path, err: (e as Error).message, kind: classifyError(e) }, 'reloaded config failed its start-up checks; keeping the old one');
          return;
        }
        agent.metrics.configReloads.inc({ result: 'applied' });
        log.info({ path: next.path }, 'config reloaded');
      })
      .catch((e: unknown) => {
        // never an unhandled rejection (issue #14: it crashed the agent)
        agent.metrics.configReloads.inc({ result: 'failed' });
        log.error({ err: (e as Error).message }, 'config reload failed; keeping the old one');
      });
  };
  // parent-death watch (see the file comment)
  const parentPid = o.parentPid ?? currentParentPid;
  const watchParent = args.exitWithParent || env.npm_command === 'exec';
  const firstParent = o.parentPid ? o.parentPid() : startParent;
  const parentTimer = watchParent
    ? setInterval(() => {
        if (parentPid() !== firstParent && !stopping) {
          log.warn({ parentPid: firstParent }, 'parent process exited; stopping');
          onStop('parent exit');
        }
      }, o.parentPollMs ?? 1000)
    : undefined;
  parentTimer?.unref();
  sig.on('SIGTERM', onTerm);
  sig.on('SIGINT', onInt);
  sig.on('SIGHUP', onHup);
  try {
    log.info({ version: VERSION, nodes: loaded.config.nodes.map((n) => ({ node: n.name, strategy: n.reload.strategy })), config: loaded.path }, 'agent starting');
    await agent.run(controller.signal);
    await reloading;
    log.info({}, 'stopped');
    return finish(EXIT_CODES.ok);
  } catch (e) {
    const kind = classifyError(e);
    log.fatal({ err: (e as Error).message, kind, node: e instanceof AgentError ? e.node : undefined }, 'agent failed');
    return finish(exitCodeFor(kind));
  } finally {
    if (deadline) clearTimeout(deadline);
    if (parentTimer) clearInterval(parentTimer);
    sig.off('SIGTERM', onTerm);
    sig.off('SIGINT', onInt);
    sig.off('SIGHUP', onHup);
  }
}
