import { describe, expect, it } from 'vitest';
import { idSetToArray } from '../../machines/id-set.js';
import {
  type PreparedConfig,
  type SchedulerConfig,
  type SchedulerState,
  type StepFinished,
  type StepProgress,
  type StepSpec,
  initialSchedulerState,
  markFinished,
  markRetryDue,
  markStarted,
  overBudget,
  persistedScheduler,
  prepareConfig,
  restoreSchedulerState,
  statusOf,
  stepsToCancel,
  stepsToStart,
  verdict,
} from '../../machines/step-scheduler.js';

const spec = (id: string, extra: Partial<StepSpec> = {}): StepSpec => ({ id, needs: [], retries: null, requiresApproval: false, ...extra });

const configOf = (steps: StepSpec[], extra: Partial<SchedulerConfig> = {}): PreparedConfig =>
  prepareConfig({
    steps,
    concurrency: 1,
    approvals: [],
    gatePrefix: 'step:execution/',
    costBudget: null,
    ...extra,
  });

const progress = (status: StepProgress['status'], extra: Partial<StepProgress> = {}): StepProgress => ({
  status,
  failures: 0,
  retryAtMs: null,
  lastStatus: null,
  lastError: null,
  ...extra,
});

type Status = StepProgress['status'] | 'succeeded';

/**
 * A state of `config`'s steps with the given statuses (progress given in `active` wins), no failure,
 * nothing spent: written as a checkpoint holds it, then restored.
 */
const stateOf = (
  config: PreparedConfig,
  steps: Record<string, Status>,
  extra: { failure?: SchedulerState['failure']; spentCost?: number; active?: Record<string, StepProgress> } = {},
): SchedulerState => {
  const done = Object.keys(steps).filter((id) => steps[id] === 'succeeded');
  const active = Object.fromEntries(
    Object.entries(steps)
      .filter(([, status]) => status !== 'succeeded' && status !== 'pending')
      .map(([id, status]) => [id, progress(status as StepProgress['status'])]),
  );
  return restoreSchedulerState(
    config,
    { done, active: { ...active, ...extra.active }, spentCost: extra.spentCost ?? 0, failure: extra.failure ?? null },
    [],
    0,
  );
};

/** Every step's status, as a reader of the snapshot sees it. */
const statuses = (config: PreparedConfig, state: SchedulerState) => Object.fromEntries(config.steps.map((s) => [s.id, statusOf(state, s.id)]));

const finished = (stepId: string, extra: Partial<StepFinished> = {}): StepFinished => ({
  stepId,
  status: 'success',
  error: null,
  finishedAtMs: 10_000,
  cost: 0,
  cancelled: false,
  ...extra,
});

describe('initialSchedulerState', () => {
  it('marks the steps done earlier as succeeded and carries the cost spent', () => {
    const config = configOf([spec('a'), spec('b'), spec('c')]);
    const state = initialSchedulerState(config, ['b'], 12);
    expect(statuses(config, state)).toEqual({ a: 'pending', b: 'succeeded', c: 'pending' });
    expect(persistedScheduler(state)).toEqual({ done: ['b'], active: {}, spentCost: 12, failure: null });
  });
});

describe('stepsToStart', () => {
  const steps = [spec('a'), spec('b', { needs: ['a'] }), spec('c'), spec('d', { needs: ['b', 'c'] })];

  it('starts only steps whose needs all succeeded, in plan order', () => {
    const config = configOf(steps, { concurrency: 4 });
    expect(stepsToStart(config, stateOf(config, { a: 'pending', b: 'pending', c: 'pending', d: 'pending' }))).toEqual(['a', 'c']);
    expect(stepsToStart(config, stateOf(config, { a: 'succeeded', b: 'pending', c: 'running', d: 'pending' }))).toEqual(['b']);
    expect(stepsToStart(config, stateOf(config, { a: 'succeeded', b: 'succeeded', c: 'running', d: 'pending' }))).toEqual([]);
    expect(stepsToStart(config, stateOf(config, { a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'pending' }))).toEqual(['d']);
    // A need that failed or was cancelled is not met.
    expect(stepsToStart(config, stateOf(config, { a: 'cancelled', b: 'pending', c: 'succeeded', d: 'pending' }))).toEqual([]);
  });

  it('never starts more than the concurrency left', () => {
    const independent = [spec('a'), spec('b'), spec('c'), spec('d')];
    const all = { a: 'pending', b: 'pending', c: 'pending', d: 'pending' } as const;
    const at = (concurrency: number, steps: Record<string, Status>) => {
      const config = configOf(independent, { concurrency });
      return stepsToStart(config, stateOf(config, steps));
    };
    expect(at(1, all)).toEqual(['a']);
    expect(at(2, all)).toEqual(['a', 'b']);
    expect(at(8, all)).toEqual(['a', 'b', 'c', 'd']);
    const twoRunning = { a: 'running', b: 'running', c: 'pending', d: 'pending' } as const;
    expect(at(3, twoRunning)).toEqual(['c']);
    expect(at(2, twoRunning)).toEqual([]);
  });

  it('does not start a step that waits for its retry', () => {
    const config = configOf([spec('a'), spec('b')], { concurrency: 2 });
    expect(stepsToStart(config, stateOf(config, { a: 'waiting_retry', b: 'pending' }))).toEqual(['b']);
  });

  it('starts a step whose retry came due before later steps, in plan order', () => {
    const config = configOf([spec('a'), spec('b'), spec('c')], { concurrency: 2 });
    const state = stateOf(config, { a: 'pending', b: 'running', c: 'pending' }, { active: { a: progress('pending', { failures: 1 }) } });
    expect(stepsToStart(config, state)).toEqual(['a']);
  });

  it('holds a step that requires approval until its gate is approved', () => {
    const gated = [spec('build'), spec('deploy', { requiresApproval: true }), spec('notify')];
    const state = { build: 'pending', deploy: 'pending', notify: 'pending' } as const;
    const at = (approvals: string[]) => {
      const config = configOf(gated, { concurrency: 3, approvals });
      return stepsToStart(config, stateOf(config, state));
    };
    expect(at([])).toEqual(['build', 'notify']);
    expect(at(['step:validation/deploy', 'stage:execution'])).toEqual(['build', 'notify']);
    expect(at(['step:execution/deploy'])).toEqual(['build', 'deploy', 'notify']);
  });

  it('starts nothing once a step failed for good', () => {
    const config = configOf([spec('a'), spec('b')], { concurrency: 2 });
    const state = stateOf(config, { a: 'failed', b: 'pending' }, { failure: { stepId: 'a', status: 'failed', error: 'boom' } });
    expect(stepsToStart(config, state)).toEqual([]);
  });

  it('starts nothing once the cost passed the budget, and goes on while it only reached it', () => {
    const config = configOf([spec('a'), spec('b')], { costBudget: 7 });
    expect(stepsToStart(config, stateOf(config, { a: 'pending', b: 'pending' }, { spentCost: 10 }))).toEqual([]);
    expect(stepsToStart(config, stateOf(config, { a: 'pending', b: 'pending' }, { spentCost: 7 }))).toEqual(['a']);
    const unbudgeted = configOf([spec('a')], { costBudget: null });
    expect(stepsToStart(unbudgeted, stateOf(unbudgeted, { a: 'pending' }, { spentCost: 1e9 }))).toEqual(['a']);
  });
});

describe('markStarted', () => {
  it('marks the steps running and clears their retry time', () => {
    const config = configOf([spec('a'), spec('b')], { concurrency: 2 });
    const state = stateOf(config, { a: 'pending', b: 'pending' }, { active: { b: progress('pending', { failures: 1, lastStatus: 'failed', lastError: 'x' }) } });
    expect(markStarted(config, state, ['a', 'b']).active).toEqual({
      a: { status: 'running', failures: 0, retryAtMs: null, lastStatus: null, lastError: null },
      b: { status: 'running', failures: 1, retryAtMs: null, lastStatus: 'failed', lastError: 'x' },
    });
    expect(statusOf(state, 'a')).toBe('pending');
  });
});

describe('markFinished', () => {
  it('marks a success succeeded, keeps no progress for it, and adds its cost', () => {
    const config = configOf([spec('a')]);
    const next = markFinished(config, stateOf(config, { a: 'running' }, { spentCost: 2 }), finished('a', { cost: 5 }));
    expect(persistedScheduler(next)).toEqual({ done: ['a'], active: {}, spentCost: 7, failure: null });
  });

  it('schedules retries at finishedAtMs + backoffMs * factor^(n-1), then fails for good', () => {
    const config = configOf([spec('a', { retries: { max: 3, backoffMs: 200, factor: 2 } })]);
    const fail = (at: number): StepFinished => finished('a', { status: 'failed', error: 'exit 1', finishedAtMs: at });
    const rerun = (state: SchedulerState) => markStarted(config, markRetryDue(state, 'a'), ['a']);

    let state = markFinished(config, stateOf(config, { a: 'running' }), fail(10_000));
    expect(state.active.a).toEqual({ status: 'waiting_retry', failures: 1, retryAtMs: 10_200, lastStatus: 'failed', lastError: 'exit 1' });
    expect(state.failure).toBeNull();

    state = markFinished(config, rerun(state), fail(11_000));
    expect(state.active.a).toEqual({ status: 'waiting_retry', failures: 2, retryAtMs: 11_400, lastStatus: 'failed', lastError: 'exit 1' });

    state = markFinished(config, rerun(state), fail(12_000));
    expect(state.active.a).toEqual({ status: 'waiting_retry', failures: 3, retryAtMs: 12_800, lastStatus: 'failed', lastError: 'exit 1' });

    state = markFinished(config, rerun(state), fail(13_000));
    expect(state.active.a).toEqual({ status: 'failed', failures: 4, retryAtMs: null, lastStatus: 'failed', lastError: 'exit 1' });
    expect(state.failure).toEqual({ stepId: 'a', status: 'failed', error: 'exit 1' });
  });

  it('rounds a fractional backoff to whole milliseconds', () => {
    const config = configOf([spec('a', { retries: { max: 5, backoffMs: 100, factor: 1.5 } })]);
    const failing = (failures: number) => stateOf(config, { a: 'running' }, { active: { a: progress('running', { failures }) } });
    // Third failure: 100 * 1.5^2 = 225.
    expect(markFinished(config, failing(2), finished('a', { status: 'timeout', error: 't', finishedAtMs: 1_000 })).active.a!.retryAtMs).toBe(1_225);
    // Fourth: 100 * 1.5^3 = 337.5, rounded to 338.
    expect(markFinished(config, failing(3), finished('a', { status: 'timeout', error: 't', finishedAtMs: 1_000 })).active.a!.retryAtMs).toBe(1_338);
  });

  it('fails a step without retries at its first failure, keeping its status and error', () => {
    const config = configOf([spec('a')]);
    const next = markFinished(config, stateOf(config, { a: 'running' }), finished('a', { status: 'artifact_missing', error: 'no result.json', cost: 1 }));
    expect(persistedScheduler(next)).toEqual({
      done: [],
      active: { a: { status: 'failed', failures: 1, retryAtMs: null, lastStatus: 'artifact_missing', lastError: 'no result.json' } },
      spentCost: 1,
      failure: { stepId: 'a', status: 'artifact_missing', error: 'no result.json' },
    });
  });

  it('does not retry a step that fails after a sibling failed, and keeps the first failure', () => {
    const config = configOf([spec('a'), spec('b', { retries: { max: 3, backoffMs: 10, factor: 1 } })], { concurrency: 2 });
    const state = stateOf(config, { a: 'failed', b: 'running' }, { failure: { stepId: 'a', status: 'failed', error: 'first' } });
    const next = markFinished(config, state, finished('b', { status: 'timeout', error: 'second' }));
    expect(next.active.b).toEqual({ status: 'failed', failures: 1, retryAtMs: null, lastStatus: 'timeout', lastError: 'second' });
    expect(next.failure).toEqual({ stepId: 'a', status: 'failed', error: 'first' });
  });

  it('marks a cancelled step cancelled, not failed, and counts what it spent', () => {
    const config = configOf([spec('a'), spec('b', { retries: { max: 3, backoffMs: 10, factor: 1 } })], { concurrency: 2 });
    const state = stateOf(config, { a: 'failed', b: 'running' }, { failure: { stepId: 'a', status: 'failed', error: 'first' }, spentCost: 1 });
    const next = markFinished(config, state, finished('b', { status: 'failed', error: 'Interrupted', cancelled: true, cost: 2 }));
    expect(persistedScheduler(next)).toEqual({
      done: [],
      active: {
        a: progress('failed'),
        b: { status: 'cancelled', failures: 0, retryAtMs: null, lastStatus: 'failed', lastError: 'Interrupted' },
      },
      spentCost: 3,
      failure: { stepId: 'a', status: 'failed', error: 'first' },
    });
  });

  it('ignores a finish of a step that is not running', () => {
    const config = configOf([spec('a'), spec('b')]);
    const state = stateOf(config, { a: 'succeeded', b: 'pending' });
    expect(markFinished(config, state, finished('a', { status: 'failed', cost: 9 }))).toBe(state);
    expect(markFinished(config, state, finished('b'))).toBe(state);
    expect(markFinished(config, state, finished('nope'))).toBe(state);
  });
});

describe('markRetryDue', () => {
  it('makes a waiting step pending again, and leaves any other step alone', () => {
    const config = configOf([spec('a'), spec('b')]);
    const waiting = progress('waiting_retry', { failures: 1, retryAtMs: 5_000, lastStatus: 'failed', lastError: 'e' });
    const state = stateOf(config, { a: 'pending', b: 'running' }, { active: { a: waiting } });
    expect(markRetryDue(state, 'a').active.a).toEqual({ status: 'pending', failures: 1, retryAtMs: null, lastStatus: 'failed', lastError: 'e' });
    expect(markRetryDue(state, 'b')).toBe(state);
    expect(markRetryDue(state, 'nope')).toBe(state);
  });
});

describe('stepsToCancel', () => {
  it('is empty without a failure, and every running step once one failed', () => {
    const config = configOf(['a', 'b', 'c', 'd', 'e'].map((id) => spec(id)));
    expect(stepsToCancel(stateOf(config, { a: 'running', b: 'running' }))).toEqual([]);
    const failed = stateOf(
      config,
      { a: 'failed', b: 'running', c: 'pending', d: 'running', e: 'waiting_retry' },
      { failure: { stepId: 'a', status: 'failed', error: null } },
    );
    expect(stepsToCancel(failed)).toEqual(['b', 'd']);
  });
});

describe('verdict', () => {
  const steps = [spec('a'), spec('b', { needs: ['a'] })];
  const config = configOf(steps);

  it('is running while a step runs, waits for a retry, or can start', () => {
    expect(verdict(config, stateOf(config, { a: 'running', b: 'pending' }))).toEqual({ kind: 'running' });
    expect(verdict(config, stateOf(config, { a: 'waiting_retry', b: 'pending' }))).toEqual({ kind: 'running' });
    expect(verdict(config, stateOf(config, { a: 'succeeded', b: 'pending' }))).toEqual({ kind: 'running' });
  });

  it('is passed once every step succeeded, even over budget', () => {
    expect(verdict(config, stateOf(config, { a: 'succeeded', b: 'succeeded' }))).toEqual({ kind: 'passed' });
    const budgeted = configOf(steps, { costBudget: 1 });
    expect(verdict(budgeted, stateOf(budgeted, { a: 'succeeded', b: 'succeeded' }, { spentCost: 5 }))).toEqual({ kind: 'passed' });
    const empty = configOf([]);
    expect(verdict(empty, stateOf(empty, {}))).toEqual({ kind: 'passed' });
  });

  it('is failed, naming the failing step, once the cancelled siblings ended', () => {
    const failure = { stepId: 'a', status: 'timeout' as const, error: 'Stalled' };
    const two = configOf([spec('a'), spec('c')], { concurrency: 2 });
    expect(verdict(two, stateOf(two, { a: 'failed', c: 'running' }, { failure }))).toEqual({ kind: 'running' });
    expect(verdict(two, stateOf(two, { a: 'failed', c: 'cancelled' }, { failure }))).toEqual({ kind: 'failed', stepId: 'a', status: 'timeout', error: 'Stalled' });
  });

  it('is awaiting_approval, naming the gate, when only a gated step is left', () => {
    const gatedSteps = [spec('build'), spec('deploy', { requiresApproval: true, needs: ['build'] })];
    const gated = configOf(gatedSteps);
    expect(verdict(gated, stateOf(gated, { build: 'succeeded', deploy: 'pending' }))).toEqual({ kind: 'awaiting_approval', gate: 'step:execution/deploy' });
    const approved = configOf(gatedSteps, { approvals: ['step:execution/deploy'] });
    expect(verdict(approved, stateOf(approved, { build: 'succeeded', deploy: 'pending' }))).toEqual({ kind: 'running' });
  });

  it('is budget_exceeded, with what was spent and the budget, when the cost passed it', () => {
    const budgeted = configOf([spec('one'), spec('two'), spec('three')], { costBudget: 7 });
    expect(verdict(budgeted, stateOf(budgeted, { one: 'succeeded', two: 'succeeded', three: 'pending' }, { spentCost: 10 }))).toEqual({
      kind: 'budget_exceeded',
      spent: 10,
      budget: 7,
    });
    // A step still running finishes first.
    expect(verdict(budgeted, stateOf(budgeted, { one: 'succeeded', two: 'running', three: 'pending' }, { spentCost: 10 }))).toEqual({ kind: 'running' });
  });

  it('is failed when a step can never start (a need outside the stage: not in a validated plan)', () => {
    const broken = configOf([spec('b', { needs: ['ghost'] })]);
    expect(verdict(broken, stateOf(broken, { b: 'pending' }))).toEqual({
      kind: 'failed',
      stepId: 'b',
      status: 'failed',
      error: 'step can never start: its needs cannot be met',
    });
  });
});

describe('overBudget', () => {
  it('is true only when a budget is set and the spend passed it', () => {
    const at = (costBudget: number | null, spentCost: number) => {
      const config = configOf([], { costBudget });
      return overBudget(config, stateOf(config, {}, { spentCost }));
    };
    expect(at(null, 100)).toBe(false);
    expect(at(7, 7)).toBe(false);
    expect(at(7, 7.5)).toBe(true);
    expect(at(0, 0)).toBe(false);
  });
});

describe('a stage driven start to finish', () => {
  it('runs a, then b and c in parallel; c fails, b is cancelled; the stage fails naming c', () => {
    const config = configOf([spec('a'), spec('b', { needs: ['a'] }), spec('c', { needs: ['a'] }), spec('d', { needs: ['b', 'c'] })], {
      concurrency: 2,
    });
    let state = initialSchedulerState(config, [], 0);
    expect(stepsToStart(config, state)).toEqual(['a']);
    state = markStarted(config, state, ['a']);
    state = markFinished(config, state, finished('a'));
    expect(stepsToStart(config, state)).toEqual(['b', 'c']);
    state = markStarted(config, state, ['b', 'c']);
    state = markFinished(config, state, finished('c', { status: 'failed', error: 'exit 3' }));
    expect(stepsToCancel(state)).toEqual(['b']);
    expect(stepsToStart(config, state)).toEqual([]);
    expect(verdict(config, state)).toEqual({ kind: 'running' });
    state = markFinished(config, state, finished('b', { status: 'failed', error: 'Interrupted', cancelled: true }));
    expect(stepsToCancel(state)).toEqual([]);
    expect(verdict(config, state)).toEqual({ kind: 'failed', stepId: 'c', status: 'failed', error: 'exit 3' });
    expect(statuses(config, state)).toEqual({ a: 'succeeded', b: 'cancelled', c: 'failed', d: 'pending' });
  });

  it('resumed with steps done earlier, starts only the rest', () => {
    const config = configOf([spec('a'), spec('b'), spec('c', { needs: ['a', 'b'] })], { concurrency: 3 });
    const state = initialSchedulerState(config, ['a', 'b'], 4);
    expect(stepsToStart(config, state)).toEqual(['c']);
    expect(state.spentCost).toBe(4);
  });

  it('reads the progress a schema-2 checkpoint kept for every step by id', () => {
    const config = configOf([spec('a'), spec('b', { needs: ['a'] }), spec('c')], { concurrency: 2 });
    const legacy = {
      steps: {
        a: { status: 'succeeded', failures: 0, retryAtMs: null, lastStatus: 'success', lastError: null },
        b: { status: 'pending', failures: 0, retryAtMs: null, lastStatus: null, lastError: null },
        c: { status: 'waiting_retry', failures: 1, retryAtMs: 9_000, lastStatus: 'failed', lastError: 'e' },
      },
      spentCost: 3,
      failure: null,
    };
    const state = restoreSchedulerState(config, legacy, [], 0);
    expect(statuses(config, state)).toEqual({ a: 'succeeded', b: 'pending', c: 'waiting_retry' });
    expect(state.active.c!.retryAtMs).toBe(9_000);
    expect(state.spentCost).toBe(3);
    expect(stepsToStart(config, state)).toEqual(['b']);
  });
});

describe('a plan of 10,000 steps', () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => `s${i}`);

  /** Drives every step to success, `concurrency` at a time, finishing them out of order within each batch. */
  function drive(config: PreparedConfig): { state: SchedulerState; largestPersisted: number; started: string[] } {
    let state = initialSchedulerState(config, [], 0);
    let largestPersisted = 0;
    const started: string[] = [];
    for (;;) {
      const start = stepsToStart(config, state);
      if (start.length === 0) break;
      started.push(...start);
      state = markStarted(config, state, start);
      largestPersisted = Math.max(largestPersisted, JSON.stringify(persistedScheduler(state)).length);
      for (const id of [...start].reverse()) {
        state = markFinished(config, state, finished(id));
        largestPersisted = Math.max(largestPersisted, JSON.stringify(persistedScheduler(state)).length);
      }
    }
    return { state, largestPersisted, started };
  }

  it('keeps what a checkpoint holds of it under a kilobyte, and starts every step once, in plan order', () => {
    const config = configOf(ids.map((id) => spec(id)), { concurrency: 4 });
    const { state, largestPersisted, started } = drive(config);
    expect(verdict(config, state)).toEqual({ kind: 'passed' });
    expect(started).toEqual(ids);
    expect(largestPersisted).toBeLessThan(1024);
    expect(persistedScheduler(state).done).toEqual([['s', 0, 9_999]]);
    expect(idSetToArray(persistedScheduler(state).done)).toEqual(ids);
  });

  it('runs a chain of them one after another', () => {
    const config = configOf(ids.map((id, i) => spec(id, { needs: i === 0 ? [] : [ids[i - 1]!] })), { concurrency: 4 });
    const { state, largestPersisted, started } = drive(config);
    expect(verdict(config, state)).toEqual({ kind: 'passed' });
    expect(started).toEqual(ids);
    expect(largestPersisted).toBeLessThan(1024);
  });
});
