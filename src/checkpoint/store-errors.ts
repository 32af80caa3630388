/**
 * What a store refuses, as errors a user (or a worker) can act on.
 */
import { EXIT, OrchestratorError } from '../exit-codes.js';

/** A stored checkpoint whose digest does not match its content, or that is cut short: never overwritten. */
export class CheckpointIntegrityError extends OrchestratorError {
  constructor(location: string, problem: string) {
    super(`cannot read checkpoint ${location}: ${problem}; it was left as it is`, EXIT.failed);
    this.name = 'CheckpointIntegrityError';
  }
}

/** A compare-and-swap or fenced write that lost: another writer got there first. Nothing was written. */
export class CheckpointConflictError extends OrchestratorError {
  constructor(
    location: string,
    readonly reason: 'revision' | 'fenced',
    detail: string,
  ) {
    super(`checkpoint write to ${location} refused: ${detail}`, EXIT.failed);
    this.name = 'CheckpointConflictError';
  }
}

export class LeaseLostError extends OrchestratorError {
  constructor(location: string, runId: string, token: number) {
    super(`lease of run ${runId} (token ${token}) at ${location} is lost: it expired or another worker took it`, EXIT.failed);
    this.name = 'LeaseLostError';
  }
}

/** Run ids become file names and keys: keep them to one safe path segment. */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function checkRunId(runId: string): void {
  if (!RUN_ID.test(runId)) {
    throw new OrchestratorError(`run id ${JSON.stringify(runId)}: expected 1-128 letters, digits, "_", "." or "-"`, EXIT.usage);
  }
}
