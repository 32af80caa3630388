/**
 * The orchestration state machine. Pure: no process, disk, clock or environment access.
 * Stage work is the invoked actor `runStage` (it runs the stage's steps); the real one is
 * supplied from src/ with `machine.provide`, tests may supply others.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { IdSet } from './id-set.js';
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
}

export interface OrchestrationInput {
  runId: string;
  simulateBlocked: boolean;
  completedStages?: Stage[];
  completedSteps?: Partial<Record<Stage, IdSet>>;
  approvals?: string[];
  spentCost?: number;
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

export type OrchestrationEvent = ResumeEvent | WallTimeoutEvent;

/** The id every stage gives its invoked work; the done/error events are named after it. */
export const STAGE_WORK_ID = 'stageWork';
export const STAGE_WORK_SRC = 'runStage';

const PASSING: readonly string[] = ['success', 'skipped'];

function outputOf(event: unknown): StageWorkOutput {
  return (event as { output: StageWorkOutput }).output;
}

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
  },
  guards: {
    stagePassed: ({ event }) => PASSING.includes(outputOf(event).status),
    stagePassedAndBlocked: ({ context, event }) => context.simulateBlocked && PASSING.includes(outputOf(event).status),
    stageTimedOut: ({ event }) => outputOf(event).status === 'timeout',
    stageAwaitsApproval: ({ event }) => outputOf(event).status === 'approval_required',
    stageOverBudget: ({ event }) => outputOf(event).status === 'budget_exceeded',
    stageRoiBelowFloor: ({ event }) => outputOf(event).status === 'roi_below_floor',
    haltedIn: ({ context }, params: { stage: Stage }) => context.halt?.stage === params.stage,
  },
  actions: {
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
  },
}).createMachine({
  id: 'orchestration',
  initial: 'planning',
  context: ({ input }) => ({
    runId: input.runId,
    simulateBlocked: input.simulateBlocked,
    completedStages: input.completedStages ?? [],
    completedSteps: input.completedSteps ?? {},
    approvals: input.approvals ?? [],
    spentCost: input.spentCost ?? 0,
    failure: null,
    halt: null,
  }),
  states: {
    planning: stageState('planning', [{ guard: 'stagePassed', target: 'policy_ingestion', actions: 'completeStage' }]),
    policy_ingestion: stageState('policy_ingestion', [{ guard: 'stagePassed', target: 'execution', actions: 'completeStage' }]),
    execution: stageState('execution', [{ guard: 'stagePassed', target: 'validation', actions: 'completeStage' }]),
    validation: stageState('validation', [
      // --simulate-blocked: stop after validation, closure is never entered (as V0).
      { guard: 'stagePassedAndBlocked', target: 'blocked', actions: 'completeStage' },
      { guard: 'stagePassed', target: 'closure', actions: 'completeStage' },
    ]),
    closure: stageState('closure', [{ guard: 'stagePassed', target: 'done', actions: 'completeStage' }]),
    // Halted: the run stops here (reported `blocked`, exit 3) and goes on after --resume.
    awaiting_approval: haltedState(),
    budget_exceeded: haltedState(),
    roi_below_floor: haltedState(),
    done: { type: 'final' },
    blocked: { type: 'final' },
    failed: { type: 'final' },
    timeout: { type: 'final' },
  },
});

type PassTransition = {
  guard: 'stagePassed' | 'stagePassedAndBlocked';
  target: Stage | 'done' | 'blocked';
  actions: 'completeStage';
};

/** Every stage invokes its work and leaves on its outcome: pass, halt, timeout, or any other failure. */
function stageState(stage: Stage, passes: PassTransition[]) {
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
        { guard: 'stageTimedOut', target: 'timeout', actions: 'recordFailure' },
        { target: 'failed', actions: 'recordFailure' },
      ],
      onError: { target: 'failed', actions: { type: 'recordCrash', params: { stage } } },
    },
    on: {
      WALL_TIMEOUT: { target: 'timeout', actions: { type: 'recordWallTimeout', params: { stage } } },
    },
  } as const;
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
  };
}

/** The thermostat a stage's work ended with (the one it started with when it ran nothing); none without one. */
function thermostatAfter(context: OrchestrationContext, event: unknown): { thermostat?: PersistedThermostat } {
  const thermostat = outputOf(event).thermostat ?? context.thermostat;
  return thermostat ? { thermostat } : {};
}

export type OrchestrationMachine = typeof orchestrationMachine;
