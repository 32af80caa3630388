/**
 * V0's cycle memory (`--cycle-memory-path`), as JSON: written with the checkpoints, read when the
 * next run starts (its budgets override the flags', said on stderr; its planned remediation steps
 * and native validations are taken); the previous next actions as the steps' last fallback.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ROOT, STAGE, readJson, reportOf, runCli, sideEffects, tempDir } from '../support/cli.js';

const SCRIPTED = join(ROOT, 'test', 'fixtures', 'scripted.sh');
const records = (report: any) => report.stage_executions.map((e: any) => [e.idempotency_key, e.command, e.status]);

function scene() {
  const dir = tempDir('ao-memory-');
  return { dir, out: join(dir, 'out'), memory: join(dir, 'memory.json'), env: { SIDE_EFFECTS: join(dir, 'effects.txt'), CYCLE_FILE: join(dir, 'cycle') } };
}

/** A reviewer that fails its first run without next steps and passes after; an executor that keeps its env. */
function reviewerAndExecutor(dir: string) {
  const reviewer = join(dir, 'reviewer.sh');
  writeFileSync(reviewer, `#!/bin/sh\nif [ -f ${dir}/reviewed ]; then exit 0; fi\ntouch ${dir}/reviewed\nexit 1\n`, { mode: 0o755 });
  const envFile = join(dir, 'executor.env');
  return { args: ['--executor-bin', STAGE, '--executor-arg', 'env', '--executor-arg', envFile, '--reviewer-bin', reviewer, '--reviewer-remediation-max-cycles', '1'], envFile };
}

describe.concurrent('cycle memory (--cycle-memory-path)', () => {
  it('is written with the checkpoints: the budgets as they stand, the planned steps, the native validations', async ({ expect }) => {
    const s = scene();
    const executor = ['--executor-bin', SCRIPTED, '--executor-arg', 'executor', '--executor-arg', '-', '--executor-arg', '0.1=fail'];
    const result = await runCli([s.out, ...executor, '--execution-max-iterations', '2', '--validation-bin', 'true', '--validation-bin', STAGE, '--validation-arg', 'ok', '--cycle-memory-path', s.memory], { env: s.env });
    expect(result.exitCode).toBe(0);
    const memory = readJson(s.memory);
    expect(memory).toEqual({
      execution_policy_overrides: { execution_max_iterations: 2, reviewer_remediation_max_cycles: 0 },
      planned_remediation_steps: [],
      validation_commands: [{ command_line: { command: 'true', args: [] } }, { command_line: { command: STAGE, args: ['ok'] } }],
      updated_at_unix_secs: memory.updated_at_unix_secs,
    });
    expect(Number.isInteger(memory.updated_at_unix_secs)).toBe(true);
  });

  it('read at start: its budget overrides the flag (said on stderr), its validations run after the flags\'', async ({ expect }) => {
    const s = scene();
    writeFileSync(
      s.memory,
      JSON.stringify({
        execution_policy_overrides: { execution_max_iterations: 3 },
        planned_remediation_steps: [],
        validation_commands: [{ command_line: { command: 'true', args: [] } }, { command_line: { command: STAGE, args: ['ok'] } }],
      }),
    );
    const executor = ['--executor-bin', SCRIPTED, '--executor-arg', 'executor', '--executor-arg', '-', '--executor-arg', '0.1=fail', '--executor-arg', '0.2=fail'];
    const result = await runCli([s.out, ...executor, '--execution-max-iterations', '1', '--validation-bin', 'true', '--cycle-memory-path', s.memory], { env: s.env });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain(`autonomy-orchestrator: warning: cycle memory ${s.memory}: execution_max_iterations 3 overrides --execution-max-iterations 1\n`);
    expect(sideEffects(s.env.SIDE_EFFECTS)).toEqual(['execution 0.1', 'execution 0.2', 'execution 0.3', 'validation 1']);
    expect(records(reportOf(s.out))).toEqual([
      ['stage:Execution:attempt:1', SCRIPTED, 'failed'],
      ['stage:Execution:attempt:2', SCRIPTED, 'failed'],
      ['stage:Execution:attempt:3', SCRIPTED, 'success'],
      ['stage:Validation:command:1', 'true', 'success'],
      ['stage:Validation:command:2', STAGE, 'success'],
    ]);
  });

  it('its planned remediation steps go to the executor when the reviewer gives none', async ({ expect }) => {
    const s = scene();
    writeFileSync(s.memory, JSON.stringify({ planned_remediation_steps: ['Fix the flaky test', 'Rename x'] }));
    const { args, envFile } = reviewerAndExecutor(s.dir);
    const result = await runCli([s.out, ...args, '--cycle-memory-path', s.memory]);
    expect(result.exitCode).toBe(0);
    expect(readFileSync(envFile, 'utf8')).toContain('ORCHESTRATOR_REMEDIATION_STEPS=Fix the flaky test || Rename x\n');
    expect(readJson(s.memory).planned_remediation_steps).toEqual(['Fix the flaky test', 'Rename x']);
  });

  it('without memory steps, the previous run\'s recommended actions (--next-actions-path) are the planned steps', async ({ expect }) => {
    const s = scene();
    const next = join(s.dir, 'next.json');
    writeFileSync(
      next,
      JSON.stringify({
        run_id: 'run_1',
        terminal_state: 'blocked',
        blocked_reason_codes: ['GATE_CI_NOT_SUCCESS'],
        reviewer_next_steps: [],
        recommended_actions: ['Resolve CI gate: ensure CI status is success'],
        versioning_delta: null,
        generated_at_unix_secs: 1,
      }),
    );
    const { args, envFile } = reviewerAndExecutor(s.dir);
    const result = await runCli([s.out, ...args, '--next-actions-path', next]);
    expect(result.exitCode).toBe(0);
    expect(readFileSync(envFile, 'utf8')).toContain('ORCHESTRATOR_REMEDIATION_STEPS=Resolve CI gate: ensure CI status is success\n');
  });

  it('cannot be written: one cycle_memory.persist record, and the run goes on (as upstream)', async ({ expect }) => {
    const s = scene();
    const memory = join(s.dir, 'missing', 'memory.json');
    const result = await runCli([s.out, '--executor-bin', STAGE, '--executor-arg', 'ok', '--cycle-memory-path', memory]);
    expect(result.exitCode).toBe(0);
    const failed = reportOf(s.out).stage_executions.filter((e: any) => e.command === 'cycle_memory.persist');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ idempotency_key: null, args: [memory], status: 'failed', error: `cannot write cycle memory ${memory}: ENOENT` });
  });
});
