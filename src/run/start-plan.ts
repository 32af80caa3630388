/**
 * Decides where an invocation starts: a fresh run; the persisted snapshot of an interrupted,
 * failed or halted run; a re-walk of a V0 or simulated-blocked checkpoint's completed stages;
 * or nothing at all for a run that is already done.
 */
import { randomBytes } from 'node:crypto';
import { STAGE_WORK_ID, STAGE_WORK_SRC } from '../../machines/orchestration.js';
import { type Stage, isStage } from '../../machines/stages.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { type Approval, type CheckpointV3, isVersioned } from '../checkpoint/schema.js';
import type { RunCheckpointStore } from '../checkpoint/store.js';
import type { Transition } from '../report/schema.js';

interface Carried {
  runId: string;
  attempts: Record<string, number>;
  attemptsStarted: number;
  approvals: Approval[];
  startedAtMs: number;
}

export type StartPlan =
  | (Carried & { mode: 'fresh'; completedStages: Stage[]; resumedFrom: null })
  | (Carried & { mode: 'rewalk'; completedStages: Stage[]; resumedFrom: 'v0_checkpoint' | 'blocked_checkpoint' })
  | (Carried & { mode: 'snapshot'; checkpoint: CheckpointV3; resumedFrom: 'snapshot' })
  | { mode: 'done'; runId: string; transitions: Transition[]; approvals: Approval[]; resumedFrom: 'done_checkpoint' };

const HALTED = ['awaiting_approval', 'budget_exceeded', 'roi_below_floor'];

export async function planStart(store: RunCheckpointStore, resume: boolean, freshRunId?: string): Promise<StartPlan> {
  // Loading also on a fresh run: a checkpoint that does not parse is never overwritten.
  const checkpoint = await store.load();
  if (!resume) {
    return { mode: 'fresh', runId: freshRunId ?? newRunId(), completedStages: [], attempts: {}, attemptsStarted: 0, approvals: [], startedAtMs: Date.now(), resumedFrom: null };
  }
  if (checkpoint === null) {
    throw new OrchestratorError(`cannot resume: no checkpoint at ${store.location}`, EXIT.failed);
  }
  if (!isVersioned(checkpoint)) {
    const carried = { runId: checkpoint.run_id, attempts: {}, attemptsStarted: 0, approvals: [], startedAtMs: Date.now() };
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
  };
  if (checkpoint.terminal_state === 'done') {
    return { mode: 'done', runId: checkpoint.run_id, transitions: checkpoint.transitions, approvals: checkpoint.approvals, resumedFrom: 'done_checkpoint' };
  }
  const { snapshot } = checkpoint;
  if (checkpoint.terminal_state === 'blocked' && snapshot.status === 'done') {
    // --simulate-blocked ended it (V0): its stages re-walk, completed ones skipped.
    return { ...carried, mode: 'rewalk', completedStages: checkpoint.completed_stages, resumedFrom: 'blocked_checkpoint' };
  }
  if (snapshot.status !== 'active' || !(isStage(snapshot.value) || HALTED.includes(snapshot.value))) {
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

/**
 * A run saved in a stage must hold that stage's work: XState silently drops a child it cannot
 * restore, and the restored run would then wait for nothing (and exit as if all went well).
 */
function stageWorkProblem(snapshot: CheckpointV3['snapshot']): string | null {
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** V0's `run_<unix secs>`, with a random suffix so two runs started in one second differ. */
export function newRunId(): string {
  return `run_${Math.floor(Date.now() / 1000)}_${randomBytes(3).toString('hex')}`;
}
