import { describe, expect, it } from 'vitest';
import {
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
  stepsToCancel,
  stepsToStart,
  verdict,
} from '../../machines/step-scheduler.js';

const spec = (id: string, extra: Partial<StepSpec> = {}): StepSpec => ({ id, needs: [], retries: null, requiresApproval: false, ...extra });

const configOf = (steps: StepSpec[], extra: Partial<SchedulerConfig> = {}): SchedulerConfig => ({
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

/** A state with the given statuses (others as given), no failure, nothing spent. */
const stateOf = (steps: Record<string, StepProgress['status']>, extra: Partial<SchedulerState> = {}): SchedulerState => ({
  steps: Object.fromEntries(Object.entries(steps).map(([id, status]) => [id, progress(status)])),
  spentCost: 0,
  failure: null,
  ...extra,
});

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
    expect(initialSchedulerState(config, ['b'], 12)).toEqual({
      steps: {
        a: { status: 'pending', failures: 0, retryAtMs: null, lastStatus: null, lastError: null },
        b: { status: 'succeeded', failures: 0, retryAtMs: null, lastStatus: null, lastError: null },
        c: { status: 'pending', failures: 0, retryAtMs: null, lastStatus: null, lastError: null },
      },
      spentCost: 12,
      failure: null,
    });
  });
});

describe('stepsToStart', () => {
  const steps = [spec('a'), spec('b', { needs: ['a'] }), spec('c'), spec('d', { needs: ['b', 'c'] })];

  it('starts only steps whose needs all succeeded, in plan order', () => {
    const config = configOf(steps, { concurrency: 4 });
    expect(stepsToStart(config, stateOf({ a: 'pending', b: 'pending', c: 'pending', d: 'pending' }))).toEqual(['a', 'c']);
    expect(stepsToStart(config, stateOf({ a: 'succeeded', b: 'pending', c: 'running', d: 'pending' }))).toEqual(['b']);
    expect(stepsToStart(config, stateOf({ a: 'succeeded', b: 'succeeded', c: 'running', d: 'pending' }))).toEqual([]);
    expect(stepsToStart(config, stateOf({ a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'pending' }))).toEqual(['d']);
    // A need that failed or was cancelled is not met.
    expect(stepsToStart(config, stateOf({ a: 'cancelled', b: 'pending', c: 'succeeded', d: 'pending' }))).toEqual([]);
  });

  it('never starts more than the concurrency left', () => {
    const independent = [spec('a'), spec('b'), spec('c'), spec('d')];
    const all = stateOf({ a: 'pending', b: 'pending', c: 'pending', d: 'pending' });
    expect(stepsToStart(configOf(independent, { concurrency: 1 }), all)).toEqual(['a']);
    expect(stepsToStart(configOf(independent, { concurrency: 2 }), all)).toEqual(['a', 'b']);
    expect(stepsToStart(configOf(independent, { concurrency: 8 }), all)).toEqual(['a', 'b', 'c', 'd']);
    const twoRunning = stateOf({ a: 'running', b: 'running', c: 'pending', d: 'pending' });
    expect(stepsToStart(configOf(independent, { concurrency: 3 }), twoRunning)).toEqual(['c']);
    expect(stepsToStart(configOf(independent, { concurrency: 2 }), twoRunning)).toEqual([]);
  });

  it('does not start a step that waits for its retry', () => {
    const config = configOf([spec('a'), spec('b')], { concurrency: 2 });
    expect(stepsToStart(config, stateOf({ a: 'waiting_retry', b: 'pending' }))).toEqual(['b']);
  });

  it('holds a step that requires approval until its gate is approved', () => {
    const gated = [spec('build'), spec('deploy', { requiresApproval: true }), spec('notify')];
    const state = stateOf({ build: 'pending', deploy: 'pending', notify: 'pending' });
    expect(stepsToStart(configOf(gated, { concurrency: 3 }), state)).toEqual(['build', 'notify']);
    expect(stepsToStart(configOf(gated, { concurrency: 3, approvals: ['step:validation/deploy', 'stage:execution'] }), state)).toEqual([
      'build',
      'notify',
    ]);
    expect(stepsToStart(configOf(gated, { concurrency: 3, approvals: ['step:execution/deploy'] }), state)).toEqual(['build', 'deploy', 'notify']);
  });

  it('starts nothing once a step failed for good', () => {
    const config = configOf([spec('a'), spec('b')], { concurrency: 2 });
    const state = stateOf({ a: 'failed', b: 'pending' }, { failure: { stepId: 'a', status: 'failed', error: 'boom' } });
    expect(stepsToStart(config, state)).toEqual([]);
  });

  it('starts nothing once the cost passed the budget, and goes on while it only reached it', () => {
    const config = configOf([spec('a'), spec('b')], { costBudget: 7 });
    expect(stepsToStart(config, stateOf({ a: 'pending', b: 'pending' }, { spentCost: 10 }))).toEqual([]);
    expect(stepsToStart(config, stateOf({ a: 'pending', b: 'pending' }, { spentCost: 7 }))).toEqual(['a']);
    expect(stepsToStart(configOf([spec('a')], { costBudget: null }), stateOf({ a: 'pending' }, { spentCost: 1e9 }))).toEqual(['a']);
  });
});

describe('markStarted', () => {
  it('marks the steps running and clears their retry time', () => {
    const state = stateOf({ a: 'pending', b: 'pending' });
    state.steps.b = progress('pending', { failures: 1, lastStatus: 'failed', lastError: 'x' });
    expect(markStarted(state, ['a', 'b']).steps).toEqual({
      a: { status: 'running', failures: 0, retryAtMs: null, lastStatus: null, lastError: null },
      b: { status: 'running', failures: 1, retryAtMs: null, lastStatus: 'failed', lastError: 'x' },
    });
    expect(state.steps.a!.status).toBe('pending');
  });
});

describe('markFinished', () => {
  it('marks a success succeeded and adds its cost', () => {
    const config = configOf([spec('a')]);
    const next = markFinished(config, stateOf({ a: 'running' }, { spentCost: 2 }), finished('a', { cost: 5 }));
    expect(next).toEqual({
      steps: { a: { status: 'succeeded', failures: 0, retryAtMs: null, lastStatus: 'success', lastError: null } },
      spentCost: 7,
      failure: null,
    });
  });

  it('schedules retries at finishedAtMs + backoffMs * factor^(n-1), then fails for good', () => {
    const config = configOf([spec('a', { retries: { max: 3, backoffMs: 200, factor: 2 } })]);
    const fail = (at: number): StepFinished => finished('a', { status: 'failed', error: 'exit 1', finishedAtMs: at });
    const rerun = (state: SchedulerState) => markStarted(markRetryDue(state, 'a'), ['a']);

    let state = markFinished(config, stateOf({ a: 'running' }), fail(10_000));
    expect(state.steps.a).toEqual({ status: 'waiting_retry', failures: 1, retryAtMs: 10_200, lastStatus: 'failed', lastError: 'exit 1' });
    expect(state.failure).toBeNull();

    state = markFinished(config, rerun(state), fail(11_000));
    expect(state.steps.a).toEqual({ status: 'waiting_retry', failures: 2, retryAtMs: 11_400, lastStatus: 'failed', lastError: 'exit 1' });

    state = markFinished(config, rerun(state), fail(12_000));
    expect(state.steps.a).toEqual({ status: 'waiting_retry', failures: 3, retryAtMs: 12_800, lastStatus: 'failed', lastError: 'exit 1' });

    state = markFinished(config, rerun(state), fail(13_000));
    expect(state.steps.a).toEqual({ status: 'failed', failures: 4, retryAtMs: null, lastStatus: 'failed', lastError: 'exit 1' });
    expect(state.failure).toEqual({ stepId: 'a', status: 'failed', error: 'exit 1' });
  });

  it('rounds a fractional backoff to whole milliseconds', () => {
    const config = configOf([spec('a', { retries: { max: 5, backoffMs: 100, factor: 1.5 } })]);
    const state = stateOf({ a: 'running' });
    state.steps.a = progress('running', { failures: 2 });
    // Third failure: 100 * 1.5^2 = 225.
    expect(markFinished(config, state, finished('a', { status: 'timeout', error: 't', finishedAtMs: 1_000 })).steps.a!.retryAtMs).toBe(1_225);
    state.steps.a = progress('running', { failures: 3 });
    // Fourth: 100 * 1.5^3 = 337.5, rounded to 338.
    expect(markFinished(config, state, finished('a', { status: 'timeout', error: 't', finishedAtMs: 1_000 })).steps.a!.retryAtMs).toBe(1_338);
  });

  it('fails a step without retries at its first failure, keeping its status and error', () => {
    const config = configOf([spec('a')]);
    const next = markFinished(config, stateOf({ a: 'running' }), finished('a', { status: 'artifact_missing', error: 'no result.json', cost: 1 }));
    expect(next).toEqual({
      steps: { a: { status: 'failed', failures: 1, retryAtMs: null, lastStatus: 'artifact_missing', lastError: 'no result.json' } },
      spentCost: 1,
      failure: { stepId: 'a', status: 'artifact_missing', error: 'no result.json' },
    });
  });

  it('does not retry a step that fails after a sibling failed, and keeps the first failure', () => {
    const config = configOf([spec('a'), spec('b', { retries: { max: 3, backoffMs: 10, factor: 1 } })], { concurrency: 2 });
    const state = stateOf({ a: 'failed', b: 'running' }, { failure: { stepId: 'a', status: 'failed', error: 'first' } });
    const next = markFinished(config, state, finished('b', { status: 'timeout', error: 'second' }));
    expect(next.steps.b).toEqual({ status: 'failed', failures: 1, retryAtMs: null, lastStatus: 'timeout', lastError: 'second' });
    expect(next.failure).toEqual({ stepId: 'a', status: 'failed', error: 'first' });
  });

  it('marks a cancelled step cancelled, not failed, and counts what it spent', () => {
    const config = configOf([spec('a'), spec('b', { retries: { max: 3, backoffMs: 10, factor: 1 } })], { concurrency: 2 });
    const state = stateOf({ a: 'failed', b: 'running' }, { failure: { stepId: 'a', status: 'failed', error: 'first' }, spentCost: 1 });
    const next = markFinished(config, state, finished('b', { status: 'failed', error: 'Interrupted', cancelled: true, cost: 2 }));
    expect(next).toEqual({
      steps: {
        a: progress('failed'),
        b: { status: 'cancelled', failures: 0, retryAtMs: null, lastStatus: 'failed', lastError: 'Interrupted' },
      },
      spentCost: 3,
      failure: { stepId: 'a', status: 'failed', error: 'first' },
    });
  });

  it('ignores a finish of a step that is not running', () => {
    const config = configOf([spec('a'), spec('b')]);
    const state = stateOf({ a: 'succeeded', b: 'pending' });
    expect(markFinished(config, state, finished('a', { status: 'failed', cost: 9 }))).toBe(state);
    expect(markFinished(config, state, finished('b'))).toBe(state);
    expect(markFinished(config, state, finished('nope'))).toBe(state);
  });
});

describe('markRetryDue', () => {
  it('makes a waiting step pending again, and leaves any other step alone', () => {
    const state = stateOf({ a: 'pending', b: 'running' });
    state.steps.a = progress('waiting_retry', { failures: 1, retryAtMs: 5_000, lastStatus: 'failed', lastError: 'e' });
    expect(markRetryDue(state, 'a').steps.a).toEqual({ status: 'pending', failures: 1, retryAtMs: null, lastStatus: 'failed', lastError: 'e' });
    expect(markRetryDue(state, 'b')).toBe(state);
    expect(markRetryDue(state, 'nope')).toBe(state);
  });
});

describe('stepsToCancel', () => {
  it('is empty without a failure, and every running step once one failed', () => {
    expect(stepsToCancel(stateOf({ a: 'running', b: 'running' }))).toEqual([]);
    const failed = stateOf(
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
    expect(verdict(config, stateOf({ a: 'running', b: 'pending' }))).toEqual({ kind: 'running' });
    expect(verdict(config, stateOf({ a: 'waiting_retry', b: 'pending' }))).toEqual({ kind: 'running' });
    expect(verdict(config, stateOf({ a: 'succeeded', b: 'pending' }))).toEqual({ kind: 'running' });
  });

  it('is passed once every step succeeded, even over budget', () => {
    expect(verdict(config, stateOf({ a: 'succeeded', b: 'succeeded' }))).toEqual({ kind: 'passed' });
    expect(verdict(configOf(steps, { costBudget: 1 }), stateOf({ a: 'succeeded', b: 'succeeded' }, { spentCost: 5 }))).toEqual({ kind: 'passed' });
    expect(verdict(configOf([]), stateOf({}))).toEqual({ kind: 'passed' });
  });

  it('is failed, naming the failing step, once the cancelled siblings ended', () => {
    const failure = { stepId: 'a', status: 'timeout' as const, error: 'Stalled' };
    const two = configOf([spec('a'), spec('c')], { concurrency: 2 });
    expect(verdict(two, stateOf({ a: 'failed', c: 'running' }, { failure }))).toEqual({ kind: 'running' });
    expect(verdict(two, stateOf({ a: 'failed', c: 'cancelled' }, { failure }))).toEqual({ kind: 'failed', stepId: 'a', status: 'timeout', error: 'Stalled' });
  });

  it('is awaiting_approval, naming the gate, when only a gated step is left', () => {
    const gated = configOf([spec('build'), spec('deploy', { requiresApproval: true, needs: ['build'] })]);
    expect(verdict(gated, stateOf({ build: 'succeeded', deploy: 'pending' }))).toEqual({ kind: 'awaiting_approval', gate: 'step:execution/deploy' });
    const approved = { ...gated, approvals: ['step:execution/deploy'] };
    expect(verdict(approved, stateOf({ build: 'succeeded', deploy: 'pending' }))).toEqual({ kind: 'running' });
  });

  it('is budget_exceeded, with what was spent and the budget, when the cost passed it', () => {
    const budgeted = configOf([spec('one'), spec('two'), spec('three')], { costBudget: 7 });
    expect(verdict(budgeted, stateOf({ one: 'succeeded', two: 'succeeded', three: 'pending' }, { spentCost: 10 }))).toEqual({
      kind: 'budget_exceeded',
      spent: 10,
      budget: 7,
    });
    // A step still running finishes first.
    expect(verdict(budgeted, stateOf({ one: 'succeeded', two: 'running', three: 'pending' }, { spentCost: 10 }))).toEqual({ kind: 'running' });
  });

  it('is failed when a step can never start (a need outside the stage: not in a validated plan)', () => {
    expect(verdict(configOf([spec('b', { needs: ['ghost'] })]), stateOf({ b: 'pending' }))).toEqual({
      kind: 'failed',
      stepId: 'b',
      status: 'failed',
      error: 'step can never start: its needs cannot be met',
    });
  });
});

describe('overBudget', () => {
  it('is true only when a budget is set and the spend passed it', () => {
    expect(overBudget(configOf([], { costBudget: null }), stateOf({}, { spentCost: 100 }))).toBe(false);
    expect(overBudget(configOf([], { costBudget: 7 }), stateOf({}, { spentCost: 7 }))).toBe(false);
    expect(overBudget(configOf([], { costBudget: 7 }), stateOf({}, { spentCost: 7.5 }))).toBe(true);
    expect(overBudget(configOf([], { costBudget: 0 }), stateOf({}, { spentCost: 0 }))).toBe(false);
  });
});

describe('a stage driven start to finish', () => {
  it('runs a, then b and c in parallel; c fails, b is cancelled; the stage fails naming c', () => {
    const config = configOf([spec('a'), spec('b', { needs: ['a'] }), spec('c', { needs: ['a'] }), spec('d', { needs: ['b', 'c'] })], {
      concurrency: 2,
    });
    let state = initialSchedulerState(config, [], 0);
    expect(stepsToStart(config, state)).toEqual(['a']);
    state = markStarted(state, ['a']);
    state = markFinished(config, state, finished('a'));
    expect(stepsToStart(config, state)).toEqual(['b', 'c']);
    state = markStarted(state, ['b', 'c']);
    state = markFinished(config, state, finished('c', { status: 'failed', error: 'exit 3' }));
    expect(stepsToCancel(state)).toEqual(['b']);
    expect(stepsToStart(config, state)).toEqual([]);
    expect(verdict(config, state)).toEqual({ kind: 'running' });
    state = markFinished(config, state, finished('b', { status: 'failed', error: 'Interrupted', cancelled: true }));
    expect(stepsToCancel(state)).toEqual([]);
    expect(verdict(config, state)).toEqual({ kind: 'failed', stepId: 'c', status: 'failed', error: 'exit 3' });
    expect(Object.fromEntries(Object.entries(state.steps).map(([id, p]) => [id, p.status]))).toEqual({
      a: 'succeeded',
      b: 'cancelled',
      c: 'failed',
      d: 'pending',
    });
  });

  it('resumed with steps done earlier, starts only the rest', () => {
    const config = configOf([spec('a'), spec('b'), spec('c', { needs: ['a', 'b'] })], { concurrency: 3 });
    const state = initialSchedulerState(config, ['a', 'b'], 4);
    expect(stepsToStart(config, state)).toEqual(['c']);
    expect(state.spentCost).toBe(4);
  });
});
