/**
 * Decides where an invocation starts: a fresh run; the persisted snapshot of an interrupted,
 * failed or halted run; a re-walk of a V0 or simulated-blocked checkpoint's completed stages;
 * or nothing at all for a run that is already done.
 */
import { randomBytes } from 'node:crypto';
import { AUTOFIX_WORK_ID, AUTOFIX_WORK_SRC, DELIVERY_WORK_ID, DELIVERY_WORK_SRC, STAGE_WORK_ID, STAGE_WORK_SRC } from '../../machines/orchestration.js';
import { type Stage, isStage } from '../../machines/stages.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { type Approval, type Checkpoint, type CheckpointV3, type RunIdentity, isVersioned } from '../checkpoint/schema.js';
import type { RunCheckpointStore } from '../checkpoint/store.js';
import type { Transition } from '../report/schema.js';

interface Carried {
  runId: string;
  attempts: Record<string, number>;
  attemptsStarted: number;
  approvals: Approval[];
  startedAtMs: number;
  /** The checkpoint's `run_identity`: null for a fresh run and for checkpoints written before it. */
  identity: RunIdentity | null;
}

export type StartPlan =
  | (Carried & { mode: 'fresh'; completedStages: Stage[]; resumedFrom: null })
  | (Carried & { mode: 'rewalk'; completedStages: Stage[]; resumedFrom: 'v0_checkpoint' | 'blocked_checkpoint' })
  | (Carried & { mode: 'snapshot'; checkpoint: CheckpointV3; resumedFrom: 'snapshot' })
  | { mode: 'done'; runId: string; transitions: Transition[]; approvals: Approval[]; resumedFrom: 'done_checkpoint' };

const HALTED = ['awaiting_approval', 'budget_exceeded', 'roi_below_floor'];
/** States with work of their own that a run may be killed in (the planning context, the autonomous loop's check, a fix of the auto-fix loop, a delivery command): their work starts again. */
const NATIVE = ['planning_context', 'autonomous_check', 'autofix', 'delivery_step'];

export interface StartOptions {
  /** The id a fresh run takes. */
  freshRunId?: string | undefined;
  /** With resume: no checkpoint starts a fresh run instead of failing. */
  orStart?: boolean;
  /** Told when a fresh run replaces an unfinished one. */
  warn?: ((message: string) => void) | undefined;
}

export async function planStart(store: RunCheckpointStore, resume: boolean, { freshRunId, orStart = false, warn }: StartOptions = {}): Promise<StartPlan> {
  // Loading also on a fresh run: a checkpoint that does not parse is never overwritten.
  const checkpoint = await store.load();
  if (!resume || (orStart && checkpoint === null)) {
    if (!resume && checkpoint !== null && unfinished(checkpoint)) {
      warn?.(`starting a new run over the unfinished run ${checkpoint.run_id} in ${store.location}: its progress is replaced (--resume continues it instead)`);
    }
    return { mode: 'fresh', runId: freshRunId ?? newRunId(), completedStages: [], attempts: {}, attemptsStarted: 0, approvals: [], startedAtMs: Date.now(), identity: null, resumedFrom: null };
  }
  if (checkpoint === null) {
    throw new OrchestratorError(`cannot resume: no checkpoint at ${store.location}`, EXIT.failed);
  }
  if (!isVersioned(checkpoint)) {
    const carried = { runId: checkpoint.run_id, attempts: {}, attemptsStarted: 0, approvals: [], startedAtMs: Date.now(), identity: null };
    if (checkpoint.terminal_state === 'done') {
      return { mode: 'done', runId: checkpoint.run_id, transitions: [], approvals: [], resumedFrom: 'done_checkpoint' };
    }
    return { ...carried, mode: 'rewalk', completedStages: checkpoint.completed_stages, resumedFrom: 'v0_checkpoint' };
  }
  const carried = {
    runId: checkpoint.run_id,
    attempts: checkpoint.attempts,
    attemptsStarted: checkpoint.attempts_started,
    approvals: checkpoint.approvals,
    startedAtMs: checkpoint.started_at_unix_ms,
    identity: checkpoint.run_identity ?? null,
  };
  if (checkpoint.terminal_state === 'done') {
    return { mode: 'done', runId: checkpoint.run_id, transitions: checkpoint.transitions, approvals: checkpoint.approvals, resumedFrom: 'done_checkpoint' };
  }
  const { snapshot } = checkpoint;
  if (checkpoint.terminal_state === 'blocked' && snapshot.status === 'done') {
    // --simulate-blocked ended it (V0): its stages re-walk, completed ones skipped.
    return { ...carried, mode: 'rewalk', completedStages: checkpoint.completed_stages, resumedFrom: 'blocked_checkpoint' };
  }
  if (snapshot.status !== 'active' || !(isStage(snapshot.value) || HALTED.includes(snapshot.value) || NATIVE.includes(snapshot.value))) {
    throw new OrchestratorError(
      `cannot read checkpoint ${store.location}: field snapshot.value: '${String(snapshot.value)}' is not a state a run can resume from; the file was left as it is`,
      EXIT.failed,
    );
  }
  const problem = stageWorkProblem(snapshot);
  if (problem) {
    throw new OrchestratorError(`cannot read checkpoint ${store.location}: field ${problem}; the file was left as it is`, EXIT.failed);
  }
  return { ...carried, mode: 'snapshot', checkpoint, resumedFrom: 'snapshot' };
}

/** Failed, interrupted, or halted for an approval or a budget: something --resume would continue. */
function unfinished(checkpoint: Checkpoint): boolean {
  if (checkpoint.terminal_state === null) return true;
  return isVersioned(checkpoint) && checkpoint.halt !== null && checkpoint.halt.reason !== 'simulated';
}

/**
 * A run saved in a stage must hold that stage's work: XState silently drops a child it cannot
 * restore, and the restored run would then wait for nothing (and exit as if all went well).
 */
function stageWorkProblem(snapshot: CheckpointV3['snapshot']): string | null {
  // The fixer's attempt, or a delivery command, saved running: it runs again from its start with its
  // saved input (a delivery command's index; the command is the resume's flags' one of that index).
  if (snapshot.value === 'autofix') return promiseWorkProblem(snapshot, AUTOFIX_WORK_ID, AUTOFIX_WORK_SRC, 'the auto-fix attempt');
  if (snapshot.value === 'delivery_step') return promiseWorkProblem(snapshot, DELIVERY_WORK_ID, DELIVERY_WORK_SRC, 'the delivery command');
  if (!isStage(snapshot.value)) return null;
  const where = `snapshot.children.${STAGE_WORK_ID}`;
  const child = snapshot.children[STAGE_WORK_ID];
  if (!isRecord(child)) return `${where}: the work of stage ${snapshot.value} is missing`;
  if (child.src !== STAGE_WORK_SRC) return `${where}.src: expected '${STAGE_WORK_SRC}'`;
  if (!isRecord(child.snapshot) || !isRecord(child.snapshot.input)) return `${where}.snapshot: expected the stage work's snapshot and input`;
  // Only running work is restored into a run that goes on; any other status waits for nothing.
  if (child.snapshot.status !== 'active') return `${where}.snapshot.status: expected 'active'`;
  if (child.snapshot.input.stage !== snapshot.value) return `${where}.snapshot.input.stage: expected '${snapshot.value}'`;
  return null;
}

function promiseWorkProblem(snapshot: CheckpointV3['snapshot'], id: string, src: string, what: string): string | null {
  const child = snapshot.children[id];
  const where = `snapshot.children.${id}`;
  if (!isRecord(child)) return `${where}: ${what} is missing`;
  return child.src === src ? null : `${where}.src: expected '${src}'`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** V0's `run_<unix secs>`, with a random suffix so two runs started in one second differ. */
export function newRunId(): string {
  return `run_${Math.floor(Date.now() / 1000)}_${randomBytes(3).toString('hex')}`;
}
