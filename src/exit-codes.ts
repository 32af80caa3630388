import type { TerminalState } from '../machines/stages.js';

/** The exit-code contract, shared with the V0 orchestrator. */
export const EXIT = {
  done: 0,
  failed: 1,
  usage: 2,
  blocked: 3,
  timeout: 124,
  sigint: 130,
  sigterm: 143,
} as const;

export function exitCodeFor(terminal: TerminalState | null): number {
  if (terminal === null) return EXIT.failed;
  return EXIT[terminal];
}

/**
 * An error the user can act on: one line naming the flag, field or file, and the exit code
 * from the contract. Anything else that escapes is a bug.
 */
export class OrchestratorError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'OrchestratorError';
  }
}
