/**
 * The tail of a stage's log, for the viewer. Only files under the run's `logs/` folder are read,
 * whatever the report says, so the server cannot be made to read anything else.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';

export const LOG_TAIL_BYTES = 4096;

export function readLogTail(outputDir: string, logPath: string, maxBytes = LOG_TAIL_BYTES): string | null {
  let real: string;
  let logsDir: string;
  try {
    real = realpathSync(logPath);
    logsDir = realpathSync(join(outputDir, 'logs'));
  } catch {
    return null;
  }
  if (!real.startsWith(logsDir + sep)) return null;
  const fd = openSync(real, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
