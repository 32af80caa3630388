/**
 * A stage's log, for the viewer: its tail, or a page of it by byte range. Only files under the
 * run's `logs/` folder are read, whatever the report or the request says, so the server cannot be
 * made to read anything else.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';

export const LOG_TAIL_BYTES = 4096;
/** The most one request reads of a log. */
export const LOG_PAGE_BYTES = 64 * 1024;

export interface LogPage {
  /** The bytes' first offset in the file. */
  offset: number;
  /** The file's size when read. */
  size: number;
  text: string;
}

/** The log's real path when it lies under `<outputDir>/logs/`, else null. */
function logFileIn(outputDir: string, logPath: string): string | null {
  try {
    const real = realpathSync(logPath);
    const logsDir = realpathSync(join(outputDir, 'logs'));
    return real.startsWith(logsDir + sep) ? real : null;
  } catch {
    return null;
  }
}

/**
 * Up to `length` bytes from `offset` (a negative offset counts from the end: -n is the last n bytes).
 * A page may cut a UTF-8 character at its ends; the viewer joins pages as bytes do.
 */
export function readLogPage(outputDir: string, logPath: string, offset: number, length = LOG_PAGE_BYTES): LogPage | null {
  const real = logFileIn(outputDir, logPath);
  if (real === null) return null;
  const fd = openSync(real, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.min(size, offset < 0 ? Math.max(0, size + offset) : offset);
    const buffer = Buffer.alloc(Math.max(0, Math.min(length, LOG_PAGE_BYTES, size - start)));
    const read = buffer.length ? readSync(fd, buffer, 0, buffer.length, start) : 0;
    return { offset: start, size, text: buffer.subarray(0, read).toString('utf8') };
  } finally {
    closeSync(fd);
  }
}

export function readLogTail(outputDir: string, logPath: string, maxBytes = LOG_TAIL_BYTES): string | null {
  return readLogPage(outputDir, logPath, -maxBytes, maxBytes)?.text ?? null;
}
