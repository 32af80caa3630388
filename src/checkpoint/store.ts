/**
 * Where checkpoints live. The machine and the runner only see this interface; the file store,
 * Postgres and Redis implement it, and test/stores/contract.ts checks every one the same way.
 *
 * Two views of one store:
 * - the run's own checkpoint (`lock`, `load`, `save`): what a run reads and writes as it goes;
 * - every run it holds, keyed by run id (`read`, `write`, `list`, `delete`, leases): what workers,
 *   `status` and `export` use. `write` is a compare-and-swap on the record's revision, and a write
 *   that names a lease token is refused unless that lease is still the live one (fencing).
 */
import type { Checkpoint } from './schema.js';

export interface CheckpointLock {
  release(): Promise<void>;
  /**
   * Records that a step's process group started (`running`) or is gone, so that whoever recovers
   * this lock after the holder died can end the steps the dead holder left running. `startTicks`:
   * when its leader started (process-group.ts), as read once the step started.
   */
  noteProcessGroup?(pgid: number, running: boolean, startTicks?: string | null): void;
  /**
   * Records which run the holder is running: whoever recovers the lock after the holder died also
   * ends the processes that carry that run's id, even one whose group the holder had no time to note.
   */
  noteRun?(runId: string): void;
  /**
   * Throws when the lock is no longer this run's (its file was removed or replaced, say by a step):
   * another run may have taken it, so this one must stop writing. Checked before each checkpoint write.
   */
  ensureHeld?(): void;
}

export interface SaveHints {
  background?: boolean;
  /**
   * Another file's appends that must be on disk before this checkpoint (the run's records log).
   * Given only to a store that `carriesAppends`; any other store's caller syncs that file first.
   */
  carry?: AppendCarrier;
}

/** What a store that `carriesAppends` is handed by the file whose appends it carries. */
export interface AppendCarrier {
  /** What was appended since the last time it reached the disk (null when nothing was). */
  pending(): { path: string; from: number; text: string; end: number } | null;
  /** The appends up to byte `end` are on disk (in the store's journal). */
  carried(end: number): void;
  /** Makes every append durable in the file itself (before the store stops carrying them). */
  sync(options: { background?: boolean }): Promise<void>;
}

/** A stored checkpoint and its revision (1 for the first write, +1 for each write after). */
export interface StoredCheckpoint {
  runId: string;
  revision: number;
  checkpoint: Checkpoint;
}

export interface StoredRunEntry {
  runId: string;
  revision: number;
  /** The checkpoint's terminal state, or null while the run can go on. */
  terminalState: string | null;
  updatedAtUnixSecs: number;
}

/** Who may write a run's checkpoint, until when. `token` grows with every acquisition of that run's lease. */
export interface Lease {
  runId: string;
  owner: string;
  token: number;
  expiresAtMs: number;
}

export interface LeaseHolder {
  owner: string;
  token: number;
  expiresInMs: number;
}

export interface WriteOptions {
  /** The revision this write replaces: 0 when there must be no checkpoint yet. */
  revision: number;
  /** The lease this write is fenced by. Without one, the write is refused while anyone holds a live lease. */
  leaseToken?: number | undefined;
}

export interface CheckpointStore {
  /** Names the checkpoint in messages and reports: a path, a URL (never with its password). */
  readonly location: string;
  /**
   * Takes the run's single-writer lock, or throws an OrchestratorError naming the lock and its
   * holder. A lock whose holder died is recovered, and a stage it left running is ended
   * (SIGTERM, then SIGKILL after `killGraceMs`).
   */
  lock(options?: { killGraceMs?: number }): Promise<CheckpointLock>;
  /** The run's stored checkpoint, null when there is none; throws an OrchestratorError when it is unreadable. */
  load(): Promise<Checkpoint | null>;
  /**
   * Replaces the run's checkpoint durably and atomically. The document is the caller's to keep changing: copy what you keep.
   * `background`: other steps are running, so a store may wait for its disk off the main thread (a hint).
   */
  save(checkpoint: Checkpoint, hints?: SaveHints): Promise<void>;
  /**
   * True when `save` takes `hints.carry`: the store then makes another file's appends durable in the
   * same sync as the checkpoint, and puts them back into that file after a power loss (on `load`).
   */
  readonly carriesAppends?: boolean;
  /**
   * With `carriesAppends`, for a run resuming under this store's lock, after `load`: puts back into
   * the file at `path` what the journal carried for it and the file lost (a power loss), and makes
   * the file durable. Returns why it left the file alone, or null.
   */
  restoreAppends?(path: string): string | null;

  /** Run `runId`'s checkpoint, null when there is none; a tampered or torn one throws CheckpointIntegrityError and is left as it is. */
  read(runId: string): Promise<StoredCheckpoint | null>;
  /** Compare-and-swap: returns the new revision, or throws CheckpointConflictError (left as it was). */
  write(runId: string, checkpoint: Checkpoint, options: WriteOptions): Promise<number>;
  /** Every run with a checkpoint, by run id. */
  list(): Promise<StoredRunEntry[]>;
  /** Removes a run's checkpoint (only at `revision` when given); false when there was none (or another revision). */
  delete(runId: string, options?: { revision?: number }): Promise<boolean>;
  /**
   * A new lease, or null while someone else holds a live one. `takeOver`: taken even from a live
   * holder (one known dead, or one a queue's lock says has lost the run); its token still grows, so
   * that holder's writes are refused from then on.
   */
  acquireLease(runId: string, owner: string, ttlMs: number, options?: { takeOver?: boolean }): Promise<Lease | null>;
  /** Who holds the run's live lease, and for how much longer; null when nobody does. */
  leaseHolder(runId: string): Promise<LeaseHolder | null>;
  /** Extends a live lease; throws LeaseLostError once it expired or was taken. */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease>;
  /** Gives a lease back; nothing happens when it is no longer the live one. */
  releaseLease(lease: Lease): Promise<void>;
  /** Closes connections; the store cannot be used after. */
  close(): Promise<void>;
}

/** What a single run needs of a store: its own checkpoint, locked. Library users may pass just this. */
export type RunCheckpointStore = Pick<CheckpointStore, 'location' | 'lock' | 'load' | 'save' | 'carriesAppends' | 'restoreAppends'>;
