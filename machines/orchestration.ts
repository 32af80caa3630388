/**
 * The orchestration state machine. Pure: no process, disk, clock or environment access.
 * Stage work is the invoked actor `runStage` (it runs the stage's steps); the real one is
 * supplied from src/ with `machine.provide`, tests may supply others.
 */
import { assign, enqueueActions, fromCallback, fromPromise, setup } from 'xstate';
import { type DeliveryStepInput, type DeliveryStepOutput, deliveryDryRunRecords, deliverySteps, isDryRun } from './delivery.js';
import type { IdSet } from './id-set.js';
import * as loop from './loops.js';
import type { LoopRecord, LoopSettings, LoopState } from './loops.js';
import type { Stage, StageStatus } from './stages.js';
import type { PersistedThermostat } from './thermostat.js';

/** What the stage actor is started with. Plain JSON: it is saved in the persisted snapshot. */
export interface StageWorkInput {
  runId: string;
  stage: Stage;
  /** The stage completed in an earlier invocation of this run (a V0 or blocked checkpoint said so). */
  alreadyCompleted: boolean;
  /** Steps of this stage that succeeded earlier: they are not run again. */
  completedSteps: IdSet;
  /** Approval gates granted (`stage:<stage>`, `step:<stage>/<id>`). */
  approvals: string[];
  /** Cost the run has spent before this stage. */
  spentCost: number;
  /** The ROI thermostat as the previous stage left it (a plan with a thermostat only). */
  thermostat?: PersistedThermostat;
  /** With loops: the execution attempt, the remediation cycle and its steps (see loops.ts). */
  loop?: { attempt: number; cycle: number; steps: string[]; validationCommands?: loop.ValidationCommand[] };
}

/** What the planning context's actor is started with (plain JSON, as any invoked actor's input). */
export interface PlanningContextInput {
  runId: string;
  /** Planning was completed by an earlier invocation: the context is not written again (V0: a skipped record). */
  alreadyCompleted: boolean;
  completedSteps: IdSet;
  spentCost: number;
}

/** What the autonomous loop's actor is started with when a run of the loop ended short of done. */
export interface LoopRunInput {
  runId: string;
  run: number;
  outcome: loop.LoopRunOutcome;
  blockedReasonCodes: string[];
  reviewerNextSteps: string[];
}

/** Why a run stops short of its end without failing; it goes on after `--resume`. */
export type HaltReason = 'approval_required' | 'budget_exceeded' | 'roi_below_floor';

/** What the stage actor ends with. */
export interface StageWorkOutput {
  stage: Stage;
  status: StageStatus | HaltReason;
  error: string | null;
  /** Every step of the stage done so far, compact (see id-set.ts). */
  completedSteps: IdSet;
  spentCost: number;
  /** With `approval_required`: the gate that waits. */
  gate?: string | null;
  /** With a failure: the step that failed. */
  step?: string | null;
  thermostat?: PersistedThermostat;
  /** With a failure: `stage=…;status=…;command=…;exit=…`, the adaptive policy's trigger signature. */
  signature?: string | null;
}

export interface OrchestrationInput {
  runId: string;
  simulateBlocked: boolean;
  completedStages?: Stage[];
  completedSteps?: Partial<Record<Stage, IdSet>>;
  approvals?: string[];
  spentCost?: number;
  /** V0's later flags: attempts, remediation cycles, gates. Absent: the machine runs straight. */
  loops?: LoopSettings | null;
}

export interface StageFailure {
  stage: Stage;
  status: StageStatus;
  error: string | null;
  step?: string | null;
}

export interface Halt {
  reason: HaltReason;
  stage: Stage;
  gate: string | null;
}

export interface OrchestrationContext {
  runId: string;
  simulateBlocked: boolean;
  completedStages: Stage[];
  completedSteps: Partial<Record<Stage, IdSet>>;
  approvals: string[];
  spentCost: number;
  failure: StageFailure | null;
  halt: Halt | null;
  thermostat?: PersistedThermostat;
  /** Only with V0's later flags: the loop counters and gate decisions. */
  loops?: LoopState;
  /** Set when the run was stopped before its end (INTERRUPT): what stopped it. */
  interruptedBy?: string;
}

/** Sent by the runner after it restores a halted run: approvals and budget may have changed. */
export interface ResumeEvent {
  type: 'RESUME';
  approvals: string[];
}

/** Sent by the runner when the run's wall-clock budget (maxWallMs) is spent. */
export interface WallTimeoutEvent {
  type: 'WALL_TIMEOUT';
}

/** Sent by the runner when the reviewer's artifacts hold a `next_step_plan`. */
export interface ReviewerNextStepsEvent {
  type: 'REVIEWER_NEXT_STEPS';
  steps: string[];
}

/** Sent by the runner when the manager's artifacts hold V0's planner output: budgets and steps for later stages. */
export interface PlannerOutputEvent {
  type: 'PLANNER_OUTPUT';
  executionMaxIterations?: number;
  remediationMaxCycles?: number;
  remediationSteps?: string[];
  validationCommands?: loop.ValidationCommand[];
}

/**
 * Sent by the runner when the run must stop before its end: a signal (`SIGINT`, `SIGTERM`), an
 * abort, or an error of its own (a checkpoint it cannot write). The machine leaves whatever state it
 * is in for `interrupted`, which stops the work under way; the checkpoint keeps the last state the run
 * stood in, so `--resume` goes on from there.
 */
export interface InterruptEvent {
  type: 'INTERRUPT';
  by: string;
}

export type OrchestrationEvent = ResumeEvent | WallTimeoutEvent | InterruptEvent | ReviewerNextStepsEvent | PlannerOutputEvent;

/**
 * What the auto-fix actor runs: the fixer's attempt `attempt` (it gets ORCHESTRATOR_AUTOFIX_ATTEMPT).
 * Plain JSON; the fixer itself is the run's setting, so that the one given at --resume runs.
 */
export interface AutofixWorkInput {
  runId: string;
  attempt: number;
}

export interface AutofixWorkOutput {
  attempt: loop.AutoFixAttempt;
  error: string | null;
}

export const AUTOFIX_WORK_ID = 'autofixWork';
export const AUTOFIX_WORK_SRC = 'runAutofix';

function autofixOutputOf(event: unknown): AutofixWorkOutput {
  return (event as { output: AutofixWorkOutput }).output;
}

function deliveryOutputOf(event: unknown): DeliveryStepOutput {
  return (event as { output: DeliveryStepOutput }).output;
}

/** The delivery's step that passed, with steps left after it (the state runs the next one). */
function deliveryStepsLeft(context: OrchestrationContext): boolean {
  const delivery = context.loops?.settings.delivery;
  return !!delivery && (context.loops!.delivered ?? 0) + 1 < deliverySteps(delivery).length;
}

/** A real delivery (not a dry run) was asked for. */
function deliveryRuns(context: OrchestrationContext): boolean {
  const delivery = context.loops?.settings.delivery;
  return !!delivery && !isDryRun(delivery);
}

/** The id every stage gives its invoked work; the done/error events are named after it. */
export const STAGE_WORK_ID = 'stageWork';
export const STAGE_WORK_SRC = 'runStage';
/** The native action `planning.repo_context` (V0), invoked after planning's programs. */
export const PLANNING_CONTEXT_SRC = 'writePlanningContext';
/** The autonomous loop's end of a run: signatures, next actions, the clock (V0's `run_autonomous_loop`). */
export const LOOP_RUN_ID = 'loopRun';
export const LOOP_RUN_SRC = 'concludeLoopRun';
/**
 * The run's wall clock (maxWallMs), invoked for the whole run: it sends WALL_TIMEOUT when the budget
 * is spent, and is restored with the run. The real one is supplied from src (it reads the clock);
 * the machine's own never fires.
 */
export const WALL_CLOCK_ID = 'wallClock';
export const WALL_CLOCK_SRC = 'wallClock';
/** One command of a real delivery (git or gh), run by the runner in the repository. */
export const DELIVERY_WORK_ID = 'deliveryWork';
export const DELIVERY_WORK_SRC = 'runDeliveryStep';

const PASSING: readonly string[] = ['success', 'skipped'];

function outputOf(event: unknown): StageWorkOutput {
  return (event as { output: StageWorkOutput }).output;
}

/** A stage that failed with a non-zero exit (only those loop), in a run with loops. */
function loopsOnFailure(context: OrchestrationContext, event: unknown): LoopState | null {
  return context.loops && outputOf(event).status === 'failed' ? context.loops : null;
}

function signatureOf(event: unknown): string {
  const { stage, signature } = outputOf(event);
  return signature ?? `stage=${stage};status=Failed;command=;exit=none`;
}

/** A remediation cycle runs execution and validation again from their start. */
function withoutLoopedStages(context: OrchestrationContext) {
  const { execution: _e, validation: _v, ...completedSteps } = context.completedSteps;
  return {
    completedStages: context.completedStages.filter((stage) => stage !== 'execution' && stage !== 'validation'),
    completedSteps,
  };
}

/** The guards of transitions that end a run short of done; the autonomous loop has a twin of each. */
const ENDING = {
  stagePassedAndBlocked: (context: OrchestrationContext, event: unknown) => context.simulateBlocked && PASSING.includes(outputOf(event).status),
  stageTimedOut: (_: OrchestrationContext, event: unknown) => outputOf(event).status === 'timeout',
  attemptsExhausted: (context: OrchestrationContext, event: unknown) => loopsOnFailure(context, event) !== null,
  cyclesExhausted: (context: OrchestrationContext, event: unknown) => {
    const loops = loopsOnFailure(context, event);
    return loops !== null && loop.remediationWanted(loops);
  },
  gatesFailed: (context: OrchestrationContext, _: unknown) => !!context.loops && !loop.gatesPass(context.loops),
  reviewFailed: (context: OrchestrationContext, _: unknown) => !!context.loops && !loop.reviewPassed(context.loops),
  simulateBlocked: (context: OrchestrationContext, _: unknown) => context.simulateBlocked,
  autofixSpent: (context: OrchestrationContext, event: unknown) => !!context.loops && outputOf(event).status !== 'timeout' && loop.autofixOn(context.loops),
  autofixSpawnFailed: (_: OrchestrationContext, event: unknown) => autofixOutputOf(event).attempt.status === 'spawn_failed',
  prRiskAboveThreshold: (context: OrchestrationContext, _: unknown) => !!context.loops && loop.prRiskBlocks(context.loops),
  riskTierBlocked: (context: OrchestrationContext, _: unknown) => !!context.loops && loop.riskTierBlocked(context.loops),
  deliveryTimedOut: (_: OrchestrationContext, event: unknown) => deliveryOutputOf(event).status === 'timeout',
};

export const orchestrationMachine = setup({
  types: {
    context: {} as OrchestrationContext,
    input: {} as OrchestrationInput,
    events: {} as OrchestrationEvent,
  },
  actors: {
    [STAGE_WORK_SRC]: fromPromise<StageWorkOutput, StageWorkInput>(async () => {
      throw new Error('the runStage actor must be provided with machine.provide()');
    }),
    [PLANNING_CONTEXT_SRC]: fromPromise<StageWorkOutput, PlanningContextInput>(async () => {
      throw new Error('the writePlanningContext actor must be provided with machine.provide()');
    }),
    [LOOP_RUN_SRC]: fromPromise<loop.LoopRunReport, LoopRunInput>(async () => {
      throw new Error('the concludeLoopRun actor must be provided with machine.provide()');
    }),
    [AUTOFIX_WORK_SRC]: fromPromise<AutofixWorkOutput, AutofixWorkInput>(async () => {
      throw new Error('the runAutofix actor must be provided with machine.provide()');
    }),
    [WALL_CLOCK_SRC]: fromCallback<WallTimeoutEvent>(() => {}),
    [DELIVERY_WORK_SRC]: fromPromise<DeliveryStepOutput, DeliveryStepInput>(async () => {
      throw new Error('the runDeliveryStep actor must be provided with machine.provide()');
    }),
  },
  guards: {
    stagePassed: ({ event }) => PASSING.includes(outputOf(event).status),
    stagePassedAndBlocked: ({ context, event }) => ENDING.stagePassedAndBlocked(context, event),
    stageTimedOut: ({ context, event }) => ENDING.stageTimedOut(context, event),
    stageAwaitsApproval: ({ event }) => outputOf(event).status === 'approval_required',
    stageOverBudget: ({ event }) => outputOf(event).status === 'budget_exceeded',
    stageRoiBelowFloor: ({ event }) => outputOf(event).status === 'roi_below_floor',
    haltedIn: ({ context }, params: { stage: Stage }) => context.halt?.stage === params.stage,
    // Loops and gates (loops.ts); all false without context.loops.
    attemptLeft: ({ context, event }) => {
      const loops = loopsOnFailure(context, event);
      return loops !== null && loop.attemptsLeft(loops);
    },
    attemptBudgetAdaptable: ({ context, event }) => {
      const loops = loopsOnFailure(context, event);
      return loops !== null && loop.executionAdaptable(loops);
    },
    attemptsExhausted: ({ context, event }) => ENDING.attemptsExhausted(context, event),
    cycleLeft: ({ context, event }) => {
      const loops = loopsOnFailure(context, event);
      return loops !== null && loop.remediationWanted(loops) && loop.cyclesLeft(loops);
    },
    cycleBudgetAdaptable: ({ context, event }) => {
      const loops = loopsOnFailure(context, event);
      return loops !== null && loop.remediationWanted(loops) && loop.remediationAdaptable(loops);
    },
    cyclesExhausted: ({ context, event }) => ENDING.cyclesExhausted(context, event),
    stagePassedToPlanningContext: ({ context, event }) => PASSING.includes(outputOf(event).status) && context.loops?.settings.planningContext === true,
    stagePassedToGates: ({ context, event }) => PASSING.includes(outputOf(event).status) && (context.loops?.settings.gates ?? null) !== null,
    stagePassedToReview: ({ context, event }) => PASSING.includes(outputOf(event).status) && !!context.loops && loop.reviewWanted(context.loops),
    stagePassedToDecision: ({ context, event }) => PASSING.includes(outputOf(event).status) && !!context.loops && loop.decisionWanted(context.loops),
    // The auto-fix loop: a validation that failed (not timed out) runs the fixer while attempts are left.
    cyclesExhaustedToAutofix: ({ context, event }) => {
      const loops = loopsOnFailure(context, event);
      return loops !== null && loop.remediationWanted(loops) && loop.autofixLeft(loops);
    },
    autofixLeft: ({ context, event }) => !!context.loops && outputOf(event).status !== 'timeout' && loop.autofixLeft(context.loops),
    autofixSpent: ({ context, event }) => ENDING.autofixSpent(context, event),
    autofixSpawnFailed: ({ context, event }) => ENDING.autofixSpawnFailed(context, event),
    gatesFailed: ({ context, event }) => ENDING.gatesFailed(context, event),
    reviewWanted: ({ context }) => !!context.loops && loop.reviewWanted(context.loops),
    reviewFailed: ({ context, event }) => ENDING.reviewFailed(context, event),
    simulateBlocked: ({ context, event }) => ENDING.simulateBlocked(context, event),
    decisionWanted: ({ context }) => !!context.loops && loop.decisionWanted(context.loops),
    decisionProceeds: ({ context }) => !!context.loops && loop.decisionProceeds(context.loops),
    stagePassedToDelivery: ({ context, event }) => PASSING.includes(outputOf(event).status) && (context.loops?.settings.delivery ?? null) !== null && !deliveryRuns(context),
    stagePassedToDeliveryRun: ({ context, event }) => PASSING.includes(outputOf(event).status) && deliveryRuns(context),
    deliveryStepLeft: ({ context, event }) => deliveryOutputOf(event).status === 'success' && deliveryStepsLeft(context),
    deliveryPassedToPrRisk: ({ context, event }) => deliveryOutputOf(event).status === 'success' && !!context.loops && loop.prRiskOn(context.loops),
    deliveryPassed: ({ event }) => deliveryOutputOf(event).status === 'success',
    deliveryTimedOut: ({ context, event }) => ENDING.deliveryTimedOut(context, event),
    prRiskWanted: ({ context }) => !!context.loops && loop.prRiskOn(context.loops),
    stagePassedToPrRisk: ({ context, event }) => PASSING.includes(outputOf(event).status) && !!context.loops && loop.prRiskOn(context.loops),
    prRiskAboveThreshold: ({ context, event }) => ENDING.prRiskAboveThreshold(context, event),
    riskTierBlocked: ({ context, event }) => ENDING.riskTierBlocked(context, event),
    hardGatesPassed: ({ context }) => !context.loops || loop.hardGatesPass(context.loops),
    // The autonomous loop (--autonomous-loop); false without it.
    autonomousLoop: ({ context }) => loop.autonomousOn(context.loops),
    // The twins of the guards that end a run short of done (see orNextRun).
    stagePassedAndBlockedInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.stagePassedAndBlocked(context, event),
    stageTimedOutInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.stageTimedOut(context, event),
    attemptsExhaustedInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.attemptsExhausted(context, event),
    cyclesExhaustedInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.cyclesExhausted(context, event),
    gatesFailedInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.gatesFailed(context, event),
    reviewFailedInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.reviewFailed(context, event),
    simulateBlockedInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.simulateBlocked(context, event),
    autofixSpentInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.autofixSpent(context, event),
    autofixSpawnFailedInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.autofixSpawnFailed(context, event),
    prRiskAboveThresholdInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.prRiskAboveThreshold(context, event),
    riskTierBlockedInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.riskTierBlocked(context, event),
    deliveryTimedOutInLoop: ({ context, event }) => loop.autonomousOn(context.loops) && ENDING.deliveryTimedOut(context, event),
    loopRunLeft: ({ context }) => context.loops?.autonomous?.stopReason === null,
    loopEndedIn: ({ context }, params: { outcome: loop.LoopRunOutcome }) => context.loops?.autonomous?.outcome === params.outcome,
  },
  actions: {
    /** Writes one of V0's synthetic records; the runner provides it (src/run/loop-records.ts). */
    recordLoop: (_, _params: LoopRecord) => {},
    nextAttempt: assign(({ context }) => ({ loops: loop.nextAttempt(context.loops!) })),
    adaptAttemptBudget: assign(({ context, event }) => ({ loops: loop.adaptExecution(context.loops!, signatureOf(event)) })),
    adaptCycleBudget: assign(({ context, event }) => ({ loops: loop.adaptRemediation(context.loops!, signatureOf(event)) })),
    startCycle: assign(({ context }) => ({ loops: loop.startCycle(context.loops!), ...withoutLoopedStages(context) })),
    acceptReviewerSteps: assign(({ context, event }) => {
      const { steps } = event as ReviewerNextStepsEvent;
      return context.loops && steps.length > 0 ? { loops: { ...context.loops, reviewerNextSteps: steps } } : {};
    }),
    applyPlannerOutput: assign(({ context, event }) => {
      if (!context.loops) return {};
      const { executionMaxIterations, remediationMaxCycles, remediationSteps, validationCommands } = event as PlannerOutputEvent;
      const { settings } = context.loops;
      return {
        loops: {
          ...context.loops,
          settings: {
            ...settings,
            executionMaxIterations: executionMaxIterations ?? settings.executionMaxIterations,
            remediationMaxCycles: remediationMaxCycles ?? settings.remediationMaxCycles,
            plannedRemediationSteps: remediationSteps ?? settings.plannedRemediationSteps,
            plannedValidationCommands: loop.mergeValidationCommands(settings.plannedValidationCommands ?? [], validationCommands ?? []),
          },
        },
      };
    }),
    noteRunOutcome: assign(({ context }, params: { outcome: loop.LoopRunOutcome }) => ({ loops: loop.withRunOutcome(context.loops!, params.outcome) })),
    noteLoopRun: assign(({ context, event }) => ({ loops: loop.afterLoopRun(context.loops!, (event as unknown as { output: loop.LoopRunReport }).output) })),
    startNextRun: assign(({ context }) => ({
      loops: loop.nextLoopRun(context.loops!),
      completedStages: [],
      completedSteps: {},
      failure: null,
      halt: null,
    })),
    decideGates: assign(({ context }) => (context.loops ? { loops: loop.withGateDecisions(context.loops) } : {})),
    startAutofix: assign(({ context, event }) => ({
      loops: loop.startAutofix(context.loops!),
      // Validation runs again whole: its steps that passed this time run again too (V0).
      completedSteps: withoutLoopedStages(context).completedSteps,
      spentCost: outputOf(event).spentCost,
    })),
    recordAutofix: assign(({ context, event }) => ({ loops: loop.withAutofixAttempt(context.loops!, autofixOutputOf(event).attempt) })),
    recordAutofixFailure: assign(({ event }) => ({ failure: { stage: 'validation' as const, status: 'spawn_failed' as const, error: autofixOutputOf(event).error } })),
    noteAutofixExhausted: assign(({ context }) => ({ loops: loop.autofixExhausted(context.loops!) })),
    noteClosure: assign(({ context }) => (context.loops ? { loops: { ...context.loops, closureReached: true } } : {})),
    decideReview: assign(({ context }) => (context.loops ? { loops: loop.withReviewEnsemble(context.loops) } : {})),
    decide: assign(({ context }) => (context.loops ? { loops: loop.withDecision(context.loops) } : {})),
    recordDelivery: enqueueActions(({ context, enqueue }) => {
      const delivery = context.loops?.settings.delivery;
      if (!delivery) return;
      // Typed by the setup it is part of (recordLoop is a sibling action); checked at run time.
      for (const record of deliveryDryRunRecords(delivery)) enqueue({ type: 'recordLoop', params: record } as never);
    }),
    noteDelivered: assign(({ context }) => ({ loops: { ...context.loops!, delivered: (context.loops!.delivered ?? 0) + 1 } })),
    recordDeliveryFailure: assign(({ event }) => {
      const { status, error, step } = deliveryOutputOf(event);
      return { failure: { stage: 'closure' as const, status: status as StageStatus, error, step } };
    }),
    blockOnRiskTier: assign(({ context }) => (context.loops ? { loops: loop.withRiskTierBlock(context.loops) } : {})),
    assessPrRisk: assign(({ context }) => (context.loops ? { loops: loop.withPrRisk(context.loops) } : {})),
    decideHardGates: assign(({ context }) => (context.loops ? { loops: loop.withHardGateResults(context.loops) } : {})),
    completeStage: assign(({ context, event }) => {
      const { stage, completedSteps, spentCost } = outputOf(event);
      return {
        completedStages: context.completedStages.includes(stage) ? context.completedStages : [...context.completedStages, stage],
        completedSteps: { ...context.completedSteps, [stage]: completedSteps },
        spentCost,
        ...thermostatAfter(context, event),
      };
    }),
    recordFailure: assign(({ context, event }) => {
      const { stage, status, error, completedSteps, spentCost, step } = outputOf(event);
      return {
        failure: { stage, status: status as StageStatus, error, step: step ?? null },
        completedSteps: { ...context.completedSteps, [stage]: completedSteps },
        spentCost,
        ...thermostatAfter(context, event),
      };
    }),
    recordHalt: assign(({ context, event }) => {
      const { stage, status, completedSteps, spentCost, gate } = outputOf(event);
      return {
        halt: { reason: status as HaltReason, stage, gate: gate ?? null },
        completedSteps: { ...context.completedSteps, [stage]: completedSteps },
        spentCost,
        ...thermostatAfter(context, event),
      };
    }),
    recordCrash: assign({
      failure: ({ event }, params: { stage: Stage }) => ({
        stage: params.stage,
        status: 'failed' as const,
        error: `stage work crashed: ${String((event as unknown as { error: unknown }).error)}`,
      }),
    }),
    recordWallTimeout: assign({
      failure: (_, params: { stage: Stage }) => ({
        stage: params.stage,
        status: 'timeout' as const,
        error: 'the run exceeded its maxWallMs',
      }),
    }),
    acceptResume: assign(({ event }) => ({
      approvals: (event as ResumeEvent).approvals,
      halt: null,
    })),
    recordInterrupt: assign(({ event }) => ({ interruptedBy: (event as InterruptEvent).by })),
    // The wall clock ran out where no stage runs (a halted run resumed late, the autonomous loop between runs).
    recordWallTimeoutBetweenStages: assign(({ context }) => ({
      failure: {
        stage: context.halt?.stage ?? context.failure?.stage ?? 'planning',
        status: 'timeout' as const,
        error: 'the run exceeded its maxWallMs',
      },
    })),
  },
}).createMachine({
  id: 'orchestration',
  initial: 'hard_gates',
  context: ({ input }) => ({
    runId: input.runId,
    simulateBlocked: input.simulateBlocked,
    completedStages: input.completedStages ?? [],
    completedSteps: input.completedSteps ?? {},
    approvals: input.approvals ?? [],
    spentCost: input.spentCost ?? 0,
    failure: null,
    halt: null,
    ...(input.loops ? { loops: loop.initialLoopState(input.loops) } : {}),
  }),
  // The run's lifecycle, whatever state it stands in: its wall clock runs for the whole run, and an
  // interrupt ends the run where it is. A stage's own WALL_TIMEOUT (naming the stage) comes first;
  // this one ends the run wherever else it stands (halted, between two runs of the autonomous loop).
  invoke: { id: WALL_CLOCK_ID, src: WALL_CLOCK_SRC },
  on: {
    INTERRUPT: { target: '.interrupted', actions: 'recordInterrupt' },
    WALL_TIMEOUT: { target: '.timeout', actions: 'recordWallTimeoutBetweenStages' },
  },
  states: {
    // Before anything runs: the risk tier (--risk-tier-override/--risk-allow-high: a high one blocks
    // unless allowed), then the deny list (passes at once without hard gates).
    hard_gates: {
      always: [
        ...orNextRun({ guard: 'riskTierBlocked', target: 'blocked', actions: ['blockOnRiskTier'] }, 'blocked'),
        { guard: 'hardGatesPassed', target: 'planning', actions: 'decideHardGates' },
        ...orNextRun({ target: 'blocked', actions: ['decideHardGates'] }, 'blocked'),
      ],
    },
    planning: stageState(
      'planning',
      [
        // --planning-context-artifact: the native action runs after planning's programs.
        { guard: 'stagePassedToPlanningContext', target: 'planning_context', actions: 'completeStage' },
        { guard: 'stagePassed', target: 'policy_ingestion', actions: 'completeStage' },
      ],
      [],
      { PLANNER_OUTPUT: { actions: 'applyPlannerOutput' } } as const,
    ),
    // V0's `planning.repo_context`: the repository's context and the previous run's feedback, written for the next planning.
    planning_context: {
      invoke: {
        id: STAGE_WORK_ID,
        src: PLANNING_CONTEXT_SRC,
        input: ({ context, event }: { context: OrchestrationContext; event: unknown }): PlanningContextInput => ({
          runId: context.runId,
          alreadyCompleted: (event as { output?: StageWorkOutput }).output?.status === 'skipped',
          completedSteps: context.completedSteps.planning ?? [],
          spentCost: context.spentCost,
        }),
        onDone: [{ guard: 'stagePassed', target: 'policy_ingestion' }, ...orNextRun({ target: 'failed', actions: ['recordFailure'] }, 'failed')],
        onError: orNextRun({ target: 'failed', actions: [{ type: 'recordCrash', params: { stage: 'planning' } }] }, 'failed'),
      },
      on: {
        WALL_TIMEOUT: { target: 'timeout', actions: { type: 'recordWallTimeout', params: { stage: 'planning' } } },
      },
    },
    policy_ingestion: stageState('policy_ingestion', [{ guard: 'stagePassed', target: 'execution', actions: 'completeStage' }]),
    execution: stageState('execution', [{ guard: 'stagePassed', target: 'validation', actions: 'completeStage' }], [
      // An attempt re-enters execution while attempts are left; the budget may adapt once.
      { guard: 'attemptLeft', target: 'execution', reenter: true, actions: ['nextAttempt'] },
      {
        guard: 'attemptBudgetAdaptable',
        target: 'execution',
        reenter: true,
        actions: ['adaptAttemptBudget', { type: 'recordLoop', params: ({ context }: { context: OrchestrationContext }) => loop.adaptRecord('execution', context.loops!.adaptiveDecisions.at(-1)!) }, 'nextAttempt'],
      },
      ...orNextRun(
        {
          guard: 'attemptsExhausted',
          target: 'failed',
          actions: ['recordFailure', { type: 'recordLoop', params: ({ context }: { context: OrchestrationContext }) => loop.executionBudgetRecord(context.loops!) }],
        },
        'failed',
      ),
    ] as const),
    validation: {
      ...stageState(
        'validation',
        [
          // After validation, before closure, in V0's order, each only when asked for: the gates,
          // the review ensemble, --simulate-blocked (which stops after validation, as V0), the decision.
          { guard: 'stagePassedToGates', target: 'gates', actions: 'completeStage' },
          { guard: 'stagePassedToReview', target: 'review_ensemble', actions: 'completeStage' },
          // --simulate-blocked: stop after validation, closure is never entered (as V0).
          ...orNextRun({ guard: 'stagePassedAndBlocked', target: 'blocked', actions: ['completeStage'] }, 'blocked'),
          { guard: 'stagePassedToDecision', target: 'decision', actions: 'completeStage' },
          { guard: 'stagePassed', target: 'closure', actions: 'completeStage' },
        ],
        [
          // The reviewer's remediation loop: back to execution while cycles are left.
          { guard: 'cycleLeft', target: 'execution', actions: ['startCycle'] },
          {
            guard: 'cycleBudgetAdaptable',
            target: 'execution',
            actions: ['adaptCycleBudget', { type: 'recordLoop', params: ({ context }: { context: OrchestrationContext }) => loop.adaptRecord('validation', context.loops!.adaptiveDecisions.at(-1)!) }, 'startCycle'],
          },
          // Out of cycles: the budget record, then the auto-fix loop if there is one (V0).
          {
            guard: 'cyclesExhaustedToAutofix',
            target: 'autofix',
            actions: [{ type: 'recordLoop', params: ({ context }: { context: OrchestrationContext }) => loop.remediationBudgetRecord(context.loops!) }, 'startAutofix'],
          },
          ...orNextRun(
            {
              guard: 'cyclesExhausted',
              target: 'failed',
              actions: ['recordFailure', { type: 'recordLoop', params: ({ context }: { context: OrchestrationContext }) => loop.remediationBudgetRecord(context.loops!) }, 'noteAutofixExhausted'],
            },
            'failed',
          ),
          // The auto-fix loop: fix, then validation again, while attempts are left.
          { guard: 'autofixLeft', target: 'autofix', actions: ['startAutofix'] },
          ...orNextRun({ guard: 'autofixSpent', target: 'failed', actions: ['recordFailure', 'noteAutofixExhausted'] }, 'failed'),
        ] as const,
        { REVIEWER_NEXT_STEPS: { actions: 'acceptReviewerSteps' } } as const,
      ),
    },
    // One attempt of the fixer (--autofix-bin); then validation runs again. A fixer that cannot start ends the run.
    autofix: {
      invoke: {
        id: AUTOFIX_WORK_ID,
        src: AUTOFIX_WORK_SRC,
        input: ({ context }: { context: OrchestrationContext }): AutofixWorkInput => ({
          runId: context.runId,
          attempt: context.loops!.autofixAttempt ?? 1,
        }),
        onDone: [
          ...orNextRun({ guard: 'autofixSpawnFailed', target: 'failed', actions: ['recordAutofix', 'recordAutofixFailure'] }, 'failed'),
          { target: 'validation', actions: 'recordAutofix' },
        ],
        onError: orNextRun({ target: 'failed', actions: [{ type: 'recordCrash', params: { stage: 'validation' } }] }, 'failed'),
      },
      on: {
        WALL_TIMEOUT: { target: 'timeout', actions: { type: 'recordWallTimeout', params: { stage: 'validation' } } },
      },
    },
    // The fail-closed gates (policy, ci, review), after validation and before closure.
    gates: {
      entry: 'decideGates',
      always: [
        ...orNextRun({ guard: 'gatesFailed', target: 'blocked', actions: [] }, 'blocked'),
        { guard: 'reviewWanted', target: 'review_ensemble' },
        ...orNextRun({ guard: 'simulateBlocked', target: 'blocked', actions: [] }, 'blocked'),
        { guard: 'decisionWanted', target: 'decision' },
        { target: 'closure' },
      ],
    },
    // The reviewers' verdicts (--reviewer-verdict), weighed; a pass takes part in the decision.
    review_ensemble: {
      entry: 'decideReview',
      always: [
        ...orNextRun({ guard: 'reviewFailed', target: 'blocked', actions: [] }, 'blocked'),
        ...orNextRun({ guard: 'simulateBlocked', target: 'blocked', actions: [] }, 'blocked'),
        { target: 'decision' },
      ],
    },
    // The final decision (--decision-*): only a proceed goes on into closure.
    decision: {
      entry: 'decide',
      always: [{ guard: 'decisionProceeds', target: 'closure' }, ...orNextRun({ target: 'blocked', actions: [] }, 'blocked')],
    },
    closure: {
      ...stageState('closure', [
        { guard: 'stagePassedToDeliveryRun', target: 'delivery_step', actions: 'completeStage' },
        { guard: 'stagePassedToDelivery', target: 'delivery', actions: 'completeStage' },
        { guard: 'stagePassedToPrRisk', target: 'pr_risk', actions: 'completeStage' },
        { guard: 'stagePassed', target: 'done', actions: 'completeStage' },
      ]),
      entry: 'noteClosure',
    },
    // V0's delivery with --delivery-dry-run: the commands it would run, recorded, none run.
    delivery: {
      entry: 'recordDelivery',
      always: [{ guard: 'prRiskWanted', target: 'pr_risk' }, { target: 'done' }],
    },
    // V0's delivery (--delivery-enabled): one command (git switch -c, add, commit, gh pr create/edit)
    // per visit, back here for the next; the count that succeeded is kept, so --resume goes on from
    // the first that did not. A command that fails ends the run failed (as V0), one that times out timeout.
    delivery_step: {
      invoke: {
        id: DELIVERY_WORK_ID,
        src: DELIVERY_WORK_SRC,
        input: ({ context }: { context: OrchestrationContext }): DeliveryStepInput => {
          const done = context.loops!.delivered ?? 0;
          return { runId: context.runId, index: done + 1, step: deliverySteps(context.loops!.settings.delivery!)[done]! };
        },
        onDone: [
          { guard: 'deliveryStepLeft', target: 'delivery_step', reenter: true, actions: 'noteDelivered' },
          { guard: 'deliveryPassedToPrRisk', target: 'pr_risk', actions: 'noteDelivered' },
          { guard: 'deliveryPassed', target: 'done', actions: 'noteDelivered' },
          ...orNextRun({ guard: 'deliveryTimedOut', target: 'timeout', actions: ['recordDeliveryFailure'] }, 'timeout'),
          ...orNextRun({ target: 'failed', actions: ['recordDeliveryFailure'] }, 'failed'),
        ],
        onError: orNextRun({ target: 'failed', actions: [{ type: 'recordCrash', params: { stage: 'closure' } }] }, 'failed'),
      },
      on: {
        WALL_TIMEOUT: { target: 'timeout', actions: { type: 'recordWallTimeout', params: { stage: 'closure' } } },
      },
    },
    // V0's PR risk, scored once closure passed; with --auto-merge-on-eligible a score above the threshold blocks.
    pr_risk: {
      entry: 'assessPrRisk',
      always: [...orNextRun({ guard: 'prRiskAboveThreshold', target: 'blocked', actions: [] }, 'blocked'), { target: 'done' }],
    },
    // The autonomous loop: a run that ended short of done is measured (signatures, next actions, the clock) ...
    autonomous_check: {
      invoke: {
        id: LOOP_RUN_ID,
        src: LOOP_RUN_SRC,
        input: ({ context }: { context: OrchestrationContext }): LoopRunInput => ({
          runId: context.runId,
          run: context.loops!.autonomous!.run,
          outcome: context.loops!.autonomous!.outcome!,
          blockedReasonCodes: context.loops!.blockedReasonCodes,
          reviewerNextSteps: context.loops!.reviewerNextSteps,
        }),
        onDone: { target: 'autonomous_decide', actions: 'noteLoopRun' },
        onError: { target: 'failed' },
      },
    },
    // ... then starts over from the hard gates while no cap stops it, or ends as that run did.
    autonomous_decide: {
      always: [
        { guard: 'loopRunLeft', target: 'hard_gates', actions: 'startNextRun' },
        { guard: { type: 'loopEndedIn', params: { outcome: 'blocked' } }, target: 'blocked' },
        { guard: { type: 'loopEndedIn', params: { outcome: 'timeout' } }, target: 'timeout' },
        { target: 'failed' },
      ],
    },
    // Halted: the run stops here (reported `blocked`, exit 3) and goes on after --resume.
    awaiting_approval: haltedState(),
    budget_exceeded: haltedState(),
    roi_below_floor: haltedState(),
    done: { type: 'final' },
    blocked: { type: 'final' },
    failed: { type: 'final' },
    timeout: { type: 'final' },
    // Stopped before its end (INTERRUPT): not a terminal state of the run (the report's
    // terminal_state stays null), and never checkpointed: the checkpoint keeps the state before it.
    interrupted: { type: 'final' },
  },
});

type PassTransition = {
  guard:
    | 'stagePassed'
    | 'stagePassedAndBlocked'
    | 'stagePassedToGates'
    | 'stagePassedToPlanningContext'
    | 'stagePassedToReview'
    | 'stagePassedToDecision'
    | 'stagePassedToPrRisk'
    | 'stagePassedToDelivery'
    | 'stagePassedToDeliveryRun';
  target: Stage | 'done' | 'blocked' | 'gates' | 'planning_context' | 'review_ensemble' | 'decision' | 'pr_risk' | 'delivery' | 'delivery_step';
  actions: 'completeStage';
};

/**
 * Every stage invokes its work and leaves on its outcome: pass, halt, timeout, or any other
 * failure. `loops` come before the failures they catch (a non-zero exit, with loops on).
 */
function stageState<L extends readonly object[], E extends object = Record<never, never>>(stage: Stage, passes: PassTransition[], loops: L = [] as unknown as L, events: E = {} as E) {
  return {
    invoke: {
      id: STAGE_WORK_ID,
      src: STAGE_WORK_SRC,
      input: ({ context }: { context: OrchestrationContext }) => stageInput(context, stage),
      onDone: [
        ...passes,
        { guard: 'stageAwaitsApproval', target: 'awaiting_approval', actions: 'recordHalt' },
        { guard: 'stageOverBudget', target: 'budget_exceeded', actions: 'recordHalt' },
        { guard: 'stageRoiBelowFloor', target: 'roi_below_floor', actions: 'recordHalt' },
        ...loops,
        ...orNextRun({ guard: 'stageTimedOut', target: 'timeout', actions: ['recordFailure'] }, 'timeout'),
        ...orNextRun({ target: 'failed', actions: ['recordFailure'] }, 'failed'),
      ],
      onError: orNextRun({ target: 'failed', actions: [{ type: 'recordCrash', params: { stage } }] }, 'failed'),
    },
    on: {
      WALL_TIMEOUT: { target: 'timeout', actions: { type: 'recordWallTimeout', params: { stage } } },
      // The stage's own events (a planner's output, a reviewer's next steps).
      ...events,
    },
  } as const;
}

/**
 * A transition that ends the run short of done, and before it its twin for the autonomous loop:
 * the same actions, then `autonomous_check` instead of the terminal state. Without the loop the
 * twin's guard is false, so a run without it takes exactly the transitions it always took.
 */
function orNextRun(transition: { guard?: keyof typeof ENDING; target: string; actions: readonly unknown[] }, outcome: loop.LoopRunOutcome): never[] {
  const { guard } = transition;
  const twin = {
    guard: guard === undefined ? 'autonomousLoop' : `${guard}InLoop`,
    target: 'autonomous_check',
    actions: [...transition.actions, { type: 'noteRunOutcome', params: { outcome } }],
  };
  // Typed by the machine's setup where it is spread (the guard and action names are checked there at run time).
  return [twin, transition] as never[];
}

/** A halted run returns to the stage it halted in, which runs only what is left. */
function haltedState() {
  return {
    on: {
      RESUME: (['planning', 'policy_ingestion', 'execution', 'validation', 'closure'] as const).map((stage) => ({
        guard: { type: 'haltedIn' as const, params: { stage } },
        target: stage,
        actions: 'acceptResume' as const,
      })),
    },
  } as const;
}

function stageInput(context: OrchestrationContext, stage: Stage): StageWorkInput {
  return {
    runId: context.runId,
    stage,
    alreadyCompleted: context.completedStages.includes(stage),
    completedSteps: context.completedSteps[stage] ?? [],
    approvals: context.approvals,
    spentCost: context.spentCost,
    ...(context.thermostat ? { thermostat: context.thermostat } : {}),
    ...(context.loops ? { loop: loopInput(context.loops, stage) } : {}),
  };
}

/** The loop counters a stage's work sees; the validation stage also the planner's commands, if any. */
function loopInput(loops: LoopState, stage: Stage): NonNullable<StageWorkInput['loop']> {
  const commands = stage === 'validation' ? (loops.settings.plannedValidationCommands ?? []) : [];
  return {
    attempt: loops.executionAttempt,
    cycle: loops.remediationCycle,
    steps: loops.remediationSteps,
    ...(commands.length > 0 ? { validationCommands: commands } : {}),
  };
}

/** The thermostat a stage's work ended with (the one it started with when it ran nothing); none without one. */
function thermostatAfter(context: OrchestrationContext, event: unknown): { thermostat?: PersistedThermostat } {
  const thermostat = outputOf(event).thermostat ?? context.thermostat;
  return thermostat ? { thermostat } : {};
}

export type OrchestrationMachine = typeof orchestrationMachine;
