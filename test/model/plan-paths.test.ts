/**
 * Model-based test of plans: every path of the orchestration machine through the halted states
 * (awaiting approval, budget exceeded, ROI below floor) and back, each taken by a real plan of
 * fixture steps run with the CLI as a user runs it: run, `approve`, `--resume` (with `--cost-budget`
 * raised, or the thermostat's floor lowered). Every
 * invocation's exit code and report, and which step programs ran, say the path was taken.
 */
import { join } from 'node:path';
import { type TestContext, describe, it } from 'vitest';
import { checkpointOf, reportOf, runCli } from '../support/cli.js';
import { startsOf, traceOf, writePlan } from '../plans/plan-runs.js';
import { runDirs } from './model-paths.js';
import { COST_BUDGET, KILL_GRACE_MS, MULTI_STEP, OUTCOMES_IN, RAISED_BUDGET, SPEND, planPaths, scenarioOf } from './plan-model.js';

const paths = planPaths();
const scenarios = paths.map(scenarioOf);
const count = (predicate: (name: string) => boolean) => paths.filter((p) => predicate(p.name)).length;

describe('the plan model', () => {
  // Counted by hand. Without a halt: execution fails, times out, or passes and the run is done (3).
  // A halt in execution (approval, budget or ROI) is answered by a fixing RESUME, or by one that
  // fixes nothing (the stage halts again) and then a fixing one: 2 ways; then execution passes
  // (done), fails or times out: 3 halts × 2 × 3 = 18. Closure's approval, answered either way, then
  // done: 2. 3 + 18 + 2 = 23.
  it('has 23 paths to a final state', ({ expect }) => {
    expect(paths).toHaveLength(23);
    const finals = paths.map((p) => p.final);
    expect(finals.filter((f) => f === 'done')).toHaveLength(9);
    expect(finals.filter((f) => f === 'failed')).toHaveLength(7);
    expect(finals.filter((f) => f === 'timeout')).toHaveLength(7);
  });

  it('goes through each halted state, answered with and without a fix', ({ expect }) => {
    expect(count((n) => n.includes('execution:approval_required'))).toBe(6);
    expect(count((n) => n.includes('execution:budget_exceeded'))).toBe(6);
    expect(count((n) => n.includes('execution:roi_below_floor'))).toBe(6);
    expect(count((n) => n.includes('closure:approval_required'))).toBe(2);
    expect(count((n) => n.includes('RESUME(unfixed)'))).toBe(10);
    expect(count((n) => !n.includes('RESUME'))).toBe(3);
    // At most one halt per path, and every fixing RESUME ends the halting.
    for (const path of paths) expect(path.moves.filter((m) => m.kind === 'resume' && m.fix === 'fixed').length).toBeLessThanOrEqual(1);
  });

  it('offers every outcome of each stage', ({ expect }) => {
    for (const [stage, outcomes] of Object.entries(OUTCOMES_IN)) {
      const seen = new Set(paths.flatMap((p) => p.moves.flatMap((m) => (m.kind === 'stage' && m.stage === stage ? [m.outcome] : []))));
      expect([...seen].sort(), stage).toEqual([...outcomes].sort());
    }
  });
});

/** Fresh directories for one real run, and the trace its steps append to. */
function setUp(context: TestContext) {
  const dirs = runDirs('ao-plan-model-', context);
  return { out: dirs.outputDir, workDir: dirs.workDir, trace: join(dirs.workDir, 'trace.jsonl') };
}

describe.concurrent('a real run takes each plan path', () => {
  for (const scenario of scenarios) {
    it(scenario.name, async (context) => {
      const { expect } = context;
      const { out, workDir, trace } = setUp(context);
      const planPath = writePlan(workDir, scenario.plan(trace));
      let startsBefore = 0;
      for (const [index, action] of scenario.actions.entries()) {
        const where = `action ${index + 1} (${action.kind})`;
        if (action.kind === 'approve') {
          const gate = checkpointOf(out).halt.gate;
          const approval = await runCli(['approve', out, '--by', 'model']);
          expect(approval.exitCode, where).toBe(0);
          expect(approval.stdout, where).toContain(`Approved ${gate}`);
          expect(checkpointOf(out).approvals.at(-1), where).toMatchObject({ gate, by: 'model' });
          continue;
        }
        const flags = [...(action.resume ? ['--resume'] : []), ...(action.costBudget === null ? [] : ['--cost-budget', String(action.costBudget)])];
        const env: Record<string, string> = action.thermostatFloor === undefined ? {} : { ORCHESTRATOR_THERMOSTAT: JSON.stringify({ floor: action.thermostatFloor }) };
        const result = await runCli([out, '--plan', planPath, '--kill-grace-ms', String(KILL_GRACE_MS), ...flags], { env });
        const expected = scenario.expected[index]!;
        const report = reportOf(out);
        expect(result.exitCode, `${where}: ${result.stderr}`).toBe(expected.exitCode);
        expect(report.terminal_state, where).toBe(expected.terminalState);
        expect(report.blocked, where).toEqual(expected.blocked);
        expect(checkpointOf(out).halt, where).toEqual(expected.blocked);
        if (expected.blocked?.reason === 'approval_required') {
          expect(result.stderr, where).toContain(`blocked: the run waits for approval of ${expected.blocked.gate}`);
        } else if (expected.blocked?.reason === 'budget_exceeded') {
          expect(result.stderr, where).toContain('blocked: the run is over its cost budget');
          expect(report.cost, where).toEqual({ spent: SPEND, budget: COST_BUDGET });
        }
        if (expected.failure) expect(report.failure, where).toMatchObject(expected.failure);
        else expect(report.failure, where).toBeNull();
        const starts = startsOf(traceOf(trace));
        expect(starts.slice(startsBefore).map((s) => s.step), where).toEqual(expected.started);
        startsBefore = starts.length;
      }

      const report = reportOf(out);
      expect(report.transitions.map((t: any) => [t.from_stage, t.to_stage])).toEqual(scenario.transitions);
      // No step's program ran twice: each ran once, as attempt 1, whatever the resumes.
      const starts = startsOf(traceOf(trace));
      expect(starts.map((s) => s.attempt)).toEqual(starts.map(() => 1));
      expect(new Set(starts.map((s) => s.step)).size).toBe(starts.length);
      if (scenario.name.includes('budget_exceeded')) expect(report.cost).toEqual({ spent: SPEND, budget: RAISED_BUDGET });
    });
  }
});

describe('a real run of multi-step stages', () => {
  it(MULTI_STEP.name, async (context) => {
    const { expect } = context;
    const { out, workDir, trace } = setUp(context);
    const planPath = writePlan(workDir, MULTI_STEP.plan(trace));
    const result = await runCli([out, '--plan', planPath, '--kill-grace-ms', String(KILL_GRACE_MS)]);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = reportOf(out);
    expect(report.terminal_state).toBe('done');
    expect(report.transitions.map((t: any) => t.to_stage)).toEqual(['planning', 'policy_ingestion', 'execution', 'validation', 'closure']);
    const records = report.stage_executions.map((e: any) => `${e.step} ${e.attempt} ${e.status}`);
    expect([...records].sort()).toEqual(
      ['outline 1 success', 'fetch 1 success', 'flaky 1 failed', 'flaky 2 success', 'index 1 success', 'link 1 success', 'summarize 1 success', 'announce 1 success'].sort(),
    );

    const lines = traceOf(trace);
    const span = (step: string, attempt = 1) => {
      const start = lines.find((l) => l.event === 'start' && l.step === step && l.attempt === attempt)!;
      const end = lines.find((l) => l.event === 'end' && l.step === step && l.attempt === attempt)!;
      return { start: start.at, end: end.at };
    };
    // Needs are kept; `index`, ready from the start, waited for a slot.
    expect(span('index').start).toBeGreaterThanOrEqual(Math.min(span('fetch').end, span('flaky').end));
    expect(span('link').start).toBeGreaterThanOrEqual(Math.max(span('fetch').end, span('flaky', 2).end));
    expect(span('announce').start).toBeGreaterThanOrEqual(span('summarize').end);
    // The retry waited its backoff.
    expect(span('flaky', 2).start).toBeGreaterThanOrEqual(span('flaky', 1).end + 120 - 20);
    // Two steps at once and never more, by the orchestrator's account of each attempt's process
    // (a loaded machine may start one program late enough that it never overlaps the other's).
    const spans = report.stage_executions
      .filter((e: any) => e.stage === 'execution')
      .flatMap((e: any) => [
        { at: e.started_at_unix_ms, delta: 1 },
        // Less 2 ms: start and duration are rounded, and a step that waited for a slot starts after the end.
        { at: e.started_at_unix_ms + e.duration_ms - 2, delta: -1 },
      ])
      .sort((a: any, b: any) => a.at - b.at || a.delta - b.delta);
    let running = 0;
    let most = 0;
    for (const { delta } of spans) most = Math.max(most, (running += delta));
    expect(most).toBe(2);
  });
});
