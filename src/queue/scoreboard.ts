/**
 * What `status` and `export` show of a store's runs: every run of the queue (its state from
 * BullMQ; its stage, start, duration and attempts from its checkpoint), then every other run the
 * store holds a checkpoint of; and, from the execution log, each run's per-step success and
 * failure counts, every worker's included.
 */
import { isVersioned } from '../checkpoint/schema.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import { type LoggedExecution, type StepCounts, countByStep, executionLogOf } from '../report/execution-log.js';
import { scoreOf } from '../run/thermostat-session.js';
import type { RunQueue } from './run-queue.js';

export interface RunRow {
  run_id: string;
  state: string;
  stage: string;
  started: string;
  duration_s: string;
  attempts: number;
  worker: string;
  /** Cost spent, value returned, the ROI thermostat's net ROI and concurrency ('-' without one). */
  spent: number;
  value: number;
  roi: number | '-';
  concurrency: number | '-';
  /** `<stage>/<step>` → executions that succeeded and that failed. */
  steps: Record<string, { success: number; failure: number }>;
}

export const RUN_COLUMNS = ['run_id', 'state', 'stage', 'started', 'duration_s', 'attempts', 'worker'] as const;
/** Shown by `status` when a listed run spent or has a thermostat. */
export const SPEND_COLUMNS = ['spent', 'value', 'roi', 'concurrency'] as const;

export interface Scoreboard {
  runs: RunRow[];
  /** Over every listed run. */
  steps: StepCounts[];
  executions: LoggedExecution[];
}

export async function scoreboard(store: CheckpointStore, queue: RunQueue | null): Promise<Scoreboard> {
  const queued = queue ? await queue.runs() : null;
  // Queued runs in queue order, then the runs that only have a checkpoint there (`run --store`).
  const jobs = new Map((queued ?? []).map((row) => [row.runId, row]));
  const listed = [...jobs.keys(), ...(await store.list()).map((entry) => entry.runId).filter((runId) => !jobs.has(runId))];
  const executions = await executionLogOf(store).all();
  const runs: RunRow[] = [];
  for (const runId of listed) {
    const job = jobs.get(runId);
    const checkpoint = (await store.read(runId).catch(() => null))?.checkpoint ?? null;
    const versioned = checkpoint && isVersioned(checkpoint) ? checkpoint : null;
    const startedMs = versioned?.started_at_unix_ms ?? job?.startedAtMs ?? null;
    const endMs = job?.finishedAtMs ?? (job?.state === 'running' ? Date.now() : checkpoint ? checkpoint.updated_at_unix_secs * 1000 : null);
    const own = executions.filter((execution) => execution.runId === runId);
    const steps = countByStep(own);
    runs.push({
      run_id: runId,
      state: job?.state ?? checkpoint?.terminal_state ?? 'in progress',
      stage: versioned?.transitions.at(-1)?.to_stage ?? '-',
      started: startedMs ? new Date(startedMs).toISOString() : '-',
      duration_s: startedMs && endMs ? ((Math.max(endMs, startedMs) - startedMs) / 1000).toFixed(1) : '-',
      attempts: versioned?.attempts_started ?? 0,
      worker: job?.worker ?? '-',
      ...scoreOf(versioned, own.map((execution) => execution.record)),
      steps: Object.fromEntries(steps.map(({ step, success, failure }) => [step, { success, failure }])),
    });
  }
  const shown = new Set(listed);
  return { runs, steps: countByStep(executions.filter((execution) => shown.has(execution.runId))), executions };
}
