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
  async append(line: string, { background = false, carried = null }: { background?: boolean; carried?: CarriedLine | null } = {}): Promise<void> {
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

/** Bytes appended to a file (`path`, absolute, from byte `from`) that the journal makes durable in its own sync. */
export interface CarriedAppend {
  path: string;
  from: number;
  text: string;
}

/** As a journal line holds it: with the run and the revision of the checkpoint line it goes with. */
export interface CarriedLine extends CarriedAppend {
  run_id: string;
  revision: number;
}

function carriedLine(carried: CarriedLine): string {
  return JSON.stringify({ carried: { ...carried, sha256: sha256(carried.text) } });
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The whole, untampered carried appends the journal holds, oldest first (none when there is no journal). */
export function carriedAppends(journalPath: string): CarriedLine[] {
  let text: string;
  try {
    text = readFileSync(journalPath, 'utf8');
  } catch {
    return [];
  }
  const found: CarriedLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"carried":')) continue;
    try {
      const { carried } = JSON.parse(line) as { carried: CarriedLine & { sha256: string } };
      if (
        typeof carried.path === 'string' &&
        typeof carried.run_id === 'string' &&
        Number.isSafeInteger(carried.from) &&
        Number.isSafeInteger(carried.revision) &&
        typeof carried.text === 'string' &&
        sha256(carried.text) === carried.sha256
      ) {
        found.push({ path: carried.path, from: carried.from, text: carried.text, run_id: carried.run_id, revision: carried.revision });
      }
    } catch {
      // a torn line: its checkpoint line, after it, is torn too and was never taken
    }
  }
  return found;
}

export interface RestoreRequest {
  /** The file to restore (absolute): ranges carried for any other file are left alone. */
  path: string;
  /** The run resumed: lines of another run (a journal an earlier run left) are left alone. */
  runId: string;
}

/**
 * After a power loss, the journal's carried bytes may be all that is left of a file's tail: each
 * range carried for `path` by this run, where the file is short or holds zeros (what a power loss
 * leaves), is written back at its offset, and the
 * file is then cut after the last such range (what followed was never made durable, and belongs to
 * steps no checkpoint counts as done: they run again). A file that holds them all is not changed,
 * which is what a run killed (not a machine that lost power) finds; it is synced either way, since
 * the journal that holds its copy is about to be started over. A range the file holds other bytes
 * for is not written: the file is not the one the journal was about (null when all is well, else why).
 * Lines from before the journal was last emptied may be found again after a power loss (emptying
 * is not synced); their ranges were synced into the file before it was emptied, so they match.
 */
export function restoreCarried(journalPath: string, request: RestoreRequest): string | null {
  const ranges = carriedAppends(journalPath).filter((c) => c.path === request.path && c.run_id === request.runId);
  if (ranges.length === 0) return null;
  let fd: number;
  try {
    fd = openSync(request.path, constants.O_RDWR);
  } catch (error) {
    return `the records log ${request.path} cannot be checked against the checkpoint journal: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
  try {
    let changed = false;
    let end = 0;
    for (const { from, text } of ranges) {
      const bytes = Buffer.from(text, 'utf8');
      const held = Buffer.alloc(bytes.length);
      const read = readSync(fd, held, 0, bytes.length, from);
      end = Math.max(end, from + bytes.length);
      if (read === bytes.length && held.equals(bytes)) continue;
      // Only what a power loss leaves is repaired: the range cut short, or zeros where it was.
      for (let i = 0; i < read; i++) {
        if (held[i] !== 0 && held[i] !== bytes[i]) return `the records log ${request.path} holds other records than the checkpoint journal says at byte ${from + i}; it was left as it is`;
      }
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset, from + offset);
      changed = true;
    }
    if (changed && fstatSync(fd).size > end) ftruncateSync(fd, end);
    fsyncSync(fd);
    return null;
  } finally {
    closeSync(fd);
  }
}
