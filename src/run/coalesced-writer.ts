/**
 * Many changes in one turn of the event loop make one write, and writes never overlap.
 * `flush()` writes now, for the moments that must be on disk before something happens
 * (a program starts, the run ends). The document is built when the write runs, so it is
 * always the newest.
 */
export class CoalescedWriter {
  private pending: NodeJS.Immediate | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private dirty = false;

  constructor(
    private readonly write: () => Promise<void> | void,
    private readonly onError: (error: unknown) => void,
  ) {}

  request(): void {
    if (this.closed) return;
    this.dirty = true;
    this.pending ??= setImmediate(() => void this.flush());
  }

  flush(): Promise<void> {
    if (this.pending) clearImmediate(this.pending);
    this.pending = null;
    this.dirty = false;
    this.chain = this.chain.then(() => this.write()).catch((error: unknown) => this.onError(error));
    return this.chain;
  }

  /** Writes now what was requested and not yet written; else waits for the write under way. */
  settle(): Promise<void> {
    return this.dirty ? this.flush() : this.chain;
  }

  /** Writes what was requested and not yet written, then takes no more requests. */
  async close(): Promise<void> {
    if (this.dirty) await this.flush();
    else await this.chain;
    this.closed = true;
  }
}
