/**
 * The command table: every command answers --help with a runnable example, usage errors exit 2 and
 * name the flag, and nothing prompts. In-process (runCli never exits the process).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo } from './index.js';

function io(env: Record<string, string> = {}): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s), isTTY: false },
    stdinIsTTY: false,
    env,
    cwd: '/tmp',
    out: () => out,
    err: () => err,
  };
}

describe('vaultdist command table', () => {
  it.each([['init', 'vault'], ['init', 'node'], ['issue'], ['render'], ['status'], ['doctor']])('%s %s --help has runnable examples', async (...cmd) => {
    const i = io();
    expect(await runCli([...cmd.filter(Boolean), '--help'], i)).toBe(0);
    const text = i.out();
    expect(text).toMatch(/^Usage: vaultdist /);
    const examples = text.split('Examples:\n')[1]!.split('\n').filter((l) => l.startsWith('  $ vaultdist') || l.includes(' vaultdist '));
    expect(examples.length).toBeGreaterThanOrEqual(1);
  });

  it('top-level help lists the exit codes; no colour when not a TTY', async () => {
    const i = io();
    expect(await runCli(['--help'], i)).toBe(0);
    for (const code of ['0', '1', '2', '10', '11', '12', '13', '14', '20']) expect(i.out()).toMatch(new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
    expect(i.out()).not.toContain('\x1b[');
  });

  it.each([
    [['init', 'node', '--dir', '/tmp/x'], /required option '--name <name@host>'/],
    [['init', 'node', '--name', 'nohost', '--dir', '/tmp/x'], /invalid Erlang node name "nohost"/],
    [['init', 'vault', '--key-type', 'dsa'], /--key-type.*dsa/],
    [['init', 'node', '--name', 'a@127.0.0.1', '--dir', '/tmp/x', '--dist-port', '70000'], /--dist-port: must be <= 65535, got 70000/],
    [['init', 'node', '--name', 'a@127.0.0.1', '--dir', '/tmp/x', '--dist-port', 'x'], /--dist-port needs a port number/],
    [['issue', '--dir', '/tmp/x', '--ttl', '1 day'], /--ttl: must be a Vault duration/],
    [['init', 'vault', '--mount', '../sys'], /--mount: must be a Vault mount path, got "..\/sys"/],
    [['doctor', '--margin', 'soon', '--dir', '/nonexistent'], /--margin: "soon" is not a Vault duration/],
    [['nope'], /unknown command 'nope'/],
  ])('usage error %j exits 2 and says why', async (argv, message) => {
    const i = io();
    expect(await runCli(argv, i)).toBe(2);
    expect(i.err()).toMatch(message);
  });

  it('a vaultdist.json the settings schema refuses is exit 10 naming the file and the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultdist-settings-'));
    try {
      writeFileSync(join(dir, 'vaultdist.json'), JSON.stringify({ version: 1, node: 'app@127.0.0.1', vaultAddr: 'http://127.0.0.1:9', mount: 'pki_dist', role: 'vaultdist-app', keyType: 'ec-p256', ttl: '', distPort: 70000, tlsVersions: ['tlsv1.3'], certAuthMount: 'cert', certAuthRole: 'vaultdist-app', healthPort: 9464 }));
      const i = io({ VAULT_ADDR: 'http://127.0.0.1:9', VAULT_TOKEN: 't' });
      expect(await runCli(['issue', '--dir', dir], i)).toBe(10);
      expect(i.err()).toContain(`${join(dir, 'vaultdist.json')}: distPort: must be <= 65535, got 70000`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreachable Vault with exit 11, naming the address', async () => {
    const i = io({ VAULT_ADDR: 'http://127.0.0.1:9', VAULT_TOKEN: 't' });
    expect(await runCli(['init', 'vault', '--allow-any-host', '--dry-run'], i)).toBe(11);
    expect(i.err()).toContain('http://127.0.0.1:9');
    expect(i.err()).toMatch(/fix: .*VAULT_ADDR/);
  });
});
