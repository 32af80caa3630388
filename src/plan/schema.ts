/**
 * The plan file: what each stage runs, step by step. The single source of the plan's type and
 * of its published JSON Schema (schemas/plan.schema.json).
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import { STAGES, type Stage, TERMINAL_STATES } from '../../machines/stages.js';
import { thermostatSchema } from './thermostat.js';
import { laterConfigSchema } from '../config/later.js';

const MAX_TIMER_MS = 2_147_483_647;
const positiveMs = () =>
  z.int({ error: 'expected a positive integer' }).check(
    z.gte(1, { error: 'expected a positive integer' }),
    z.lte(MAX_TIMER_MS, { error: `expected at most ${MAX_TIMER_MS}` }),
  );
const count = () =>
  z.int({ error: 'expected a whole number' }).check(z.gte(0, { error: 'expected zero or more' }), z.lte(1000, { error: 'expected at most 1000' }));

export const STEP_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const retriesSchema = z.strictObject({
  /** Attempts after the first one. */
  max: count(),
  /** Wait before the first retry. */
  backoffMs: z._default(z.int({ error: 'expected a whole number' }).check(z.gte(0), z.lte(MAX_TIMER_MS)), 1_000),
  /** Each further wait is the previous one times this. */
  factor: z._default(z.number({ error: 'expected a number' }).check(z.gte(1, { error: 'expected 1 or more' }), z.lte(100)), 2),
});

export const expectedArtifactSchema = z.union([
  z.string().check(z.minLength(1, { error: 'expected a path' })),
  z.strictObject({
    path: z.string().check(z.minLength(1, { error: 'expected a path' })),
    /** A JSON Schema file the artifact (JSON) must satisfy. */
    schema: z.optional(z.string().check(z.minLength(1, { error: 'expected a path' }))),
  }),
]);

export const stepSchema = z.strictObject({
  id: z.string().check(z.regex(STEP_ID, { error: 'expected 1-64 letters, digits, "_", "." or "-"' })),
  bin: z.string().check(z.minLength(1, { error: 'expected a program' })),
  args: z._default(z.array(z.string()), []),
  /** Added to the parent's environment. Values are never written to any file. */
  env: z._default(z.record(z.string().check(z.regex(/^[^=\0]+$/, { error: 'expected a name without "="' })), z.string()), {}),
  cwd: z.optional(z.string().check(z.minLength(1))),
  timeoutMs: z.optional(positiveMs()),
  expectedArtifacts: z._default(z.array(expectedArtifactSchema), []),
  retries: z.optional(retriesSchema),
  /** Ids of steps of the same stage that must succeed first. */
  needs: z._default(z.array(z.string()), []),
  /** Kill the step as stalled when it writes no output and touches no heartbeat file for this long. */
  heartbeatMs: z.optional(positiveMs()),
  /** The run stops `blocked` before this step until someone approves it. */
  requiresApproval: z._default(z.boolean(), false),
  /** Handed to the program as ORCHESTRATOR_IDEMPOTENCY_KEY; default `stage:<Stage>/step:<id>`. */
  idempotencyKey: z.optional(z.string().check(z.minLength(1))),
});

const hookRetries = {
  /** Attempts after the first one. */
  retries: z._default(z.int({ error: 'expected a whole number' }).check(z.gte(0, { error: 'expected zero or more' }), z.lte(20, { error: 'expected at most 20' })), 2),
  /** Wait before the first retry; each further wait doubles. */
  backoffMs: z._default(z.int({ error: 'expected a whole number' }).check(z.gte(0), z.lte(60_000)), 500),
};
const hookOn = z.array(z.enum(TERMINAL_STATES)).check(z.minLength(1, { error: 'expected at least one terminal state' }));

/** A notification hook, run once the run reaches one of the terminal states in `on`. */
export const notifyHookSchema = z.union([
  z.strictObject({
    on: hookOn,
    /** POSTs the run's summary as JSON; any 2xx answer is a success. */
    http: z.strictObject({
      url: z.string().check(z.regex(/^https?:\/\/[^\s/?#]+[^\s]*$/, { error: 'expected an http:// or https:// URL' })),
      timeoutMs: z._default(positiveMs(), 5_000),
      ...hookRetries,
    }),
  }),
  z.strictObject({
    on: hookOn,
    /** Runs a program (never through a shell) with the run's summary as JSON on stdin; exit 0 is a success. */
    command: z.strictObject({
      bin: z.string().check(z.minLength(1, { error: 'expected a program' })),
      args: z._default(z.array(z.string()), []),
      timeoutMs: z._default(positiveMs(), 10_000),
      ...hookRetries,
    }),
  }),
]);

export const planSchema = z.strictObject({
  $schema: z.optional(z.string()),
  version: z._default(z.literal(1, { error: 'expected 1' }), 1),
  /** Default timeout of every step. */
  timeoutMs: z.optional(positiveMs()),
  /** How many independent steps of a stage may run at once. */
  concurrency: z.optional(z.int().check(z.gte(1, { error: 'expected a positive integer' }), z.lte(256))),
  /** The whole run's wall-clock budget. */
  maxWallMs: z.optional(positiveMs()),
  /** Steps report cost (and value) by writing {"cost": n, "value": n} to $ORCHESTRATOR_COST_FILE. */
  budget: z.optional(z.strictObject({ cost: z.number().check(z.gte(0, { error: 'expected zero or more' })) })),
  /** The ROI thermostat: concurrency follows the net ROI of finished steps (README, The ROI thermostat). */
  thermostat: z.optional(thermostatSchema),
  /** Stages that need approval before they start. */
  requireApproval: z._default(z.array(z.enum(STAGES)), []),
  /**
   * Loops and gates, as V0's later flags set them (which override these): execution attempts, the
   * reviewer step whose `next_step_plan` drives remediation cycles back to execution, their caps,
   * the gates after validation and hard-gate rules before planning.
   */
  loops: z.optional(laterConfigSchema),
  /** Hooks run when the run ends: a failing hook is recorded in the report, never changes the outcome. */
  notify: z._default(z.array(notifyHookSchema), []),
  stages: z._default(
    z.strictObject(
      Object.fromEntries(STAGES.map((stage) => [stage, z.optional(z.array(stepSchema))])) as Record<
        Stage,
        z.ZodMiniOptional<z.ZodMiniArray<typeof stepSchema>>
      >,
    ),
    {},
  ),
});

export type Step = z.infer<typeof stepSchema>;
export type StepInput = z.input<typeof stepSchema>;
export type NotifyHook = z.infer<typeof notifyHookSchema>;
export type Plan = z.infer<typeof planSchema>;
export type PlanInput = z.input<typeof planSchema>;
export type ExpectedArtifact = z.infer<typeof expectedArtifactSchema>;
