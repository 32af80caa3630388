import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE, checkpointOf, reportOf, runCli, sideEffects, tempDir } from '../support/cli.js';

describe('a run through all five stages', () => {
  it('runs the manager in planning and the executor in execution, and ends done', async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const result = await runCli(
      [dir, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'ok'],
      { env: { SIDE_EFFECTS: effects } },
    );
    // Off a TTY, progress is one plain line per transition on stderr.
    expect(result.stderr).toBe(
      [
        'run -> planning',
        'planning (success) -> policy_ingestion',
        'policy_ingestion (success) -> execution',
        'execution (success) -> validation',
        'validation (success) -> closure',
        'closure (success) => done',
        '',
      ].join('\n'),
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Run report: ${join(dir, 'orchestrator_run_report.json')}`);
    const report = reportOf(dir);
    expect(report.terminal_state).toBe('done');
    expect(report.current_stage).toBe('closure');
    expect(report.transitions.map((t: any) => [t.from_stage, t.to_stage])).toEqual([
      [null, 'planning'],
      ['planning', 'policy_ingestion'],
      ['policy_ingestion', 'execution'],
      ['execution', 'validation'],
      ['validation', 'closure'],
    ]);
    expect(report.stage_executions.map((e: any) => [e.stage, e.idempotency_key, e.status, e.exit_code])).toEqual([
      ['planning', 'stage:Planning', 'success', 0],
      ['execution', 'stage:Execution', 'success', 0],
    ]);
    expect(sideEffects(effects)).toEqual(['planning 1', 'execution 1']);
    const checkpoint = checkpointOf(dir);
    expect(checkpoint.completed_stages).toEqual(['planning', 'policy_ingestion', 'execution', 'validation', 'closure']);
    expect(checkpoint.terminal_state).toBe('done');
    expect(checkpoint.run_id).toBe(report.run_id);
    expect(existsSync(report.stage_executions[0].stdout_log)).toBe(true);
  });
});
