/**
 * The scheduler of a stage's steps: which steps may start, what a finished step means, when a
 * stage is over. Pure: times come in with events, nothing here reads a clock or starts a process.
 *
 * Its state is plain JSON, kept in the stage actor's snapshot, so resume knows every step's
 * progress. It is sized for long plans: the persisted part holds the finished steps as a compact
 * id set and the progress of only the steps under way (running, waiting to retry, failed), so the
 * checkpoint written at every step stays small; and each event costs work in proportion to the
 * steps under way, not to the plan's length (a cursor over the steps without needs, and the steps
 * whose last need just finished).
 */
import { type IdSet, idSetAdd, idSetFrom, idSetHas, idSetOf } from './id-set.js';
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

/** A config with the lookups every event needs, built once per stage actor. */
export interface PreparedConfig extends SchedulerConfig {
  indexOf: Map<string, number>;
  /** Plan indices of the steps without needs, in plan order. */
  roots: number[];
  /** Step id → the ids of the steps that need it. */
  dependents: Map<string, string[]>;
}

export type StepStatus = 'pending' | 'running' | 'waiting_retry' | 'succeeded' | 'failed' | 'cancelled';

export interface StepProgress {
  status: Exclude<StepStatus, 'succeeded'>;
  /** Failed attempts so far. */
  failures: number;
  /** When a waiting step may run again (ms since epoch, from the finishing event's clock). */
  retryAtMs: number | null;
  lastStatus: StageStatus | null;
  lastError: string | null;
}

/** What the checkpoint holds. */
export interface PersistedScheduler {
  /** Steps that succeeded (with those an earlier visit of the stage completed). */
  done: IdSet;
  /** Every step neither done nor untouched (pending, never failed). */
  active: Record<string, StepProgress>;
  /** Cost spent by the whole run so far (earlier stages included). */
  spentCost: number;
  /** Set once a step failed for good: nothing new starts, running siblings are cancelled. */
  failure: { stepId: string; status: StageStatus; error: string | null; signature?: string | null } | null;
}

/** The persisted state and what is derived from it (never persisted: rebuilt on restore). */
export interface SchedulerState extends PersistedScheduler {
  /** Roots before this index are done, under way or held at an approval gate. */
  cursor: number;
  /** Steps with needs, all of them done, not started yet: in plan order. */
  unblocked: string[];
  /** How many of the plan's steps are done. */
  doneInPlan: number;
}

export interface StepFinished {
  stepId: string;
  status: StageStatus;
  error: string | null;
  finishedAtMs: number;
  cost: number;
  /** What the step reported as value, if it did (the ROI thermostat reads it). */
  value?: number;
  /** The step was stopped because a sibling failed (or the run stopped). */
  cancelled: boolean;
  /** A failure's `stage=…;status=…;command=…;exit=…` (the loops' adaptive policy reads it). */
  signature?: string | null;
}

export type StageVerdict =
  | { kind: 'running' }
  | { kind: 'passed' }
  | { kind: 'failed'; stepId: string; status: StageStatus; error: string | null; signature?: string | null }
  | { kind: 'awaiting_approval'; gate: string }
  | { kind: 'budget_exceeded'; spent: number; budget: number };

export function prepareConfig(config: SchedulerConfig): PreparedConfig {
  const indexOf = new Map<string, number>();
  const roots: number[] = [];
  const dependents = new Map<string, string[]>();
  config.steps.forEach((step, i) => {
    indexOf.set(step.id, i);
    if (step.needs.length === 0) roots.push(i);
    for (const need of step.needs) {
      const list = dependents.get(need);
      if (list) list.push(step.id);
      else dependents.set(need, [step.id]);
    }
  });
  return { ...config, indexOf, roots, dependents };
}

export function initialSchedulerState(config: PreparedConfig, done: IdSet, spentCost: number): SchedulerState {
  return withIndex(config, { done, active: {}, spentCost, failure: null });
}

/** The state a checkpoint holds back in memory; checkpoints before schema 3 kept every step's progress by id. */
export function restoreSchedulerState(config: PreparedConfig, saved: unknown, fallbackDone: IdSet, fallbackCost: number): SchedulerState {
  const record = (typeof saved === 'object' && saved !== null ? saved : {}) as Record<string, unknown>;
  const spentCost = typeof record.spentCost === 'number' ? record.spentCost : fallbackCost;
  const failure = (record.failure ?? null) as PersistedScheduler['failure'];
  if (record.steps && typeof record.steps === 'object') {
    const legacy = record.steps as Record<string, StepProgress | { status: 'succeeded' }>;
    const active: Record<string, StepProgress> = {};
    const succeeded: string[] = [];
    for (const [id, progress] of Object.entries(legacy)) {
      if (progress.status === 'succeeded') succeeded.push(id);
      else if (!isUntouched(progress)) active[id] = progress;
    }
    return withIndex(config, { done: idSetFrom(succeeded), active, spentCost, failure });
  }
  if (!('done' in record)) return initialSchedulerState(config, fallbackDone, fallbackCost);
  const active = (typeof record.active === 'object' && record.active !== null ? record.active : {}) as Record<string, StepProgress>;
  return withIndex(config, { done: idSetOf(record.done), active, spentCost, failure });
}

export function persistedScheduler(state: SchedulerState): PersistedScheduler {
  return { done: state.done, active: state.active, spentCost: state.spentCost, failure: state.failure };
}

/** A step's status, for whoever reads a snapshot. */
export function statusOf(state: PersistedScheduler, id: string): StepStatus {
  if (idSetHas(state.done, id)) return 'succeeded';
  return state.active[id]?.status ?? 'pending';
}

/** Steps to start now, in plan order, within the concurrency left (the thermostat's, when there is one). */
export function stepsToStart(config: PreparedConfig, state: SchedulerState, concurrency = config.concurrency): string[] {
  if (state.failure || overBudget(config, state)) return [];
  const free = concurrency - countWith(state, 'running');
  if (free <= 0) return [];
  const candidates: number[] = [];
  const consider = (id: string) => {
    const i = config.indexOf.get(id);
    if (i === undefined || candidates.includes(i)) return;
    const step = config.steps[i]!;
    if (idSetHas(state.done, id) || gated(config, step)) return;
    if (!step.needs.every((need) => idSetHas(state.done, need))) return;
    candidates.push(i);
  };
  // Steps waiting on a retry that came due, and steps whose needs were all met...
  for (const [id, progress] of Object.entries(state.active)) if (progress.status === 'pending') consider(id);
  for (const id of state.unblocked) if (!(id in state.active)) consider(id);
  // ...and the first few steps without needs not started yet. Lower plan indices go first.
  let found = 0;
  for (let r = state.cursor; r < config.roots.length && found < free; r++) {
    const id = config.steps[config.roots[r]!]!.id;
    if (id in state.active) continue;
    const before = candidates.length;
    consider(id);
    if (candidates.length > before) found++;
  }
  return candidates
    .sort((a, b) => a - b)
    .slice(0, free)
    .map((i) => config.steps[i]!.id);
}

export function markStarted(config: PreparedConfig, state: SchedulerState, ids: readonly string[]): SchedulerState {
  if (ids.length === 0) return state;
  const active = { ...state.active };
  for (const id of ids) active[id] = { ...(active[id] ?? untouched()), status: 'running', retryAtMs: null };
  const unblocked = state.unblocked.filter((id) => !ids.includes(id));
  return advanceCursor(config, { ...state, active, unblocked });
}

export function markFinished(config: PreparedConfig, state: SchedulerState, event: StepFinished): SchedulerState {
  const prior = state.active[event.stepId];
  if (!prior || prior.status !== 'running') return state;
  const spentCost = state.spentCost + event.cost;
  const active = { ...state.active };
  const base = { ...prior, lastStatus: event.status, lastError: event.error };
  if (event.cancelled) {
    active[event.stepId] = { ...base, status: 'cancelled' };
    return { ...state, active, spentCost };
  }
  if (event.status === 'success') {
    delete active[event.stepId];
    const done = idSetAdd(state.done, event.stepId);
    const inPlan = config.indexOf.has(event.stepId) ? 1 : 0;
    const next = { ...state, done, active, spentCost, doneInPlan: state.doneInPlan + inPlan };
    return { ...next, unblocked: unblockedAfter(config, next, event.stepId) };
  }
  const failures = prior.failures + 1;
  const i = config.indexOf.get(event.stepId);
  const retries = i === undefined ? null : config.steps[i]!.retries;
  if (retries && failures <= retries.max && !state.failure) {
    const delay = Math.round(retries.backoffMs * retries.factor ** (failures - 1));
    active[event.stepId] = { ...base, failures, status: 'waiting_retry', retryAtMs: event.finishedAtMs + delay };
    return { ...state, active, spentCost };
  }
  active[event.stepId] = { ...base, failures, status: 'failed' };
  const failure = state.failure ?? {
    stepId: event.stepId,
    status: event.status,
    error: event.error,
    ...(event.signature ? { signature: event.signature } : {}),
  };
  return { ...state, active, spentCost, failure };
}

export function markRetryDue(state: SchedulerState, stepId: string): SchedulerState {
  const prior = state.active[stepId];
  if (!prior || prior.status !== 'waiting_retry') return state;
  return { ...state, active: { ...state.active, [stepId]: { ...prior, status: 'pending', retryAtMs: null } } };
}

/** Ids of steps to cancel: after a failure, every step still running. */
export function stepsToCancel(state: SchedulerState): string[] {
  if (!state.failure) return [];
  return Object.entries(state.active)
    .filter(([, p]) => p.status === 'running')
    .map(([id]) => id);
}

/** Where the stage stands once nothing more can start. */
export function verdict(config: PreparedConfig, state: SchedulerState): StageVerdict {
  const running = countWith(state, 'running');
  if (state.failure) {
    if (running > 0) return { kind: 'running' };
    return { kind: 'failed', ...state.failure };
  }
  if (running > 0 || countWith(state, 'waiting_retry') > 0) return { kind: 'running' };
  if (stepsToStart(config, state).length > 0) return { kind: 'running' };
  if (state.doneInPlan === config.steps.length) return { kind: 'passed' };
  if (overBudget(config, state)) return { kind: 'budget_exceeded', spent: state.spentCost, budget: config.costBudget! };
  // Once per stage visit: the one walk over the whole plan.
  const unfinished = config.steps.filter((s) => !idSetHas(state.done, s.id));
  const held = unfinished.find((s) => gated(config, s));
  if (held) return { kind: 'awaiting_approval', gate: config.gatePrefix + held.id };
  // Unreachable for a validated plan (needs are acyclic and inside the stage).
  return { kind: 'failed', stepId: unfinished[0]!.id, status: 'failed', error: 'step can never start: its needs cannot be met' };
}

export function overBudget(config: SchedulerConfig, state: PersistedScheduler): boolean {
  return config.costBudget !== null && state.spentCost > config.costBudget;
}

function gated(config: SchedulerConfig, step: StepSpec): boolean {
  return step.requiresApproval && !config.approvals.includes(config.gatePrefix + step.id);
}

function untouched(): StepProgress {
  return { status: 'pending', failures: 0, retryAtMs: null, lastStatus: null, lastError: null };
}

function isUntouched(progress: StepProgress): boolean {
  return progress.status === 'pending' && progress.failures === 0;
}

function countWith(state: PersistedScheduler, status: StepStatus): number {
  let n = 0;
  for (const id in state.active) if (state.active[id]!.status === status) n++;
  return n;
}

/** Builds what is derived from a persisted state: one walk over the plan, on start and restore only. */
function withIndex(config: PreparedConfig, persisted: PersistedScheduler): SchedulerState {
  let doneInPlan = 0;
  const unblocked: string[] = [];
  for (const step of config.steps) {
    if (idSetHas(persisted.done, step.id)) doneInPlan++;
    else if (step.needs.length > 0 && !(step.id in persisted.active) && step.needs.every((need) => idSetHas(persisted.done, need))) {
      unblocked.push(step.id);
    }
  }
  return advanceCursor(config, { ...persisted, cursor: 0, unblocked, doneInPlan });
}

function advanceCursor(config: PreparedConfig, state: SchedulerState): SchedulerState {
  let cursor = state.cursor;
  while (cursor < config.roots.length) {
    const step = config.steps[config.roots[cursor]!]!;
    if (!(step.id in state.active) && !idSetHas(state.done, step.id) && !gated(config, step)) break;
    cursor++;
  }
  return cursor === state.cursor ? state : { ...state, cursor };
}

/** `unblocked` once `finished` succeeded: its dependents whose needs are now all done join, in plan order. */
function unblockedAfter(config: PreparedConfig, state: SchedulerState, finished: string): string[] {
  const ready = (config.dependents.get(finished) ?? []).filter(
    (id) => !idSetHas(state.done, id) && !(id in state.active) && config.steps[config.indexOf.get(id)!]!.needs.every((need) => idSetHas(state.done, need)),
  );
  if (ready.length === 0) return state.unblocked;
  return [...state.unblocked, ...ready].sort((a, b) => config.indexOf.get(a)! - config.indexOf.get(b)!);
}
