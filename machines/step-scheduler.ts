/**
 * The scheduler of a stage's steps: which steps may start, what a finished step means, when a
 * stage is over. Pure: times come in with events, nothing here reads a clock or starts a process.
 * Its state is plain JSON, kept in the stage actor's snapshot, so resume knows every step's progress.
 */
import type { StageStatus } from './stages.js';

export interface StepSpec {
  id: string;
  needs: string[];
  retries: { max: number; backoffMs: number; factor: number } | null;
  requiresApproval: boolean;
}

export interface SchedulerConfig {
  steps: StepSpec[];
  concurrency: number;
  /** Approval gates granted so far (`step:<stage>/<id>`). */
  approvals: string[];
  /** Gate key prefix of this stage's steps: `step:<stage>/`. */
  gatePrefix: string;
  /** The run's cost budget, null for none. */
  costBudget: number | null;
}

export type StepStatus = 'pending' | 'running' | 'waiting_retry' | 'succeeded' | 'failed' | 'cancelled';

export interface StepProgress {
  status: StepStatus;
  /** Failed attempts so far. */
  failures: number;
  /** When a waiting step may run again (ms since epoch, from the finishing event's clock). */
  retryAtMs: number | null;
  lastStatus: StageStatus | null;
  lastError: string | null;
}

export interface SchedulerState {
  steps: Record<string, StepProgress>;
  /** Cost spent by the whole run so far (earlier stages included). */
  spentCost: number;
  /** Set once a step failed for good: nothing new starts, running siblings are cancelled. */
  failure: { stepId: string; status: StageStatus; error: string | null } | null;
}

export interface StepFinished {
  stepId: string;
  status: StageStatus;
  error: string | null;
  finishedAtMs: number;
  cost: number;
  /** The step was stopped because a sibling failed (or the run stopped). */
  cancelled: boolean;
}

export type StageVerdict =
  | { kind: 'running' }
  | { kind: 'passed' }
  | { kind: 'failed'; stepId: string; status: StageStatus; error: string | null }
  | { kind: 'awaiting_approval'; gate: string }
  | { kind: 'budget_exceeded'; spent: number; budget: number };

export function initialSchedulerState(config: SchedulerConfig, done: readonly string[], spentCost: number): SchedulerState {
  const steps: Record<string, StepProgress> = {};
  for (const step of config.steps) {
    steps[step.id] = {
      status: done.includes(step.id) ? 'succeeded' : 'pending',
      failures: 0,
      retryAtMs: null,
      lastStatus: null,
      lastError: null,
    };
  }
  return { steps, spentCost, failure: null };
}

/** Steps to start now, in plan order, within the concurrency left. */
export function stepsToStart(config: SchedulerConfig, state: SchedulerState): string[] {
  if (state.failure || overBudget(config, state)) return [];
  let free = config.concurrency - countWith(state, 'running');
  const start: string[] = [];
  for (const step of config.steps) {
    if (free <= 0) break;
    if (state.steps[step.id]?.status !== 'pending') continue;
    if (!step.needs.every((need) => state.steps[need]?.status === 'succeeded')) continue;
    if (step.requiresApproval && !config.approvals.includes(config.gatePrefix + step.id)) continue;
    start.push(step.id);
    free--;
  }
  return start;
}

export function markStarted(state: SchedulerState, ids: readonly string[]): SchedulerState {
  const steps = { ...state.steps };
  for (const id of ids) steps[id] = { ...steps[id]!, status: 'running', retryAtMs: null };
  return { ...state, steps };
}

export function markFinished(config: SchedulerConfig, state: SchedulerState, event: StepFinished): SchedulerState {
  const prior = state.steps[event.stepId];
  if (!prior || prior.status !== 'running') return state;
  const spentCost = state.spentCost + event.cost;
  const steps = { ...state.steps };
  const base = { ...prior, lastStatus: event.status, lastError: event.error };
  if (event.cancelled) {
    steps[event.stepId] = { ...base, status: 'cancelled' };
    return { ...state, steps, spentCost };
  }
  if (event.status === 'success') {
    steps[event.stepId] = { ...base, status: 'succeeded' };
    return { ...state, steps, spentCost };
  }
  const failures = prior.failures + 1;
  const retries = config.steps.find((s) => s.id === event.stepId)?.retries ?? null;
  if (retries && failures <= retries.max && !state.failure) {
    const delay = Math.round(retries.backoffMs * retries.factor ** (failures - 1));
    steps[event.stepId] = { ...base, failures, status: 'waiting_retry', retryAtMs: event.finishedAtMs + delay };
    return { ...state, steps, spentCost };
  }
  steps[event.stepId] = { ...base, failures, status: 'failed' };
  const failure = state.failure ?? { stepId: event.stepId, status: event.status, error: event.error };
  return { ...state, steps, spentCost, failure };
}

export function markRetryDue(state: SchedulerState, stepId: string): SchedulerState {
  const prior = state.steps[stepId];
  if (!prior || prior.status !== 'waiting_retry') return state;
  return { ...state, steps: { ...state.steps, [stepId]: { ...prior, status: 'pending', retryAtMs: null } } };
}

/** Ids of steps to cancel: after a failure, every step still running. */
export function stepsToCancel(state: SchedulerState): string[] {
  if (!state.failure) return [];
  return Object.entries(state.steps)
    .filter(([, p]) => p.status === 'running')
    .map(([id]) => id);
}

/** Where the stage stands once nothing more can start. */
export function verdict(config: SchedulerConfig, state: SchedulerState): StageVerdict {
  const running = countWith(state, 'running');
  if (state.failure) {
    if (running > 0) return { kind: 'running' };
    return { kind: 'failed', ...state.failure };
  }
  if (running > 0 || countWith(state, 'waiting_retry') > 0) return { kind: 'running' };
  if (stepsToStart(config, state).length > 0) return { kind: 'running' };
  const unfinished = config.steps.filter((s) => state.steps[s.id]?.status !== 'succeeded');
  if (unfinished.length === 0) return { kind: 'passed' };
  if (overBudget(config, state)) return { kind: 'budget_exceeded', spent: state.spentCost, budget: config.costBudget! };
  const gated = unfinished.find((s) => s.requiresApproval && !config.approvals.includes(config.gatePrefix + s.id));
  if (gated) return { kind: 'awaiting_approval', gate: config.gatePrefix + gated.id };
  // Unreachable for a validated plan (needs are acyclic and inside the stage).
  return { kind: 'failed', stepId: unfinished[0]!.id, status: 'failed', error: 'step can never start: its needs cannot be met' };
}

export function overBudget(config: SchedulerConfig, state: SchedulerState): boolean {
  return config.costBudget !== null && state.spentCost > config.costBudget;
}

function countWith(state: SchedulerState, status: StepStatus): number {
  let n = 0;
  for (const p of Object.values(state.steps)) if (p.status === status) n++;
  return n;
}
