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
import { type StoreChoice, chooseStore, openStore } from '../checkpoint/open-store.js';
import { RunView } from '../checkpoint/run-view.js';
import type { CheckpointStore, RunCheckpointStore } from '../checkpoint/store.js';
import { checkRunId } from '../checkpoint/store-errors.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { executionLogOf, runExecutionLog } from '../report/execution-log.js';
import type { RunExecutionLog } from '../run/run-session.js';
import { boardSetup } from './commands/shared-store.js';

export interface RunStore {
  runId: string;
  checkpoints: RunCheckpointStore;
  /** The store's execution log, as the run appends to it record by record. */
  executionLog: RunExecutionLog;
  /** Puts a queued run stopped blocked back in the queue; false for any other run, or when no queue is named. */
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
  const choice = chooseStore(address, {}, '');
  const store: CheckpointStore = openStore(choice, { maxConnections: 2 });
  let checkpoints: RunCheckpointStore;
  let leaseToken = (): number | undefined => undefined;
  if (store instanceof FileCheckpointStore) {
    const file = store.fileOf(runId);
    if (create) mkdirSync(dirname(file), { recursive: true });
    checkpoints = new FileCheckpointStore(file);
  } else {
    const view = new RunView(store, runId);
    leaseToken = () => view.leaseToken;
    checkpoints = view;
  }
  return {
    runId,
    checkpoints,
    executionLog: runExecutionLog(executionLogOf(store), runId, null, leaseToken),
    requeueBlocked: () => requeueBlocked(choice, runId),
    close: () => store.close(),
  };
}

/** The queue is the store's Redis, or the one the environment names (see shared-store.ts). */
async function requeueBlocked(choice: StoreChoice, runId: string): Promise<boolean> {
  const { queue: address } = boardSetup({ store: choice.address });
  if (!address) return false;
  const { RunQueue } = await import('../queue/run-queue.js');
  const queue = new RunQueue(address);
  try {
    return await queue.requeueBlocked(runId);
  } finally {
    await queue.close();
  }
}
