import { monotonicMs } from './clock.js';

/**
 * Many changes in one turn of the event loop make one write, and writes never overlap.
 * `flush()` writes now, for the moments that must be on disk before something happens
 * (a program starts, the run ends). The document is built when the write runs, so it is
 * always the newest.
 *
 * With `spacing`, a plain `request()` waits until `spacing(lastWriteMs)` has passed since the last
 * write ended: a document that grows with the run (the report) is then rewritten less often the
 * longer each write takes, so its writes cost the same share of the run however long it gets.
 * `request({ soon: true })` skips the wait (a stage began or ended: readers want to see that).
 */
export class CoalescedWriter {
  private pending: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private pendingIsTimer = false;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private dirty = false;
  /** The spacing counts from the writer's start too: a plain request right after it waits its turn. */
  private lastWriteEndedAt = monotonicMs();
  private lastWriteMs = 0;

  constructor(
    private readonly write: () => Promise<void> | void,
    private readonly onError: (error: unknown) => void,
    private readonly spacing: ((lastWriteMs: number) => number) | null = null,
  ) {}

  request({ soon = false }: { soon?: boolean } = {}): void {
    if (this.closed) return;
    this.dirty = true;
    const wait = soon || !this.spacing ? 0 : this.lastWriteEndedAt + this.spacing(this.lastWriteMs) - monotonicMs();
    if (wait <= 0) {
      if (this.pending && this.pendingIsTimer) this.cancelPending();
      this.pending ??= setImmediate(() => void this.flush());
      return;
    }
    if (this.pending) return;
    this.pendingIsTimer = true;
    this.pending = setTimeout(() => void this.flush(), wait);
  }

  flush(): Promise<void> {
    this.cancelPending();
    this.dirty = false;
    this.chain = this.chain
      .then(async () => {
        const started = monotonicMs();
        await this.write();
        this.lastWriteEndedAt = monotonicMs();
        this.lastWriteMs = this.lastWriteEndedAt - started;
      })
      .catch((error: unknown) => this.onError(error));
    return this.chain;
  }

  /** Writes now what was requested and not yet written; else waits for the write under way. */
  settle(): Promise<void> {
    return this.dirty ? this.flush() : this.chain;
  }

  /** Like `settle`, for what was requested `soon` only: a write held back by `spacing` stays held back. */
  settleSoon(): Promise<void> {
    if (this.dirty && this.pendingIsTimer) return this.chain;
    return this.settle();
  }

  /** Writes what was requested and not yet written, then takes no more requests. */
  async close(): Promise<void> {
    if (this.dirty) await this.flush();
    else await this.chain;
    this.closed = true;
  }

  private cancelPending(): void {
    if (this.pending) {
      if (this.pendingIsTimer) clearTimeout(this.pending as NodeJS.Timeout);
      else clearImmediate(this.pending as NodeJS.Immediate);
    }
    this.pending = null;
    this.pendingIsTimer = false;
  }
}
