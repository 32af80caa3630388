/**
 * Resume equivalence for plans: for every path through the halted states and for a plan of
 * multi-step stages, every checkpoint written along the uninterrupted run (by the runs and by
 * `approve`) is resumed in a fresh directory and the rest of the path performed from there. The
 * run ends as the uninterrupted one did, with the same transitions and exit codes, no step the
 * checkpoint holds as completed runs again, and a step in flight runs at most once more.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'vitest';
import {
  CHECKPOINT_FILE,
  type RunCheckpointStore,
  type CheckpointV3,
  FileCheckpointStore,
  REPORT_FILE,
  type Stage,
  approveRun,
  runOrchestration,
} from '../../src/index.js';
import { checkpointOf, reportOf } from '../support/cli.js';
import { startsOf, traceOf } from '../plans/plan-runs.js';
import { RecordingStore, type SavedCheckpoint, plantSaved, runDirs } from './model-paths.js';
import { KILL_GRACE_MS, MULTI_STEP, type Scenario, planPaths, scenarioOf } from './plan-model.js';
import { idsOf } from '../support/id-set.js';

/**
 * Performs the scenario's actions from `from` on. With `planted` the output directory holds a
 * checkpoint already, which the first run resumes.
 */
async function perform(
  scenario: Scenario,
  where: { outputDir: string; trace: string; store: RunCheckpointStore },
  options: { from?: number; planted?: boolean; onAction?: (index: number) => void } = {},
) {
  const { outputDir, trace, store } = where;
  const { from = 0, planted = false, onAction } = options;
  const plan = scenario.plan(trace);
  const exitCodes: (number | null)[] = [];
  for (let index = from; index < scenario.actions.length; index++) {
    const action = scenario.actions[index]!;
    if (action.kind === 'approve') {
      await approveRun(store, { by: 'model' });
      exitCodes.push(null);
    } else {
      const config = {
        outputDir,
        plan,
        killGraceMs: KILL_GRACE_MS,
        resume: action.resume || (planted && index === from),
        ...(action.costBudget === null ? {} : { costBudget: action.costBudget }),
        ...(action.thermostatFloor === undefined ? {} : { thermostat: { floor: action.thermostatFloor } }),
      };
      const result = await runOrchestration(config, { store });
      exitCodes.push(result.exitCode);
    }
    onAction?.(index);
  }
  return exitCodes;
}

const transitionPairs = (report: any) => report.transitions.map((t: any) => [t.from_stage, t.to_stage]);
/** Program starts per `<stage>/<step>`, with their attempt numbers. */
function startsByStep(trace: string): Map<string, number[]> {
  const byStep = new Map<string, number[]>();
  for (const start of startsOf(traceOf(trace))) {
    const key = `${start.stage}/${start.step}`;
    byStep.set(key, [...(byStep.get(key) ?? []), start.attempt]);
  }
  return byStep;
}

/**
 * Attempts per `<stage>/<step>` at the end: the checkpoint counts the steps not done; a done step's
 * count is the attempt of its records in the report.
 */
function attemptsIn(outputDir: string): Record<string, number> {
  const attempts = { ...(checkpointOf(outputDir) as CheckpointV3).attempts };
  const report = reportOf(outputDir);
  for (const record of [...report.earlier_stage_executions, ...report.stage_executions]) {
    if (record.status === 'skipped') continue;
    const key = `${record.stage}/${record.step}`;
    attempts[key] = Math.max(attempts[key] ?? 0, record.attempt);
  }
  return attempts;
}

/** The running stage's step progress in a checkpoint, with the stage; none between stages. */
function schedulerIn(checkpoint: CheckpointV3): { stage: Stage; steps: Record<string, { status: string }> } | null {
  const child = checkpoint.snapshot.children.stageWork as
    | { snapshot?: { input: { stage: Stage }; scheduler: { done: (string | [string, number, number])[]; active: Record<string, { status: string }> } } }
    | undefined;
  if (!child?.snapshot) return null;
  const { done, active } = child.snapshot.scheduler;
  const steps: Record<string, { status: string }> = { ...active };
  for (const id of idsOf(done)) steps[id] = { status: 'succeeded' };
  return { stage: child.snapshot.input.stage, steps };
}

/** What a checkpoint says of each step: completed (never to run again) or in flight. */
function progressIn(checkpoint: CheckpointV3, scenario: Scenario) {
  const stagesOfPlan = scenario.plan('').stages as Partial<Record<Stage, { id: string }[]>>;
  const completed = new Set<string>();
  const inFlight = new Set<string>();
  for (const stage of checkpoint.completed_stages) for (const step of stagesOfPlan[stage] ?? []) completed.add(`${stage}/${step.id}`);
  const context = checkpoint.snapshot.context as { completedSteps?: Partial<Record<Stage, (string | [string, number, number])[]>> };
  for (const [stage, ids] of Object.entries(context.completedSteps ?? {})) for (const id of idsOf(ids)) completed.add(`${stage}/${id}`);
  const scheduler = schedulerIn(checkpoint);
  for (const [id, progress] of Object.entries(scheduler?.steps ?? {})) {
    const key = `${scheduler!.stage}/${id}`;
    if (progress.status === 'succeeded') completed.add(key);
    if (progress.status === 'running') inFlight.add(key);
  }
  return { completed, inFlight };
}

interface Uninterrupted {
  exitCodes: (number | null)[];
  report: any;
  starts: Map<string, number[]>;
  /** Attempts per `<stage>/<step>` in the end, as the last checkpoint counts them. */
  attempts: Record<string, number>;
  /** Each checkpoint saved, with the index of the action that saved it. */
  saved: (SavedCheckpoint & { action: number })[];
}

async function uninterrupted(scenario: Scenario, context: TestContext): Promise<Uninterrupted> {
  const dirs = runDirs('ao-plan-resume-', context);
  mkdirSync(dirs.outputDir, { recursive: true });
  const trace = join(dirs.workDir, 'trace.jsonl');
  const store = new RecordingStore(join(dirs.outputDir, CHECKPOINT_FILE), join(dirs.outputDir, REPORT_FILE));
  const saved: Uninterrupted['saved'] = [];
  const onAction = (action: number) => saved.push(...store.saved.slice(saved.length).map((s) => ({ ...s, action })));
  const exitCodes = await perform(scenario, { outputDir: dirs.outputDir, trace, store }, { onAction });
  return { exitCodes, report: reportOf(dirs.outputDir), starts: startsByStep(trace), attempts: attemptsIn(dirs.outputDir), saved };
}

async function resumedFrom(scenario: Scenario, saved: Uninterrupted['saved'][number], context: TestContext) {
  const dirs = runDirs('ao-plan-resume-', context);
  mkdirSync(dirs.outputDir, { recursive: true });
  const trace = join(dirs.workDir, 'trace.jsonl');
  plantSaved(saved, dirs.outputDir);
  // A checkpoint `approve` saved is resumed by the run after it; one a run saved, by that run again.
  const from = scenario.actions[saved.action]!.kind === 'approve' ? saved.action + 1 : saved.action;
  const store = new FileCheckpointStore(join(dirs.outputDir, CHECKPOINT_FILE));
  const exitCodes = await perform(scenario, { outputDir: dirs.outputDir, trace, store }, { from, planted: true });
  return { from, exitCodes, report: reportOf(dirs.outputDir), starts: startsByStep(trace), attempts: attemptsIn(dirs.outputDir) };
}

/** Resumes from every checkpoint of the scenario's uninterrupted run and checks each ends alike. */
async function checkEveryCheckpoint(scenario: Scenario, context: TestContext): Promise<Uninterrupted> {
  const { expect } = context;
  const original = await uninterrupted(scenario, context);
  expect(original.saved.length).toBeGreaterThanOrEqual(2);
  // A few resumes at a time: most of a timing-out step's run is waiting.
  const resumes = await inBatches(original.saved, 3, (saved) => resumedFrom(scenario, saved, context));
  for (const [index, saved] of original.saved.entries()) {
    const checkpoint = saved.checkpoint as CheckpointV3;
    const where = `checkpoint ${index + 1}/${original.saved.length} (action ${saved.action + 1}, state ${String(checkpoint.snapshot.value)})`;
    const resumed = resumes[index]!;
    expect(resumed.report.terminal_state, where).toBe(original.report.terminal_state);
    expect(transitionPairs(resumed.report), where).toEqual(transitionPairs(original.report));
    expect(resumed.exitCodes, where).toEqual(original.exitCodes.slice(resumed.from));

    const { completed, inFlight } = progressIn(checkpoint, scenario);
    for (const [key, attempts] of resumed.starts) {
      expect(completed.has(key), `${where}: completed step ${key} ran again`).toBe(false);
      // Attempts go on from the checkpoint's count (a program killed by its timeout may not have
      // written its start: count what the trace shows, in order).
      const before = checkpoint.attempts[key] ?? 0;
      expect(attempts.every((attempt, i) => attempt > before && (i === 0 || attempt > attempts[i - 1]!)), `${where}: attempts of ${key}: ${attempts}`).toBe(true);
    }
    // At least once, at most once more: the attempts of each step, before and after the
    // checkpoint, are no more than the uninterrupted run's, plus one for a step in flight.
    for (const key of new Set([...Object.keys(resumed.attempts), ...Object.keys(original.attempts)])) {
      const before = checkpoint.attempts[key] ?? 0;
      const after = resumed.attempts[key] ?? 0;
      // A completed step's count is final: the resumed run ends with the uninterrupted run's.
      if (completed.has(key)) expect(after, `${where}: attempts of completed step ${key}`).toBe(original.attempts[key] ?? 0);
      // A step in flight, or one the uninterrupted run went on to start, is started again.
      else if (inFlight.has(key) || (original.attempts[key] ?? 0) > before) expect(after, `${where}: attempts of ${key}`).toBeGreaterThan(before);
      expect(after, `${where}: attempts of ${key}`).toBeLessThanOrEqual((original.attempts[key] ?? 0) + (inFlight.has(key) ? 1 : 0));
    }
  }
  return original;
}

async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

const scenarios = planPaths().map(scenarioOf);

describe('the scenarios to resume from', () => {
  it('are the 23 plan paths (and, below, the multi-step plan)', ({ expect }) => {
    expect(scenarios).toHaveLength(23);
  });
});

describe.concurrent('resuming from any checkpoint of a plan path ends as the uninterrupted run', () => {
  for (const scenario of scenarios) {
    it(scenario.name, async (context) => {
      const original = await checkEveryCheckpoint(scenario, context);
      context.expect(original.exitCodes).toEqual(scenario.expected.map((e) => e?.exitCode ?? null));
      context.expect(transitionPairs(original.report)).toEqual(scenario.transitions);
    });
  }
});

describe('resuming from any checkpoint of multi-step stages ends as the uninterrupted run', () => {
  it(MULTI_STEP.name, async (context) => {
    const { expect } = context;
    const original = await checkEveryCheckpoint(MULTI_STEP, context);
    expect(original.exitCodes).toEqual([0]);
    expect(original.report.terminal_state).toBe('done');
    // The checkpoints cover what matters: a step waiting for its retry, and two steps in flight.
    const stepsIn = (s: SavedCheckpoint) => Object.values(schedulerIn(s.checkpoint as CheckpointV3)?.steps ?? {});
    expect(original.saved.some((s) => stepsIn(s).some((p) => p.status === 'waiting_retry'))).toBe(true);
    expect(original.saved.some((s) => stepsIn(s).filter((p) => p.status === 'running').length === 2)).toBe(true);
  });
});
