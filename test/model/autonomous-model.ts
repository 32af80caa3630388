/**
 * The model of the autonomous loop: every path of the machine when each run's executor and
 * reviewer may pass or fail, for a cap on the runs; and the real run that takes a path, with
 * test/fixtures/sequenced.sh playing each invocation's outcome.
 */
import { join } from 'node:path';
import type { EventObject } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { type OrchestrationConfigInput, orchestrationMachine } from '../../src/index.js';
import { ROOT } from '../support/cli.js';
import { settingsOf } from './loop-model.js';
import type { RunDirs } from './model-paths.js';

const SEQUENCED = join(ROOT, 'test', 'fixtures', 'sequenced.sh');

export interface Invocation {
  role: 'executor' | 'reviewer';
  outcome: 'success' | 'failed';
  run: number;
}

export interface AutonomousPath {
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

export function configFor(path: AutonomousPath, dirs: RunDirs): OrchestrationConfigInput {
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
export function recordsOf(path: AutonomousPath): [string, string, string, number][] {
  return path.invocations.flatMap((i): [string, string, string, number][] => {
    const own: [string, string, string, number] = i.role === 'executor' ? ['execution', 'stage:Execution:attempt:1', i.outcome, i.run] : ['validation', 'stage:Validation', i.outcome, i.run];
    if (i.outcome === 'success') return [own];
    const budget: [string, string, string, number] = i.role === 'executor' ? ['execution', 'stage:Execution:budget', 'failed', i.run] : ['validation', 'stage:Validation:remediation_budget', 'failed', i.run];
    return [own, budget];
  });
}

