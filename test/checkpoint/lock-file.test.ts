/**
 * The lock file is rewritten in place as steps start and end. What another process reads from it
 * must always be the holder and its running groups, as JSON, with nothing left of an earlier text.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLockFile } from '../../src/checkpoint/lock-file.js';
import { runCli, startCli, tempDir, waitFor } from '../support/cli.js';

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

describe('an orchestrator killed while it takes the lock', () => {
  // The lock file appears with its holder's name in it (written under a temporary name, then
  // linked into place): whenever the kill lands, the next run takes over at once and leaves no
  // temporary file. Created empty and written after, a lock killed in between made the next run fail.
  for (const point of ['lock-written', 'lock-linked'] as const) {
    it(`at ${point}: the next run goes on at once, and no temporary file is left`, async () => {
      const dir = tempDir();
      const paused = join(dir, 'paused');
      const flags = ['--manager-bin', '/bin/true', '--executor-bin', '/bin/true'];
      const first = startCli([dir, ...flags], { env: { ORCHESTRATOR_TEST_PAUSE_AT: `${point}@1`, ORCHESTRATOR_TEST_PAUSE_FILE: paused } });
      await waitFor(() => existsSync(paused), 10_000, `the orchestrator to pause at ${point}`);
      const lockFile = join(dir, 'orchestrator_checkpoint.json.lock');
      // Linked: the lock names its (soon dead) holder; written only: there is no lock yet.
      if (point === 'lock-linked') expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: first.child.pid });
      else expect(existsSync(lockFile)).toBe(false);
      first.child.kill('SIGKILL');
      await first.done;

      const next = await runCli([dir, ...flags]);
      expect(next.stderr).not.toContain('locked');
      expect(next.exitCode).toBe(0);
      expect(readdirSync(dir).filter((name) => name.includes('.lock'))).toEqual([]);
    });
  }
});
