/**
 * The secrets check of the CLI test helpers (packages/cli/test/helpers.ts): every command the tests
 * spawn has its stdout/stderr checked; a PRIVATE KEY block, the run's root token or a Vault-token-shaped
 * string fails the call with the command and what was found, unless the call opts out for a printed token.
 */
import { runCommand, secretsIn } from '../test/helpers.js';

const node = (code: string, o: { allowPrintedToken?: string } = {}) => runCommand(process.execPath, ['-e', code], { env: { PATH: process.env.PATH ?? '' }, ...o });
const TOKEN = `hvs.${'A1b2C3d4'.repeat(4)}`;

describe('runCommand secrets check', () => {
  it('passes clean output through', async () => {
    await expect(node('console.log("serial 3a:5f, token accessor abc, s.pem")')).resolves.toMatchObject({ code: 0, stdout: 'serial 3a:5f, token accessor abc, s.pem\n' });
  });

  it.each([
    ['a PRIVATE KEY block on stdout', 'console.log("-----BEGIN EC PRIVATE KEY-----")', /stdout: a PRIVATE KEY block/],
    ['a Vault token on stderr', `console.error("token ${TOKEN}")`, /stderr: a Vault token \(hvs\.A1…\)/],
    ['an OpenBao service token', `console.log("s.${'x'.repeat(24)}")`, /stdout: a Vault token/],
  ])('rejects %s, naming the command', async (_what, code, found) => {
    const e = (await node(code).catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toMatch(found);
    expect(e.message).toContain(`${process.execPath} -e`);
  });

  it("rejects the run's root token", () => {
    expect(secretsIn('x root-token-value-123 y', 'root-token-value-123').map((h) => h.kind)).toEqual(['root-token']);
  });

  it('allowPrintedToken permits a printed token only, never a key', async () => {
    await expect(node(`console.log("${TOKEN}")`, { allowPrintedToken: 'init vault prints the wrapping token once' })).resolves.toMatchObject({ code: 0 });
    await expect(node(`console.log("${TOKEN} -----BEGIN PRIVATE KEY-----")`, { allowPrintedToken: 'init vault prints the wrapping token once' })).rejects.toThrow(/a PRIVATE KEY block/);
  });
});
