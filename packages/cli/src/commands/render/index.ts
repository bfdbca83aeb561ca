/** `vaultdist render FILE`: prints a generated file to stdout (from --dir's settings or flags). */
import { isAbsolute, resolve } from 'node:path';
import { EXIT, ExitError } from '../../errors.js';
import { renderAll, requireSettings } from '../../node-dir.js';
import type { Output } from '../../output.js';
import { renderNodePolicy } from '../init-vault/index.js';

export interface RenderOptions {
  file: string | undefined;
  dir: string | undefined;
  mount: string;
  role: string;
  list: boolean;
}

const STANDALONE = ['policy.hcl'];

const MOUNT = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export async function render(o: RenderOptions, out: Output): Promise<number> {
  if (o.file === 'policy.hcl') {
    // Validated before any text is built; the generator quotes every path through aclPolicyPath (#15).
    if (!MOUNT.test(o.mount) || o.mount.split('/').some((seg) => seg === '.' || seg === '..')) {
      throw new ExitError(EXIT.USAGE, `--mount ${JSON.stringify(o.mount)}: a Vault mount path of letters, digits, "_", "-" and "." (segments separated by "/", no "." or ".." segment)`);
    }
    let text: string;
    try {
      text = renderNodePolicy(o.mount, o.role);
    } catch (e) {
      // usage error naming the flag, whatever the generator refused (node name, policy path)
      throw new ExitError(EXIT.USAGE, `--role ${JSON.stringify(o.role)}: ${(e as Error).message}`, { cause: e });
    }
    out.io.stdout.write(text);
    return EXIT.OK;
  }
  if (!o.dir) throw new ExitError(EXIT.USAGE, '--dir DIR is required (the node directory `vaultdist init node` wrote)');
  const dir = isAbsolute(o.dir) ? o.dir : resolve(out.io.cwd, o.dir);
  const files = renderAll(await requireSettings(dir));
  if (o.list || !o.file) {
    for (const [k, v] of Object.entries(files)) out.io.stdout.write(`${k}\t${v.path}\n`);
    for (const k of STANDALONE) out.io.stdout.write(`${k}\t(stdout only)\n`);
    return EXIT.OK;
  }
  const f = files[o.file];
  if (!f) throw new ExitError(EXIT.USAGE, `unknown file ${JSON.stringify(o.file)}; one of: ${[...Object.keys(files), ...STANDALONE].join(', ')}`);
  out.io.stdout.write(f.text);
  return EXIT.OK;
}
