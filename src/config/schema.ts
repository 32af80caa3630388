/**
 * The configuration of one orchestration: the single source of its type.
 * The CLI builds it from V0's flags; library users pass it directly.
 * (zod/mini: the same zod, tree-shaken, so the CLI starts faster.)
 */
import * as z from 'zod/mini';
import { STAGES, type Stage } from '../../machines/stages.js';

const MAX_TIMER_MS = 2_147_483_647;
const milliseconds = (min: number) => z.int().check(z.gte(min), z.lte(MAX_TIMER_MS));

export const envPairSchema = z.object({
  key: z.string().check(z.minLength(1), z.regex(/^[^=\0]+$/, 'an environment key must not contain "=" or NUL')),
  value: z.string(),
});

export const invocationSchema = z.object({
  bin: z.string().check(z.minLength(1)),
  args: z._default(z.array(z.string()), []),
  env: z._default(z.array(envPairSchema), []),
  expectedArtifacts: z._default(z.array(z.string().check(z.minLength(1))), []),
  /** Per-invocation timeout; defaults to the run's `timeoutMs`. */
  timeoutMs: z.optional(milliseconds(1)),
});

export const stageInvocationsSchema = z.strictObject(
  Object.fromEntries(STAGES.map((stage) => [stage, z.optional(invocationSchema)])) as Record<
    Stage,
    z.ZodMiniOptional<typeof invocationSchema>
  >,
);

export const orchestrationConfigSchema = z.strictObject({
  outputDir: z._default(z.string().check(z.minLength(1)), './out'),
  checkpointPath: z.optional(z.string().check(z.minLength(1))),
  resume: z._default(z.boolean(), false),
  simulateBlocked: z._default(z.boolean(), false),
  timeoutMs: z._default(milliseconds(1), 30_000),
  /** How long a process group gets between SIGTERM and SIGKILL. */
  killGraceMs: z._default(z.int().check(z.gte(0), z.lte(600_000)), 2_000),
  stages: z._default(stageInvocationsSchema, {}),
});

export type Invocation = z.infer<typeof invocationSchema>;
export type EnvPair = z.infer<typeof envPairSchema>;
export type OrchestrationConfigInput = z.input<typeof orchestrationConfigSchema>;
export type OrchestrationConfig = z.infer<typeof orchestrationConfigSchema>;
