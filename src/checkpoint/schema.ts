/**
 * The checkpoint document. Version 1 holds XState's persisted snapshot beside V0's fields
 * (`run_id, completed_stages, terminal_state, updated_at_unix_secs`) so V0 tools still read it.
 * A V0 checkpoint is V0's fields alone.
 */
import * as z from 'zod/mini';
import { STAGES, TERMINAL_STATES } from '../../machines/stages.js';
import { stageFailureSchema, stageSchema, terminalStateSchema, transitionSchema } from '../report/schema.js';

export const CHECKPOINT_SCHEMA_VERSION = 1;

const v0Fields = {
  run_id: z.string().check(z.minLength(1)),
  completed_stages: z.array(stageSchema),
  terminal_state: z.nullable(terminalStateSchema),
  updated_at_unix_secs: z.int().check(z.gte(0)),
};

export const v0CheckpointSchema = z.object(v0Fields);

/** XState's persisted snapshot; its shape belongs to XState, so only what we read is checked. */
export const persistedSnapshotSchema = z.looseObject({
  status: z.enum(['active', 'done', 'error', 'stopped']),
  value: z.union([stageSchema, z.enum(TERMINAL_STATES)]),
  context: z.looseObject({
    runId: z.string(),
    completedStages: z.array(stageSchema),
  }),
  children: z.record(z.string(), z.unknown()),
});

export const checkpointV1Schema = z.object({
  ...v0Fields,
  schema_version: z.literal(CHECKPOINT_SCHEMA_VERSION),
  machine: z.literal('orchestration'),
  snapshot: persistedSnapshotSchema,
  /** The report's transitions so far: bounded by the number of stages. */
  transitions: z.array(transitionSchema).check(z.maxLength(STAGES.length * 4)),
  /** How many times each stage's work has been started in this run. */
  attempts: z.partialRecord(stageSchema, z.int().check(z.gte(0))),
  last_failure: z.nullable(stageFailureSchema),
});

export const checkpointSchema = z.union([checkpointV1Schema, v0CheckpointSchema]);

export type V0Checkpoint = z.infer<typeof v0CheckpointSchema>;
export type CheckpointV1 = z.infer<typeof checkpointV1Schema>;
export type Checkpoint = z.infer<typeof checkpointSchema>;

export function isV1(checkpoint: Checkpoint): checkpoint is CheckpointV1 {
  return 'schema_version' in checkpoint;
}
