/**
 * A run's identity: the programs its stages run and the version of the machine that runs them,
 * recorded in its checkpoint (`run_identity`). `--resume` continues only the same programs under a
 * compatible machine: a resume with other programs would restore a stage whose steps it does not
 * have, and wait for nothing. `--resume` alone (no --plan, no program flags) reads the plan file
 * the run was started with.
 */
import { createHash } from 'node:crypto';
import { ORCHESTRATION_MACHINE_VERSION } from '../../machines/machine-version.js';
import { STAGES, type Stage } from '../../machines/stages.js';
import { canonicalJson } from '../checkpoint/integrity.js';
import type { RunIdentity } from '../checkpoint/schema.js';
import type { OrchestrationConfig } from '../config/schema.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan, Step } from '../plan/schema.js';

export function runIdentityOf(config: OrchestrationConfig): RunIdentity {
  return {
    machine_version: ORCHESTRATION_MACHINE_VERSION,
    program_source: config.planPath === undefined ? 'flags' : 'plan',
    plan_path: config.planPath ?? null,
    program_sha256: digest(STAGES.map((stage) => stepsOf(config.plan, stage).map(programOf))),
    steps_sha256: digest(STAGES.map((stage) => stepsOf(config.plan, stage).map((step) => step.id))),
  };
}

function stepsOf(plan: Plan, stage: Stage): Step[] {
  return plan.stages[stage] ?? [];
}

/**
 * What a step runs, and nothing a resume may change: timeouts, retries, budgets, approvals and hooks
 * may differ; env values are left out (they may be secrets, and a rotated token is the same program).
 */
function programOf(step: Step) {
  return {
    id: step.id,
    bin: step.bin,
    args: step.args,
    cwd: step.cwd ?? null,
    needs: step.needs,
    expectedArtifacts: step.expectedArtifacts,
    idempotencyKey: step.idempotencyKey ?? null,
    envKeys: Object.keys(step.env).sort(),
  };
}

/**
 * The sha256 of `canonicalJson(value)`, fed a piece at a time: the arrays' brackets and commas, and
 * each of their elements' canonical JSON. Byte for byte the same text, so the same digest as
 * recorded checkpoints hold, without a sorted copy of a 40,000-step plan and its one big string.
 */
function digest(value: unknown): string {
  const hash = createHash('sha256');
  const feed = (item: unknown): void => {
    if (!Array.isArray(item)) {
      hash.update(canonicalJson(item) ?? 'null');
      return;
    }
    hash.update('[');
    item.forEach((element, i) => {
      if (i > 0) hash.update(',');
      feed(element);
    });
    hash.update(']');
  };
  feed(value);
  return hash.digest('hex');
}

/** True when the invocation names no programs: neither a plan file nor V0's program flags. */
function namesNoProgram(config: OrchestrationConfig): boolean {
  return config.planPath === undefined && STAGES.every((stage) => stepsOf(config.plan, stage).length === 0);
}

/**
 * The configuration a resume runs with: `--resume` alone takes the run's plan file again. A plan
 * file that changed since, other programs, or another machine version: refused in one line.
 */
export async function configForResume(config: OrchestrationConfig, recorded: RunIdentity | null, location: string): Promise<OrchestrationConfig> {
  if (recorded === null) return config;
  const refuse = (what: string) => new OrchestratorError(`cannot resume the run in ${location}: ${what}`, EXIT.failed);
  if (recorded.machine_version !== ORCHESTRATION_MACHINE_VERSION) {
    throw refuse(`its checkpoint was written by machine version ${recorded.machine_version}, this orchestrator runs version ${ORCHESTRATION_MACHINE_VERSION}; finish it with the orchestrator that started it`);
  }
  let resumed = config;
  if (namesNoProgram(config) && recorded.program_source === 'plan' && recorded.plan_path !== null) {
    resumed = { ...config, plan: await loadPlanFile(recorded.plan_path), planPath: recorded.plan_path };
  }
  const current = runIdentityOf(resumed);
  if (sameProgram(recorded, current)) return resumed;
  const given = namesNoProgram(resumed) ? 'no programs (neither --plan nor --manager-bin/--executor-bin)' : describe(current);
  const changed = recorded.plan_path !== null && recorded.plan_path === current.plan_path ? ', which changed since' : '';
  throw refuse(`${describe(recorded)} started it, this resume gives ${given}${changed}; resume with what started it, or start afresh without --resume`);
}

/** A plan must be the same; V0's flags may change a step's program or args (as V0 allowed), never its steps. */
function sameProgram(recorded: RunIdentity, current: RunIdentity): boolean {
  if (recorded.program_source !== current.program_source) return false;
  if (recorded.program_source === 'plan') return recorded.program_sha256 === current.program_sha256;
  return recorded.steps_sha256 === current.steps_sha256;
}

function describe(identity: RunIdentity): string {
  const digest = identity.program_sha256.slice(0, 12);
  return identity.program_source === 'plan' ? `--plan ${identity.plan_path} (programs ${digest})` : `--manager-*/--executor-* flags (programs ${digest})`;
}

