/**
 * One run's checkpoint in a shared store (Postgres, Redis): the `lock`, `load`, `save` a run uses,
 * made of the store's keyed verbs. The lock is a lease renewed by heartbeat; every save is a
 * compare-and-swap on the revision last seen, fenced by the lease's token, so a holder that lost
 * its lease (paused, partitioned) cannot overwrite whoever took the run over.
 */
import { hostname } from 'node:os';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import type { Checkpoint } from './schema.js';
import type { CheckpointLock, CheckpointStore, Lease, RunCheckpointStore } from './store.js';

export interface RunViewOptions {
  /** A lease already held (a worker's claim): `lock()` adopts it, and the caller renews and releases it. */
  lease?: Lease;
  leaseMs?: number;
  /** Told when the heartbeat finds the lease lost. */
  onLeaseLost?: (error: unknown) => void;
}

export class RunView implements RunCheckpointStore {
  private revision = 0;
  private lease: Lease | null;

  constructor(
    private readonly store: CheckpointStore,
    readonly runId: string,
    private readonly options: RunViewOptions = {},
  ) {
    this.lease = options.lease ?? null;
  }

  get location(): string {
    return `${this.store.location}#${this.runId}`;
  }

  async lock(): Promise<CheckpointLock> {
    if (this.options.lease) return { release: async () => {} };
    const ttl = this.options.leaseMs ?? 15_000;
    const lease = await this.store.acquireLease(this.runId, `${hostname()}:${process.pid}`, ttl);
    if (lease === null) {
      throw new OrchestratorError(`run ${this.runId} at ${this.store.location} is leased by another process; wait for it to end or for its lease to expire`, EXIT.failed);
    }
    this.lease = lease;
    const timer = setInterval(() => {
      this.store.renewLease(this.lease!, ttl).then(
        (renewed) => (this.lease = renewed),
        (error: unknown) => this.options.onLeaseLost?.(error),
      );
    }, Math.max(50, Math.floor(ttl / 3)));
    timer.unref();
    return {
      release: async () => {
        clearInterval(timer);
        await this.store.releaseLease(this.lease!);
      },
    };
  }

  async load(): Promise<Checkpoint | null> {
    const stored = await this.store.read(this.runId);
    this.revision = stored?.revision ?? 0;
    return stored?.checkpoint ?? null;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    this.revision = await this.store.write(this.runId, checkpoint, { revision: this.revision, leaseToken: this.lease?.token });
  }
}
