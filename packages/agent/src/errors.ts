/**
 * Agent errors (house style §3, §11). The exit-code table and the classification of SDK errors are the
 * SDK's (`@vaultdist/sdk/exit-codes`: the CLI uses the same), so the agent and the CLI exit alike.
 */
import { EXIT_CODES, ExitError, classifyFailure, exitCodeFor } from '@vaultdist/sdk/exit-codes';
import type { FailureKind } from './core/state.js';

/** The exit-code table and the kind → code mapping are the SDK's (`@vaultdist/sdk/exit-codes`), shared with the CLI. */
export { EXIT_CODES, exitCodeFor };

export class AgentError extends Error {
  override name = 'AgentError';
  readonly kind: FailureKind;
  readonly node: string | undefined;
  constructor(kind: FailureKind, message: string, o: { node?: string | undefined; cause?: unknown } = {}) {
    super(message, o.cause !== undefined ? { cause: o.cause } : undefined);
    this.kind = kind;
    this.node = o.node;
  }
}

/** Thrown by command-style entry points; `main` maps it to `process.exitCode` (the SDK's, shared with the CLI). */
export { ExitError };

/** The failure kind of an error: an `AgentError`'s own kind, else the SDK's classification (`classifyFailure`). */
export function classifyError(e: unknown): FailureKind {
  if (e instanceof AgentError) return e.kind;
  return classifyFailure(e);
}
