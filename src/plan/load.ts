/**
 * Reads a plan file (JSON, or YAML by extension), validates it, and checks what a schema cannot:
 * unique step ids, `needs` that name steps of the same stage, no cycles.
 */
import { mergeThermostat, thermostatProblem } from './thermostat.js';
import { readFileSync } from 'node:fs';
import { STAGES } from '../../machines/stages.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { type Plan, planSchema } from './schema.js';

/** Bad bytes are refused, not silently replaced: a plan means exactly what its file says. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export async function loadPlanFile(path: string): Promise<Plan> {
  let text: string;
  try {
    text = strictUtf8.decode(readFileSync(path));
  } catch (error) {
    if (error instanceof TypeError) throw planError(path, 'not valid UTF-8');
    throw planError(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(path) ? (await loadYaml()).parse(text) : JSON.parse(text);
  } catch (error) {
    throw planError(path, `not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${firstLine(error)}`);
  }
  return validatePlan(data, path);
}

/** Plans this module checked: a run given one does not check its 40,000 steps a second time. */
const checkedPlans = new WeakSet<object>();

/** Whether `plan` is a plan `validatePlan` returned (and so already checked, defaults filled in). */
export function isCheckedPlan(plan: unknown): plan is Plan {
  return typeof plan === 'object' && plan !== null && checkedPlans.has(plan);
}

export function validatePlan(data: unknown, source: string): Plan {
  const checked = checkPlan(data);
  if (typeof checked === 'string') throw planError(source, checked);
  checkedPlans.add(checked);
  return checked;
}

/**
 * The plan (defaults filled in), or its first problem as `<field>: <what>`: the schema, unique step
 * ids, `needs` within the stage and without cycles, a thermostat whose bounds hold.
 */
export function checkPlan(data: unknown): Plan | string {
  const parsed = planSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // A record key that breaks its own schema nests the real message one level down.
    const inner = (issue as { issues?: { message: string }[] }).issues?.[0]?.message;
    return `${formatPath(issue.path)}: ${issue.code === 'invalid_key' && inner ? inner : issue.message}`;
  }
  const steps = stepsProblem(parsed.data);
  if (steps !== null) return steps;
  const thermostat = mergeThermostat(parsed.data.thermostat, undefined);
  const problem = thermostat && thermostatProblem(thermostat);
  if (problem) return `thermostat.${problem}`;
  return parsed.data;
}

/** `stages.execution[2].timeoutMs`: the way a reader finds the field in the file. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out || '(plan)';
}

function stepsProblem(plan: Plan): string | null {
  for (const stage of STAGES) {
    const steps = plan.stages[stage] ?? [];
    const index = new Map<string, number>();
    for (const [i, step] of steps.entries()) {
      if (index.has(step.id)) return `stages.${stage}[${i}].id: '${step.id}' is already used by stages.${stage}[${index.get(step.id)}]`;
      index.set(step.id, i);
    }
    for (const [i, step] of steps.entries()) {
      for (const [j, need] of step.needs.entries()) {
        if (!index.has(need)) return `stages.${stage}[${i}].needs[${j}]: no step '${need}' in stage ${stage}`;
        if (need === step.id) return `stages.${stage}[${i}].needs[${j}]: a step cannot need itself`;
      }
    }
    const cycle = findCycle(steps.map((s) => ({ id: s.id, needs: s.needs })));
    if (cycle) return `stages.${stage}: steps depend on each other in a cycle: ${cycle.join(' -> ')}`;
  }
  return null;
}

/** A cycle among `needs`, as the ids along it (first repeated at the end), or null. */
export function findCycle(steps: { id: string; needs: string[] }[]): string[] | null {
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  const state = new Map<string, 'visiting' | 'done'>();
  const trail: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'visiting') return [...trail.slice(trail.indexOf(id)), id];
    state.set(id, 'visiting');
    trail.push(id);
    for (const need of needs.get(id) ?? []) {
      const found = visit(need);
      if (found) return found;
    }
    trail.pop();
    state.set(id, 'done');
    return null;
  };
  for (const { id } of steps) {
    const found = visit(id);
    if (found) return found;
  }
  return null;
}

/**
 * YAML support loads only for YAML plans. js-yaml builds the plain values as it reads (the `yaml`
 * package built a document of nodes first: 10x the time and 3x the memory on a 40,000-step plan).
 * The YAML 1.2 core schema, as before: `2024-01-01` stays a string, `yes` too; duplicate keys are refused.
 */
async function loadYaml(): Promise<{ parse: (text: string) => unknown }> {
  const { load, CORE_SCHEMA } = await import('js-yaml');
  return { parse: (text) => load(text, { schema: CORE_SCHEMA }) };
}

function planError(source: string, message: string): OrchestratorError {
  return new OrchestratorError(`plan ${source}: ${message}`, EXIT.usage);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
