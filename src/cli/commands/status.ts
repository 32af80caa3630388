/**
 * `autonomy-orchestrator status [--store …] [--json] [--watch MS]`: the scoreboard. With a Postgres
 * store, every queued run (state, current stage, started, duration, attempts, worker); with any
 * other store, every checkpoint it holds. Never prints a store's password.
 */
import { Command, Option } from 'commander';
import { chooseStore, openStore } from '../../checkpoint/open-store.js';
import { PostgresCheckpointStore } from '../../checkpoint/postgres-store.js';
import type { CheckpointStore } from '../../checkpoint/store.js';
import { isVersioned } from '../../checkpoint/schema.js';
import { EXIT } from '../../exit-codes.js';
import { RunQueue } from '../../queue/run-queue.js';
import { wholeNumber } from './shared-store.js';

interface StatusRow {
  run_id: string;
  state: string;
  stage: string;
  started: string;
  duration_s: string;
  attempts: number;
  worker: string;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const flags = new Command('status')
    .option('--store <address>', 'file:DIR | postgres://… | redis://… (default: ORCHESTRATOR_PG_DSN, ORCHESTRATOR_REDIS_URL, ORCHESTRATOR_STATE_DIR, ./state)')
    .option('--json', 'print JSON lines', false)
    .addOption(new Option('--watch [ms]', 'print again every ms (default 2000) until interrupted').argParser(wholeNumber('--watch', 100, 3_600_000)))
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .parse(argv, { from: 'user' })
    .opts<{ store?: string; json: boolean; watch?: number | true }>();
  const store = openStore(chooseStore(flags.store, process.env, './state'), { maxConnections: 1 });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (;;) {
      print(await scoreboard(store), flags.json);
      if (flags.watch === undefined || stop.signal.aborted) break;
      await new Promise((resolve) => setTimeout(resolve, flags.watch === true ? 2_000 : flags.watch).unref());
      if (stop.signal.aborted) break;
      process.stdout.write('\n');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
  }
  return EXIT.done;
}

async function scoreboard(store: CheckpointStore): Promise<StatusRow[]> {
  const queued = store instanceof PostgresCheckpointStore ? await new RunQueue(store).runs() : null;
  const listed = queued ? queued.map((row) => row.runId) : (await store.list()).map((entry) => entry.runId);
  const rows: StatusRow[] = [];
  for (const runId of listed) {
    const queue = queued?.find((row) => row.runId === runId);
    const checkpoint = (await store.read(runId).catch(() => null))?.checkpoint ?? null;
    const versioned = checkpoint && isVersioned(checkpoint) ? checkpoint : null;
    const startedMs = versioned?.started_at_unix_ms ?? null;
    const endMs = queue?.finishedAt?.getTime() ?? (checkpoint ? checkpoint.updated_at_unix_secs * 1000 : null);
    rows.push({
      run_id: runId,
      state: queue?.state ?? checkpoint?.terminal_state ?? 'in progress',
      stage: versioned?.transitions.at(-1)?.to_stage ?? '-',
      started: startedMs ? new Date(startedMs).toISOString() : '-',
      duration_s: startedMs && endMs ? ((Math.max(endMs, startedMs) - startedMs) / 1000).toFixed(1) : '-',
      attempts: versioned ? Object.values(versioned.attempts).reduce((sum, n) => sum + n, 0) : 0,
      worker: queue?.worker ?? '-',
    });
  }
  return rows;
}

function print(rows: StatusRow[], json: boolean): void {
  if (json) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  const header: (keyof StatusRow)[] = ['run_id', 'state', 'stage', 'started', 'duration_s', 'attempts', 'worker'];
  const cells = [header.map(String), ...rows.map((row) => header.map((key) => String(row[key])))];
  const widths = header.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  for (const line of cells) process.stdout.write(`${line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}
