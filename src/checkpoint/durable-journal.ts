/**
 * The checkpoint's journal: while a run holds its lock, the file store appends each new checkpoint
 * as one sealed line to `<checkpoint>.journal` and makes it durable with one fdatasync, instead of
 * rewriting the checkpoint file (temporary file, fsync, rename, directory fsync) at every step.
 * The checkpoint file itself is rewritten durably when the machine moves to another state (a
 * stage begins or ends, the run halts or ends), when the journal passes a size, and when the lock
 * is released; then the journal is emptied or removed.
 *
 * Whoever reads the checkpoint (the store's `load` and `read`) takes the newest of the file and
 * the journal's last whole line, by the revision each is sealed with: a run killed mid-stage is
 * resumed from the step it reached, not from the stage's start. A torn last line (a kill or a
 * power loss mid-append) fails its digest and is passed over.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { pauseAt } from '../fault/pause-point.js';
import { dataSync } from './durable-write.js';

export function journalPathOf(checkpointPath: string): string {
  return `${checkpointPath}.journal`;
}

export class CheckpointJournal {
  private fd: number | null;
  private bytes: number;

  /** Starts the journal over (a run's first checkpoint is written whole, so nothing before it counts). */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o600);
    this.bytes = 0;
  }

  get size(): number {
    return this.bytes;
  }

  /** One line, on disk when this resolves (fdatasync; `background`: see `dataSync`). */
  async append(line: string, { background = false }: { background?: boolean } = {}): Promise<void> {
    if (this.fd === null) throw new Error(`checkpoint journal ${this.path} is closed`);
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    const half = bytes.length >> 1;
    let offset = 0;
    while (offset < half) offset += writeSync(this.fd, bytes, offset, half - offset, this.bytes + offset);
    pauseAt(`mid-append:${basename(this.path)}`);
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset, this.bytes + offset);
    this.bytes += bytes.length;
    await dataSync(this.fd, background);
  }

  /** Empties the journal once the checkpoint file holds all it held (durably). Not synced: an old line reads as older than the file. */
  clear(): void {
    if (this.fd === null || this.bytes === 0) return;
    ftruncateSync(this.fd, 0);
    this.bytes = 0;
  }

  /** Closes and removes the journal, once the checkpoint file holds all it held (durably). */
  remove(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    try {
      unlinkSync(this.path);
    } catch {
      // gone already
    }
  }
}

/**
 * The journal's lines, last first, as long as each one `accept`s (returns a value): the newest
 * whole line wins, a torn or foreign last line is passed over. Null when there is no journal or no
 * line is accepted.
 */
export function newestJournalEntry<T>(path: string, accept: (line: string) => T | null): T | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  let end = text.length;
  while (end > 0) {
    const start = text.lastIndexOf('\n', end - 2) + 1;
    const line = text.slice(start, end).trim();
    if (line) {
      const value = accept(line);
      if (value !== null) return value;
    }
    end = start;
  }
  return null;
}
