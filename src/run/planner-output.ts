/**
 * V0's planner output: what the manager's JSON artifacts tell the later stages (budgets, the
 * remediation steps). Read after the manager succeeds, in a run with loops; the first `.json`
 * artifact with a `planner_output` object, or a known key at its top, wins.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import type { LoopRecord } from '../../machines/loops.js';
import type { PlannerOutputEvent } from '../../machines/orchestration.js';
import type { Step } from '../plan/schema.js';

const KNOWN = ['execution_max_iterations', 'reviewer_remediation_max_cycles', 'remediation_steps', 'validation_commands', 'memory_signal_codes', 'planner_nodes', 'planner_edges'];

const plannerOutputSchema = z.object({
  execution_max_iterations: z.optional(z.int().check(z.gte(0))),
  reviewer_remediation_max_cycles: z.optional(z.int().check(z.gte(0))),
  remediation_steps: z.optional(z.array(z.string())),
});

export type PlannerOutcome =
  | { kind: 'none' }
  | { kind: 'applied'; event: PlannerOutputEvent; record: LoopRecord }
  | { kind: 'invalid'; record: LoopRecord };

export function readPlannerOutput(step: Step): PlannerOutcome {
  for (const artifact of step.expectedArtifacts) {
    const path = typeof artifact === 'string' ? artifact : artifact.path;
    if (!path.endsWith('.json')) continue;
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch {
      continue; // unreadable or unparsable: skipped, as V0
    }
    if (typeof data !== 'object' || data === null) continue;
    const nested = data.planner_output;
    const source = typeof nested === 'object' && nested !== null ? nested : KNOWN.some((key) => key in data) ? data : null;
    if (source === null) continue;
    const record = (status: LoopRecord['status'], error: string | null): LoopRecord => ({
      stage: 'planning',
      idempotency_key: 'stage:Planning:planner_output',
      command: 'planning.planner_output.apply',
      args: [path],
      status,
      error,
    });
    const parsed = plannerOutputSchema.safeParse(source);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { kind: 'invalid', record: record('failed', `Invalid planner output artifact '${path}': ${issue.path.join('.')}: ${issue.message}`) };
    }
    const output = parsed.data;
    if (output.execution_max_iterations === 0) {
      return { kind: 'invalid', record: record('failed', 'Planner output execution_max_iterations must be >= 1 when provided') };
    }
    const event: PlannerOutputEvent = {
      type: 'PLANNER_OUTPUT',
      ...(output.execution_max_iterations !== undefined ? { executionMaxIterations: output.execution_max_iterations } : {}),
      ...(output.reviewer_remediation_max_cycles !== undefined ? { remediationMaxCycles: output.reviewer_remediation_max_cycles } : {}),
      ...(output.remediation_steps !== undefined ? { remediationSteps: output.remediation_steps } : {}),
    };
    return { kind: 'applied', event, record: record('success', null) };
  }
  return { kind: 'none' };
}
