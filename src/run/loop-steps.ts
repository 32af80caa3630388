/**
 * What the loops change about a step's run, and what they read back from it: the execution
 * attempt's key and environment, a failure's trigger signature, the reviewer's next steps, and
 * the records the orchestrator writes itself (V0's synthetic `command` names).
 */
import { readFileSync } from 'node:fs';
import type { LoopRecord, ValidationCommand } from '../../machines/loops.js';
import type { AutoFixAttempt, AutofixSettings } from '../../machines/loops.js';
import type { StageWorkInput } from '../../machines/orchestration.js';
import { stageTitle } from '../../machines/stages.js';
import type { Step, StepInput } from '../plan/schema.js';
import type { StageExecution } from '../report/schema.js';
import { emptyRecord, idempotencyKeyOf } from './stage-work.js';

/** An execution step in a run with loops: V0's attempt key and the attempt's and cycle's environment. */
export function stepForAttempt(input: StageWorkInput, step: Step): Step {
  if (!input.loop || input.stage !== 'execution') return step;
  const { attempt, cycle, steps } = input.loop;
  const env: Record<string, string> = { ...step.env, ORCHESTRATOR_EXECUTION_ATTEMPT: String(attempt) };
  if (steps.length > 0) {
    env.ORCHESTRATOR_REMEDIATION_CYCLE = String(cycle);
    env.ORCHESTRATOR_REMEDIATION_STEPS = steps.join(' || ');
  }
  return { ...step, env, idempotencyKey: `${idempotencyKeyOf(input.stage, step)}:attempt:${attempt}` };
}

/** V0's trigger signature of a failing record: `stage=Execution;status=Failed;command=<bin>;exit=<code|none>`. */
export function failureSignature(record: StageExecution): string {
  const status = record.status
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return `stage=${stageTitle(record.stage)};status=${status};command=${record.command};exit=${record.exit_code ?? 'none'}`;
}

/**
 * The reviewer's `next_step_plan` entries from its JSON artifacts, as V0 formats them
 * (`P{priority} [{code}] {action}`), de-duplicated; unreadable files are skipped.
 */
export function reviewerNextSteps(step: Step): string[] {
  const steps: string[] = [];
  for (const artifact of step.expectedArtifacts) {
    const path = typeof artifact === 'string' ? artifact : artifact.path;
    if (!path.endsWith('.json')) continue;
    let plan: unknown;
    try {
      plan = (JSON.parse(readFileSync(path, 'utf8')) as { next_step_plan?: unknown }).next_step_plan;
    } catch {
      continue;
    }
    if (!Array.isArray(plan)) continue;
    for (const entry of plan as { action?: unknown; priority?: unknown; code?: unknown }[]) {
      if (typeof entry?.action !== 'string') continue;
      const priority = typeof entry.priority === 'number' ? `P${entry.priority} ` : '';
      const code = typeof entry.code === 'string' ? `[${entry.code}] ` : '';
      const line = `${priority}${code}${entry.action}`;
      if (!steps.includes(line)) steps.push(line);
    }
  }
  return steps;
}

export function loopRecordExecution(record: LoopRecord): StageExecution {
  const { exit_code: exitCode, ...identity } = record;
  return { ...emptyRecord({ ...identity, env_keys: [], step: '', attempt: 0 }), exit_code: exitCode ?? null };
}

/** A native validation command (V0's `--validation-bin`, or one from cycle memory or the planning context). */
export interface Invocation {
  command: string;
  args: string[];
  env: [string, string][];
}

/** The validation step of the `index`th native command (1-based): V0's key and index env, in order. */
export function nativeStep(invocation: Invocation, index: number): StepInput {
  return nativeValidationStep(invocation.command, invocation.args, invocation.env, index);
}

/** The index of a native validation, in its own environment (V0). */
export const VALIDATION_INDEX_ENV = 'ORCHESTRATOR_VALIDATION_COMMAND_INDEX';

/** Whether `name=value` in a step's env is the orchestrator's own (a native validation's index), not a value a user gave. */
export function isOwnEnvValue(step: Pick<StepInput, 'idempotencyKey'>, name: string, value: string): boolean {
  return name === VALIDATION_INDEX_ENV && step.idempotencyKey === `stage:Validation:command:${value}`;
}

/** A native validation (V0's `--validation-bin`): key `stage:Validation:command:<n>`, its index in env, after the one before. */
export function nativeValidationStep(command: string, args: string[], env: [string, string][], index: number, after?: string[]): StepInput {
  return {
    id: `validation-${index}`,
    idempotencyKey: `stage:Validation:command:${index}`,
    bin: command,
    args,
    env: { ...Object.fromEntries(env), [VALIDATION_INDEX_ENV]: String(index) },
    // In order; the first failure stops the stage.
    needs: after ?? (index > 1 ? [`validation-${index - 1}`] : []),
  };
}

/**
 * The validation stage's steps with the planner's commands after them, numbered on, each after
 * the one before (the first after every step of the stage); a command already there (same program
 * and arguments) is left out, as V0 merges them.
 */
export function withPlannedValidations(steps: Step[], commands: ValidationCommand[]): Step[] {
  const added: Step[] = [];
  for (const { command, args } of commands) {
    const same = (step: Step) => step.bin === command && JSON.stringify(step.args) === JSON.stringify(args);
    if (steps.some(same) || added.some(same)) continue;
    const index = steps.length + added.length + 1;
    const after = added.length > 0 ? [added.at(-1)!.id] : steps.map((step) => step.id);
    const { id, env, idempotencyKey } = nativeValidationStep(command, args, [], index, after);
    const taken = steps.some((step) => step.id === id);
    added.push({ id: taken ? `planner-${id}` : id, bin: command, args, env: env!, expectedArtifacts: [], needs: after, requiresApproval: false, idempotencyKey: idempotencyKey! });
  }
  return [...steps, ...added];
}

/** The fixer's attempt as a step of the validation stage, with V0's ORCHESTRATOR_AUTOFIX_ATTEMPT. */
export function autofixStep(fixer: AutofixSettings, attempt: number): Step {
  return {
    id: 'autofix',
    bin: fixer.bin,
    args: fixer.args,
    env: { ORCHESTRATOR_AUTOFIX_ATTEMPT: String(attempt) },
    expectedArtifacts: [],
    needs: [],
    requiresApproval: false,
    idempotencyKey: `stage:Validation:autofix:${attempt}`,
  };
}

/** V0's `auto_fix_attempts` entry: applied on exit 0, spawn_failed when it did not start, failed otherwise. */
export function autofixAttemptOf(fixer: AutofixSettings, attempt: number, record: StageExecution): AutoFixAttempt {
  return {
    attempt_number: attempt,
    autofix_bin: fixer.bin,
    exit_code: record.exit_code,
    status: record.status === 'success' ? 'applied' : record.status === 'spawn_failed' ? 'spawn_failed' : 'failed',
    started_at_unix_secs: record.started_at_unix_secs,
    duration_ms: record.duration_ms,
    reason_code: 'AUTOFIX_ATTEMPT_APPLIED',
  };
}
