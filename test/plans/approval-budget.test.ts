import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointOf, processAlive, reportOf, runCli, tempDir } from '../support/cli.js';
import { fixtureStep, recordsOf, startsOf, traceOf, writePlan } from './plan-runs.js';

/** A run directory with a plan: `run(flags)` runs (or resumes) it, `ran()` lists what the steps did. */
function setUp(plan: (trace: string) => unknown) {
  const dir = tempDir();
  const out = join(dir, 'out');
  const trace = join(dir, 'trace.jsonl');
  const planPath = writePlan(dir, plan(trace));
  return {
    out,
    run: (...flags: string[]) => runCli([out, '--plan', planPath, '--kill-grace-ms', '300', ...flags]),
    approve: (...flags: string[]) => runCli(['approve', out, ...flags]),
    /** "<step> <attempt>" for every program start so far. */
    ran: () => startsOf(traceOf(trace)).map((l) => `${l.step} ${l.attempt}`),
  };
}

describe('a stage that requires approval', () => {
  it('stops the run blocked until approved; approve records who; --resume carries on to closure', async () => {
    const run = setUp((trace) => ({
      requireApproval: ['closure'],
      stages: {
        planning: [fixtureStep('outline', trace)],
        execution: [fixtureStep('build', trace)],
        closure: [fixtureStep('announce', trace)],
      },
    }));

    const first = await run.run();
    expect(first.exitCode).toBe(3);
    expect(first.stderr).toContain('stage:closure');
    let report = reportOf(run.out);
    expect(report.terminal_state).toBe('blocked');
    expect(report.blocked).toEqual({ reason: 'approval_required', stage: 'closure', gate: 'stage:closure' });
    expect(checkpointOf(run.out).terminal_state).toBe('blocked');
    expect(run.ran()).toEqual(['outline 1', 'build 1']);

    const unapproved = await run.run('--resume');
    expect(unapproved.exitCode).toBe(3);
    expect(reportOf(run.out).blocked).toEqual({ reason: 'approval_required', stage: 'closure', gate: 'stage:closure' });
    expect(run.ran()).toEqual(['outline 1', 'build 1']);

    const before = Date.now();
    const approval = await run.approve('--by', 'alice', '--note', 'n');
    expect(approval.stderr).toBe('');
    expect(approval.exitCode).toBe(0);
    expect(approval.stdout).toContain('stage:closure');
    const approvals = checkpointOf(run.out).approvals;
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({ gate: 'stage:closure', by: 'alice', note: 'n' });
    expect(approvals[0].at_unix_ms).toBeGreaterThanOrEqual(before - 1000);
    expect(approvals[0].at_unix_ms).toBeLessThanOrEqual(Date.now());

    const resumed = await run.run('--resume');
    expect(resumed.exitCode).toBe(0);
    report = reportOf(run.out);
    expect(report.terminal_state).toBe('done');
    expect(report.blocked).toBeNull();
    expect(report.approvals).toEqual(approvals);
    expect(checkpointOf(run.out).terminal_state).toBe('done');
    expect(run.ran()).toEqual(['outline 1', 'build 1', 'announce 1']);
    expect(recordsOf(report, 'announce').map((r: any) => [r.status, r.attempt])).toEqual([['success', 1]]);
  });
});

describe('a step that requires approval', () => {
  it('stops the run blocked at step:<stage>/<id>; after approve, --resume runs it and what follows', async () => {
    const run = setUp((trace) => ({
      stages: {
        execution: [fixtureStep('build', trace), fixtureStep('deploy', trace, {}, { requiresApproval: true, needs: ['build'] })],
        closure: [fixtureStep('announce', trace)],
      },
    }));

    const first = await run.run();
    expect(first.exitCode).toBe(3);
    expect(reportOf(run.out).terminal_state).toBe('blocked');
    expect(reportOf(run.out).blocked).toEqual({ reason: 'approval_required', stage: 'execution', gate: 'step:execution/deploy' });
    expect(checkpointOf(run.out).terminal_state).toBe('blocked');
    expect(run.ran()).toEqual(['build 1']);

    const approval = await run.approve('--by', 'bob');
    expect(approval.exitCode).toBe(0);
    expect(checkpointOf(run.out).approvals).toMatchObject([{ gate: 'step:execution/deploy', by: 'bob', note: null }]);

    const resumed = await run.run('--resume');
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(run.out).terminal_state).toBe('done');
    expect(run.ran()).toEqual(['build 1', 'deploy 1', 'announce 1']);

    // Done now: there is nothing to approve.
    const again = await run.approve('--by', 'bob');
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/^autonomy-orchestrator: cannot approve: run \S+ is not waiting for an approval/);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(checkpointOf(run.out).approvals).toHaveLength(1);
  });

  it('approve on a run that waits for nothing exits 1 with a message', async () => {
    const run = setUp((trace) => ({ stages: { execution: [fixtureStep('build', trace, { 'fail-attempts': 1 })] } }));
    expect((await run.run()).exitCode).toBe(1);
    const approval = await run.approve();
    expect(approval.exitCode).toBe(1);
    expect(approval.stderr).toMatch(/^autonomy-orchestrator: cannot approve: run \S+ is not waiting for an approval .*\n$/);
    expect(checkpointOf(run.out).approvals).toEqual([]);
  });

  it('approve where there is no run exits 1 naming the checkpoint', async () => {
    const out = tempDir();
    const approval = await runCli(['approve', out]);
    expect(approval.exitCode).toBe(1);
    expect(approval.stderr).toBe(`autonomy-orchestrator: cannot approve: no checkpoint at ${join(out, 'orchestrator_checkpoint.json')}\n`);
  });
});

describe('a cost budget', () => {
  it('stops the run blocked before the next step once spent, and a bigger budget resumes it', async () => {
    const run = setUp((trace) => ({
      budget: { cost: 7 },
      stages: {
        execution: [fixtureStep('one', trace, { cost: 5 }), fixtureStep('two', trace, { cost: 5 }), fixtureStep('three', trace, { cost: 5 })],
        closure: [fixtureStep('announce', trace)],
      },
    }));

    const first = await run.run();
    expect(first.exitCode).toBe(3);
    let report = reportOf(run.out);
    expect(report.terminal_state).toBe('blocked');
    expect(report.blocked).toMatchObject({ reason: 'budget_exceeded', stage: 'execution' });
    expect(report.cost).toEqual({ spent: 10, budget: 7 });
    expect(recordsOf(report, 'one')[0].cost).toBe(5);
    expect(recordsOf(report, 'two')[0].cost).toBe(5);
    expect(checkpointOf(run.out).terminal_state).toBe('blocked');
    // The third step's program never ran.
    expect(run.ran()).toEqual(['one 1', 'two 1']);

    const resumed = await run.run('--resume', '--cost-budget', '100');
    expect(resumed.exitCode).toBe(0);
    report = reportOf(run.out);
    expect(report.terminal_state).toBe('done');
    expect(report.cost).toEqual({ spent: 15, budget: 100 });
    expect(run.ran()).toEqual(['one 1', 'two 1', 'three 1', 'announce 1']);
  });
});

describe('a fresh run whose first stage needs approval', () => {
  it('halts once: the machine is told no RESUME, the stage is not started twice', async () => {
    const run = setUp((trace) => ({ requireApproval: ['planning'], stages: { planning: [fixtureStep('outline', trace)] } }));
    const result = await run.run('--json');
    expect(result.exitCode).toBe(3);
    const finished = result.stdout.split('\n').filter((line) => line.includes('"stage_finished"') && line.includes('"planning"'));
    expect(finished).toHaveLength(1);
    expect(readFileSync(join(run.out, 'orchestrator_events.jsonl'), 'utf8')).not.toContain('"RESUME"');
    expect(run.ran()).toEqual([]);
  });
});

describe('--max-wall-ms', () => {
  it('ends a halted run resumed after its budget was spent: approved, then --resume is a timeout (exit 124) at the stage it halted in, nothing run', async () => {
    const run = setUp((trace) => ({ requireApproval: ['execution'], maxWallMs: 1500, stages: { execution: [fixtureStep('build', trace, { sleep: 6_000 })] } }));
    const started = Date.now();
    expect((await run.run()).exitCode).toBe(3);
    expect(reportOf(run.out).blocked).toMatchObject({ reason: 'approval_required', stage: 'execution' });
    expect((await run.approve('--by', 'alice')).exitCode).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 1_700 - Date.now())));
    const resumed = await run.run('--resume');
    expect(resumed.exitCode).toBe(124);
    const report = reportOf(run.out);
    expect([report.terminal_state, report.blocked]).toEqual(['timeout', null]);
    expect(report.failure).toEqual({ stage: 'execution', status: 'timeout', error: 'the run exceeded its maxWallMs' });
    expect(run.ran()).toEqual([]);
  });

  it('ends the run as a timeout (exit 124) and ends the running step', async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const trace = join(dir, 'trace.jsonl');
    const planPath = writePlan(dir, { stages: { execution: [fixtureStep('slow', trace, { sleep: 10_000, child: 1 })] } });
    const started = Date.now();
    // Long enough that the step has started even on a loaded machine; far shorter than its 10 s sleep.
    const result = await runCli([out, '--plan', planPath, '--max-wall-ms', '2000', '--kill-grace-ms', '300']);
    expect(result.exitCode).toBe(124);
    expect(Date.now() - started).toBeLessThan(8_000);
    const report = reportOf(out);
    expect(report.terminal_state).toBe('timeout');
    expect(report.failure.status).toBe('timeout');
    expect(report.failure.error).toContain('maxWallMs');
    const [start] = startsOf(traceOf(trace), 'slow');
    expect(start).toBeDefined();
    expect(processAlive(start!.pid)).toBe(false);
    expect(processAlive(start!.childPid!)).toBe(false);
  });
});
