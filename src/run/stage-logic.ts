/**
 * The stage actor: XState actor logic that runs a stage's steps through the step scheduler.
 * `transition` is pure (the scheduler decides); starting and cancelling programs happen in
 * deferred effects and in `start`. Its snapshot — the steps done (compact) and the progress of
 * those under way — is plain JSON, saved inside the machine's persisted snapshot, so a resumed run
 * knows which steps are done.
 */
import type { ActorLogic, ActorRefLike, ActorScope, ActorSystem, Snapshot } from 'xstate';
import type { StageWorkInput, StageWorkOutput } from '../../machines/orchestration.js';
import { idSetOf } from '../../machines/id-set.js';
import {
  type PreparedConfig,
  type SchedulerState,
  type StepFinished,
  initialSchedulerState,
  markFinished,
  markRetryDue,
  markStarted,
  persistedScheduler,
  prepareConfig,
  restoreSchedulerState,
  stepsToCancel,
  stepsToStart,
  verdict,
} from '../../machines/step-scheduler.js';
import type { Stage } from '../../machines/stages.js';
import type { PersistedThermostat, ThermostatSettings } from '../../machines/thermostat.js';
import type { Step } from '../plan/schema.js';
import { feedThermostat, roiHalt, thermostatFor } from './thermostat-stage.js';

export interface StageRuntime {
  /** The steps of the stage this work runs (the validation stage's may come from the planner). */
  steps(input: StageWorkInput): Step[];
  concurrency: number;
  /** The ROI thermostat's settings; null for a run without one. */
  thermostat: ThermostatSettings | null;
  costBudget: number | null;
  stageNeedsApproval(stage: Stage): boolean;
  /** Runs one attempt of a step; never rejects. */
  runStep(input: StageWorkInput, step: Step, signal: AbortSignal): Promise<StepFinished>;
  /** Records the steps of a stage an earlier invocation completed. */
  recordSkipped(input: StageWorkInput): void;
  /** Why the stage cannot run its steps at all (its steps could not be resolved), or null; it then fails. */
  refuse?(stage: Stage): string | null;
}

export type StageSnapshot = Snapshot<StageWorkOutput> & {
  input: StageWorkInput;
  scheduler: SchedulerState;
  /** Present for a run with a thermostat: it sets the concurrency and may halt the stage. */
  thermostat?: PersistedThermostat;
};

type StageEvent =
  | { type: 'step.kick' }
  | ({ type: 'step.finished' } & StepFinished)
  | { type: 'step.retryDue'; stepId: string }
  | { type: 'xstate.stop' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Scope = ActorScope<StageSnapshot, StageEvent, ActorSystem<any>>;

interface Effects {
  controllers: Map<string, AbortController>;
  timers: Map<string, NodeJS.Timeout>;
}

export function createStageLogic(runtime: StageRuntime): ActorLogic<StageSnapshot, StageEvent, StageWorkInput> {
  const effects = new WeakMap<ActorRefLike, Effects>();
  const effectsOf = (self: ActorRefLike): Effects => {
    let found = effects.get(self);
    if (!found) effects.set(self, (found = { controllers: new Map(), timers: new Map() }));
    return found;
  };
  // Built once per stage visit (the input object lives as long as the stage actor), not per event.
  const configs = new WeakMap<StageWorkInput, PreparedConfig>();
  const schedulerConfig = (input: StageWorkInput): PreparedConfig => {
    let config = configs.get(input);
    if (!config) {
      config = prepareConfig({
        steps: runtime.steps(input).map((step) => ({
          id: step.id,
          needs: step.needs,
          retries: step.retries ?? null,
          requiresApproval: step.requiresApproval,
        })),
        concurrency: runtime.concurrency,
        approvals: input.approvals,
        gatePrefix: `step:${input.stage}/`,
        costBudget: runtime.costBudget,
      });
      configs.set(input, config);
    }
    return config;
  };

  const launch = (scope: Scope, input: StageWorkInput, stepId: string) => {
    const index = schedulerConfig(input).indexOf.get(stepId);
    const step = index === undefined ? undefined : runtime.steps(input)[index];
    const { controllers } = effectsOf(scope.self);
    if (!step || controllers.has(stepId)) return;
    const controller = new AbortController();
    controllers.set(stepId, controller);
    void runtime.runStep(input, step, controller.signal).then((finished) => {
      controllers.delete(stepId);
      if (scope.self.getSnapshot().status !== 'active') return;
      scope.self.send({ type: 'step.finished', ...finished });
    });
  };

  const armRetries = (scope: Scope, scheduler: SchedulerState) => {
    const { timers } = effectsOf(scope.self);
    for (const [stepId, progress] of Object.entries(scheduler.active)) {
      if (progress.status !== 'waiting_retry' || progress.retryAtMs === null || timers.has(stepId)) continue;
      const timer = setTimeout(
        () => {
          timers.delete(stepId);
          if (scope.self.getSnapshot().status === 'active') scope.self.send({ type: 'step.retryDue', stepId });
        },
        Math.max(0, progress.retryAtMs - Date.now()),
      );
      timers.set(stepId, timer);
    }
  };

  const stopAll = (self: ActorRefLike) => {
    const { controllers, timers } = effectsOf(self);
    for (const controller of controllers.values()) controller.abort();
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
  };

  const advance = (snapshot: StageSnapshot, scheduler: SchedulerState, scope: Scope): StageSnapshot => {
    const config = schedulerConfig(snapshot.input);
    const { thermostat } = snapshot;
    const cancel = stepsToCancel(scheduler);
    // A halted thermostat starts nothing more; the steps under way finish.
    const start = thermostat?.state === 'halted' ? [] : stepsToStart(config, scheduler, thermostat?.context.concurrency);
    const next = markStarted(config, scheduler, start);
    scope.defer(() => {
      const { controllers } = effectsOf(scope.self);
      for (const id of cancel) controllers.get(id)?.abort();
      for (const id of start) launch(scope, snapshot.input, id);
      armRetries(scope, next);
    });
    const base = { ...snapshot, scheduler: next };
    const outcome = verdict(config, next);
    // A stage that still has steps to run stops once the thermostat halted and its last step ended.
    const halted = outcome.kind === 'running' && thermostat ? roiHalt(thermostat, next) : null;
    if (halted) {
      const output: StageWorkOutput = { stage: snapshot.input.stage, ...halted, completedSteps: next.done, spentCost: next.spentCost, gate: null, thermostat };
      return { ...base, status: 'done', output } as StageSnapshot;
    }
    if (outcome.kind === 'running') return base;
    const completedSteps = next.done;
    const output: StageWorkOutput = {
      stage: snapshot.input.stage,
      status:
        outcome.kind === 'passed'
          ? 'success'
          : outcome.kind === 'failed'
            ? outcome.status
            : outcome.kind === 'awaiting_approval'
              ? 'approval_required'
              : 'budget_exceeded',
      error:
        outcome.kind === 'failed'
          ? outcome.error
          : outcome.kind === 'budget_exceeded'
            ? `cost ${outcome.spent} passed the budget of ${outcome.budget}`
            : outcome.kind === 'awaiting_approval'
              ? `${outcome.gate} needs approval`
              : null,
      completedSteps,
      spentCost: next.spentCost,
      gate: outcome.kind === 'awaiting_approval' ? outcome.gate : null,
      step: outcome.kind === 'failed' ? outcome.stepId : null,
      ...(thermostat ? { thermostat } : {}),
      ...(outcome.kind === 'failed' && outcome.signature ? { signature: outcome.signature } : {}),
    };
    return { ...base, status: 'done', output } as StageSnapshot;
  };

  const finish = (snapshot: StageSnapshot, output: Omit<StageWorkOutput, 'stage' | 'completedSteps' | 'spentCost'>): StageSnapshot =>
    ({
      ...snapshot,
      status: 'done',
      output: {
        stage: snapshot.input.stage,
        completedSteps: snapshot.input.completedSteps,
        spentCost: snapshot.input.spentCost,
        ...(snapshot.thermostat ? { thermostat: snapshot.thermostat } : {}),
        ...output,
      },
    }) as StageSnapshot;

  return {
    transition(snapshot, event, scope) {
      if (snapshot.status !== 'active') return snapshot;
      switch (event.type) {
        case 'xstate.stop':
          stopAll(scope.self);
          return { ...snapshot, status: 'stopped' } as StageSnapshot;
        case 'step.kick': {
          const { input } = snapshot;
          if (input.alreadyCompleted) {
            scope.defer(() => runtime.recordSkipped(input));
            return finish(snapshot, { status: 'skipped', error: null });
          }
          const refused = runtime.refuse?.(input.stage) ?? null;
          if (refused !== null) return finish(snapshot, { status: 'failed', error: refused });
          const gate = `stage:${input.stage}`;
          if (runtime.stageNeedsApproval(input.stage) && !input.approvals.includes(gate)) {
            return finish(snapshot, { status: 'approval_required', error: `${gate} needs approval`, gate });
          }
          return advance(snapshot, snapshot.scheduler, scope);
        }
        case 'step.finished': {
          const scheduler = markFinished(schedulerConfig(snapshot.input), snapshot.scheduler, event);
          return advance(feedThermostat(snapshot, event), scheduler, scope);
        }
        case 'step.retryDue':
          return advance(snapshot, markRetryDue(snapshot.scheduler, event.stepId), scope);
        default:
          return snapshot;
      }
    },
    start(snapshot, scope) {
      if (snapshot.status !== 'active') return;
      // Steps that were running when the snapshot was taken run again from their start.
      for (const [stepId, progress] of Object.entries(snapshot.scheduler.active)) {
        if (progress.status === 'running') launch(scope, snapshot.input, stepId);
      }
      armRetries(scope, snapshot.scheduler);
      scope.self.send({ type: 'step.kick' });
    },
    getInitialSnapshot(_scope, input) {
      const config = schedulerConfig(input);
      return {
        status: 'active',
        output: undefined,
        error: undefined,
        input,
        scheduler: initialSchedulerState(config, idSetOf(input.completedSteps), input.spentCost),
        ...thermostatFor(runtime, input.thermostat),
      };
    },
    // Only what the scheduler cannot rebuild: the lookups derived from it are left out.
    getPersistedSnapshot: (snapshot) => ({ ...snapshot, scheduler: persistedScheduler(snapshot.scheduler) }) as StageSnapshot,
    restoreSnapshot(persisted) {
      const snapshot = persisted as StageSnapshot;
      // Checkpoint schema 1 saved a promise actor here: no scheduler, the stage runs from its start.
      const saved: Partial<StageWorkInput> = snapshot.input;
      const input = {
        ...saved,
        completedSteps: saved.completedSteps ?? [],
        approvals: saved.approvals ?? [],
        spentCost: saved.spentCost ?? 0,
      } as StageWorkInput;
      // Schema 2 kept every step's progress by id; restoreSchedulerState reads both forms.
      const scheduler = restoreSchedulerState(schedulerConfig(input), snapshot.scheduler, idSetOf(input.completedSteps), input.spentCost);
      // The settings given at resume decide (a new floor, another plan); the window and concurrency carry on.
      return { ...snapshot, input, scheduler, ...thermostatFor(runtime, snapshot.thermostat) };
    },
  };
}
