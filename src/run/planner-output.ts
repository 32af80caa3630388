/**
 * V0's planner output: what the manager's JSON artifacts tell the later stages (budgets, the
 * remediation steps, native validation commands). Read after the manager succeeds, in a run with
 * loops; the first `.json` artifact with a `planner_output` object, or a non-empty known field at
 * its top, wins. Checked field by field with upstream's messages.
 */
import { readFileSync } from 'node:fs';
import type { LoopRecord, ValidationCommand } from '../../machines/loops.js';
import type { PlannerOutputEvent } from '../../machines/orchestration.js';
import type { Step } from '../plan/schema.js';

interface PlannerOutput {
  execution_max_iterations?: number;
  reviewer_remediation_max_cycles?: number;
  remediation_steps: string[];
  validation_commands: ValidationCommand[];
  /** Read (and checked) as upstream does; nothing uses them. */
  other: number;
}

export type PlannerOutcome =
  | { kind: 'none' }
  | { kind: 'applied'; event: PlannerOutputEvent; record: LoopRecord }
  | { kind: 'invalid'; record: LoopRecord };

const U32_MAX = 4_294_967_295;

export function readPlannerOutput(step: Step): PlannerOutcome {
  for (const artifact of step.expectedArtifacts) {
    const path = typeof artifact === 'string' ? artifact : artifact.path;
    if (!path.endsWith('.json')) continue;
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      continue; // unreadable or unparsable: skipped, as V0
    }
    let output: PlannerOutput | null;
    try {
      output = plannerOutputOf(data);
    } catch (error) {
      // V0 names the file in the error, not in the record's args.
      return { kind: 'invalid', record: plannerRecord([], 'failed', `Invalid planner output artifact '${path}': ${(error as Error).message}`) };
    }
    if (output === null) continue;
    if (output.execution_max_iterations === 0) {
      return { kind: 'invalid', record: plannerRecord([path], 'failed', 'Planner output execution_max_iterations must be >= 1 when provided') };
    }
    const event: PlannerOutputEvent = {
      type: 'PLANNER_OUTPUT',
      ...(output.execution_max_iterations !== undefined ? { executionMaxIterations: output.execution_max_iterations } : {}),
      ...(output.reviewer_remediation_max_cycles !== undefined ? { remediationMaxCycles: output.reviewer_remediation_max_cycles } : {}),
      // An empty list leaves the steps as they were (V0).
      ...(output.remediation_steps.length > 0 ? { remediationSteps: output.remediation_steps } : {}),
      ...(output.validation_commands.length > 0 ? { validationCommands: output.validation_commands } : {}),
    };
    return { kind: 'applied', event, record: plannerRecord([path], 'success', null) };
  }
  return { kind: 'none' };
}

function plannerRecord(args: string[], status: LoopRecord['status'], error: string | null): LoopRecord {
  return { stage: 'planning', idempotency_key: 'stage:Planning:planner_output', command: 'planning.planner_output.apply', args, status, error };
}

/** Null: the file is not a planner output (no `planner_output` object, no non-empty known field). */
function plannerOutputOf(data: unknown): PlannerOutput | null {
  const root = isObject(data) ? data : {};
  if ('planner_output' in root) return payloadOf(root.planner_output);
  const payload = payloadOf(root);
  const found =
    payload.execution_max_iterations !== undefined ||
    payload.reviewer_remediation_max_cycles !== undefined ||
    payload.remediation_steps.length > 0 ||
    payload.validation_commands.length > 0 ||
    payload.other > 0;
  return found ? payload : null;
}

function payloadOf(value: unknown): PlannerOutput {
  const payload = isObject(value) ? value : {};
  return {
    ...optional('execution_max_iterations', whole(payload, 'execution_max_iterations')),
    ...optional('reviewer_remediation_max_cycles', whole(payload, 'reviewer_remediation_max_cycles')),
    remediation_steps: strings(payload, 'remediation_steps'),
    validation_commands: list(payload, 'validation_commands').map(validationCommandOf),
    other: strings(payload, 'memory_signal_codes').length + plannerGraphSize(payload),
  };
}

/** V0's planner v2 graph, checked but never run (its stubs are not copied): the number of nodes. */
function plannerGraphSize(payload: Record<string, unknown>): number {
  const nodes = list(payload, 'planner_nodes');
  for (const node of nodes) {
    text(node, 'id', 'planner_nodes[].id must be a string');
    text(node, 'action', 'planner_nodes[].action must be a string');
  }
  for (const edge of list(payload, 'planner_edges')) {
    text(edge, 'from', 'planner_edges[].from must be a string');
    text(edge, 'to', 'planner_edges[].to must be a string');
  }
  return nodes.length;
}

function validationCommandOf(entry: unknown): ValidationCommand {
  const command = text(entry, 'command', 'validation_commands[].command must be a string');
  const args = isObject(entry) && 'args' in entry ? entry.args : [];
  if (!Array.isArray(args)) throw new Error('validation_commands[].args must be an array');
  for (const arg of args) if (typeof arg !== 'string') throw new Error('validation_commands[].args entries must be strings');
  return { command, args: args as string[] };
}

function whole(payload: Record<string, unknown>, key: string): number | undefined {
  if (!(key in payload)) return undefined;
  const value = payload[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error(`${key} must be an unsigned integer`);
  if (value > U32_MAX) throw new Error(`${key} is too large`);
  return value;
}

function list(payload: Record<string, unknown>, key: string): unknown[] {
  if (!(key in payload)) return [];
  const value = payload[key];
  if (!Array.isArray(value)) throw new Error(`${key} must be an array`);
  return value;
}

function strings(payload: Record<string, unknown>, key: string): string[] {
  const values = list(payload, key);
  for (const value of values) if (typeof value !== 'string') throw new Error(`${key} entries must be strings`);
  return values as string[];
}

function text(entry: unknown, key: string, message: string): string {
  const value = isObject(entry) ? entry[key] : undefined;
  if (typeof value !== 'string') throw new Error(message);
  return value;
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
