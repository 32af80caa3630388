/**
 * What the stores that hold many runs (Postgres, Redis) share: they are addressed by run id, so the
 * one-run verbs refuse until a run is named (RunView does that).
 */
import { EXIT, OrchestratorError } from '../exit-codes.js';
import type { Checkpoint } from './schema.js';
import type { CheckpointLock } from './store.js';

export abstract class KeyedCheckpointStore {
  abstract readonly location: string;

  lock(): Promise<CheckpointLock> {
    return Promise.reject(this.noRun());
  }

  load(): Promise<Checkpoint | null> {
    return Promise.reject(this.noRun());
  }

  save(): Promise<void> {
    return Promise.reject(this.noRun());
  }

  private noRun(): OrchestratorError {
    return new OrchestratorError(`store ${this.location} holds many runs: name one (RunView) before locking, loading or saving`, EXIT.usage);
  }
}
