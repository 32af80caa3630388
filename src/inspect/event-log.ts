/**
 * The run's event log, `orchestrator_events.jsonl` beside the report: one line per inspection
 * message, appended as the run goes, so that a finished or crashed run can be replayed.
 * The messages hold the machine's context and events only; environment values never reach the
 * machine, so they never reach this file.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { InspectionEvent } from 'xstate';
import * as z from 'zod/mini';
import { once } from '../once.js';
import { type InspectionMessage, type MessageTap, createMessageTap, inspectionMessageSchema } from './messages.js';

export const EVENT_LOG_FILE = 'orchestrator_events.jsonl';

/** Built at its first use, by a reader of the log (a run only writes it). */
export const eventLogEntrySchema = once(() =>
  z.object({
    seq: z.int().check(z.gte(0)),
    timestamp_unix_ms: z.int(),
    message: inspectionMessageSchema(),
  }),
);

export type EventLogEntry = z.infer<ReturnType<typeof eventLogEntrySchema>>;

export function eventLogPathIn(outputDir: string): string {
  return join(outputDir, EVENT_LOG_FILE);
}

export class EventLogWriter {
  private fd: number | null = null;
  private readonly tap: MessageTap;
  private seq = 0;
  private closed = false;
  /** Why the log stopped being written (a full disk): the run goes on without it. */
  failure: string | null = null;

  /**
   * `append` keeps the entries of earlier invocations (a resumed run); otherwise a new log starts.
   * The file is opened at the first event: a run that never starts (bad output dir, a lock held
   * by another run) leaves the log it found untouched.
   */
  constructor(
    readonly path: string,
    private readonly append: boolean,
  ) {
    this.tap = createMessageTap((messages) => this.write(messages));
  }

  readonly inspect = (event: InspectionEvent): void => {
    // A stage actor's snapshots hold every step's progress: serialising them at every step would
    // grow with the run. Replay reads the root's snapshots only.
    if (event.type === '@xstate.snapshot' && event.actorRef.sessionId !== event.rootId) return;
    this.tap.inspect(event);
  };

  async close(): Promise<void> {
    await this.tap.settled();
    if (this.closed) return;
    this.closed = true;
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
    } catch (error) {
      this.failure ??= `cannot write ${this.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    }
    closeSync(this.fd);
  }

  /** The messages of one turn of the run, in one write. */
  private write(messages: InspectionMessage[]): void {
    if (this.closed || this.failure !== null) return;
    try {
      this.writeLines(messages);
    } catch (error) {
      this.failure = `cannot write ${this.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    }
  }

  private writeLines(messages: InspectionMessage[]): void {
    if (this.fd === null) {
      this.seq = this.append ? readEventLog(this.path).length : 0;
      this.fd = openSync(this.path, this.append ? 'a' : 'w');
    }
    const now = Date.now();
    let lines = '';
    for (const message of messages) {
      const entry: EventLogEntry = { seq: this.seq++, timestamp_unix_ms: now, message };
      lines += `${JSON.stringify(entry)}\n`;
    }
    writeSync(this.fd, lines);
  }
}

/** The entries that parse; a line cut short by a crash (always the last) is left out. */
export function readEventLog(path: string): EventLogEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    if (line.trim() === '') return [];
    try {
      const parsed = eventLogEntrySchema().safeParse(JSON.parse(line));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  });
}
