/**
 * Nothing lost: write a temp file beside the target, fsync it, rename it over the target,
 * fsync the directory. A reader sees the old file or the new one, never half of either,
 * and after a power loss the rename is on disk. With `durable: false` the write is still
 * atomic (a crashed process leaves the old file or the new one) but skips both fsyncs.
 */
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pauseAt } from '../fault/pause-point.js';
import { processExists } from '../run/process-group.js';

let counter = 0;

/**
 * `content` is the whole text, or its pieces in order: a document that grows with the run (the
 * report) is then written out in chunks of 64 KiB, never held as one string.
 */
export function writeFileDurably(path: string, content: string | Iterable<string>, { durable = true }: { durable?: boolean } = {}): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${++counter}.tmp`);
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeChunks(fd, typeof content === 'string' ? [content] : content, basename(path));
    if (durable) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  pauseAt(`before-rename:${basename(path)}`);
  try {
    renameSync(temp, path);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
  if (durable) fsyncDirectory(dir);
}

const CHUNK = 64 * 1024;

/** Writes the pieces in chunks; the fault hook `mid-write:<name>` fires with half of the first chunk written. */
function writeChunks(fd: number, pieces: Iterable<string>, name: string): void {
  let pending: string[] = [];
  let pendingLength = 0;
  let first = true;
  const write = () => {
    const bytes = Buffer.from(pending.join(''), 'utf8');
    pending = [];
    pendingLength = 0;
    let offset = 0;
    if (first) {
      first = false;
      const half = bytes.length >> 1;
      while (offset < half) offset += writeSync(fd, bytes, offset, half - offset);
      pauseAt(`mid-write:${name}`);
    }
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
  };
  for (const piece of pieces) {
    pending.push(piece);
    pendingLength += piece.length;
    if (pendingLength >= CHUNK) write();
  }
  if (pendingLength > 0 || first) write();
}

/**
 * fdatasync (the data and the size, not the times). `background`: in libuv's pool, so that the run
 * goes on meanwhile (other steps end and start); else on this thread, which is quicker when nothing
 * else would run meanwhile (a wake-up from the pool costs more than it saves on a busy machine).
 */
export function dataSync(fd: number, background: boolean): Promise<void> {
  if (!background) {
    fdatasyncSync(fd);
    return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes the temp files a killed writer left beside `path`, and beside each of `others` in the
 * same directory (`.<name>.<pid>[.<n>].tmp` of a pid that no longer runs), in one read of the
 * directory. Called by the one writer, under its lock.
 */
export function removeStaleTempFiles(path: string, ...others: string[]): void {
  const dir = dirname(path);
  const prefixes = [path, ...others].map((file) => `.${basename(file)}.`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.endsWith('.tmp')) continue;
    // The longest prefix that fits: `.x.lock.` before `.x.`.
    const prefix = prefixes.filter((p) => name.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    if (prefix === undefined) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || processExists(pid)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already
    }
  }
}
