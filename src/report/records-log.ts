/**
 * The report's companion: every execution record of a run, one JSON line each, appended the moment
 * the record is made. The report itself is rewritten whole, so during a long run it is rewritten
 * only now and then (see run-session.ts); this file is what makes a step's record safe before the
 * checkpoint says the step is done. A resumed run reads its earlier invocations' records from here,
 * and a run killed between two report writes loses no record.
 *
 * Appended with plain writes: a killed process loses nothing written. A record is on disk before a
 * checkpoint that says its step is done, even across a power loss: the file store's journal carries
 * the records appended since its last line in that line's own sync (`pending` / `carried`), and
 * `sync()` (one fdatasync for all the records since the last) is called before any other checkpoint
 * write. Records hold environment keys, never values (see report/schema.ts).
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { dataSync } from '../checkpoint/durable-write.js';
import type { AppendCarrier } from '../checkpoint/store.js';
import { type StageExecution, executionRecordSchema } from './schema.js';

export const RECORDS_FILE = 'orchestrator_run_report.executions.jsonl';

/** Up to this many characters of this invocation's lines (JSON, mostly ASCII) are also kept in memory (see `current`). */
const KEEP_CHARS = 64 * 1024;

export function recordsPathIn(outputDir: string): string {
  return join(outputDir, RECORDS_FILE);
}

export class RecordsLog implements AppendCarrier {
  private fd: number | null;
  /** Where this invocation's records begin: the ones before are earlier invocations'. */
  readonly startOffset: number;
  private size: number;
  /** This invocation's lines while they are few; null once they outgrew KEEP_CHARS. */
  private kept: string[] | null = [];
  private keptChars = 0;
  private synced: number;
  /** Up to here the file is on disk, in itself or in a checkpoint journal's lines. */
  private durable: number;
  /** The lines appended past `durable`, with the offset each ends at. */
  private unsynced: { text: string; end: number }[] = [];

  /**
   * `fresh`: a new run starts the file over; a resumed one appends to it. `seed`: records of earlier
   * invocations to write first (their report's, when they ran before this log existed).
   */
  constructor(
    readonly path: string,
    private readonly runId: string,
    { fresh, seed = [] }: { fresh: boolean; seed?: readonly StageExecution[] },
  ) {
    this.fd = openSync(path, fresh ? 'w' : 'a+');
    this.size = fstatSync(this.fd).size;
    this.durable = this.size;
    // A line cut short by a kill stays a line of its own (readers pass it over), not the start of the next record.
    if (!fresh && this.size > 0 && !endsWithNewline(this.fd, this.size)) this.write('\n');
    for (const record of seed) this.write(`${JSON.stringify({ run_id: this.runId, record })}\n`);
    this.startOffset = this.size;
    // A resumed run's first sync covers what an earlier invocation appended and may not have synced.
    this.synced = fresh && seed.length === 0 ? this.size : -1;
  }

  private write(text: string): void {
    this.size += writeSync(this.fd!, text);
    this.unsynced.push({ text, end: this.size });
  }

  /** What was appended and has not reached the disk yet (see AppendCarrier). */
  pending(): { path: string; from: number; text: string; end: number } | null {
    if (this.fd === null || this.unsynced.length === 0) return null;
    return { path: resolve(this.path), from: this.durable, text: this.unsynced.map((line) => line.text).join(''), end: this.size };
  }

  /** The appends up to `end` are on disk (a checkpoint journal's line holds them). */
  carried(end: number): void {
    if (end <= this.durable) return;
    this.durable = end;
    let drop = 0;
    while (drop < this.unsynced.length && this.unsynced[drop]!.end <= end) drop += 1;
    this.unsynced.splice(0, drop);
  }

  /**
   * This invocation's records so far: as this process wrote them while they are few (a short run's
   * report then needs no read of the file and no check of what it just wrote), else read back from
   * the file, a chunk at a time.
   */
  current(): Iterable<StageExecution> {
    if (this.kept !== null) return this.kept.map((line) => (JSON.parse(line) as { record: StageExecution }).record);
    // Lines this process wrote whole: parsed, not checked against the schema again.
    return recordsBetween(this.path, this.runId, this.startOffset, this.size, { trusted: true });
  }

  /** Earlier invocations' records, read back from the file. */
  earlier(): Generator<StageExecution> {
    return recordsBetween(this.path, this.runId, 0, this.startOffset);
  }

  append(record: StageExecution): void {
    if (this.fd === null) return;
    const line = JSON.stringify({ run_id: this.runId, record });
    this.write(`${line}\n`);
    if (this.kept === null) return;
    this.keptChars += line.length;
    if (this.keptChars > KEEP_CHARS) this.kept = null;
    else this.kept.push(line);
  }

  /**
   * Makes every record appended so far durable; nothing to do when none was appended since the
   * last call. `background`: see `dataSync`.
   */
  async sync({ background = false }: { background?: boolean } = {}): Promise<void> {
    if (this.fd === null || this.synced === this.size) return;
    const size = this.size;
    await dataSync(this.fd, background);
    this.synced = Math.max(this.synced, size);
    this.carried(size);
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}

function endsWithNewline(fd: number, size: number): boolean {
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a;
}

/**
 * The records `runId`'s invocations logged, in order; null when there is no log (a run of a version
 * before it, or of V0). A torn last line (a kill mid-append) and lines of another run are passed over.
 */
export function loggedRecords(path: string, runId: string): StageExecution[] | null {
  try {
    return [...recordsBetween(path, runId, 0, statSync(path).size)];
  } catch {
    return null;
  }
}

/**
 * The records of `runId` between two byte offsets of the log, one at a time: read in chunks of
 * 1 MiB, so that writing a report of 10,000 records never holds them all.
 */
export function* recordsBetween(path: string, runId: string, start: number, end: number, { trusted = false }: { trusted?: boolean } = {}): Generator<StageExecution> {
  if (end <= start) return;
  const fd = openSync(path, 'r');
  try {
    // No bigger than what is read (a short run's log is a few KiB), and not zero-filled: only what is read is used.
    const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, end - start));
    let position = start;
    const decoder = new StringDecoder('utf8');
    let carry = '';
    while (position < end) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, end - position), position);
      if (read === 0) break;
      position += read;
      const lines = (carry + decoder.write(buffer.subarray(0, read))).split('\n');
      carry = lines.pop()!;
      for (const line of lines) yield* parsedLine(line, runId, trusted);
    }
    yield* parsedLine(carry, runId, trusted);
  } finally {
    closeSync(fd);
  }
}

function parsedLine(line: string, runId: string, trusted = false): StageExecution[] {
  if (!line) return [];
  try {
    const entry = JSON.parse(line) as { run_id?: unknown; record?: unknown };
    if (entry.run_id !== runId) return [];
    if (trusted) return [entry.record as StageExecution];
    const parsed = executionRecordSchema().safeParse(entry.record);
    return parsed.success ? [parsed.data] : [];
  } catch {
    return [];
  }
}
