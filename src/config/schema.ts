/**
 * The configuration of one orchestration: run settings and the plan of steps. The single source
 * of its type. The CLI builds it from V0's flags or a plan file; library users pass it directly.
 * (zod/mini: the same zod, tree-shaken, so the CLI starts faster.)
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import { planSchema } from '../plan/schema.js';
import { thermostatSchema } from '../plan/thermostat.js';
import { laterConfigSchema } from './later.js';

const MAX_TIMER_MS = 2_147_483_647;

export const orchestrationConfigSchema = z.strictObject({
  outputDir: z._default(z.string().check(z.minLength(1)), './out'),
  checkpointPath: z.optional(z.string().check(z.minLength(1))),
  resume: z._default(z.boolean(), false),
  /** With `resume`: no checkpoint starts a new run instead of failing. */
  resumeOrStart: z._default(z.boolean(), false),
  simulateBlocked: z._default(z.boolean(), false),
  /** A step's timeout unless the plan or the step sets one. */
  timeoutMs: z._default(z.int().check(z.gte(1), z.lte(MAX_TIMER_MS)), 30_000),
  /** How long a process group gets between SIGTERM and SIGKILL. */
  killGraceMs: z._default(z.int().check(z.gte(0), z.lte(600_000)), 2_000),
  /** How many independent steps of a stage run at once; overrides the plan's. */
  concurrency: z.optional(z.int().check(z.gte(1), z.lte(256))),
  /** Cost budget; overrides the plan's `budget.cost`. */
  costBudget: z.optional(z.number().check(z.gte(0))),
  /** The run's wall-clock budget; overrides the plan's `maxWallMs`. */
  maxWallMs: z.optional(z.int().check(z.gte(1), z.lte(MAX_TIMER_MS))),
  /** The plan file `plan` was read from (absolute): recorded in the checkpoint, so that `--resume` alone reads it again. */
  planPath: z.optional(z.string().check(z.minLength(1))),
  /** Percent of a step's value taken as fee, and burned: net ROI keeps the rest (ORCHESTRATOR_FEE_PCT, _BURN_PCT). */
  feePct: z._default(z.number().check(z.gte(0), z.lte(100)), 5),
  burnPct: z._default(z.number().check(z.gte(0), z.lte(100)), 2),
  /** Thermostat settings laid over the plan's `thermostat`, field by field. */
  thermostat: z.optional(thermostatSchema),
  /** V0's later flags (loops and gates); absent, the run is V0's seed run. */
  later: z.optional(laterConfigSchema),
  plan: z._default(planSchema, () => ({ version: 1 as const, requireApproval: [], notify: [], stages: {} })),
});

export type OrchestrationConfigInput = z.input<typeof orchestrationConfigSchema>;
export type OrchestrationConfig = z.infer<typeof orchestrationConfigSchema>;
