/**
 * A real delivery's command (machines/delivery.ts) as a step of the closure stage: git or gh, run in
 * the repository like any step (own process group, timeout, logs, interrupt), and V0's record of it:
 * the step id as `command`, key `stage:Closure:delivery:<n>`, V0's errors. No environment pair of
 * the run's programs is handed to it, so none is recorded (a traced run's TRACEPARENT is, as to a step).
 */
import { type DeliveryStep, type DeliveryStepInput, deliveryKey } from '../../machines/delivery.js';
import type { Step } from '../plan/schema.js';
import type { StageExecution } from '../report/schema.js';
import { emptyRecord } from './stage-work.js';

export function deliveryStepOf(input: DeliveryStepInput, repoRoot: string): Step {
  return {
    id: input.step.id,
    bin: input.step.bin,
    args: input.step.args,
    env: {},
    cwd: repoRoot,
    expectedArtifacts: [],
    needs: [],
    requiresApproval: false,
    idempotencyKey: deliveryKey(input.index),
  };
}

/** The step's record as V0 writes it: a non-zero exit `Delivery command failed`, a spawn error `Delivery command spawn failed: <err>`. */
export function deliveryRecordOf(record: StageExecution, step: Step): StageExecution {
  const delivered = { ...record, command: step.id };
  if (record.status === 'spawn_failed') {
    const prefix = `Failed to spawn command '${step.bin}': `;
    const cause = record.error?.startsWith(prefix) ? record.error.slice(prefix.length) : (record.error ?? 'unknown spawn error');
    return { ...delivered, error: `Delivery command spawn failed: ${cause}` };
  }
  if (record.status === 'failed' && !record.interrupted) return { ...delivered, error: 'Delivery command failed' };
  return delivered;
}

/**
 * A command run again whose effect was already there (delivery-effect.ts): a success that ran
 * nothing (no exit code, no logs), the evidence in `note`.
 */
export function deliveryEffectRecord(step: DeliveryStep, index: number, attempt: number, note: string): StageExecution {
  return {
    ...emptyRecord({
      stage: 'closure',
      idempotency_key: deliveryKey(index),
      command: step.id,
      args: step.args,
      env_keys: [],
      status: 'success',
      error: null,
      step: step.id,
      attempt,
    }),
    note,
  };
}

/** A step an earlier invocation delivered: V0's skipped record, nothing run. */
export function skippedDelivery(step: DeliveryStep, index: number): StageExecution {
  return emptyRecord({
    stage: 'closure',
    idempotency_key: deliveryKey(index),
    command: step.id,
    args: step.args,
    env_keys: [],
    status: 'skipped',
    error: 'Skipped due to checkpoint resume',
    step: step.id,
    attempt: 0,
  });
}
