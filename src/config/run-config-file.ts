/**
 * The run config file (V0's `--config-save`, `--config-load`, `config-validate`), JSON only: a run's
 * configuration as the CLI builds it (./schema.ts), less what always comes from the command line
 * (the output directory, where the report and the previous report are; the checkpoint,
 * cycle-memory and next-actions paths; --resume), and without any environment value: a step's env
 * entry names a variable of the environment of the process that loads the file. The single source
 * of the file's type and of schemas/run-config.schema.json.
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import { STAGES, type Stage } from '../../machines/stages.js';
import { RUN_ID } from '../checkpoint/store-errors.js';
import { planSchema, stepSchema } from '../plan/schema.js';
import { laterConfigSchema } from './later.js';
import { orchestrationConfigSchema } from './schema.js';

export const RUN_CONFIG_VERSION = 1;

/**
 * `{"fromEnv": true}`: the value of the variable of the same name where the file is loaded (what a
 * save writes for every `--*-env` value). `{"value": "…"}`: this text, for what is not secret (a
 * save writes it for the orchestrator's own ORCHESTRATOR_VALIDATION_COMMAND_INDEX, and for such an
 * entry of a loaded file it saves again).
 */
export const envEntrySchema = z.union([z.strictObject({ fromEnv: z.literal(true) }), z.strictObject({ value: z.string() })], {
  error: 'expected {"fromEnv": true} (the variable of that name where the file is loaded) or {"value": "..."}',
});

const savedStepSchema = z.strictObject({
  ...stepSchema.shape,
  env: z._default(z.record(z.string().check(z.regex(/^[^=\s\p{Cc}]+$/u, { error: 'expected a name without "=", spaces or control characters' })), envEntrySchema), {}),
});

const savedPlanSchema = z.strictObject({
  ...planSchema.shape,
  stages: z._default(
    z.strictObject(
      Object.fromEntries(STAGES.map((stage) => [stage, z.optional(z.array(savedStepSchema))])) as Record<
        Stage,
        z.ZodMiniOptional<z.ZodMiniArray<typeof savedStepSchema>>
      >,
    ),
    {},
  ),
});

const { outputDir: _outputDir, checkpointPath: _checkpoint, resume: _resume, resumeOrStart: _orStart, later: _later, plan: _plan, ...settings } =
  orchestrationConfigSchema.shape;
const { cycleMemoryPath: _cycleMemory, nextActionsPath: _nextActions, ...laterSettings } = laterConfigSchema.shape;

export const runConfigFileSchema = z.strictObject({
  $schema: z.optional(z.string()),
  version: z.literal(RUN_CONFIG_VERSION, { error: `expected ${RUN_CONFIG_VERSION}` }),
  /** The id a fresh run from this file takes (a save writes none: every run gets its own). */
  runId: z.optional(z.string().check(z.regex(RUN_ID, { error: 'expected 1-128 letters, digits, "_", "." or "-"' }))),
  ...settings,
  /** V0's later settings; the cycle-memory and next-actions paths come from the command line. */
  later: z.optional(z.strictObject(laterSettings)),
  /** The steps, for a run whose programs were given as flags (else `planPath`). */
  plan: z.optional(savedPlanSchema),
});

export type RunConfigFile = z.infer<typeof runConfigFileSchema>;
export type RunConfigFileInput = z.input<typeof runConfigFileSchema>;
export type SavedStepInput = z.input<typeof savedStepSchema>;

/**
 * What `config-validate` reports beyond the schema: settings that are valid one by one but do
 * nothing together. Each says which field, why, and the flag that fixes it.
 */
export function runConfigDiagnostics(file: RunConfigFile): string[] {
  const later = file.later;
  if (later === undefined) return [];
  const problems: string[] = [];
  if (later.delivery?.prEnabled && !later.delivery.enabled) {
    problems.push('later.delivery.prEnabled=true requires later.delivery.enabled=true: without it no PR step is recorded (fix: add --delivery-enabled)');
  }
  if (later.validationFromPlanningContext && later.planningContextArtifact === undefined) {
    problems.push('later.validationFromPlanningContext=true requires later.planningContextArtifact: there are no detected commands to run (fix: set --planning-context-artifact <path>)');
  }
  if (later.autofixEnabled && later.autofixBin === undefined) {
    problems.push('later.autofixEnabled=true requires later.autofixBin: there is no fixer to run (fix: set --autofix-bin <bin>)');
  }
  return problems;
}
