/**
 * Model-based test of the autonomous loop (--autonomous-loop): every path of the machine when each
 * run's executor and reviewer may pass or fail, with loop caps 0, 1 and 2 (runs started again
 * after the first: --autonomous-max-runs 1, 2, 3), each taken by a real run whose programs fail or
 * pass as the path says (test/fixtures/sequenced.sh counts their invocations).
 */
import { join } from 'node:path';
import type { EventObject } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { describe, it } from 'vitest';
import { type OrchestrationConfigInput, orchestrationMachine, runOrchestration } from '../../src/index.js';
import { ROOT, reportOf, sideEffects } from '../support/cli.js';
import { settingsOf } from './loop-model.js';
import { EXIT_CODE_OF, type RunDirs, runDirs } from './model-paths.js';

const SEQUENCED = join(ROOT, 'test', 'fixtures', 'sequenced.sh');

interface Invocation {
  role: 'executor' | 'reviewer';
  outcome: 'success' | 'failed';
  run: number;
}

interface AutonomousPath {
  name: string;
  maxRuns: number;
  invocations: Invocation[];
  final: string;
  runs: number;
}

function events(snapshot: { value: unknown; status: string; context: any }): EventObject[] {
  if (snapshot.status !== 'active' || typeof snapshot.value !== 'string') return [];
  const stage = snapshot.value;
  if (stage === 'autonomous_check') {
    // Each run's signature differs (no same-error stop), the repository is not git (no no-op signature).
    const run = snapshot.context.loops.autonomous.run;
    return [{ type: 'xstate.done.actor.loopRun', output: { elapsedMs: 0, failureSignature: `run ${run}`, noopSignature: null } } as EventObject];
  }
  const statuses = stage === 'execution' || stage === 'validation' ? ['success', 'failed'] : ['success'];
  return statuses.map((status) => ({ type: 'xstate.done.actor.stageWork', output: { stage, status, error: status === 'failed' ? 'exit 7' : null, completedSteps: [], spentCost: 0 } }) as EventObject);
}

export function autonomousPaths(cap: number): AutonomousPath[] {
  const maxRuns = cap + 1;
  const settings = { ...settingsOf({ retries: 0, cycles: 0, adaptive: false }), plannedRemediationSteps: ['fix'], autonomous: { maxRuns, maxDurationMs: 600_000, sameErrorLimit: 1000 } };
  const paths = getSimplePaths(orchestrationMachine, { input: { runId: 'model', simulateBlocked: false, loops: settings }, events: events as never });
  return paths
    .filter((path) => path.state.status === 'done')
    .map((path) => {
      const invocations: Invocation[] = [];
      path.steps.forEach((step, index) => {
        const value = String(step.state.value);
        const next = path.steps[index + 1]?.event as { output?: { status: string } } | undefined;
        if (!next?.output || (value !== 'execution' && value !== 'validation')) return;
        invocations.push({ role: value === 'execution' ? 'executor' : 'reviewer', outcome: next.output.status as Invocation['outcome'], run: step.state.context.loops!.autonomous!.run });
      });
      const runs = path.state.context.loops!.autonomous!.run;
      const final = String(path.state.value);
      const name = `[max runs ${maxRuns}] ${invocations.map((i) => `run${i.run}:${i.role === 'executor' ? 'exec' : 'review'}:${i.outcome === 'success' ? 'ok' : 'fail'}`).join(' ')} => ${final}`;
      return { name, maxRuns, invocations, final, runs };
    });
}

function configFor(path: AutonomousPath, dirs: RunDirs): OrchestrationConfigInput {
  const failing = (role: Invocation['role']) =>
    path.invocations.filter((i) => i.role === role).flatMap((i, n) => (i.outcome === 'failed' ? [`${n + 1}=fail`] : []));
  const review = join(dirs.workDir, 'review.json');
  const env = { SIDE_EFFECTS: dirs.sideEffects, COUNT_DIR: dirs.workDir };
  return {
    outputDir: dirs.outputDir,
    timeoutMs: 20_000,
    killGraceMs: 200,
    later: {
      executionMaxIterations: 1,
      reviewerRemediationMaxCycles: 0,
      adaptive: false,
      reviewerStep: 'reviewer',
      repoRoot: dirs.workDir,
      autonomous: { maxRuns: path.maxRuns, maxDurationMs: 600_000, sameErrorLimit: 1000 },
    },
    plan: {
      stages: {
        execution: [{ id: 'executor', idempotencyKey: 'stage:Execution', bin: SEQUENCED, args: ['executor', '-', ...failing('executor')], env }],
        validation: [{ id: 'reviewer', idempotencyKey: 'stage:Validation', bin: SEQUENCED, args: ['reviewer', review, ...failing('reviewer')], env, expectedArtifacts: [review] }],
      },
    },
  };
}

/** The records a run of the path writes: the program's, and the budget spent when it failed; each with its loop run. */
function recordsOf(path: AutonomousPath): [string, string, string, number][] {
  return path.invocations.flatMap((i): [string, string, string, number][] => {
    const own: [string, string, string, number] = i.role === 'executor' ? ['execution', 'stage:Execution:attempt:1', i.outcome, i.run] : ['validation', 'stage:Validation', i.outcome, i.run];
    if (i.outcome === 'success') return [own];
    const budget: [string, string, string, number] = i.role === 'executor' ? ['execution', 'stage:Execution:budget', 'failed', i.run] : ['validation', 'stage:Validation:remediation_budget', 'failed', i.run];
    return [own, budget];
  });
}

/** Counted by hand: each run ends done (exec ok, review ok) or failed in 2 ways; runs 1..R: sum 2^(r-1) done + 2^R failed. */
const COUNTS = [
  { cap: 0, paths: 3 },
  { cap: 1, paths: 7 },
  { cap: 2, paths: 15 },
];

describe('the autonomous loop model', () => {
  for (const { cap, paths } of COUNTS) {
    it(`has ${paths} paths with cap ${cap} (--autonomous-max-runs ${cap + 1})`, ({ expect }) => {
      const found = autonomousPaths(cap);
      expect(found).toHaveLength(paths);
      for (const path of found) expect(path.runs).toBeLessThanOrEqual(cap + 1);
    });
  }
});

for (const { cap } of COUNTS) {
  describe.concurrent(`a real run takes each autonomous loop path (cap ${cap})`, () => {
    for (const path of autonomousPaths(cap)) {
      it(path.name, async (context) => {
        const { expect } = context;
        const dirs = runDirs('ao-autonomous-', context);
        const result = await runOrchestration(configFor(path, dirs));
        const report = reportOf(dirs.outputDir);
        expect(result.exitCode).toBe(EXIT_CODE_OF[path.final]);
        expect(report.terminal_state).toBe(path.final);
        expect(report.stage_executions.map((e: any) => [e.stage, e.idempotency_key, e.status, e.autonomous_run])).toEqual(recordsOf(path));
        const perRole = { executor: 0, reviewer: 0 };
        expect(sideEffects(dirs.sideEffects)).toEqual(path.invocations.map((i) => `${i.role} ${++perRole[i.role]}`));
        expect(report.autonomous_loop.run).toBe(path.runs);
        expect(report.autonomous_loop.stop_reason).toBe(path.final === 'done' ? null : `Autonomous loop stopped: max runs reached (${path.maxRuns})`);
        // A new run enters planning again from where the last one ended.
        expect(report.transitions.filter((t: any) => t.to_stage === 'planning')).toHaveLength(path.runs);
      });
    }
  });
}
