/**
 * The run report, `orchestrator_run_report.json`. V0's fields keep V0's names and values so
 * existing readers work unchanged; the fields after them are additions.
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import { STAGE_STATUSES, STAGES, TERMINAL_STATES } from '../../machines/stages.js';
import { once } from '../once.js';
import { thermostatReportSchemas } from './thermostat.js';
import { autonomousReportShape, laterReportShape } from './later-fields.js';

export const stageSchema = z.enum(STAGES);
export const terminalStateSchema = z.enum(TERMINAL_STATES);
export const stageStatusSchema = z.enum(STAGE_STATUSES);

/**
 * One stage execution record (the report's `stage_executions`), built at its first use: a run
 * writes records, and reads them back only when it resumes or its records are many (records-log.ts).
 */
export const executionRecordSchema = once(() => z.object({
  stage: stageSchema,
  idempotency_key: z.nullable(z.string()),
  command: z.string(),
  args: z.array(z.string()),
  env_keys: z.array(z.string()),
  started_at_unix_secs: z.int(),
  duration_ms: z.int(),
  exit_code: z.nullable(z.int()),
  status: stageStatusSchema,
  error: z.nullable(z.string()),
  missing_artifacts: z.array(z.string()),
  malformed_artifacts: z.array(z.string()),
  // additions
  /** The plan step this record is an attempt of. */
  step: z._default(z.string(), ''),
  attempt: z.int().check(z.gte(0)),
  started_at_unix_ms: z.int(),
  timeout_ms: z.nullable(z.int()),
  signal: z.nullable(z.string()),
  stdout_log: z.nullable(z.string()),
  stderr_log: z.nullable(z.string()),
  /** The orchestrator was stopped (SIGINT/SIGTERM) while this ran; `--resume` runs it again. */
  interrupted: z.boolean(),
  /** What the step reported in $ORCHESTRATOR_COST_FILE. */
  cost: z._default(z.number(), 0),
  /** What the step reported as `value` in the same file; absent when it reported none. */
  value: z.optional(z.number()),
  /**
   * Why a record with status success ran nothing: a delivery command run again (an attempt after
   * the first) whose effect was already there, e.g. `not run: HEAD is already on branch feat/x`.
   */
  note: z.optional(z.string()),
  /** With --autonomous-loop: the run of the loop (1-based) this record belongs to. */
  autonomous_run: z.optional(z.int().check(z.gte(1))),
}));

/**
 * The report's own schemas, built at their first use: a run writes its report but reads one only
 * when it resumes (and the CLI's `report` command), and building them was part of every start.
 * The library exports them built (src/index.ts).
 */
export const reportSchemas = once(() => {
  const transitionSchema = z.object({
    run_id: z.string(),
    from_stage: z.nullable(stageSchema),
    to_stage: stageSchema,
    timestamp_unix_secs: z.int(),
    // additions
    timestamp_unix_ms: z.int(),
    /** The machine event that caused the transition, as the inspection stream saw it. */
    event: z.string(),
  });

  const stageFailureSchema = z.object({
    stage: stageSchema,
    status: stageStatusSchema,
    error: z.nullable(z.string()),
    /** The plan step that failed, when a step did. */
    step: z.optional(z.nullable(z.string())),
  });

  /** What a plan's notification hook did when the run ended (src/notify/notify.ts). */
  const notificationSchema = z.object({
    /** Its place in the plan, `notify[<index>]`: never its URL or arguments. */
    hook: z.string(),
    kind: z.enum(['http', 'command']),
    on: terminalStateSchema,
    ok: z.boolean(),
    attempts: z.int().check(z.gte(1)),
    error: z.nullable(z.string()),
    duration_ms: z.int().check(z.gte(0)),
  });

  /** Why a run stopped `blocked`: the report's `blocked`, the checkpoint's `halt`. */
  const haltSchema = z.object({
    reason: z.enum(['simulated', 'approval_required', 'budget_exceeded', 'roi_below_floor', 'gates', 'hard_gates', 'risk_tier', 'review_ensemble', 'decision', 'pr_risk']),
    stage: stageSchema,
    gate: z.nullable(z.string()),
  });

  /** An approval granted with `autonomy-orchestrator approve`: in the checkpoint, and copied to the report. */
  const approvalSchema = z.object({
    gate: z.string().check(z.minLength(1)),
    by: z.string(),
    note: z.nullable(z.string()),
    at_unix_ms: z.int(),
  });

  const runReportSchema = z.object({
    product: z.string(),
    version: z.string(),
    run_id: z.string(),
    current_stage: z.nullable(stageSchema),
    terminal_state: z.nullable(terminalStateSchema),
    transitions: z.array(transitionSchema),
    stage_executions: z.array(executionRecordSchema()),
    // additions
    /** Executions of earlier invocations of this run (before a crash, stop or failure). */
    earlier_stage_executions: z.array(executionRecordSchema()),
    resumed_from: z.nullable(z.enum(['snapshot', 'v0_checkpoint', 'blocked_checkpoint', 'done_checkpoint'])),
    /** `running` while the run goes on; the report is rewritten as it moves. */
    status: z.enum(['running', 'finished', 'interrupted']),
    interrupted_by: z.nullable(z.string()),
    failure: z.nullable(stageFailureSchema),
    /** Set when the run stopped `blocked`: simulated, waiting for an approval, or over its budget. */
    blocked: z.nullable(haltSchema),
    cost: z.object({ spent: z.number(), budget: z.nullable(z.number()) }),
    /** The ROI thermostat, for a run that has one: its settings, where it stands, its decisions. */
    thermostat: z.optional(thermostatReportSchemas().thermostatSchema),
    approvals: z.array(approvalSchema),
    checkpoint_path: z.string(),
    /** The plan's notification hooks run when this invocation ended. */
    notifications: z._default(z.array(notificationSchema), []),
    started_at_unix_ms: z.int(),
    updated_at_unix_ms: z.int(),
    orchestrator_max_rss_kib: z.int(),
    // V0's later fields, present once a later flag is given (later-fields.ts)
    ...laterReportShape,
    ...autonomousReportShape,
  });

  return { transitionSchema, stageFailureSchema, notificationSchema, haltSchema, approvalSchema, runReportSchema };
});

type Schemas = ReturnType<typeof reportSchemas>;

export type Transition = z.infer<Schemas['transitionSchema']>;
export type StageExecution = z.infer<ReturnType<typeof executionRecordSchema>>;
export type RunReport = z.infer<Schemas['runReportSchema']>;
export type Notification = z.infer<Schemas['notificationSchema']>;
export type Approval = z.infer<Schemas['approvalSchema']>;
