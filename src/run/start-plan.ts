/**
 * Decides where an invocation starts: a fresh run, the persisted snapshot of an interrupted or
 * failed run, a re-walk of a V0 or blocked checkpoint's completed stages, or nothing at all
 * for a run that is already done.
 */
import { randomBytes } from 'node:crypto';
import { type Stage, isStage } from '../../machines/stages.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { type CheckpointV1, isV1 } from '../checkpoint/schema.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import type { RunReport, Transition } from '../report/schema.js';

export type StartPlan =
  | { mode: 'fresh'; runId: string; completedStages: Stage[]; attempts: Attempts; resumedFrom: null }
  | { mode: 'rewalk'; runId: string; completedStages: Stage[]; attempts: Attempts; resumedFrom: 'v0_checkpoint' | 'blocked_checkpoint' }
  | { mode: 'snapshot'; runId: string; checkpoint: CheckpointV1; attempts: Attempts; resumedFrom: 'snapshot' }
  | { mode: 'done'; runId: string; transitions: Transition[]; resumedFrom: 'done_checkpoint' };

export type Attempts = Partial<Record<Stage, number>>;
export type ResumedFrom = RunReport['resumed_from'];

export async function planStart(store: CheckpointStore, resume: boolean): Promise<StartPlan> {
  // Loading also on a fresh run: a checkpoint that does not parse is never overwritten.
  const checkpoint = await store.load();
  if (!resume) return { mode: 'fresh', runId: newRunId(), completedStages: [], attempts: {}, resumedFrom: null };
  if (checkpoint === null) {
    throw new OrchestratorError(`cannot resume: no checkpoint at ${store.location}`, EXIT.failed);
  }
  if (!isV1(checkpoint)) {
    if (checkpoint.terminal_state === 'done') {
      return { mode: 'done', runId: checkpoint.run_id, transitions: [], resumedFrom: 'done_checkpoint' };
    }
    return {
      mode: 'rewalk',
      runId: checkpoint.run_id,
      completedStages: checkpoint.completed_stages,
      attempts: {},
      resumedFrom: 'v0_checkpoint',
    };
  }
  if (checkpoint.terminal_state === 'done') {
    return { mode: 'done', runId: checkpoint.run_id, transitions: checkpoint.transitions, resumedFrom: 'done_checkpoint' };
  }
  if (checkpoint.terminal_state === 'blocked') {
    return {
      mode: 'rewalk',
      runId: checkpoint.run_id,
      completedStages: checkpoint.completed_stages,
      attempts: checkpoint.attempts,
      resumedFrom: 'blocked_checkpoint',
    };
  }
  if (checkpoint.snapshot.status !== 'active' || !isStage(checkpoint.snapshot.value)) {
    throw new OrchestratorError(
      `cannot read checkpoint ${store.location}: field snapshot.value: '${String(checkpoint.snapshot.value)}' is not a stage a run can resume from; the file was left as it is`,
      EXIT.failed,
    );
  }
  return { mode: 'snapshot', runId: checkpoint.run_id, checkpoint, attempts: checkpoint.attempts, resumedFrom: 'snapshot' };
}

/** V0's `run_<unix secs>`, with a random suffix so two runs started in one second differ. */
function newRunId(): string {
  return `run_${Math.floor(Date.now() / 1000)}_${randomBytes(3).toString('hex')}`;
}
