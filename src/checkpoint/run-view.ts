/**
 * One run's checkpoint in a shared store (Postgres, Redis): the `lock`, `load`, `save` a run uses,
 * made of the store's keyed verbs. The lock is a lease renewed by heartbeat; every save is a
 * compare-and-swap on the revision last seen, fenced by the lease's token, so a holder that lost
 * its lease (paused, partitioned) cannot overwrite whoever took the run over.
 */
import { hostname } from 'node:os';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import type { Checkpoint } from './schema.js';
import { processExists } from '../run/process-group.js';
import type { CheckpointLock, CheckpointStore, Lease, RunCheckpointStore } from './store.js';

export interface RunViewOptions {
  /** A lease already held: `lock()` adopts it, and the caller renews and releases it. */
  lease?: Lease;
  leaseMs?: number;
  /** Who takes the lease (`host:pid…`); by default this process. */
  owner?: string;
  /** Take the lease even from a live holder (a worker whose queue gave it the run: see store.ts). */
  takeOver?: boolean;
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
    const owner = this.options.owner ?? `${hostname()}:${process.pid}`;
    this.lease = (await this.store.acquireLease(this.runId, owner, ttl, { takeOver: this.options.takeOver === true })) ?? (await this.fromDeadHolder(owner, ttl));
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

  /** The token of the lease this view writes under, once locked. */
  get leaseToken(): number | undefined {
    return this.lease?.token;
  }

  /**
   * The lease is held. A holder on this host whose process is gone (kill -9) is taken over at once;
   * any other holder is named, with how long its lease has left.
   */
  private async fromDeadHolder(owner: string, ttl: number): Promise<Lease> {
    const holder = await this.store.leaseHolder(this.runId);
    const [host, pid] = (holder?.owner ?? '').split(':');
    const deadHere = holder !== null && host === hostname() && /^\d+$/.test(pid ?? '') && !processExists(Number(pid));
    const lease = holder === null || deadHere ? await this.store.acquireLease(this.runId, owner, ttl, { takeOver: deadHere }) : null;
    if (lease) return lease;
    const who = holder ? `${holder.owner} (${host === hostname() ? 'a live process on this host' : 'on another host'})` : 'another process';
    const left = holder ? `; its lease expires in ${Math.ceil(holder.expiresInMs / 1000)} s unless renewed` : '';
    throw new OrchestratorError(`run ${this.runId} at ${this.store.location} is leased by ${who}${left}: wait for it to end, or stop it`, EXIT.failed);
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
