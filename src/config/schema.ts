/**
 * The configuration of one orchestration: the single source of its type.
 * The CLI builds it from V0's flags; library users pass it directly.
 */
import { z } from 'zod';
import { STAGES } from '../../machines/stages.js';

export const envPairSchema = z.object({
  key: z.string().min(1).regex(/^[^=\0]+$/, 'an environment key must not contain "=" or NUL'),
  value: z.string(),
});

export const invocationSchema = z.object({
  bin: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.array(envPairSchema).default([]),
  expectedArtifacts: z.array(z.string().min(1)).default([]),
  /** Per-invocation timeout; defaults to the run's `timeoutMs`. */
  timeoutMs: z.number().int().positive().max(2_147_483_647).optional(),
});

export const stageInvocationsSchema = z
  .object(Object.fromEntries(STAGES.map((stage) => [stage, invocationSchema.optional()])) as Record<
    (typeof STAGES)[number],
    z.ZodOptional<typeof invocationSchema>
  >)
  .strict();

export const orchestrationConfigSchema = z
  .object({
    outputDir: z.string().min(1).default('./out'),
    checkpointPath: z.string().min(1).optional(),
    resume: z.boolean().default(false),
    simulateBlocked: z.boolean().default(false),
    timeoutMs: z.number().int().positive().max(2_147_483_647).default(30_000),
    /** How long a process group gets between SIGTERM and SIGKILL. */
    killGraceMs: z.number().int().nonnegative().max(600_000).default(2_000),
    stages: stageInvocationsSchema.default({}),
  })
  .strict();

export type Invocation = z.infer<typeof invocationSchema>;
export type EnvPair = z.infer<typeof envPairSchema>;
export type OrchestrationConfigInput = z.input<typeof orchestrationConfigSchema>;
export type OrchestrationConfig = z.infer<typeof orchestrationConfigSchema>;
