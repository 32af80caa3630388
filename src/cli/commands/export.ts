/**
 * `autonomy-orchestrator export --format csv|jsonl [--what runs|executions] [--store …]`: a store's
 * runs (the `status` rows) or every logged execution, one line per record, on stdout.
 *
 * CSV is RFC 4180 (a header line; a field with a comma, quote or leading/trailing space is quoted,
 * quotes doubled), and a line break inside a value is written as the two characters `\n` so that
 * every record stays on one line. Lists (args, env_keys, artifacts) are JSON inside their cell.
 * Execution records hold environment keys only; the store's address is never printed.
 */
import { Command, Option } from 'commander';
import { openStore } from '../../checkpoint/open-store.js';
import { EXIT } from '../../exit-codes.js';
import { RunQueue } from '../../queue/run-queue.js';
import { RUN_COLUMNS, type RunRow, scoreboard } from '../../queue/scoreboard.js';
import { STORE_HELP, boardSetup, queueOption } from './shared-store.js';
import type { LoggedExecution } from '../../report/execution-log.js';

const EXECUTION_COLUMNS = [
  'run_id',
  'worker',
  'stage',
  'step',
  'attempt',
  'status',
  'exit_code',
  'signal',
  'started_at_unix_ms',
  'duration_ms',
  'timeout_ms',
  'interrupted',
  'cost',
  'idempotency_key',
  'command',
  'args',
  'env_keys',
  'error',
  'missing_artifacts',
  'malformed_artifacts',
] as const;

type Cell = string | number | boolean | null | readonly string[];

export async function exportCommand(argv: string[]): Promise<number> {
  const flags = new Command('export')
    .description('write a store\'s runs or execution records as CSV or JSON lines')
    .addOption(new Option('--format <format>', 'csv or jsonl').choices(['csv', 'jsonl']).makeOptionMandatory())
    .addOption(new Option('--what <what>', 'runs or executions').choices(['runs', 'executions']).default('runs'))
    .addOption(queueOption())
    .option('--store <address>', STORE_HELP)
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .parse(argv, { from: 'user' })
    .opts<{ format: 'csv' | 'jsonl'; what: 'runs' | 'executions'; queue?: string; store?: string }>();
  const setup = boardSetup(flags);
  const store = openStore(setup.store, { maxConnections: 1 });
  const queue = setup.queue ? new RunQueue(setup.queue) : null;
  let lines: string[];
  try {
    const board = await scoreboard(store, queue);
    const records = flags.what === 'runs' ? board.runs.map(runRecord) : board.executions.map(executionRecord);
    const columns: readonly string[] = flags.what === 'runs' ? RUN_COLUMNS : EXECUTION_COLUMNS;
    lines =
      flags.format === 'jsonl'
        ? records.map((record) => JSON.stringify(record))
        : [columns.join(','), ...records.map((record) => columns.map((column) => csvCell(record[column] ?? null)).join(','))];
  } finally {
    await queue?.close();
    await store.close();
  }
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
  return EXIT.done;
}

function runRecord(row: RunRow): Record<string, Cell | RunRow['steps']> {
  return { ...row };
}

function executionRecord({ runId, worker, record }: LoggedExecution): Record<string, Cell> {
  return {
    run_id: runId,
    worker,
    stage: record.stage,
    step: record.step,
    attempt: record.attempt,
    status: record.status,
    exit_code: record.exit_code,
    signal: record.signal,
    started_at_unix_ms: record.started_at_unix_ms,
    duration_ms: record.duration_ms,
    timeout_ms: record.timeout_ms,
    interrupted: record.interrupted,
    cost: record.cost,
    idempotency_key: record.idempotency_key,
    command: record.command,
    args: record.args,
    env_keys: record.env_keys,
    error: record.error,
    missing_artifacts: record.missing_artifacts,
    malformed_artifacts: record.malformed_artifacts,
  };
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = (typeof value === 'object' ? JSON.stringify(value) : String(value)).replace(/\r\n|\r|\n/g, '\\n');
  return /[",]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
