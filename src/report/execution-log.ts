/**
 * The execution log: every execution record of every invocation of a run, kept in the run's store
 * so that `status`, `export` and the report of whichever worker ends the run see what ran on any
 * machine (a worker's report file stays on its own disk). Each record is appended as it is made,
 * before the checkpoint that says its step is done (run-session.ts), by the holder of the run's
 * lease: an append fenced by a lease that is no longer the live one is refused, so a worker that
 * was paused past its lock adds nothing. A worker killed outright (kill -9) has appended every
 * step it completed; the worker that takes the run over appends its own.
 *
 * Where it lives: Postgres `orchestrator_executions` (migration 2); Redis the list
 * `<prefix>execs:<run id>`; the file store `<DIR>/<run id>/orchestrator_executions.jsonl`.
 * Records hold environment keys only, never values (see report/schema.ts).
 */
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FileCheckpointStore } from '../checkpoint/file-store.js';
import { PostgresCheckpointStore } from '../checkpoint/postgres-store.js';
import { RedisCheckpointStore } from '../checkpoint/redis-store.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import { CheckpointConflictError, checkRunId } from '../checkpoint/store-errors.js';
import type { RunExecutionLog } from '../run/run-session.js';
import { type StageExecution, executionRecordSchema } from './schema.js';

export const EXECUTIONS_FILE = 'orchestrator_executions.jsonl';

export interface LoggedExecution {
  runId: string;
  /** The worker that ran it; null for `run --store`. */
  worker: string | null;
  record: StageExecution;
}

export interface ExecutionLog {
  /** With `leaseToken`, refused (CheckpointConflictError) unless that lease is the run's live one. */
  append(runId: string, records: StageExecution[], worker: string | null, leaseToken?: number): Promise<void>;
  /** Every logged execution, by run id, in the order they were appended. */
  all(): Promise<LoggedExecution[]>;
  /** One run's logged executions, in the order they were appended. */
  forRun(runId: string): Promise<LoggedExecution[]>;
}

/**
 * A run's side of the log (run-session.ts): its earlier records, and each new one appended under
 * the lease the run holds then (`leaseToken`, read at each append; undefined for a store without one).
 */
export function runExecutionLog(log: ExecutionLog, runId: string, worker: string | null, leaseToken: () => number | undefined): RunExecutionLog {
  return {
    earlier: async () => (await log.forRun(runId)).map((logged) => logged.record),
    append: (record) => log.append(runId, [record], worker, leaseToken()),
  };
}

function fenced(store: CheckpointStore, runId: string, token: number): CheckpointConflictError {
  return new CheckpointConflictError(`${store.location}#${runId}`, 'fenced', `execution log: lease token ${token} is no longer the live lease`);
}

export function executionLogOf(store: CheckpointStore): ExecutionLog {
  if (store instanceof PostgresCheckpointStore) return postgresLog(store);
  if (store instanceof RedisCheckpointStore) return redisLog(store);
  if (store instanceof FileCheckpointStore) return fileLog(store);
  throw new Error('no execution log for this store');
}

function postgresLog(store: PostgresCheckpointStore): ExecutionLog {
  return {
    async append(runId, records, worker, leaseToken) {
      if (records.length === 0) return;
      checkRunId(runId);
      const result = await store.query(
        `INSERT INTO ${store.executionsTable} (run_id, worker, record) SELECT $1, $2, value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY
         WHERE $4::bigint IS NULL OR EXISTS (SELECT 1 FROM ${store.table} WHERE run_id = $1 AND lease_token = $4 AND lease_owner IS NOT NULL)
         ORDER BY ordinality`,
        [runId, worker, JSON.stringify(records), leaseToken ?? null],
      );
      if (result.rowCount === 0 && leaseToken !== undefined) throw fenced(store, runId, leaseToken);
    },
    async all() {
      const { rows } = await store.query<{ run_id: string; worker: string | null; record: unknown }>(
        `SELECT run_id, worker, record FROM ${store.executionsTable} ORDER BY run_id, seq`,
      );
      return rows.flatMap((row) => parsed(row.run_id, row.worker, row.record));
    },
    async forRun(runId) {
      const { rows } = await store.query<{ worker: string | null; record: unknown }>(
        `SELECT worker, record FROM ${store.executionsTable} WHERE run_id = $1 ORDER BY seq`,
        [runId],
      );
      return rows.flatMap((row) => parsed(runId, row.worker, row.record));
    },
  };
}

function redisLog(store: RedisCheckpointStore): ExecutionLog {
  return {
    async append(runId, records, worker, leaseToken) {
      const appended = await store.appendList('execs', runId, records.map((record) => JSON.stringify({ worker, record })), leaseToken);
      if (!appended && leaseToken !== undefined) throw fenced(store, runId, leaseToken);
    },
    async all() {
      const out: LoggedExecution[] = [];
      for (const { runId } of await store.list()) out.push(...(await this.forRun(runId)));
      return out;
    },
    async forRun(runId) {
      return (await store.readList('execs', runId)).flatMap((line) => parsedLine(runId, line));
    },
  };
}

function fileLog(store: FileCheckpointStore): ExecutionLog {
  const root = store.rootDir;
  return {
    async append(runId, records, worker, leaseToken) {
      if (records.length === 0) return;
      checkRunId(runId);
      if (leaseToken !== undefined && (await store.leaseHolder(runId))?.token !== leaseToken) throw fenced(store, runId, leaseToken);
      const fd = openSync(join(root, runId, EXECUTIONS_FILE), 'a');
      try {
        writeSync(fd, records.map((record) => `${JSON.stringify({ worker, record })}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    },
    async all() {
      const out: LoggedExecution[] = [];
      for (const runId of runDirs(root)) out.push(...(await this.forRun(runId)));
      return out;
    },
    async forRun(runId) {
      let text: string;
      try {
        text = readFileSync(join(root, runId, EXECUTIONS_FILE), 'utf8');
      } catch {
        return [];
      }
      return text.split('\n').flatMap((line) => (line ? parsedLine(runId, line) : []));
    },
  };
}

function runDirs(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

/** A torn last line (a crash mid-append) or a record of another version is passed over. */
function parsedLine(runId: string, line: string): LoggedExecution[] {
  try {
    const { worker, record } = JSON.parse(line) as { worker: string | null; record: unknown };
    return parsed(runId, worker ?? null, record);
  } catch {
    return [];
  }
}

function parsed(runId: string, worker: string | null, record: unknown): LoggedExecution[] {
  const result = executionRecordSchema().safeParse(record);
  return result.success ? [{ runId, worker, record: result.data }] : [];
}

/** Per step (`<stage>/<step>`): executions that succeeded and that failed for real (skipped and interrupted ones count in neither). */
export interface StepCounts {
  step: string;
  success: number;
  failure: number;
}

export function countByStep(executions: LoggedExecution[]): StepCounts[] {
  const counts = new Map<string, StepCounts>();
  for (const { record } of executions) {
    if (record.status === 'skipped' || record.interrupted) continue;
    const step = `${record.stage}/${record.step || record.stage}`;
    const entry = counts.get(step) ?? { step, success: 0, failure: 0 };
    if (record.status === 'success') entry.success += 1;
    else entry.failure += 1;
    counts.set(step, entry);
  }
  return [...counts.values()].sort((a, b) => a.step.localeCompare(b.step));
}
