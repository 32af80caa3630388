import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointOf, processAlive, readJson, reportOf, runCli, sideEffects, startCli, tempDir, waitFor } from '../support/cli.js';
import { ALL_FIVE, CHECKPOINT, LOCK, REPORT, STACK_FRAME, executor, groupMembers, manager, readLock, stagePairs, treePids } from './user-view.js';

describe('kill -9 of the orchestrator mid-stage, then --resume', () => {
  it('leaves valid JSON; resume recovers the lock, skips the completed stage and runs the in-flight one again', async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const started = join(dir, 'executor-started');
    const flags = ['--kill-grace-ms', '300', ...manager('ok'), ...executor('slow-first', started)];
    const env = { SIDE_EFFECTS: effects };

    const first = startCli([dir, ...flags], { env });
    await waitFor(() => existsSync(started), 10_000, 'the executor to start');
    // The lock names the stage's process group just after the program starts: kill after that,
    // or the orphaned stage is one the next run cannot know about.
    await waitFor(() => readLock(dir).stage_groups.length > 0, 10_000, 'the lock to name the stage group');
    const orphan = readLock(dir).stage_groups[0]!.pgid;
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');

    // What the killed run left: parseable files, and its lock.
    const report = readJson(join(dir, REPORT));
    expect(report.status).toBe('running');
    expect(report.current_stage).toBe('execution');
    const checkpoint = readJson(join(dir, CHECKPOINT));
    expect(checkpoint.run_id).toBe(report.run_id);
    expect(checkpoint.terminal_state).toBeNull();
    expect(checkpoint.completed_stages).toEqual(['planning', 'policy_ingestion']);
    // The step in flight keeps its count; the done one's is in its record. Two attempts started in all.
    expect(checkpoint.attempts).toEqual({ 'execution/executor': 1 });
    expect(checkpoint.attempts_started).toBe(2);
    expect(readLock(dir).pid).toBe(first.child.pid);

    const resumed = await runCli([dir, '--resume', ...flags], { env });
    expect(resumed.stderr).not.toContain('locked');
    expect(resumed.exitCode).toBe(0);
    // planning ran once; execution's first attempt was cut short and ran again as attempt 2.
    expect(sideEffects(effects)).toEqual(['planning 1', 'execution 1', 'execution 2']);
    const after = reportOf(dir);
    expect(after.run_id).toBe(report.run_id);
    expect(after.terminal_state).toBe('done');
    expect(stagePairs(after)).toEqual(ALL_FIVE);
    expect(after.stage_executions.map((e: any) => [e.stage, e.status, e.attempt])).toEqual([
      ['planning', 'skipped', 0],
      ['execution', 'success', 2],
    ]);
    expect(checkpointOf(dir).terminal_state).toBe('done');
    expect(existsSync(join(dir, LOCK))).toBe(false);
    // The killed run's first attempt (sleeping) was ended when its lock was recovered.
    expect(groupMembers(orphan)).toEqual([]);
  });
});

describe('the report on disk when a program starts', () => {
  it('already names its stage and holds the earlier stages\' records', async () => {
    const dir = tempDir();
    const seen = tempDir('ao-seen-');
    const result = await runCli([
      dir,
      ...manager('copy', join(dir, REPORT), join(seen, 'at-planning.json')),
      ...executor('copy', join(dir, REPORT), join(seen, 'at-execution.json')),
    ]);
    expect(result.exitCode).toBe(0);
    expect(readJson(join(seen, 'at-planning.json'))).toMatchObject({ status: 'running', current_stage: 'planning', stage_executions: [] });
    const atExecution = readJson(join(seen, 'at-execution.json'));
    expect(atExecution).toMatchObject({ status: 'running', current_stage: 'execution' });
    expect(atExecution.stage_executions.map((e: any) => [e.stage, e.status])).toEqual([['planning', 'success']]);
  });
});

describe('kill -9 while the first stage runs', () => {
  it('leaves a report (valid JSON, naming planning) beside the checkpoint', async () => {
    const dir = tempDir();
    const started = join(dir, 'manager-started');
    const first = startCli([dir, ...manager('started-then-sleep', started)]);
    await waitFor(() => existsSync(started), 10_000, 'the manager to start');
    await waitFor(() => readLock(dir).stage_groups.length > 0, 10_000, 'the lock to name the stage group');
    const orphan = readLock(dir).stage_groups[0]!.pgid;
    first.child.kill('SIGKILL');
    await first.done;
    const report = readJson(join(dir, REPORT));
    expect(report).toMatchObject({ status: 'running', current_stage: 'planning', terminal_state: null });
    expect(stagePairs(report)).toEqual([[null, 'planning']]);
    expect(readJson(join(dir, CHECKPOINT))).toMatchObject({ run_id: report.run_id, terminal_state: null, completed_stages: [] });
    // The killed run's stage is still running: the next run on this checkpoint ends it on taking the lock.
    const resumed = await runCli([dir, '--resume', '--kill-grace-ms', '300', ...manager('ok')]);
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(dir).terminal_state).toBe('done');
    expect(groupMembers(orphan)).toEqual([]);
  });
});

describe.each([
  { signal: 'SIGTERM' as const, exitCode: 143 },
  { signal: 'SIGINT' as const, exitCode: 130 },
])('$signal to the orchestrator mid-stage', ({ signal, exitCode }) => {
  it(`exits ${exitCode}, ends the stage's process group, keeps a resumable checkpoint and report`, async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const pidsFile = join(dir, 'pids');
    const common = [dir, '--kill-grace-ms', '300', ...manager('ok')];
    const env = { SIDE_EFFECTS: effects };

    const run = startCli([...common, ...executor('tree', pidsFile)], { env });
    await waitFor(() => treePids(pidsFile) !== null, 10_000, 'the executor to write its pids');
    const pids = treePids(pidsFile)!;
    expect(processAlive(pids.leader)).toBe(true);
    expect(processAlive(pids.grandchild)).toBe(true);

    run.child.kill(signal);
    const outcome = await run.done;
    expect(outcome.exitCode).toBe(exitCode);
    expect(outcome.stderr).toContain(`stopped by ${signal}`);
    expect(outcome.stderr).toContain('--resume');
    expect(outcome.stderr).not.toMatch(STACK_FRAME);
    expect(processAlive(pids.leader)).toBe(false);
    expect(processAlive(pids.grandchild)).toBe(false);
    expect(groupMembers(pids.leader)).toEqual([]);

    const checkpoint = checkpointOf(dir);
    expect(checkpoint.terminal_state).toBeNull();
    expect(checkpoint.completed_stages).toEqual(['planning', 'policy_ingestion']);
    const report = reportOf(dir);
    expect(report.status).toBe('interrupted');
    expect(report.interrupted_by).toBe(signal);
    expect(report.terminal_state).toBeNull();
    expect(report.stage_executions.at(-1)).toMatchObject({ stage: 'execution', interrupted: true });
    expect(existsSync(join(dir, LOCK))).toBe(false);

    const resumed = await runCli([...common, '--resume', ...executor('ok')], { env });
    expect(resumed.exitCode).toBe(0);
    expect(sideEffects(effects)).toEqual(['planning 1', 'execution 1', 'execution 2']);
    const after = reportOf(dir);
    expect(after.run_id).toBe(report.run_id);
    expect(after.terminal_state).toBe('done');
    expect(stagePairs(after)).toEqual(ALL_FIVE);
  });
});
