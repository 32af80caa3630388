/**
 * V0's cycle memory, as JSON (upstream writes a binary file), only with `--cycle-memory-path`:
 * read when a run starts (its budgets override the flags', its planned remediation steps and
 * validation commands are taken) and written again with the run's checkpoints. Upstream overrides
 * silently; here every override is said on stderr.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import type { LoopSettings } from '../../machines/loops.js';
import { writeFileDurably } from '../checkpoint/durable-write.js';
import type { LaterConfig } from '../config/later.js';
import type { OrchestrationConfig } from '../config/schema.js';
import { type Step, stepSchema } from '../plan/schema.js';
import { readNextActions } from '../report/next-actions.js';
import { laterOf, reviewerStepOf } from './loop-settings.js';
import { nativeStep } from './loop-steps.js';

const commandLineSchema = z.object({ command_line: z.object({ command: z.string().check(z.minLength(1)), args: z._default(z.array(z.string()), []) }) });

export const cycleMemorySchema = z.object({
  execution_policy_overrides: z._default(
    z.object({
      execution_max_iterations: z.optional(z.nullable(z.int().check(z.gte(0)))),
      reviewer_remediation_max_cycles: z.optional(z.nullable(z.int().check(z.gte(0)))),
    }),
    {},
  ),
  planned_remediation_steps: z._default(z.array(z.string()), []),
  validation_commands: z._default(z.array(commandLineSchema), []),
  updated_at_unix_secs: z.optional(z.int()),
});

export type CycleMemory = z.infer<typeof cycleMemorySchema>;
export type ValidationCommand = z.infer<typeof commandLineSchema>;

/** The memory at `path`, or null when there is none or it cannot be read (as upstream, which ignores it then). */
export function readCycleMemory(path: string): CycleMemory | null {
  try {
    const parsed = cycleMemorySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The configuration a run starts with once its cycle memory (and, as the steps' last fallback,
 * the previous run's next actions) is applied: upstream's `Orchestrator::new`. Each override is
 * told to `warn`, naming the flag it replaces.
 */
export function withCycleMemory(config: OrchestrationConfig, warn: (message: string) => void): OrchestrationConfig {
  const later = laterOf(config);
  if (later === undefined || (later.cycleMemoryPath === undefined && later.nextActionsPath === undefined)) return config;
  const path = later.cycleMemoryPath;
  const memory = path === undefined ? null : readCycleMemory(path);
  const next: LaterConfig = { ...later };
  let plan = config.plan;
  if (memory && path !== undefined) {
    const { execution_max_iterations: iterations, reviewer_remediation_max_cycles: cycles } = memory.execution_policy_overrides;
    if (iterations !== undefined && iterations !== null && iterations >= 1) {
      if (iterations !== (later.executionMaxIterations ?? 1)) warn(`cycle memory ${path}: execution_max_iterations ${iterations} overrides --execution-max-iterations ${later.executionMaxIterations ?? 1}`);
      next.executionMaxIterations = iterations;
    }
    if (cycles !== undefined && cycles !== null) {
      if (cycles !== (later.reviewerRemediationMaxCycles ?? 0)) warn(`cycle memory ${path}: reviewer_remediation_max_cycles ${cycles} overrides --reviewer-remediation-max-cycles ${later.reviewerRemediationMaxCycles ?? 0}`);
      next.reviewerRemediationMaxCycles = cycles;
    }
    if (memory.planned_remediation_steps.length > 0) next.remediationSteps = memory.planned_remediation_steps;
    plan = withValidationCommands(config, later, memory.validation_commands);
  }
  if (next.remediationSteps.length === 0 && later.nextActionsPath !== undefined) {
    const actions = readNextActions(later.nextActionsPath)?.recommended_actions ?? [];
    if (actions.length > 0) next.remediationSteps = actions;
  }
  // The merged settings replace the plan's `loops` (laterOf would otherwise lay only the flags over them).
  return { ...config, later: next, plan: { ...plan, loops: undefined } };
}

/** Native validation commands added after the run's own, each once (by command and args); none with a reviewer. */
export function withValidationCommands(config: OrchestrationConfig, later: LaterConfig, commands: ValidationCommand[]): OrchestrationConfig['plan'] {
  if (commands.length === 0 || reviewerStepOf(later, config.plan) !== null) return config.plan;
  const steps: Step[] = [...(config.plan.stages.validation ?? [])];
  for (const { command_line: line } of commands) {
    if (steps.some((step) => step.bin === line.command && sameArgs(step.args, line.args))) continue;
    steps.push(stepSchema.parse(nativeStep({ command: line.command, args: line.args, env: [] }, steps.length + 1)));
  }
  return { ...config.plan, stages: { ...config.plan.stages, validation: steps } };
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** What the memory holds after a checkpoint: the budgets as they stand, the planned steps, the native validations. */
export function cycleMemoryOf(settings: LoopSettings, validationSteps: readonly Step[], reviewerStep: string | null, nowMs = Date.now()): CycleMemory {
  return {
    execution_policy_overrides: {
      execution_max_iterations: settings.executionMaxIterations,
      reviewer_remediation_max_cycles: settings.remediationMaxCycles,
    },
    planned_remediation_steps: settings.plannedRemediationSteps,
    validation_commands: validationSteps.filter((step) => step.id !== reviewerStep).map((step) => ({ command_line: { command: step.bin, args: step.args } })),
    updated_at_unix_secs: Math.floor(nowMs / 1000),
  };
}

/** Writes the memory atomically, and only when it changed (the time aside). */
export class CycleMemoryWriter {
  private last = '';
  constructor(readonly path: string) {}

  write(memory: CycleMemory): void {
    const key = JSON.stringify({ ...memory, updated_at_unix_secs: 0 });
    if (key === this.last) return;
    writeFileDurably(this.path, `${JSON.stringify(memory, null, 2)}\n`);
    this.last = key;
  }
}
