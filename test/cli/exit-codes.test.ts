import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, checkpointOf, reportOf, runCli, sideEffects, tempDir } from '../support/cli.js';
import { ALL_FIVE, STACK_FRAME, executor, manager, stagePairs } from './user-view.js';

describe('exit codes and what the report says about each ending', () => {
  it('done → 0, with expected artifacts produced and valid', async () => {
    const dir = tempDir();
    const artifact = join(dir, 'result.json');
    const result = await runCli([dir, ...manager('ok'), ...executor('artifact', artifact), '--executor-expected-artifact', artifact]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Terminal state: done');
    const report = reportOf(dir);
    expect(report.terminal_state).toBe('done');
    expect(report.status).toBe('finished');
    expect(stagePairs(report)).toEqual(ALL_FIVE);
    expect(report.stage_executions.map((e: any) => [e.stage, e.status, e.missing_artifacts, e.malformed_artifacts])).toEqual([
      ['planning', 'success', [], []],
      ['execution', 'success', [], []],
    ]);
  });

  it('a non-zero exit → 1, status failed, the error names the code, later stages never run', async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const result = await runCli([dir, ...manager('fail', '7'), ...executor('ok')], { env: { SIDE_EFFECTS: effects } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('stage planning ended failed');
    expect(result.stderr).toContain('code 7');
    expect(result.stderr).not.toMatch(STACK_FRAME);
    const report = reportOf(dir);
    expect(report.terminal_state).toBe('failed');
    expect(report.current_stage).toBe('planning');
    expect(stagePairs(report)).toEqual([[null, 'planning']]);
    expect(report.stage_executions).toHaveLength(1);
    const [planning] = report.stage_executions;
    expect(planning).toMatchObject({ stage: 'planning', idempotency_key: 'stage:Planning', status: 'failed', exit_code: 7 });
    expect(planning.error).toMatch(/\b7\b/);
    expect(readFileSync(planning.stderr_log, 'utf8')).toContain('failing on purpose');
    expect(sideEffects(effects)).toEqual(['planning 1']);
    // V0: a failed run's checkpoint keeps terminal_state null so that --resume retries the stage.
    expect(checkpointOf(dir).terminal_state).toBeNull();
  });

  it('--simulate-blocked → 3, four transitions, closure never entered', async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const result = await runCli([dir, '--simulate-blocked', ...manager('ok'), ...executor('ok')], { env: { SIDE_EFFECTS: effects } });
    expect(result.exitCode).toBe(3);
    const report = reportOf(dir);
    expect(report.terminal_state).toBe('blocked');
    expect(report.current_stage).toBe('validation');
    expect(stagePairs(report)).toEqual(ALL_FIVE.slice(0, 4));
    expect(JSON.stringify(report.transitions)).not.toContain('closure');
    expect(sideEffects(effects)).toEqual(['planning 1', 'execution 1']);
    const checkpoint = checkpointOf(dir);
    expect(checkpoint.terminal_state).toBe('blocked');
    expect(checkpoint.completed_stages).not.toContain('closure');
  });

  it('a program past --timeout-ms → 124, status timeout, and no long wait', async () => {
    const dir = tempDir();
    const started = Date.now();
    const result = await runCli([dir, '--timeout-ms', '300', '--kill-grace-ms', '300', ...manager('sleep', '30')]);
    expect(result.exitCode).toBe(124);
    expect(Date.now() - started).toBeLessThan(10_000);
    const report = reportOf(dir);
    expect(report.terminal_state).toBe('timeout');
    const [planning] = report.stage_executions;
    expect(planning).toMatchObject({ stage: 'planning', status: 'timeout', timeout_ms: 300 });
    expect(planning.duration_ms).toBeGreaterThanOrEqual(290);
    expect(planning.error).toContain('300 ms');
    // V0: a timed-out run keeps terminal_state null in the checkpoint, so --resume retries the stage.
    expect(checkpointOf(dir).terminal_state).toBeNull();
    const resumed = await runCli([dir, '--resume', ...manager('ok')]);
    expect(resumed.exitCode).toBe(0);
    const after = reportOf(dir);
    expect(after.run_id).toBe(report.run_id);
    expect(after.terminal_state).toBe('done');
    expect(after.stage_executions[0]).toMatchObject({ stage: 'planning', status: 'success', attempt: 2 });
  });

  it('a missing binary → 1, status spawn_failed, the error names the program', async () => {
    const dir = tempDir();
    const missing = join(dir, 'no-such-program');
    const result = await runCli([dir, '--manager-bin', missing]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    const report = reportOf(dir);
    expect(report.terminal_state).toBe('failed');
    const [planning] = report.stage_executions;
    expect(planning).toMatchObject({ stage: 'planning', status: 'spawn_failed', exit_code: null, command: missing });
    expect(planning.error).toContain(missing);
  });

  it('a missing artifact → 1, status artifact_missing with its path, and it wins over a non-zero exit', async () => {
    const dir = tempDir();
    const artifact = join(dir, 'plan.json');
    const result = await runCli([dir, ...manager('no-artifact-fail'), '--manager-expected-artifact', artifact]);
    expect(result.exitCode).toBe(1);
    const report = reportOf(dir);
    expect(report.terminal_state).toBe('failed');
    expect(report.stage_executions[0]).toMatchObject({
      status: 'artifact_missing',
      exit_code: 5,
      missing_artifacts: [artifact],
      malformed_artifacts: [],
    });
  });

  it('a malformed .json artifact → 1, status artifact_missing, its path in malformed_artifacts', async () => {
    const dir = tempDir();
    const artifact = join(dir, 'plan.json');
    const result = await runCli([dir, ...manager('malformed', artifact), '--manager-expected-artifact', artifact]);
    expect(result.exitCode).toBe(1);
    const report = reportOf(dir);
    expect(report.terminal_state).toBe('failed');
    expect(report.stage_executions[0]).toMatchObject({
      status: 'artifact_missing',
      exit_code: 0,
      missing_artifacts: [],
      malformed_artifacts: [artifact],
    });
  });

  it('--help and --version → 0, writing nothing', async () => {
    const dir = join(tempDir(), 'out');
    const help = await runCli([dir, '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: autonomy-orchestrator');
    expect(help.stdout).toContain('--manager-bin');
    expect(help.stdout).toContain('--executor-expected-artifact');
    const version = await runCli(['--version']);
    expect(version.exitCode).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(version.stdout.trim()).toBe(pkg.version);
    expect(help.stderr + version.stderr).toBe('');
  });
});
