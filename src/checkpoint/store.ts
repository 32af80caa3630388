/**
 * Where a run's checkpoint lives. The machine and the runner only see this interface, so other
 * stores (Postgres, Redis) can be added without touching either.
 */
import type { Checkpoint } from './schema.js';

export interface CheckpointLock {
  release(): Promise<void>;
  /**
   * Records that a step's process group started (`running`) or is gone, so that whoever recovers
   * this lock after the holder died can end the steps the dead holder left running.
   */
  noteProcessGroup?(pgid: number, running: boolean): void;
}

export interface CheckpointStore {
  /** Names the checkpoint in messages and reports: a path, a URL. */
  readonly location: string;
  /**
   * Takes the run's single-writer lock, or throws an OrchestratorError naming the lock and its
   * holder. A lock whose holder died is recovered, and a stage it left running is ended
   * (SIGTERM, then SIGKILL after `killGraceMs`).
   */
  lock(options?: { killGraceMs?: number }): Promise<CheckpointLock>;
  /** The stored checkpoint, null when there is none; throws an OrchestratorError when it is unreadable. */
  load(): Promise<Checkpoint | null>;
  /** Replaces the stored checkpoint durably and atomically. The document is the caller's to keep changing: copy what you keep. */
  save(checkpoint: Checkpoint): Promise<void>;
}
