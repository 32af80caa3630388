/**
 * What the loops change about a step's run, and what they read back from it: the execution
 * attempt's key and environment, a failure's trigger signature, the reviewer's next steps, and
 * the records the orchestrator writes itself (V0's synthetic `command` names).
 */
import { readFileSync } from 'node:fs';
import type { LoopRecord } from '../../machines/loops.js';
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
  return emptyRecord({ ...record, env_keys: [], step: '', attempt: 0 });
}

/** A native validation command (V0's `--validation-bin`, or one from cycle memory or the planning context). */
export interface Invocation {
  command: string;
  args: string[];
  env: [string, string][];
}

/** The validation step of the `index`th native command (1-based): V0's key and index env, in order. */
export function nativeStep(invocation: Invocation, index: number): StepInput {
  return {
    id: `validation-${index}`,
    idempotencyKey: `stage:Validation:command:${index}`,
    bin: invocation.command,
    args: invocation.args,
    env: { ...Object.fromEntries(invocation.env), ORCHESTRATOR_VALIDATION_COMMAND_INDEX: String(index) },
    // In order; the first failure stops the stage.
    needs: index > 1 ? [`validation-${index - 1}`] : [],
  };
}
