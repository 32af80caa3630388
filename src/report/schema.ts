/**
 * The run report, `orchestrator_run_report.json`. V0's fields keep V0's names and values so
 * existing readers work unchanged; the fields after them are additions.
 */
import { z } from 'zod';
import { STAGE_STATUSES, STAGES, TERMINAL_STATES } from '../../machines/stages.js';

export const stageSchema = z.enum(STAGES);
export const terminalStateSchema = z.enum(TERMINAL_STATES);

export const transitionSchema = z.object({
  run_id: z.string(),
  from_stage: stageSchema.nullable(),
  to_stage: stageSchema,
  timestamp_unix_secs: z.number().int(),
  // additions
  timestamp_unix_ms: z.number().int(),
  /** The machine event that caused the transition, as the inspection stream saw it. */
  event: z.string(),
});

export const stageExecutionSchema = z.object({
  stage: stageSchema,
  idempotency_key: z.string().nullable(),
  command: z.string(),
  args: z.array(z.string()),
  env_keys: z.array(z.string()),
  started_at_unix_secs: z.number().int(),
  duration_ms: z.number().int(),
  exit_code: z.number().int().nullable(),
  status: z.enum(STAGE_STATUSES),
  error: z.string().nullable(),
  missing_artifacts: z.array(z.string()),
  malformed_artifacts: z.array(z.string()),
  // additions
  attempt: z.number().int().nonnegative(),
  started_at_unix_ms: z.number().int(),
  timeout_ms: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdout_log: z.string().nullable(),
  stderr_log: z.string().nullable(),
  /** The orchestrator was stopped (SIGINT/SIGTERM) while this ran; `--resume` runs it again. */
  interrupted: z.boolean(),
});

export const runReportSchema = z.object({
  product: z.string(),
  version: z.string(),
  run_id: z.string(),
  current_stage: stageSchema.nullable(),
  terminal_state: terminalStateSchema.nullable(),
  transitions: z.array(transitionSchema),
  stage_executions: z.array(stageExecutionSchema),
  // additions
  /** Executions of earlier invocations of this run (before a crash, stop or failure). */
  earlier_stage_executions: z.array(stageExecutionSchema),
  resumed_from: z.enum(['snapshot', 'v0_checkpoint', 'blocked_checkpoint', 'done_checkpoint']).nullable(),
  /** `running` while the run goes on; the report is rewritten as it moves. */
  status: z.enum(['running', 'finished', 'interrupted']),
  interrupted_by: z.string().nullable(),
  failure: z
    .object({ stage: stageSchema, status: z.enum(STAGE_STATUSES), error: z.string().nullable() })
    .nullable(),
  checkpoint_path: z.string(),
  started_at_unix_ms: z.number().int(),
  updated_at_unix_ms: z.number().int(),
  orchestrator_max_rss_kib: z.number().int(),
});

export type Transition = z.infer<typeof transitionSchema>;
export type StageExecution = z.infer<typeof stageExecutionSchema>;
export type RunReport = z.infer<typeof runReportSchema>;
