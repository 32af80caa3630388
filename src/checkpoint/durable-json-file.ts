/**
 * A lowdb adapter that reads JSON like lowdb's own `JSONFile` but writes durably
 * (steno, lowdb's writer, renames without fsync).
 */
import { readFileSync } from 'node:fs';
import type { Adapter } from 'lowdb';
import { writeFileDurably } from './durable-write.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class DurableJSONFile<T> implements Adapter<T> {
  constructor(readonly path: string) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      // Bad bytes are refused, not silently replaced (a TypeError, reported as such). Read in one
      // synchronous call, as the writes are: a checkpoint is small, and an asynchronous read would
      // start libuv's thread pool (four threads) in every run for this one file.
      text = strictUtf8.decode(readFileSync(this.path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return JSON.parse(text) as T;
  }

  async write(data: T): Promise<void> {
    writeFileDurably(this.path, jsonDocumentText(data));
  }
}

/** The file's text for `data`: two-space JSON and a final newline. */
export function jsonDocumentText(data: unknown): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}
