/**
 * The execution log: every execution record of every invocation of a run, kept in the run's store
 * so that `status` and `export` see what ran on any machine (a worker's report file stays on its
 * own disk). Appended once per invocation, after the run stops: by the worker that still holds the
 * run's lease, or by `run --store`. An invocation killed outright (kill -9) appends nothing; the
 * invocation that takes the run over records its own executions.
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
import { checkRunId } from '../checkpoint/store-errors.js';
import { type StageExecution, executionRecordSchema } from './schema.js';

export const EXECUTIONS_FILE = 'orchestrator_executions.jsonl';

export interface LoggedExecution {
  runId: string;
  /** The worker that ran it; null for `run --store`. */
  worker: string | null;
  record: StageExecution;
}

export interface ExecutionLog {
  append(runId: string, records: StageExecution[], worker: string | null): Promise<void>;
  /** Every logged execution, by run id, in the order they were appended. */
  all(): Promise<LoggedExecution[]>;
}

export function executionLogOf(store: CheckpointStore): ExecutionLog {
  if (store instanceof PostgresCheckpointStore) return postgresLog(store);
  if (store instanceof RedisCheckpointStore) return redisLog(store);
  if (store instanceof FileCheckpointStore) return fileLog(store.rootDir);
  throw new Error('no execution log for this store');
}

function postgresLog(store: PostgresCheckpointStore): ExecutionLog {
  return {
    async append(runId, records, worker) {
      if (records.length === 0) return;
      checkRunId(runId);
      await store.query(
        `INSERT INTO ${store.executionsTable} (run_id, worker, record) SELECT $1, $2, value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY ORDER BY ordinality`,
        [runId, worker, JSON.stringify(records)],
      );
    },
    async all() {
      const { rows } = await store.query<{ run_id: string; worker: string | null; record: unknown }>(
        `SELECT run_id, worker, record FROM ${store.executionsTable} ORDER BY run_id, seq`,
      );
      return rows.flatMap((row) => parsed(row.run_id, row.worker, row.record));
    },
  };
}

function redisLog(store: RedisCheckpointStore): ExecutionLog {
  return {
    async append(runId, records, worker) {
      await store.appendList('execs', runId, records.map((record) => JSON.stringify({ worker, record })));
    },
    async all() {
      const out: LoggedExecution[] = [];
      for (const { runId } of await store.list()) {
        for (const line of await store.readList('execs', runId)) out.push(...parsedLine(runId, line));
      }
      return out;
    },
  };
}

function fileLog(root: string): ExecutionLog {
  return {
    async append(runId, records, worker) {
      if (records.length === 0) return;
      checkRunId(runId);
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
      for (const runId of runDirs(root)) {
        let text: string;
        try {
          text = readFileSync(join(root, runId, EXECUTIONS_FILE), 'utf8');
        } catch {
          continue;
        }
        for (const line of text.split('\n')) if (line) out.push(...parsedLine(runId, line));
      }
      return out;
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
