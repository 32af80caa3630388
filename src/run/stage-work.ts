/**
 * The work of one stage: run its configured program once and judge the result the way V0
 * does, into one execution record.
 */
import { join } from 'node:path';
import type { Stage, StageStatus } from '../../machines/stages.js';
import { stageIdempotencyKey } from '../../machines/stages.js';
import type { Invocation } from '../config/schema.js';
import type { StageExecution } from '../report/schema.js';
import { checkArtifacts } from './artifacts.js';
import { runStageProcess } from './stage-process.js';

export interface StageWorkRequest {
  runId: string;
  stage: Stage;
  attempt: number;
  invocation: Invocation;
  timeoutMs: number;
  killGraceMs: number;
  logsDir: string;
  signal: AbortSignal;
  /** Why the run was stopped, once `signal` is aborted. */
  interruptReason: () => string;
  /** Told the stage's process group when it starts, and null once it is gone. */
  onProcessGroup?: (pgid: number | null) => void;
}

export async function runStageWork(request: StageWorkRequest): Promise<StageExecution> {
  const { stage, attempt, invocation } = request;
  const idempotencyKey = stageIdempotencyKey(stage);
  const startedAtMs = Date.now();
  const stdoutLog = join(request.logsDir, `${stage}.attempt-${attempt}.stdout.log`);
  const stderrLog = join(request.logsDir, `${stage}.attempt-${attempt}.stderr.log`);
  const env: Record<string, string> = {};
  for (const { key, value } of invocation.env) env[key] = value;
  Object.assign(env, {
    ORCHESTRATOR_RUN_ID: request.runId,
    ORCHESTRATOR_STAGE: stage,
    ORCHESTRATOR_IDEMPOTENCY_KEY: idempotencyKey,
    ORCHESTRATOR_ATTEMPT: String(attempt),
  });

  const outcome = await runStageProcess({
    bin: invocation.bin,
    args: invocation.args,
    env,
    timeoutMs: request.timeoutMs,
    killGraceMs: request.killGraceMs,
    stdoutPath: stdoutLog,
    stderrPath: stderrLog,
    signal: request.signal,
    ...(request.onProcessGroup ? { onProcessGroup: request.onProcessGroup } : {}),
  });

  let status: StageStatus;
  let error: string | null = null;
  let missing: string[] = [];
  let malformed: string[] = [];
  if (outcome.spawnError !== null) {
    status = 'spawn_failed';
    error = `Failed to spawn command '${invocation.bin}': ${outcome.spawnError}`;
  } else if (outcome.cancelled) {
    status = 'failed';
    error = `Interrupted by ${request.interruptReason()}; --resume runs this stage again`;
  } else if (outcome.timedOut) {
    status = 'timeout';
    error = `Command timed out after ${request.timeoutMs} ms`;
  } else {
    ({ missing, malformed } = await checkArtifacts(invocation.expectedArtifacts));
    if (missing.length > 0) {
      status = 'artifact_missing';
      error = 'Expected artifacts were not produced';
    } else if (malformed.length > 0) {
      status = 'artifact_missing';
      error = 'Expected JSON artifacts are malformed';
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
    command: invocation.bin,
    args: invocation.args,
    env_keys: invocation.env.map(({ key }) => key),
    started_at_unix_secs: Math.floor(startedAtMs / 1000),
    duration_ms: outcome.durationMs,
    exit_code: outcome.exitCode,
    status,
    error,
    missing_artifacts: missing,
    malformed_artifacts: malformed,
    attempt,
    started_at_unix_ms: startedAtMs,
    timeout_ms: request.timeoutMs,
    signal: outcome.signal,
    stdout_log: stdoutLog,
    stderr_log: stderrLog,
    interrupted: outcome.cancelled,
  };
}

/** V0's record for a stage that an earlier invocation completed. */
export function skippedExecution(stage: Stage, invocation: Invocation): StageExecution {
  const now = Date.now();
  return {
    stage,
    idempotency_key: stageIdempotencyKey(stage),
    command: invocation.bin,
    args: invocation.args,
    env_keys: invocation.env.map(({ key }) => key),
    started_at_unix_secs: Math.floor(now / 1000),
    duration_ms: 0,
    exit_code: null,
    status: 'skipped',
    error: 'Skipped due to checkpoint resume',
    missing_artifacts: [],
    malformed_artifacts: [],
    attempt: 0,
    started_at_unix_ms: now,
    timeout_ms: null,
    signal: null,
    stdout_log: null,
    stderr_log: null,
    interrupted: false,
  };
}
