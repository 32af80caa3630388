/**
 * The auto-fix loop (V0's later contract): after a failed validation that starts no remediation
 * cycle, the fixer (`--autofix-bin`, with ORCHESTRATOR_AUTOFIX_ATTEMPT) runs and validation runs
 * again, up to `--autofix-max-attempts`; what a user sees in the report, the programs that ran, and
 * a run killed inside the loop resuming without running a finished fix again.
 */
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ROOT, STAGE, checkpointOf, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'autofix-loop.sh');

/** A run dir with the fixer copied in (a validation may remove it); `argv(validation outcomes, fixer args)`. */
function scene() {
  const dir = tempDir('ao-autofix-');
  const fixer = join(dir, 'fixer.sh');
  copyFileSync(FIXTURE, fixer);
  chmodSync(fixer, 0o755);
  const out = join(dir, 'out');
  const argv = (validation: string[], fix: string[] = [], extra: string[] = []) => [
    out,
    '--validation-bin', FIXTURE, '--validation-arg', 'validate', '--validation-arg', dir, ...validation.flatMap((v) => ['--validation-arg', v]),
    '--autofix-enabled', '--autofix-bin', fixer, '--autofix-arg', 'fix', '--autofix-arg', dir, ...fix.flatMap((v) => ['--autofix-arg', v]),
    ...extra,
  ];
  const effects = () => {
    try {
      return readFileSync(join(dir, 'effects'), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return { dir, out, fixer, argv, effects };
}

const attemptsOf = (report: any) => report.auto_fix_attempts.map((a: any) => [a.attempt_number, a.status, a.exit_code, a.reason_code]);

describe.concurrent('the auto-fix loop (--autofix-enabled, --autofix-bin, --autofix-max-attempts)', () => {
  it('fixes, then validates again, until validation passes: done, with AUTOFIX_CONVERGENCE_REACHED', async ({ expect }) => {
    const s = scene();
    const result = await runCli(s.argv(['1=fail', '2=fail']));
    expect(result.exitCode).toBe(0);
    expect(s.effects()).toEqual(['validation 1', 'fix 1', 'validation 2', 'fix 2', 'validation 3']);
    const report = reportOf(s.out);
    expect(attemptsOf(report)).toEqual([
      [1, 'applied', 0, 'AUTOFIX_ATTEMPT_APPLIED'],
      [2, 'applied', 0, 'AUTOFIX_ATTEMPT_APPLIED'],
    ]);
    expect(report.auto_fix_attempts[0].autofix_bin).toBe(s.fixer);
    expect(report.decision_rationale_codes).toEqual(['AUTOFIX_CONVERGENCE_REACHED']);
    expect(report.stage_executions.map((e: any) => [e.idempotency_key, e.status])).toEqual([
      ['stage:Validation:command:1', 'failed'],
      ['stage:Validation:command:1', 'failed'],
      ['stage:Validation:command:1', 'success'],
    ]);
    expect(report.failure).toBeNull();
    const printed = await runCli(['report', s.out]);
    expect(printed.stdout).toContain('  auto-fix attempt 2: applied (exit 0)\n');
  });

  it('out of attempts: failed, AUTOFIX_MAX_ATTEMPTS_EXHAUSTED; a failing fixer does not stop the loop', async ({ expect }) => {
    const s = scene();
    const result = await runCli([...s.argv(['1=fail', '2=fail', '3=fail']).map((a) => (a === s.fixer ? STAGE : a)), '--autofix-max-attempts', '2']);
    // The fixer here is stage.sh (`fix` is no mode of it: it exits non-zero).
    expect(result.exitCode).toBe(1);
    const report = reportOf(s.out);
    expect(attemptsOf(report).map((a: any[]) => a[1])).toEqual(['failed', 'failed']);
    expect(report.blocked_reason_codes).toEqual(['AUTOFIX_MAX_ATTEMPTS_EXHAUSTED']);
    expect(report.terminal_state).toBe('failed');
    expect(s.effects()).toEqual(['validation 1', 'validation 2', 'validation 3']);
  });

  it('a fixer that cannot start ends the run; a timed-out validation never starts the fixer; without --autofix-enabled nothing is fixed', async ({ expect }) => {
    const s = scene();
    expect((await runCli(s.argv(['1=fail-unfix']))).exitCode).toBe(1);
    expect(attemptsOf(reportOf(s.out))).toEqual([[1, 'spawn_failed', null, 'AUTOFIX_ATTEMPT_APPLIED']]);
    expect(reportOf(s.out).failure).toMatchObject({ stage: 'validation', status: 'spawn_failed' });
    expect(s.effects()).toEqual(['validation 1']);

    const t = scene();
    const timedOut = await runCli([t.out, '--validation-bin', 'sleep', '--validation-arg', '5', '--timeout-ms', '200', '--autofix-enabled', '--autofix-bin', t.fixer, '--autofix-arg', 'fix', '--autofix-arg', t.dir]);
    expect(timedOut.exitCode).toBe(124);
    expect(reportOf(t.out).auto_fix_attempts).toEqual([]);

    const u = scene();
    expect((await runCli(u.argv(['1=fail']).filter((a) => a !== '--autofix-enabled'))).exitCode).toBe(1);
    expect(u.effects()).toEqual(['validation 1']);
  });

  it('runs after the remediation cycles, once their budget is spent (its record first)', async ({ expect }) => {
    const s = scene();
    const review = join(s.dir, 'review.json');
    const result = await runCli([
      s.out,
      '--executor-bin', STAGE, '--executor-arg', 'ok',
      '--reviewer-bin', 'sh', '--reviewer-arg', '-c', '--reviewer-arg', `echo '{"next_step_plan":[{"action":"fix"}]}' > ${review}; test -e ${s.dir}/effects`,
      '--reviewer-expected-artifact', review,
      '--autofix-enabled', '--autofix-bin', s.fixer, '--autofix-arg', 'fix', '--autofix-arg', s.dir,
    ]);
    expect(result.exitCode).toBe(0);
    const report = reportOf(s.out);
    // One cycle (V0's adaptive +1 needs the flag: none here), then the budget, then the fixer.
    expect(report.stage_executions.map((e: any) => [e.idempotency_key, e.status])).toEqual([
      ['stage:Execution:attempt:1', 'success'],
      ['stage:Validation', 'failed'],
      ['stage:Validation:remediation_budget', 'failed'],
      ['stage:Validation', 'success'],
    ]);
    expect(s.effects()).toEqual(['fix 1']);
  });

  it('a run killed (SIGKILL) during fix 2 resumes there: fix 1 and the validations before do not run again', async ({ expect }) => {
    const s = scene();
    const args = s.argv(['1=fail', '2=fail'], ['2=hang']);
    const first = startCli(args);
    await waitFor(() => s.effects().includes('fix 2'), 30_000, 'the fixer attempt 2');
    first.child.kill('SIGKILL');
    await first.done;
    const saved = checkpointOf(s.out).snapshot;
    expect([saved.value, saved.context.loops.autofixAttempt]).toEqual(['autofix', 2]);

    const resumed = await runCli([...args, '--resume']);
    expect(resumed.exitCode).toBe(0);
    expect(s.effects()).toEqual(['validation 1', 'fix 1', 'validation 2', 'fix 2', 'fix 2', 'validation 3']);
    expect(attemptsOf(reportOf(s.out)).map((a: any[]) => a[0])).toEqual([1, 2]);
  });

  it('--autofix-max-attempts takes a whole number (exit 2)', async ({ expect }) => {
    const result = await runCli([join(tempDir('ao-autofix-bad-'), 'out'), '--autofix-max-attempts', 'x']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
