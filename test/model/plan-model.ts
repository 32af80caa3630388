/**
 * The model for plan-based model tests. The orchestration machine alone cannot say what happens
 * after a RESUME (a raised budget is the runner's business, not the machine's), so the traversal
 * walks the machine together with a small record of what the world has done on the path: the
 * halt met so far and each RESUME, fixed (approved, budget raised) or not. For each path there is
 * a real plan of fixture steps (test/fixtures/step.mjs) that takes it, and the actions a user
 * performs along it: run, `approve`, `--resume` (with `--cost-budget` raised).
 */
import type { ActorScope, EventObject, Snapshot } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import type { HaltReason } from '../../machines/orchestration.js';
import { type PlanInput, type Stage, orchestrationMachine } from '../../src/index.js';
import { fixtureStep } from '../plans/plan-runs.js';
import { EXIT_CODE_OF } from './model-paths.js';

/**
 * Short enough to keep the suites fast, long enough for a loaded machine to start the step's
 * program (whose trace line says it ran) before its timeout ends it; it sleeps far longer.
 */
export const STEP_TIMEOUT_MS = 1_000;
export const KILL_GRACE_MS = 200;
/** The plan's budget, passed by the step that spends; the raised budget that lets the run go on. */
export const COST_BUDGET = 7;
export const SPEND = 10;
export const RAISED_BUDGET = 100;
/**
 * The thermostat of a path that halts on ROI: one step that costs and returns nothing (net ROI −1)
 * fills its window below the floor; the fixing RESUME lowers the floor (ORCHESTRATOR_THERMOSTAT).
 */
export const THERMOSTAT = { window: 1, target: 0, floor: -0.5, minConcurrency: 1, maxConcurrency: 1, cooldownSteps: 0 };
export const LOWERED_FLOOR = -1;

export type Outcome = 'success' | 'failed' | 'timeout' | HaltReason;
const HALTS: readonly Outcome[] = ['approval_required', 'budget_exceeded', 'roi_below_floor'];
const isHalt = (outcome: Outcome): outcome is HaltReason => HALTS.includes(outcome);

/**
 * What each stage may end with. Execution can end every way (its steps may fail, time out, wait
 * at a step's approval gate, find the budget spent, or be halted by the ROI thermostat); closure may wait for the stage's
 * approval; the others hold a passing step or none.
 */
export const OUTCOMES_IN: Record<Stage, readonly Outcome[]> = {
  planning: ['success'],
  policy_ingestion: ['success'],
  execution: ['success', 'failed', 'timeout', 'approval_required', 'budget_exceeded', 'roi_below_floor'],
  validation: ['success'],
  closure: ['success', 'approval_required'],
};

/** The approval gate each stage's plan waits at. */
export const GATE_OF: Partial<Record<Stage, string>> = { execution: 'step:execution/deploy', closure: 'stage:closure' };

type Fix = 'fixed' | 'unfixed';

/** What the world has done on a path: at most one halt, then the RESUMEs that answered it. */
interface World {
  halt: { reason: HaltReason; stage: Stage } | null;
  resumes: Fix[];
}

interface StageDone extends EventObject {
  type: 'xstate.done.actor.stageWork';
  output: { stage: Stage; status: Outcome; error: string | null; completedSteps: string[]; spentCost: number; gate: string | null };
}

/** The machine's RESUME, with whether the world fixed the halt before it (not seen by the machine). */
interface ModelResume extends EventObject {
  type: 'RESUME';
  approvals: string[];
  fix: Fix;
}

type ModelEvent = StageDone | ModelResume;
type MachineSnapshot = ReturnType<typeof orchestrationMachine.getInitialSnapshot>;

type ModelSnapshot = Snapshot<unknown> & {
  machine: MachineSnapshot;
  world: World;
};

const wrap = (machine: MachineSnapshot, world: World): ModelSnapshot =>
  ({ status: machine.status, output: undefined, error: undefined, machine, world }) as ModelSnapshot;

/** The machine, stepped as the real runner steps it, beside the world. */
const modelLogic = {
  getInitialSnapshot: (scope: ActorScope<any, any>, input: unknown) =>
    wrap(orchestrationMachine.getInitialSnapshot(scope as never, input as never), { halt: null, resumes: [] }),
  transition: (snapshot: ModelSnapshot, event: ModelEvent, scope: ActorScope<any, any>) =>
    wrap(orchestrationMachine.transition(snapshot.machine, event as never, scope as never), nextWorld(snapshot.world, event)),
  getPersistedSnapshot: (snapshot: ModelSnapshot) => snapshot,
};

function nextWorld(world: World, event: ModelEvent): World {
  if (event.type === 'RESUME') return { ...world, resumes: [...world.resumes, event.fix] };
  const { stage, status } = event.output;
  if (isHalt(status) && !world.halt) return { ...world, halt: { reason: status, stage } };
  return world;
}

/**
 * The events offered in a state. A stage ends in any of its outcomes until the path has halted
 * once; back in the halted stage after a RESUME that fixed nothing it halts again the same way;
 * otherwise it ends without halting. A halted state takes a RESUME that fixes the halt, or, once
 * per path, one that does not.
 */
function modelEvents(snapshot: ModelSnapshot): ModelEvent[] {
  if (snapshot.status !== 'active') return [];
  const value = String(snapshot.machine.value);
  const { world } = snapshot;
  if (value in OUTCOMES_IN) {
    const stage = value as Stage;
    return outcomesNow(stage, world).map((outcome) => stageDone(stage, outcome));
  }
  const halt = world.halt!;
  const gate = halt.reason === 'approval_required' ? GATE_OF[halt.stage]! : null;
  const fixed: ModelResume = { type: 'RESUME', approvals: gate ? [gate] : [], fix: 'fixed' };
  const unfixed: ModelResume = { type: 'RESUME', approvals: [], fix: 'unfixed' };
  return world.resumes.includes('unfixed') ? [fixed] : [unfixed, fixed];
}

function outcomesNow(stage: Stage, world: World): readonly Outcome[] {
  const all = OUTCOMES_IN[stage];
  if (!world.halt) return all;
  if (world.halt.stage === stage && world.resumes.at(-1) === 'unfixed') return [world.halt.reason];
  return all.filter((outcome) => !isHalt(outcome));
}

function stageDone(stage: Stage, status: Outcome): StageDone {
  const gate = status === 'approval_required' ? GATE_OF[stage]! : null;
  return {
    type: 'xstate.done.actor.stageWork',
    output: { stage, status, error: status === 'success' ? null : status, completedSteps: [], spentCost: 0, gate },
  };
}

/** One move on a path: a stage ending, or a RESUME between invocations. */
export type Move = { kind: 'stage'; stage: Stage; outcome: Outcome } | { kind: 'resume'; fix: Fix };

export interface PlanPath {
  name: string;
  moves: Move[];
  /** The state the machine ends in. */
  final: 'done' | 'failed' | 'timeout';
  /** The halt met, if any. */
  halt: { reason: HaltReason; stage: Stage } | null;
}

/** Every simple path of the model from the start to a final state. */
export function planPaths(): PlanPath[] {
  const paths = getSimplePaths(modelLogic as never, {
    input: { runId: 'model', simulateBlocked: false } as never,
    events: modelEvents as never,
    serializeState: ((snapshot: ModelSnapshot) =>
      JSON.stringify({ value: snapshot.machine.value, context: snapshot.machine.context, world: snapshot.world })) as never,
  }) as unknown as { state: ModelSnapshot; steps: { state: ModelSnapshot; event: ModelEvent }[] }[];
  return paths
    .filter((path) => path.state.status === 'done')
    .map((path) => {
      // steps[0] is xstate.init; each later step's event is the one that left the state before it.
      const moves = path.steps.slice(1).map(({ event }): Move => {
        if (event.type === 'RESUME') return { kind: 'resume', fix: event.fix };
        return { kind: 'stage', stage: event.output.stage, outcome: event.output.status };
      });
      const final = String(path.state.machine.value) as PlanPath['final'];
      const name = `${moves.map((m) => (m.kind === 'stage' ? `${m.stage}:${m.outcome}` : `RESUME(${m.fix})`)).join(' > ')} => ${final}`;
      return { name, moves, final, halt: path.state.world.halt };
    });
}

// ---- A real plan that takes a path, and what a user does along it ----

/** A user's action along a path: a run (first or resumed), or `approve` between runs. */
export type Action = { kind: 'run'; resume: boolean; costBudget: number | null; thermostatFloor?: number } | { kind: 'approve' };

/** What a run action must end with. */
export interface RunExpectation {
  exitCode: number;
  terminalState: 'done' | 'failed' | 'timeout' | 'blocked';
  blocked: { reason: HaltReason; stage: Stage; gate: string | null } | null;
  failure: { stage: Stage; status: 'failed' | 'timeout' } | null;
  /** Steps whose programs start during the run, in plan order. */
  started: string[];
}

/** A plan and the actions along it; a model path or a hand-written scenario. */
export interface Scenario {
  name: string;
  plan: (trace: string) => PlanInput;
  actions: Action[];
}

export interface PathScenario extends Scenario {
  /** One per action: for runs, what they end with; null for `approve`. */
  expected: (RunExpectation | null)[];
  /** Every stage entered, in order: the report's transitions. */
  transitions: [Stage | null, Stage][];
}

/** The outcome a step gets from step.mjs options and plan fields. */
function behaving(outcome: Outcome): { options: Record<string, string | number>; extra: Record<string, unknown> } {
  if (outcome === 'failed') return { options: { 'fail-attempts': 99 }, extra: {} };
  if (outcome === 'timeout') return { options: { sleep: 30_000 }, extra: { timeoutMs: STEP_TIMEOUT_MS } };
  return { options: {}, extra: {} };
}

/**
 * The real plan of a path. Execution's steps follow its first outcome: one step that ends that
 * way, or, for a halt, a first step (`build`; or `spend`, which passes the budget) and a second,
 * `deploy`, which waits (for approval, or for budget) and then ends as the path goes on.
 */
function planOf(path: PlanPath, trace: string): PlanInput {
  const execution = path.moves.filter((m): m is Extract<Move, { kind: 'stage' }> => m.kind === 'stage' && m.stage === 'execution');
  const first = execution[0]?.outcome ?? 'success';
  const after = behaving(execution.at(-1)?.outcome ?? 'success');
  const step = (id: string, outcome: Outcome) => fixtureStep(id, trace, behaving(outcome).options, behaving(outcome).extra);
  let steps;
  if (first === 'approval_required') {
    steps = [step('build', 'success'), fixtureStep('deploy', trace, after.options, { ...after.extra, needs: ['build'], requiresApproval: true })];
  } else if (first === 'budget_exceeded') {
    steps = [fixtureStep('spend', trace, { cost: SPEND }), fixtureStep('deploy', trace, after.options, { ...after.extra, needs: ['spend'] })];
  } else if (first === 'roi_below_floor') {
    steps = [fixtureStep('lose', trace, { cost: SPEND, value: 0 }), fixtureStep('deploy', trace, after.options, { ...after.extra, needs: ['lose'] })];
  } else {
    steps = [step('build', first)];
  }
  const closureWaits = path.moves.some((m) => m.kind === 'stage' && m.stage === 'closure' && m.outcome === 'approval_required');
  return {
    requireApproval: closureWaits ? ['closure'] : [],
    ...(first === 'budget_exceeded' ? { budget: { cost: COST_BUDGET } } : {}),
    ...(first === 'roi_below_floor' ? { thermostat: THERMOSTAT } : {}),
    stages: { planning: [step('outline', 'success')], execution: steps, closure: [step('announce', 'success')] },
  };
}

/** The steps whose programs start when a stage ends this way (`again`: back after a RESUME). */
function startedBy(path: PlanPath, move: Extract<Move, { kind: 'stage' }>, again: boolean): string[] {
  if (move.stage === 'planning') return ['outline'];
  if (move.stage === 'closure') return move.outcome === 'success' ? ['announce'] : [];
  if (move.stage !== 'execution') return [];
  if (again) return isHalt(move.outcome) ? [] : ['deploy'];
  const first: Record<string, string> = { budget_exceeded: 'spend', roi_below_floor: 'lose' };
  return [(path.halt?.stage === 'execution' && first[path.halt.reason]) || 'build'];
}

/** The path as a user lives it: the plan, each action, and what each run ends with. */
export function scenarioOf(path: PlanPath): PathScenario {
  const actions: Action[] = [];
  const expected: (RunExpectation | null)[] = [];
  let costBudget: number | null = null;
  let floor: { thermostatFloor?: number } = {};
  let current: RunExpectation = blankRun();
  actions.push({ kind: 'run', resume: false, costBudget });
  const stagesEntered: Stage[] = [];
  for (const move of path.moves) {
    if (move.kind === 'resume') {
      expected.push(current);
      current = blankRun();
      if (move.fix === 'fixed' && path.halt!.reason === 'approval_required') {
        actions.push({ kind: 'approve' });
        expected.push(null);
      }
      if (move.fix === 'fixed' && path.halt!.reason === 'budget_exceeded') costBudget = RAISED_BUDGET;
      if (move.fix === 'fixed' && path.halt!.reason === 'roi_below_floor') floor = { thermostatFloor: LOWERED_FLOOR };
      actions.push({ kind: 'run', resume: true, costBudget, ...floor });
      continue;
    }
    const again = stagesEntered.at(-1) === move.stage;
    if (!again) stagesEntered.push(move.stage);
    current.started.push(...startedBy(path, move, again));
    if (isHalt(move.outcome)) {
      Object.assign(current, {
        exitCode: EXIT_CODE_OF.blocked,
        terminalState: 'blocked',
        blocked: { reason: move.outcome, stage: move.stage, gate: move.outcome === 'approval_required' ? GATE_OF[move.stage]! : null },
      });
    } else if (move.outcome !== 'success') {
      Object.assign(current, { failure: { stage: move.stage, status: move.outcome } });
    }
  }
  Object.assign(current, { exitCode: EXIT_CODE_OF[path.final], terminalState: path.final });
  expected.push(current);
  const transitions = stagesEntered.map((stage, i): [Stage | null, Stage] => [i === 0 ? null : stagesEntered[i - 1]!, stage]);
  return { name: path.name, plan: (trace) => planOf(path, trace), actions, expected, transitions };
}

function blankRun(): RunExpectation {
  return { exitCode: -1, terminalState: 'done', blocked: null, failure: null, started: [] };
}

// ---- A multi-step plan ----

/**
 * Execution holds four steps, two at a time: `fetch`, `flaky` and `index` are ready at once, so
 * `index` waits for a free slot; `flaky` fails once and is retried after a short backoff (the
 * step's `waiting_retry` state); `link` needs `fetch` and `flaky`. Closure holds two steps in a chain.
 */
export const MULTI_STEP: Scenario = {
  name: 'multi-step stages: needs, concurrency 2, a retried step',
  plan: (trace) => ({
    concurrency: 2,
    stages: {
      planning: [fixtureStep('outline', trace)],
      execution: [
        fixtureStep('fetch', trace, { sleep: 200 }),
        fixtureStep('flaky', trace, { 'fail-attempts': 1, sleep: 30 }, { retries: { max: 2, backoffMs: 120, factor: 2 } }),
        fixtureStep('index', trace, { sleep: 60 }),
        fixtureStep('link', trace, {}, { needs: ['fetch', 'flaky'] }),
      ],
      closure: [fixtureStep('summarize', trace), fixtureStep('announce', trace, {}, { needs: ['summarize'] })],
    },
  }),
  actions: [{ kind: 'run', resume: false, costBudget: null }],
};
