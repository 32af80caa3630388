import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesMarked } from '../fault/crash-harness.js';
import { STAGE, checkpointOf, processAlive, reportOf, runCli, sideEffects, startCli, tempDir, waitFor } from '../support/cli.js';
import { manager } from './user-view.js';

// These runs do without the reaper (ORCHESTRATOR_REAPER=off), which would end the orphan first:
// what is tested here is the next run's recovery, the guard left when the reaper is off or was
// killed too. test/cli/reaper.test.ts tests the reaper.
const NO_REAPER = { ORCHESTRATOR_REAPER: 'off' };

describe('a stage left running by a killed orchestrator', () => {
  it('is ended when the next run recovers the lock, before the stage runs again', async () => {
    const dir = tempDir();
    const started = join(dir, 'started');
    const effects = join(dir, 'effects.txt');
    const flags = ['--executor-bin', STAGE, '--executor-arg', 'slow-first', '--executor-arg', started, '--kill-grace-ms', '300'];
    const first = startCli([dir, ...flags], { env: { ...NO_REAPER, SIDE_EFFECTS: effects } });
    await waitFor(() => sideEffects(effects).length === 1, 10_000, 'the executor to start');
    await waitFor(() => readLock(dir).stage_groups.length > 0, 10_000, 'the lock to name the stage group');
    const { pgid } = readLock(dir).stage_groups[0];
    first.child.kill('SIGKILL');
    await first.done;
    // SIGKILL gives the orchestrator no chance: its stage lives on as an orphan.
    expect(processAlive(pgid)).toBe(true);

    const resumed = await runCli([dir, '--resume', ...flags], { env: { ...NO_REAPER, SIDE_EFFECTS: effects } });
    expect(resumed.exitCode).toBe(0);
    expect(processAlive(pgid)).toBe(false);
    expect(sideEffects(effects)).toEqual(['execution 1', 'execution 2']);
    expect(reportOf(dir).terminal_state).toBe('done');
  });

  it('is ended even when the orchestrator was killed after the spawn and before the lock named its group', async () => {
    const dir = tempDir();
    const started = join(dir, 'started');
    const effects = join(dir, 'effects.txt');
    const paused = join(dir, 'paused');
    // Every process of this test's runs carries the marker: what is left is counted by it.
    const marker = `orphan-${process.pid}-${Date.now()}`;
    const flags = [...manager('ok'), '--executor-bin', STAGE, '--executor-arg', 'slow-first', '--executor-arg', started, '--kill-grace-ms', '300'];
    const env = { ...NO_REAPER, SIDE_EFFECTS: effects, FAULT_MARKER: marker };
    // The 2nd program (the executor) has started; the orchestrator stops before noting its group.
    const first = startCli([dir, ...flags], { env: { ...env, ORCHESTRATOR_TEST_PAUSE_AT: 'spawned@2', ORCHESTRATOR_TEST_PAUSE_FILE: paused } });
    await waitFor(() => existsSync(paused) && existsSync(started), 10_000, 'the executor to start and the orchestrator to pause');
    const lock = readLock(dir);
    expect(lock.stage_groups).toEqual([]);
    expect(lock.run_id).toBe(checkpointOf(dir).run_id);
    first.child.kill('SIGKILL');
    await first.done;
    const orphans = processesMarked(marker);
    expect(orphans.length).toBeGreaterThan(0);

    const resumed = await runCli([dir, '--resume', ...flags], { env });
    expect(resumed.exitCode).toBe(0);
    expect(processesMarked(marker)).toEqual([]);
    for (const { pid } of orphans) expect(processAlive(pid)).toBe(false);
    expect(sideEffects(effects)).toEqual(['planning 1', 'execution 1', 'execution 2']);
    expect(reportOf(dir).terminal_state).toBe('done');
  });
});

function readLock(dir: string) {
  return JSON.parse(readFileSync(join(dir, 'orchestrator_checkpoint.json.lock'), 'utf8'));
}
