/**
 * The checkpoint document. From schema 1 on it holds XState's persisted snapshot beside V0's
 * fields (`run_id, completed_stages, terminal_state, updated_at_unix_secs`) so V0 tools still
 * read it. A V0 checkpoint is V0's fields alone. Older versions are migrated when read.
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import { STAGES, TERMINAL_STATES } from '../../machines/stages.js';
import { reportSchemas, stageSchema, terminalStateSchema } from '../report/schema.js';
import { once } from '../once.js';

export const CHECKPOINT_SCHEMA_VERSION = 3;

/**
 * The checkpoint's schemas, built at their first use: a fresh run reads no checkpoint, and building
 * them was about 2 ms of every CLI start. The library exports them built (src/index.ts).
 */
export const checkpointSchemas = once(() => {
  const { stageFailureSchema, transitionSchema, haltSchema, approvalSchema } = reportSchemas();
  const v0Fields = {
    run_id: z.string().check(z.minLength(1)),
    completed_stages: z.array(stageSchema),
    terminal_state: z.nullable(terminalStateSchema),
    updated_at_unix_secs: z.int().check(z.gte(0)),
  };

  const v0CheckpointSchema = z.object(v0Fields);

  /** XState's persisted snapshot; its shape belongs to XState, so only what we read is checked. */
  const persistedSnapshotSchema = z.looseObject({
    status: z.enum(['active', 'done', 'error', 'stopped']),
    value: z.union([stageSchema, z.enum(TERMINAL_STATES), z.enum(['awaiting_approval', 'budget_exceeded', 'roi_below_floor']), z.enum(['planning_context', 'autonomous_check', 'autofix', 'delivery_step'])]),
    context: z.looseObject({
      runId: z.string(),
      completedStages: z.array(stageSchema),
    }),
    children: z.record(z.string(), z.unknown()),
  });

  const v1Fields = {
    ...v0Fields,
    machine: z.literal('orchestration'),
    snapshot: persistedSnapshotSchema,
    /** The report's transitions so far: bounded by the number of stages. */
    transitions: z.array(transitionSchema).check(z.maxLength(STAGES.length * 4)),
    last_failure: z.nullable(stageFailureSchema),
  };

  const checkpointV1Schema = z.object({
    ...v1Fields,
    schema_version: z.literal(1),
    attempts: z.partialRecord(stageSchema, z.int().check(z.gte(0))),
  });

  const v2Fields = {
    ...v1Fields,
    /** How many times each step has been started: `<stage>/<step id>`. */
    attempts: z.record(z.string(), z.int().check(z.gte(0))),
    /** Approvals granted with `autonomy-orchestrator approve`. */
    approvals: z.array(approvalSchema),
    /** Why the run stopped `blocked`, null when it did not. */
    halt: z.nullable(haltSchema),
    /** When the run first started: maxWallMs counts from here, across resumes. */
    started_at_unix_ms: z.int(),
    /** Written by the store: the sha256 of the rest of the document (canonical JSON) and its revision. */
    integrity: z.optional(z.object({ sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)), revision: z.int().check(z.gte(0)) })),
  };

  const checkpointV2Schema = z.object({ ...v2Fields, schema_version: z.literal(2) });

  /**
   * Schema 3 keeps the checkpoint small however long the run, since it is rewritten at every step:
   * the running stage's snapshot holds the steps done as a compact id set and the progress of only
   * the steps under way, and `attempts` counts only steps not done yet (a done step's attempt is in
   * its execution record).
   */
  /**
   * What the run runs and which machine runs it, so that `--resume` alone continues a plan run and a
   * resume with other programs, or under an incompatible machine, is refused (run/run-identity.ts).
   * Absent from checkpoints written before it: those resume unchecked.
   */
  const runIdentitySchema = z.object({
    /** ORCHESTRATION_MACHINE_VERSION of the machine that wrote the snapshot. */
    machine_version: z.int().check(z.gte(1)),
    /** `plan`: from a plan file; `flags`: from V0's program flags (--manager-bin, --executor-bin), or none. */
    program_source: z.enum(['plan', 'flags']),
    /** The plan file's absolute path; null for flags. */
    plan_path: z.nullable(z.string()),
    /** sha256 of what the stages run: each step's id, program, args, cwd, needs, artifacts, idempotency key and env keys (never values). */
    program_sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
    /** sha256 of the step ids of each stage alone: a flags run may be resumed with other args (as in V0), never with other steps. */
    steps_sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  });

  const checkpointV3Schema = z.object({
    ...v2Fields,
    run_identity: z.optional(runIdentitySchema),
    schema_version: z.literal(3),
    /** How many times each step not done yet has been started: `<stage>/<step id>`. */
    attempts: z.record(z.string(), z.int().check(z.gte(0))),
    /** How many step attempts the run has started, all steps together. */
    attempts_started: z.int().check(z.gte(0)),
    /**
     * A traced run's first traced invocation: its run span's W3C trace context, which a resumed
     * invocation's run span links to (docs/traces.md). Absent when the run was never traced.
     */
    trace: z.optional(
      z.object({
        traceparent: z.string().check(z.regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)),
        tracestate: z.optional(z.string().check(z.maxLength(512))),
      }),
    ),
  });

  const checkpointSchema = z.union([checkpointV3Schema, checkpointV2Schema, checkpointV1Schema, v0CheckpointSchema]);

  return { v0CheckpointSchema, runIdentitySchema, persistedSnapshotSchema, checkpointV1Schema, checkpointV2Schema, checkpointV3Schema, checkpointSchema };
});

type Schemas = ReturnType<typeof checkpointSchemas>;

export type V0Checkpoint = z.infer<Schemas['v0CheckpointSchema']>;
export type CheckpointV1 = z.infer<Schemas['checkpointV1Schema']>;
export type CheckpointV2 = z.infer<Schemas['checkpointV2Schema']>;
export type CheckpointV3 = z.infer<Schemas['checkpointV3Schema']>;
export type RunIdentity = z.infer<Schemas['runIdentitySchema']>;
/** What the runner works with: the current version, or a V0 checkpoint. */
export type Checkpoint = CheckpointV3 | V0Checkpoint;
export type { Approval } from '../report/schema.js';

export function isVersioned(checkpoint: Checkpoint): checkpoint is CheckpointV3 {
  return 'schema_version' in checkpoint;
}

/** Step ids the V0 flags give the manager and the executor. */
export const V0_STEP = { planning: 'manager', execution: 'executor' } as const;

/**
 * Schema 2 kept every step's progress and attempts: the snapshot's form is read by the stage actor
 * as it is (see step-scheduler.ts); the total of attempts is counted here.
 */
export function migrateV2(checkpoint: CheckpointV2): CheckpointV3 {
  const attempts_started = Object.values(checkpoint.attempts).reduce((sum, n) => sum + n, 0);
  return { ...checkpoint, schema_version: 3, attempts_started };
}

/** Schema 1 counted attempts per stage and knew no approvals, halts or steps. */
export function migrateV1(checkpoint: CheckpointV1): CheckpointV2 {
  const attempts: Record<string, number> = {};
  for (const [stage, count] of Object.entries(checkpoint.attempts)) {
    const step = V0_STEP[stage as keyof typeof V0_STEP];
    if (step && count !== undefined) attempts[`${stage}/${step}`] = count;
  }
  return {
    ...checkpoint,
    schema_version: 2,
    attempts,
    approvals: [],
    halt: checkpoint.terminal_state === 'blocked' ? { reason: 'simulated', stage: 'validation', gate: null } : null,
    started_at_unix_ms: (checkpoint.transitions[0]?.timestamp_unix_ms ?? checkpoint.updated_at_unix_secs * 1000),
  };
}
