import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processAlive, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';
import { executor, groupMembers, manager, treePids } from './user-view.js';

describe('no process outlives its stage', () => {
  it('a timed-out stage: its grandchild is gone when the CLI exits', async () => {
    const dir = tempDir();
    const pidsFile = join(dir, 'pids');
    const result = await runCli([dir, '--timeout-ms', '500', '--kill-grace-ms', '300', ...manager('ok'), ...executor('tree', pidsFile)]);
    expect(result.exitCode).toBe(124);
    const pids = treePids(pidsFile);
    expect(pids).not.toBeNull();
    expect(processAlive(pids!.grandchild)).toBe(false);
    expect(processAlive(pids!.leader)).toBe(false);
    expect(groupMembers(pids!.leader)).toEqual([]);
    const execution = reportOf(dir).stage_executions.at(-1);
    expect(execution).toMatchObject({ stage: 'execution', status: 'timeout', signal: 'SIGTERM' });
  });

  it('a program that ignores SIGTERM is SIGKILLed after --kill-grace-ms', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'pid');
    const started = Date.now();
    const result = await runCli([dir, '--timeout-ms', '500', '--kill-grace-ms', '300', ...manager('ignore-term-pid', pidFile)]);
    const elapsed = Date.now() - started;
    expect(result.exitCode).toBe(124);
    expect(existsSync(pidFile)).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(processAlive(pid)).toBe(false);
    expect(groupMembers(pid)).toEqual([]);
    const planning = reportOf(dir).stage_executions[0];
    expect(planning).toMatchObject({ status: 'timeout', signal: 'SIGKILL' });
    // Ended by the grace period's SIGKILL, not by waiting for the program.
    expect(planning.duration_ms).toBeGreaterThanOrEqual(750);
    // ...and the grace given, not the 2000 ms default.
    expect(planning.duration_ms).toBeLessThan(2_400);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('SIGTERM to the orchestrator while its stage ignores SIGTERM: the stage is SIGKILLed after the grace, exit 143', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'pid');
    const run = startCli([dir, '--kill-grace-ms', '300', ...manager('ignore-term-pid', pidFile)]);
    await waitFor(() => existsSync(pidFile), 10_000, 'the manager to start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    run.child.kill('SIGTERM');
    const outcome = await run.done;
    expect(outcome.exitCode).toBe(143);
    expect(processAlive(pid)).toBe(false);
    expect(groupMembers(pid)).toEqual([]);
    expect(reportOf(dir).stage_executions[0]).toMatchObject({ stage: 'planning', interrupted: true, signal: 'SIGKILL' });
  });

  it('a second Ctrl-C does not wait out the kill grace: the stage is SIGKILLed at once, exit 130', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'pid');
    // A grace far longer than the test's own timeout: the run ends only if the second signal cuts it short.
    const run = startCli([dir, '--kill-grace-ms', '600000', ...manager('ignore-term-pid', pidFile)]);
    await waitFor(() => existsSync(pidFile), 10_000, 'the manager to start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    run.child.kill('SIGINT');
    await waitFor(() => existsSync(join(dir, 'orchestrator_run_report.json')), 10_000, 'the report');
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.child.kill('SIGINT');
    const outcome = await run.done;
    expect(outcome.exitCode).toBe(130);
    expect(outcome.stderr).toContain('second SIGINT');
    expect(processAlive(pid)).toBe(false);
    expect(reportOf(dir).stage_executions[0]).toMatchObject({ stage: 'planning', interrupted: true, signal: 'SIGKILL' });
  });
});
