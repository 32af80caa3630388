/**
 * `run --store file:DIR | postgres://… | redis://…`: a one-off run keeps its checkpoint in a shared
 * store instead of its output directory. It is keyed by `--run-id`, else by the output directory's
 * name (`out/nightly` → run `nightly`); a fresh run takes that key as its run id, so `status`,
 * `export` and a later `--resume` with the same key find it. On Postgres and Redis the run holds a
 * lease renewed by heartbeat and every checkpoint write is fenced by it, as a worker's are. Only
 * the flag chooses a store here: ORCHESTRATOR_PG_DSN and friends, set for workers, do not move a
 * plain run's checkpoint away from its output directory.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { FileCheckpointStore } from '../checkpoint/file-store.js';
import { chooseStore, openStore } from '../checkpoint/open-store.js';
import { PostgresCheckpointStore } from '../checkpoint/postgres-store.js';
import { RunView } from '../checkpoint/run-view.js';
import type { CheckpointStore, RunCheckpointStore } from '../checkpoint/store.js';
import { checkRunId } from '../checkpoint/store-errors.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { executionLogOf } from '../report/execution-log.js';
import type { StageExecution } from '../report/schema.js';
import { RunQueue } from '../queue/run-queue.js';

export interface RunStore {
  runId: string;
  checkpoints: RunCheckpointStore;
  /** Appends this invocation's executions to the store's execution log. */
  record(executions: StageExecution[]): Promise<void>;
  /** Puts a queued run stopped blocked back in the queue (Postgres); false for any other run. */
  requeueBlocked(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * `outputDir` names the run when `runIdFlag` does not; one of the two is given. `create: false`
 * (approve) makes no directory for a file store's run that is not there.
 */
export function openRunStore(address: string, runIdFlag: string | undefined, outputDir: string | undefined, { create = true } = {}): RunStore {
  const runId = runIdFlag ?? basename(resolve(outputDir ?? '.'));
  try {
    checkRunId(runId);
  } catch (error) {
    const hint = runIdFlag === undefined ? ` (the output directory's name); give --run-id` : '';
    throw new OrchestratorError(`${runIdFlag === undefined ? 'run key' : '--run-id'}: ${(error as Error).message}${hint}`, EXIT.usage);
  }
  const store: CheckpointStore = openStore(chooseStore(address, {}, ''), { maxConnections: 2 });
  let checkpoints: RunCheckpointStore;
  if (store instanceof FileCheckpointStore) {
    const file = store.fileOf(runId);
    if (create) mkdirSync(dirname(file), { recursive: true });
    checkpoints = new FileCheckpointStore(file);
  } else {
    checkpoints = new RunView(store, runId);
  }
  return {
    runId,
    checkpoints,
    record: (executions) => executionLogOf(store).append(runId, executions, null),
    requeueBlocked: async () => (store instanceof PostgresCheckpointStore ? new RunQueue(store).requeueBlocked(runId) : false),
    close: () => store.close(),
  };
}
