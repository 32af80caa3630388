/**
 * One attempt of one step: run its program and judge the result the way V0 does, into one
 * execution record. Also reads the cost (and value) the step reported.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Stage, StageStatus } from '../../machines/stages.js';
import { stageTitle } from '../../machines/stages.js';
import type { Step } from '../plan/schema.js';
import type { StageExecution } from '../report/schema.js';
import { checkArtifacts } from './artifacts.js';
import { runStageProcess } from './stage-process.js';

export interface StepWorkRequest {
  runId: string;
  stage: Stage;
  step: Step;
  attempt: number;
  timeoutMs: number;
  killGraceMs: number;
  outputDir: string;
  signal: AbortSignal;
  /** See StageProcessRequest. */
  inheritedEnv?: Readonly<Record<string, string | undefined>>;
  /** Why the run was stopped, once `signal` is aborted. */
  interruptReason: () => string;
  /** Told the step's process group when it starts (true) and once it is gone (false). */
  onProcessGroup?: (pgid: number, running: boolean, startTicks: string | null) => void;
  /** See StageProcessRequest. */
  reaperAtOnce?: boolean;
  /** `TRACEPARENT` (and `TRACESTATE`) of the attempt's span, for a traced run; never recorded in `env_keys`. */
  traceEnv?: Record<string, string | undefined>;
}

export function idempotencyKeyOf(stage: Stage, step: Step): string {
  return step.idempotencyKey ?? `stage:${stageTitle(stage)}/step:${step.id}`;
}

export async function runStepWork(request: StepWorkRequest): Promise<StageExecution> {
  const { stage, step, attempt } = request;
  const idempotencyKey = idempotencyKeyOf(stage, step);
  const startedAtMs = Date.now();
  const base = `${stage}.${step.id}.attempt-${attempt}`;
  const stdoutLog = join(request.outputDir, 'logs', `${base}.stdout.log`);
  const stderrLog = join(request.outputDir, 'logs', `${base}.stderr.log`);
  // Absolute: a step with its own cwd must find them too.
  const costFile = resolve(request.outputDir, 'steps', `${base}.cost.json`);
  const heartbeatFile = resolve(request.outputDir, 'steps', `${base}.heartbeat`);
  const env: Record<string, string | undefined> = {
    ...step.env,
    ...request.traceEnv,
    ORCHESTRATOR_RUN_ID: request.runId,
    ORCHESTRATOR_STAGE: stage,
    ORCHESTRATOR_STEP: step.id,
    ORCHESTRATOR_IDEMPOTENCY_KEY: idempotencyKey,
    ORCHESTRATOR_ATTEMPT: String(attempt),
    ORCHESTRATOR_COST_FILE: costFile,
    ORCHESTRATOR_HEARTBEAT_FILE: heartbeatFile,
  };

  const outcome = await runStageProcess({
    bin: step.bin,
    args: step.args,
    env,
    cwd: step.cwd,
    timeoutMs: request.timeoutMs,
    killGraceMs: request.killGraceMs,
    stdoutPath: stdoutLog,
    stderrPath: stderrLog,
    heartbeatMs: step.heartbeatMs,
    heartbeatPath: heartbeatFile,
    signal: request.signal,
    ...(request.inheritedEnv ? { inheritedEnv: request.inheritedEnv } : {}),
    ...(request.onProcessGroup ? { onProcessGroup: request.onProcessGroup } : {}),
    reaperAtOnce: request.reaperAtOnce === true,
  });

  let status: StageStatus;
  let error: string | null = null;
  let missing: string[] = [];
  let malformed: string[] = [];
  if (outcome.spawnError !== null) {
    status = 'spawn_failed';
    error = `Failed to spawn command '${step.bin}': ${outcome.spawnError}`;
  } else if (outcome.cancelled) {
    status = 'failed';
    error = `Interrupted by ${request.interruptReason()}; --resume runs this step again`;
  } else if (outcome.stalled) {
    status = 'timeout';
    error = `Stalled: no output and no heartbeat for ${step.heartbeatMs} ms`;
  } else if (outcome.timedOut) {
    status = 'timeout';
    error = `Command timed out after ${request.timeoutMs} ms`;
  } else {
    const check = await checkArtifacts(step.expectedArtifacts);
    ({ missing, malformed } = check);
    if (missing.length > 0) {
      status = 'artifact_missing';
      error = 'Expected artifacts were not produced';
    } else if (malformed.length > 0) {
      status = 'artifact_missing';
      error = `Expected JSON artifacts are malformed: ${check.problems.join('; ')}`;
    } else if (outcome.exitCode === 0) {
      status = 'success';
    } else {
      status = 'failed';
      error =
        outcome.exitCode !== null
          ? `Command exited with code ${outcome.exitCode}`
          : `Command was killed by signal ${outcome.signal ?? 'unknown'}`;
    }
  }

  return {
    stage,
    idempotency_key: idempotencyKey,
    command: step.bin,
    args: step.args,
    env_keys: Object.keys(step.env),
    started_at_unix_secs: Math.floor(startedAtMs / 1000),
    duration_ms: outcome.durationMs,
    exit_code: outcome.exitCode,
    status,
    error,
    missing_artifacts: missing,
    malformed_artifacts: malformed,
    step: step.id,
    attempt,
    started_at_unix_ms: startedAtMs,
    timeout_ms: request.timeoutMs,
    signal: outcome.signal,
    stdout_log: stdoutLog,
    stderr_log: stderrLog,
    interrupted: outcome.cancelled,
    ...readSpend(costFile),
  };
}

/**
 * `{"cost": n, "value": n}` written by the step: a cost that is not a number 0 or more counts as
 * none; a value is recorded only when the step wrote one (so a run whose steps report none keeps
 * the report it always had).
 */
function readSpend(path: string): { cost: number; value?: number } {
  let data: { cost?: unknown; value?: unknown };
  try {
    data = JSON.parse(readFileSync(path, 'utf8')) as typeof data;
  } catch {
    return { cost: 0 };
  }
  const amount = (raw: unknown) => (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 ? raw : null);
  const value = amount(data?.value);
  return { cost: amount(data?.cost) ?? 0, ...(value !== null ? { value } : {}) };
}

/** V0's record for a step that an earlier invocation completed. */
export function skippedExecution(stage: Stage, step: Step): StageExecution {
  return { ...bareRecord(stage, step, 0), status: 'skipped', error: 'Skipped due to checkpoint resume' };
}

/** The record of an attempt the orchestrator itself could not carry out. */
export function failedExecution(stage: Stage, step: Step, attempt: number, error: string): StageExecution {
  return { ...bareRecord(stage, step, attempt), status: 'failed', error };
}

function bareRecord(stage: Stage, step: Step, attempt: number): StageExecution {
  return emptyRecord({
    stage,
    idempotency_key: idempotencyKeyOf(stage, step),
    command: step.bin,
    args: step.args,
    env_keys: Object.keys(step.env),
    status: 'failed',
    error: null,
    step: step.id,
    attempt,
  });
}

type RecordIdentity = Pick<StageExecution, 'stage' | 'idempotency_key' | 'command' | 'args' | 'env_keys' | 'status' | 'error' | 'step' | 'attempt'>;

/** A record of no program run (skipped, or the orchestrator's own): what a run would measure, empty. */
export function emptyRecord(identity: RecordIdentity): StageExecution {
  const now = Date.now();
  return {
    ...identity,
    started_at_unix_secs: Math.floor(now / 1000),
    duration_ms: 0,
    exit_code: null,
    missing_artifacts: [],
    malformed_artifacts: [],
    started_at_unix_ms: now,
    timeout_ms: null,
    signal: null,
    stdout_log: null,
    stderr_log: null,
    interrupted: false,
    cost: 0,
  };
}
