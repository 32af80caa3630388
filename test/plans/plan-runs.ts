/** Writes plan files of fixture steps and reads back what the steps recorded. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/cli.js';

export const STEP = join(ROOT, 'test', 'fixtures', 'step.mjs');

export interface TraceLine {
  event: 'start' | 'end';
  step: string;
  stage: string;
  attempt: number;
  key: string;
  runId: string;
  pid: number;
  at: number;
  childPid?: number | null;
  failed?: boolean;
}

/** A plan step running test/fixtures/step.mjs, which appends to `trace`. */
export function fixtureStep(id: string, trace: string, options: Record<string, string | number> = {}, extra: Record<string, unknown> = {}) {
  return {
    id,
    bin: process.execPath,
    args: [STEP, trace, ...Object.entries(options).map(([k, v]) => `${k}=${v}`)],
    ...extra,
  };
}

export function writePlan(dir: string, plan: unknown, name = 'plan.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(plan, null, 2));
  return path;
}

export function traceOf(path: string): TraceLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TraceLine);
}

export function startsOf(trace: TraceLine[], step?: string): TraceLine[] {
  return trace.filter((t) => t.event === 'start' && (step === undefined || t.step === step));
}

export function endOf(trace: TraceLine[], step: string, attempt = 1): TraceLine {
  const found = trace.find((t) => t.event === 'end' && t.step === step && t.attempt === attempt);
  if (!found) throw new Error(`step ${step} attempt ${attempt} did not end`);
  return found;
}

export function startOf(trace: TraceLine[], step: string, attempt = 1): TraceLine {
  const found = trace.find((t) => t.event === 'start' && t.step === step && t.attempt === attempt);
  if (!found) throw new Error(`step ${step} attempt ${attempt} did not start`);
  return found;
}

/** The report's execution records of one step, in order. */
export function recordsOf(report: any, step: string): any[] {
  return report.stage_executions.filter((e: any) => e.step === step);
}
