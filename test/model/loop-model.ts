/**
 * The model of the loops: every path the machine can take when the executor and the reviewer
 * may each pass or fail (a non-zero exit) on every run, for given budgets; and a real run that
 * takes that path, with test/fixtures/scripted.sh playing each run's outcome.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AnyStateMachine, type EventObject, createActor } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import type { LoopSettings, LoopState } from '../../machines/loops.js';
import { type OrchestrationConfigInput, type RunOptions, type RunResult, orchestrationMachine, runOrchestration } from '../../src/index.js';
import { ROOT } from '../support/cli.js';
import type { RunDirs } from './model-paths.js';

export const SCRIPTED = join(ROOT, 'test', 'fixtures', 'scripted.sh');

/** Budgets of a model: retries after the first execution attempt, remediation cycles, and V0's one-time +1. */
export interface Caps {
  retries: number;
  cycles: number;
  adaptive: boolean;
  /** --planning-context-artifact: the native action after planning, which may fail (its file cannot be written). */
  planningContext?: boolean;
}

export interface LoopRun {
  stage: 'execution' | 'validation';
  /** The fixture's key for this run (see scripted.sh). */
  key: string;
  outcome: 'success' | 'failed';
}

export interface LoopPath {
  name: string;
  caps: Caps;
  runs: LoopRun[];
  /** Stages entered, in order, a re-entered stage (an attempt) once. */
  stages: string[];
  final: string;
  /** The loops' state at the end (counters and decisions). */
  loops: LoopState;
  /** With a planning context: how writing it ended. */
  context: 'success' | 'failed' | null;
}

interface StageDone extends EventObject {
  type: 'xstate.done.actor.stageWork';
  output: { stage: string; status: string; error: string | null; completedSteps: string[]; spentCost: number };
}

/** The machine's loop settings with no loop asked for (one attempt, no cycle, no gate); a model adds what it walks. */
export function baseSettings(extra: Partial<LoopSettings> = {}): LoopSettings {
  return {
    executionMaxIterations: 1,
    executionAdaptive: false,
    remediationMaxCycles: 0,
    remediationAdaptive: false,
    remediationPossible: false,
    plannedRemediationSteps: [],
    plannedValidationCommands: [],
    gates: null,
    hardGates: null,
    ...extra,
  };
}

export function settingsOf(caps: Caps): LoopSettings {
  return baseSettings({
    executionMaxIterations: caps.retries + 1,
    executionAdaptive: caps.adaptive,
    remediationMaxCycles: caps.cycles,
    remediationAdaptive: caps.adaptive,
    remediationPossible: true,
    ...(caps.planningContext ? { planningContext: true } : {}),
  });
}

function events(snapshot: { value: unknown; status: string }): StageDone[] {
  if (snapshot.status !== 'active' || typeof snapshot.value !== 'string') return [];
  const stage = snapshot.value;
  const statuses = stage === 'execution' || stage === 'validation' || stage === 'planning_context' ? ['success', 'failed'] : ['success'];
  return statuses.map((status) => ({
    type: 'xstate.done.actor.stageWork',
    output: { stage, status, error: status === 'failed' ? 'Command exited with code 7' : null, completedSteps: [], spentCost: 0 },
  }));
}

/**
 * Every simple path to a terminal state. The reviewer is modelled as always asking for a fix when
 * it fails (the fixture does), which the model says by holding the steps in context.
 */
export function loopPaths(caps: Caps): LoopPath[] {
  const settings = { ...settingsOf(caps), plannedRemediationSteps: ['fix'] };
  const paths = getSimplePaths(orchestrationMachine, { input: { runId: 'model', simulateBlocked: false, loops: settings }, events: events as never });
  return paths
    .filter((path) => path.state.status === 'done')
    .map((path) => {
      const runs: LoopRun[] = [];
      let reviews = 0;
      let context: LoopPath['context'] = null;
      const stages: string[] = [];
      path.steps.forEach((step, index) => {
        const value = String(step.state.value);
        if (stages.at(-1) !== value && !['hard_gates', 'gates', 'planning_context'].includes(value)) stages.push(value);
        const next = path.steps[index + 1]?.event as StageDone | undefined;
        if (value === 'planning_context' && next) context = next.output.status as 'success' | 'failed';
        if (!next || (value !== 'execution' && value !== 'validation')) return;
        const loops = step.state.context.loops!;
        const outcome = next.output.status as LoopRun['outcome'];
        if (value === 'execution') runs.push({ stage: 'execution', key: `${loops.remediationCycle}.${loops.executionAttempt}`, outcome });
        else runs.push({ stage: 'validation', key: String(++reviews), outcome });
      });
      const final = String(path.state.value);
      const caption = `retries ${caps.retries}, cycles ${caps.cycles}${caps.adaptive ? ', adaptive' : ''}${caps.planningContext ? ', planning context' : ''}`;
      const name = `[${caption}] ${context ? `context:${context === 'success' ? 'ok' : 'fail'} ` : ''}${runs.map((r) => `${r.stage === 'execution' ? 'exec' : 'review'}${r.key}:${r.outcome === 'success' ? 'ok' : 'fail'}`).join(' ')} => ${final}`;
      return { name, caps, runs, stages: stages.filter((s) => !['done', 'failed', 'blocked', 'timeout'].includes(s)), final, loops: path.state.context.loops!, context };
    });
}

/** The library configuration whose real run takes the path: the V0 shape, planning with no program. */
export function loopConfigFor(path: LoopPath, dirs: RunDirs, resume = false): OrchestrationConfigInput {
  const failing = (stage: LoopRun['stage']) => path.runs.filter((r) => r.stage === stage && r.outcome === 'failed').map((r) => `${r.key}=fail`);
  const review = join(dirs.workDir, 'review.json');
  const env = { SIDE_EFFECTS: dirs.sideEffects, CYCLE_FILE: cycleFileIn(dirs) };
  return {
    outputDir: dirs.outputDir,
    resume,
    timeoutMs: 20_000,
    killGraceMs: 200,
    later: {
      ...(path.caps.planningContext ? { planningContextArtifact: contextArtifactFor(path, dirs), repoRoot: dirs.workDir } : {}),
      executionMaxIterations: path.caps.retries + 1,
      reviewerRemediationMaxCycles: path.caps.cycles,
      adaptive: path.caps.adaptive,
      reviewerStep: 'reviewer',
    },
    plan: {
      stages: {
        execution: [{ id: 'executor', idempotencyKey: 'stage:Execution', bin: SCRIPTED, args: ['executor', '-', ...failing('execution')], env }],
        validation: [
          { id: 'reviewer', idempotencyKey: 'stage:Validation', bin: SCRIPTED, args: ['reviewer', review, ...failing('validation')], env, expectedArtifacts: [review] },
        ],
      },
    },
  };
}

/** Where the planning context goes: beneath a plain file when the path has writing it fail. */
function contextArtifactFor(path: LoopPath, dirs: RunDirs): string {
  if (path.context !== 'failed') return join(dirs.workDir, 'planning_context.json');
  mkdirSync(dirs.workDir, { recursive: true });
  writeFileSync(join(dirs.workDir, 'not-a-dir'), '');
  return join(dirs.workDir, 'not-a-dir', 'planning_context.json');
}

/** Where the fixture executor notes its cycle for the reviewer (part of the world a checkpoint is taken in). */
export function cycleFileIn(dirs: RunDirs): string {
  return join(dirs.workDir, 'cycle');
}

export function runLoopPath(path: LoopPath, dirs: RunDirs, options: RunOptions & { resume?: boolean } = {}): Promise<RunResult> {
  const { resume = false, ...rest } = options;
  return runOrchestration(loopConfigFor(path, dirs, resume), rest);
}

/** The stage transitions a run of the path records: [from, to], an attempt's re-entry not one. */
export function transitionsOf(path: LoopPath): [string | null, string][] {
  return path.stages.map((stage, i) => [i === 0 ? null : path.stages[i - 1]!, stage]);
}

/** The records a run of the path writes: one per program run, and the orchestrator's own (budgets, adaptations). */
export function recordsOf(path: LoopPath): [string, string, string][] {
  const records: [string, string, string][] = path.context ? [['planning', 'stage:Planning:repo_context', path.context]] : [];
  const max = { execution: path.caps.retries + 1, cycles: path.caps.cycles };
  path.runs.forEach((run, i) => {
    const attemptKey = `stage:Execution:attempt:${run.key.split('.')[1]}`;
    records.push(run.stage === 'execution' ? ['execution', attemptKey, run.outcome] : ['validation', 'stage:Validation', run.outcome]);
    if (run.outcome === 'success') return;
    const next = path.runs[i + 1];
    if (run.stage === 'execution') {
      const attempt = Number(run.key.split('.')[1]);
      if (next?.stage === 'execution' && attempt === max.execution) {
        max.execution += 1;
        records.push(['execution', 'stage:Execution:adaptive_policy', 'success']);
      }
      if (!next) records.push(['execution', 'stage:Execution:budget', 'failed']);
    } else {
      const cycle = path.runs.slice(0, i).filter((r) => r.stage === 'validation').length;
      if (next && cycle === max.cycles) {
        max.cycles += 1;
        records.push(['validation', 'stage:Validation:adaptive_policy', 'success']);
      }
      if (!next) records.push(['validation', 'stage:Validation:remediation_budget', 'failed']);
    }
  });
  return records;
}

/**
 * Runs a machine (the orchestration, with its work provided) to its end, and returns the root
 * states it entered, microstep by microstep: the deciding states are eventless, and a graph's path
 * steps over them.
 */
export async function statesEntered(machine: AnyStateMachine, input: unknown): Promise<string[]> {
  const states: string[] = [];
  const actor = createActor(machine, {
    input,
    inspect: (event) => {
      if (event.type === '@xstate.microstep' && event.actorRef.sessionId === event.rootId) {
        const value = String((event.snapshot as unknown as { value: unknown }).value);
        if (states.at(-1) !== value) states.push(value);
      }
    },
  });
  const finished = new Promise<void>((resolve) => actor.subscribe({ complete: resolve }));
  actor.start();
  await finished;
  return states;
}
