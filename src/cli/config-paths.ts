/**
 * The paths a saved run config keeps: absolute, as the run that saved it would read them, so that a
 * load from another directory runs the same files and programs. A program named without a "/" is
 * looked up on PATH where it runs, and stays as it is.
 */
import { resolve } from 'node:path';
import type { LaterConfigInput } from '../config/later.js';
import type { ExpectedArtifact, PlanInput, StepInput } from '../plan/schema.js';

/** Files and folders the run reads or writes from where it starts. */
const LATER_PATHS = ['hardGatesFile', 'repoRoot', 'memoryPath', 'planningContextArtifact'] as const;

/** A program given by a path runs from `dir` (its step's cwd: where the child starts, and looks for it). */
function programAt(bin: string, dir: string): string {
  return bin.includes('/') ? resolve(dir, bin) : bin;
}

export function laterWithAbsolutePaths<T extends Partial<LaterConfigInput>>(later: T): T {
  const out: T = { ...later };
  for (const key of LATER_PATHS) {
    const path = out[key];
    if (typeof path === 'string') out[key] = resolve(path) as T[typeof key];
  }
  if (out.autofixBin !== undefined) out.autofixBin = programAt(out.autofixBin, '.');
  return out;
}

export function stepWithAbsolutePaths<T extends Pick<StepInput, 'bin' | 'cwd' | 'expectedArtifacts'>>(step: T): T {
  const cwd = step.cwd === undefined ? undefined : resolve(step.cwd);
  return {
    ...step,
    bin: programAt(step.bin, cwd ?? '.'),
    ...(cwd !== undefined ? { cwd } : {}),
    ...(step.expectedArtifacts !== undefined ? { expectedArtifacts: step.expectedArtifacts.map(artifactAt) } : {}),
  };
}

/** Checked from where the run starts (not the step's cwd). */
function artifactAt(artifact: ExpectedArtifact): ExpectedArtifact {
  if (typeof artifact === 'string') return resolve(artifact);
  return { ...artifact, path: resolve(artifact.path), ...(artifact.schema !== undefined ? { schema: resolve(artifact.schema) } : {}) };
}

/** The plan's own loops and notify commands, as the settings and the steps. */
export function planPartsWithAbsolutePaths<T extends Pick<PlanInput, 'loops' | 'notify'>>(plan: T): T {
  return {
    ...plan,
    ...(plan.loops !== undefined ? { loops: laterWithAbsolutePaths(plan.loops) } : {}),
    ...(plan.notify !== undefined ? { notify: plan.notify.map((hook) => ('command' in hook ? { ...hook, command: { ...hook.command, bin: programAt(hook.command.bin, '.') } } : hook)) } : {}),
  };
}
