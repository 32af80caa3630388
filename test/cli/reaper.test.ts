/**
 * The reaper: an orchestrator killed outright (SIGKILL) leaves no step running, even when nobody
 * resumes the run. Its steps get SIGTERM, then SIGKILL after the kill grace, grandchildren too; the
 * reaper itself is gone once that is done, and a run that ends normally leaves none behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { processesMarked } from '../fault/crash-harness.js';
import { REDIS_URL, describeWithServer, reachable } from '../stores/servers.js';
import { processAlive, startCli, tempDir, waitFor } from '../support/cli.js';

/** Live processes whose command line is the reaper of the orchestrator with this pid. */
function reapersOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      if (args.at(-3) === 'autonomy-orchestrator-reaper' && args.at(-2) === String(pid) && processAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A step that notes SIGTERM, ignores it, and starts a grandchild that ignores it too; all carry the marker. */
function stubbornStep(dir: string): { bin: string; started: string; termed: string } {
  const started = join(dir, 'started');
  const termed = join(dir, 'termed');
  const bin = join(dir, 'stubborn.sh');
  writeFileSync(
    bin,
    `#!/bin/sh\ntrap 'echo TERM >> "${termed}"' TERM\n( trap '' TERM; exec sleep 300 ) &\necho $$ > "${started}"\nwhile :; do sleep 0.05; done\n`,
    { mode: 0o755 },
  );
  return { bin, started, termed };
}

/** Whatever a failed test left: the orchestrator and its marked processes. */
function cleanUp(run: ReturnType<typeof startCli>, marker: string): void {
  run.child.kill('SIGKILL');
  for (const { pid } of processesMarked(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

describe('an orchestrator killed with SIGKILL', () => {
  it('leaves no step running, with no resume: SIGTERM, then SIGKILL after the kill grace, grandchildren included', async () => {
    const dir = tempDir();
    const marker = `reaper-${process.pid}-${Date.now()}`;
    const { bin, started, termed } = stubbornStep(dir);
    // A grace long enough that the step, on a loaded machine, notes SIGTERM well before SIGKILL.
    const run = startCli([join(dir, 'out'), '--manager-bin', bin, '--kill-grace-ms', '2000'], { env: { FAULT_MARKER: marker } });
    try {
      await waitFor(() => existsSync(started) && processesMarked(marker).length >= 2, 10_000, 'the step and its grandchild to start');
      const step = Number(readFileSync(started, 'utf8'));
      const cliPid = run.child.pid!;
      // The reaper starts once a step has run for 100 ms.
      await waitFor(() => reapersOf(cliPid).length === 1, 3_000, 'the reaper to start');

      run.child.kill('SIGKILL');
      await run.done;
      // SIGTERM at once: the step notes it and carries on, as a hung agent would.
      await waitFor(() => existsSync(termed), 10_000, 'the step to get SIGTERM');
      expect(processAlive(step)).toBe(true);
      // Then SIGKILL once the grace has passed: nothing of the step is left, nor the reaper.
      await waitFor(() => processesMarked(marker).length === 0, 10_000, 'the step and its grandchild to be gone');
      expect(processAlive(step)).toBe(false);
      await waitFor(() => reapersOf(cliPid).length === 0, 3_000, 'the reaper to end');
      expect(readFileSync(termed, 'utf8')).toBe('TERM\n');
    } finally {
      cleanUp(run, marker);
    }
  });

  it('with ORCHESTRATOR_REAPER=off, its step lives on (until a later run of the directory recovers the lock)', async () => {
    const dir = tempDir();
    const marker = `no-reaper-${process.pid}-${Date.now()}`;
    const { bin, started, termed } = stubbornStep(dir);
    const run = startCli([join(dir, 'out'), '--manager-bin', bin, '--kill-grace-ms', '200'], { env: { FAULT_MARKER: marker, ORCHESTRATOR_REAPER: 'off' } });
    try {
      await waitFor(() => existsSync(started) && processesMarked(marker).length >= 2, 10_000, 'the step and its grandchild to start');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reapersOf(run.child.pid!)).toEqual([]);
      run.child.kill('SIGKILL');
      await run.done;
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(processesMarked(marker).length).toBeGreaterThanOrEqual(2);
      expect(existsSync(termed)).toBe(false);
    } finally {
      cleanUp(run, marker);
    }
  });
});

describeWithServer('an orchestrator keeping its checkpoint in Redis, killed with SIGKILL', await reachable(REDIS_URL, 6379), new URL(REDIS_URL).host || '127.0.0.1:6379', () => {
  it('has its reaper from the first step on (no lock there recovers groups), so a kill right after the spawn leaves nothing', async () => {
    const dir = tempDir();
    const marker = `reaper-redis-${process.pid}-${Date.now()}`;
    const prefix = `ao-reaper-${randomBytes(4).toString('hex')}:`;
    const paused = join(dir, 'paused');
    const { bin, started, termed } = stubbornStep(dir);
    // Paused right after the spawn, event loop and all: a reaper waiting 100 ms would never start.
    const run = startCli([join(dir, 'out'), '--manager-bin', bin, '--kill-grace-ms', '300', '--store', `${REDIS_URL}?prefix=${prefix}`], {
      env: { FAULT_MARKER: marker, ORCHESTRATOR_TEST_PAUSE_AT: 'spawned@1', ORCHESTRATOR_TEST_PAUSE_FILE: paused },
    });
    const admin = new Redis(REDIS_URL);
    try {
      await waitFor(() => existsSync(paused) && existsSync(started), 10_000, 'the step to start and the orchestrator to pause');
      expect(reapersOf(run.child.pid!)).toHaveLength(1);
      run.child.kill('SIGKILL');
      await run.done;
      await waitFor(() => processesMarked(marker).length === 0, 5_000, 'the step and its grandchild to be gone');
      expect(readFileSync(termed, 'utf8')).toBe('TERM\n');
    } finally {
      cleanUp(run, marker);
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
  });
});

describe('a run that ends normally', () => {
  // (That runs of quick steps never start a reaper is a cost, measured by A/B runs of the bench,
  // not tested here: a loaded machine can stretch a trivial step past 100 ms.)
  it('leaves no reaper behind', async () => {
    const dir = tempDir();
    const slow = join(dir, 'slow.sh');
    writeFileSync(slow, '#!/bin/sh\nsleep 1\n', { mode: 0o755 });
    const run = startCli([join(dir, 'out'), '--manager-bin', slow, '--executor-bin', '/bin/true']);
    const pid = run.child.pid!;
    await waitFor(() => reapersOf(pid).length === 1, 3_000, 'the reaper to start during the slow step');
    expect((await run.done).exitCode).toBe(0);
    await waitFor(() => reapersOf(pid).length === 0, 2_000, 'the reaper to end with the run');
  });
});
