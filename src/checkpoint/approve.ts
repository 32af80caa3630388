/**
 * `autonomy-orchestrator approve`: records who approved what, and when, in the run's checkpoint.
 * The next `--resume` hands the approvals to the machine.
 */
import { userInfo } from 'node:os';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { type Approval, isVersioned } from './schema.js';
import type { RunCheckpointStore } from './store.js';

export interface ApproveRequest {
  gate?: string | undefined;
  by?: string | undefined;
  note?: string | undefined;
}

export interface Approved {
  runId: string;
  approval: Approval;
  /** The approval is of the gate the run stopped at: `--resume` goes past it. */
  clearsHalt: boolean;
}

export async function approveRun(store: RunCheckpointStore, request: ApproveRequest): Promise<Approved> {
  // Before the lock: in a directory with no checkpoint there is no lock to take either.
  if ((await store.load()) === null) throw new OrchestratorError(`cannot approve: no checkpoint at ${store.location}`, EXIT.failed);
  const lock = await store.lock();
  try {
    const checkpoint = await store.load();
    if (checkpoint === null) throw new OrchestratorError(`cannot approve: no checkpoint at ${store.location}`, EXIT.failed);
    if (!isVersioned(checkpoint)) {
      throw new OrchestratorError(`cannot approve: ${store.location} is a V0 checkpoint, which holds no approvals`, EXIT.failed);
    }
    const gate = request.gate ?? (checkpoint.halt?.reason === 'approval_required' ? checkpoint.halt.gate : null);
    if (!gate) {
      throw new OrchestratorError(
        `cannot approve: run ${checkpoint.run_id} is not waiting for an approval (name one ahead with --gate)`,
        EXIT.failed,
      );
    }
    const approval: Approval = { gate, by: request.by ?? currentUser(), note: request.note ?? null, at_unix_ms: Date.now() };
    await store.save({ ...checkpoint, approvals: [...checkpoint.approvals, approval], updated_at_unix_secs: Math.floor(Date.now() / 1000) });
    const clearsHalt = checkpoint.halt?.reason === 'approval_required' && checkpoint.halt.gate === gate;
    return { runId: checkpoint.run_id, approval, clearsHalt };
  } finally {
    await lock.release();
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
