/**
 * A mutex of a few milliseconds between processes: a file created exclusively, removed after.
 * A holder killed inside (kill -9) leaves the file behind; one older than STALE_MS is taken over.
 */
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { EXIT, OrchestratorError } from '../exit-codes.js';

const STALE_MS = 5_000;
const GIVE_UP_MS = 10_000;

export async function withMutexFile<T>(path: string, body: () => T): Promise<T> {
  const deadline = Date.now() + GIVE_UP_MS;
  for (;;) {
    try {
      closeSync(openSync(path, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (isStale(path)) {
      try {
        unlinkSync(path);
      } catch {
        // another waiter removed it first
      }
      continue;
    }
    if (Date.now() > deadline) throw new OrchestratorError(`cannot take ${path}: held for more than ${GIVE_UP_MS} ms`, EXIT.failed);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  try {
    return body();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
  }
}

function isStale(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > STALE_MS;
  } catch {
    return false;
  }
}
