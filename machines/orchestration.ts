/**
 * The orchestration state machine. Pure: no process, disk, clock or environment access.
 * Stage work is the invoked actor `runStage`; the real one (which spawns programs) is
 * supplied from src/ with `machine.provide`, tests may supply others.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { Stage, StageStatus } from './stages.js';

/** What the stage actor is started with. Plain JSON: it is saved in the persisted snapshot. */
export interface StageWorkInput {
  runId: string;
  stage: Stage;
  /** The stage completed in an earlier invocation of this run (a V0 checkpoint said so). */
  alreadyCompleted: boolean;
}

/** What the stage actor ends with. */
export interface StageWorkOutput {
  stage: Stage;
  status: StageStatus;
  error: string | null;
}

export interface OrchestrationInput {
  runId: string;
  simulateBlocked: boolean;
  completedStages?: Stage[];
}

export interface StageFailure {
  stage: Stage;
  status: StageStatus;
  error: string | null;
}

export interface OrchestrationContext {
  runId: string;
  simulateBlocked: boolean;
  completedStages: Stage[];
  failure: StageFailure | null;
}

/** The id every stage gives its invoked work; the done/error events are named after it. */
export const STAGE_WORK_ID = 'stageWork';
export const STAGE_WORK_SRC = 'runStage';

const PASSING: readonly StageStatus[] = ['success', 'skipped'];

function outputOf(event: unknown): StageWorkOutput {
  return (event as { output: StageWorkOutput }).output;
}

export const orchestrationMachine = setup({
  types: {
    context: {} as OrchestrationContext,
    input: {} as OrchestrationInput,
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
  },
  actions: {
    completeStage: assign({
      completedStages: ({ context, event }) => {
        const { stage } = outputOf(event);
        return context.completedStages.includes(stage) ? context.completedStages : [...context.completedStages, stage];
      },
    }),
    recordFailure: assign({
      failure: ({ event }) => {
        const { stage, status, error } = outputOf(event);
        return { stage, status, error };
      },
    }),
    recordCrash: assign({
      failure: ({ event }, params: { stage: Stage }) => ({
        stage: params.stage,
        status: 'failed' as const,
        error: `stage work crashed: ${String((event as unknown as { error: unknown }).error)}`,
      }),
    }),
  },
}).createMachine({
  id: 'orchestration',
  initial: 'planning',
  context: ({ input }) => ({
    runId: input.runId,
    simulateBlocked: input.simulateBlocked,
    completedStages: input.completedStages ?? [],
    failure: null,
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

/** Every stage invokes its work and leaves on its outcome: pass, timeout, or any other failure. */
function stageState(stage: Stage, passes: PassTransition[]) {
  return {
    invoke: {
      id: STAGE_WORK_ID,
      src: STAGE_WORK_SRC,
      input: ({ context }: { context: OrchestrationContext }) => stageInput(context, stage),
      onDone: [
        ...passes,
        { guard: 'stageTimedOut', target: 'timeout', actions: 'recordFailure' },
        { target: 'failed', actions: 'recordFailure' },
      ],
      onError: { target: 'failed', actions: { type: 'recordCrash', params: { stage } } },
    },
  } as const;
}

function stageInput(context: OrchestrationContext, stage: Stage): StageWorkInput {
  return { runId: context.runId, stage, alreadyCompleted: context.completedStages.includes(stage) };
}

export type OrchestrationMachine = typeof orchestrationMachine;
