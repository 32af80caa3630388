/**
 * The lock file is rewritten in place as steps start and end. What another process reads from it
 * must always be the holder and its running groups, as JSON, with nothing left of an earlier text.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { acquireLockFile } from '../../src/checkpoint/lock-file.js';
import { tempDir } from '../support/cli.js';

it('names the running groups while they run and none after, as JSON another process can read', async () => {
  const path = join(tempDir(), 'orchestrator_checkpoint.json.lock');
  const lock = await acquireLockFile(path, 100);
  const read = () => JSON.parse(readFileSync(path, 'utf8')) as { pid: number; stage_groups: { pgid: number; start_ticks: string | null }[] };
  expect(read()).toMatchObject({ pid: process.pid, stage_groups: [] });

  const sleepers = [0, 1].map(() => spawn('sleep', ['30'], { detached: true, stdio: 'ignore' }));
  try {
    for (const child of sleepers) lock.noteProcessGroup?.(child.pid!, true);
    expect(read().stage_groups.map((g) => g.pgid)).toEqual(sleepers.map((c) => c.pid));
    expect(read().stage_groups.every((g) => typeof g.start_ticks === 'string')).toBe(true);
    const longest = readFileSync(path).length;

    // A shorter text over a longer one: padded, so it still parses and holds nothing of the old one.
    lock.noteProcessGroup?.(sleepers[0]!.pid!, false);
    expect(read().stage_groups.map((g) => g.pgid)).toEqual([sleepers[1]!.pid]);
    lock.noteProcessGroup?.(sleepers[1]!.pid!, false);
    expect(read().stage_groups).toEqual([]);
    const text = readFileSync(path, 'utf8');
    expect(text.length).toBe(longest);
    expect(text).not.toContain(String(sleepers[0]!.pid));
  } finally {
    for (const child of sleepers) child.kill('SIGKILL');
  }
  await lock.release();
  expect(existsSync(path)).toBe(false);
});

it('a second taker is refused while the holder lives, naming its pid', async () => {
  const path = join(tempDir(), 'orchestrator_checkpoint.json.lock');
  const lock = await acquireLockFile(path, 100);
  await expect(acquireLockFile(path, 100)).rejects.toThrow(`pid ${process.pid}`);
  await lock.release();
  const again = await acquireLockFile(path, 100);
  await again.release();
});
