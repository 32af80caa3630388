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
 *
 * A line may carry, just before the checkpoint, what was appended to another file since the last
 * line (the run's records log): both reach the disk in the line's one fdatasync, so a step costs one
 * sync, not two (the records log's own and the journal's). The other file is synced by its owner
 * only when the journal is about to be emptied. After a power loss, `restoreCarried` puts back into
 * that file whatever of the carried bytes it lost.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
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

  /**
   * One line, on disk when this resolves (fdatasync; `background`: see `dataSync`), with the bytes
   * `carried` (appended to another file since the last line) on a line of their own before it.
   */
  async append(line: string, { background = false, carried = null }: { background?: boolean; carried?: CarriedAppend | null } = {}): Promise<void> {
    if (this.fd === null) throw new Error(`checkpoint journal ${this.path} is closed`);
    const bytes = Buffer.from(carried === null ? `${line}\n` : `${carriedLine(carried)}\n${line}\n`, 'utf8');
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

/** Bytes appended to a file (`path`, from byte `from`) that the journal makes durable in its own sync. */
export interface CarriedAppend {
  path: string;
  from: number;
  text: string;
}

function carriedLine(carried: CarriedAppend): string {
  return JSON.stringify({ carried: { ...carried, sha256: sha256(carried.text) } });
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The whole, untampered carried appends the journal holds, oldest first (none when there is no journal). */
export function carriedAppends(journalPath: string): CarriedAppend[] {
  let text: string;
  try {
    text = readFileSync(journalPath, 'utf8');
  } catch {
    return [];
  }
  const found: CarriedAppend[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"carried":')) continue;
    try {
      const { carried } = JSON.parse(line) as { carried: CarriedAppend & { sha256: string } };
      if (typeof carried.path === 'string' && Number.isSafeInteger(carried.from) && typeof carried.text === 'string' && sha256(carried.text) === carried.sha256) {
        found.push({ path: carried.path, from: carried.from, text: carried.text });
      }
    } catch {
      // a torn line: its checkpoint line, after it, is torn too and was never taken
    }
  }
  return found;
}

/**
 * After a power loss, the journal's carried bytes may be all that is left of a file's tail: each
 * carried range the file does not hold byte for byte is written back at its offset, and the file is
 * then cut after the last carried range (what followed it was never made durable, and belongs to
 * steps no checkpoint counts as done: they run again). A file that holds them all is not touched,
 * which is what a run killed (not a machine that lost power) always finds. Returns the files repaired.
 */
export function restoreCarried(journalPath: string): string[] {
  const byPath = new Map<string, CarriedAppend[]>();
  for (const carried of carriedAppends(journalPath)) byPath.set(carried.path, [...(byPath.get(carried.path) ?? []), carried]);
  const repaired: string[] = [];
  for (const [path, ranges] of byPath) {
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      let changed = false;
      let end = 0;
      for (const { from, text } of ranges) {
        const bytes = Buffer.from(text, 'utf8');
        const held = Buffer.alloc(bytes.length);
        const read = readSync(fd, held, 0, bytes.length, from);
        if (read !== bytes.length || !held.equals(bytes)) {
          let offset = 0;
          while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset, from + offset);
          changed = true;
        }
        end = Math.max(end, from + bytes.length);
      }
      if (changed) {
        if (fstatSync(fd).size > end) ftruncateSync(fd, end);
        fsyncSync(fd);
        repaired.push(path);
      }
    } finally {
      closeSync(fd);
    }
  }
  return repaired;
}
